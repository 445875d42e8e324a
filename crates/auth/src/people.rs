use chrono::{DateTime, Utc};
use dsms_core::{Actor, Email, Page, PageRequest, Permission, Principal, ValidationErrors};
use dsms_store::audit::{self, AuditEntry, AuditEvent, AuditFilter, Changes};
use dsms_store::idempotency::{Created, Idempotent};
use dsms_store::{DbConnection, StoreError, timestamp};

use crate::AuthError;
use crate::identity::{Client, Identity};
use crate::model::{OrganisationKind, Person, Role};
use crate::store;

/// The stored password of a person who has not chosen one yet: not a valid hash, so nothing
/// verifies against it.
pub(crate) const NO_PASSWORD: &str = "!";

/// What is needed to add a person.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// Their email address.
    pub email: Email,
    /// Their name.
    pub name: String,
    /// The organisation they act for.
    pub organisation_id: i64,
    /// Their roles: operator roles in the operator's organisation only, organisation roles elsewhere.
    pub roles: Vec<Role>,
}

/// Adds a person with an already hashed password, recording it in the audit log, within the
/// caller's unit of work. They must choose a new password at first sign-in when
/// `must_change_password` is set.
pub fn create_person(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    mut new: NewPerson,
    password_hash: &str,
    must_change_password: bool,
) -> Result<Person, AuthError> {
    let organisation = match store::organisation(conn, new.organisation_id) {
        Ok(org) => org,
        Err(StoreError::NotFound) => {
            return Err(ValidationErrors::from(dsms_core::FieldError::new(
                "organisation_id",
                "no such organisation",
            ))
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let mut errors = ValidationErrors::default();
    new.name = new.name.trim().to_owned();
    if new.name.is_empty() {
        errors.push("name", "must not be empty");
    } else if new.name.chars().count() > 200 {
        errors.push("name", "must be at most 200 characters");
    }
    new.roles.sort();
    new.roles.dedup();
    if new.roles.is_empty() {
        errors.push(
            "roles",
            format!("must hold at least one of: {}", Role::names()),
        );
    }
    let operator = organisation.kind == OrganisationKind::Operator;
    for role in &new.roles {
        if role.is_operator_role() != operator {
            errors.push(
                "roles",
                if operator {
                    format!("{role} is for organisations using the network, not the operator")
                } else {
                    format!("{role} is reserved for the operator's staff")
                },
            );
        }
    }
    errors.into_result()?;

    let at = timestamp(now);
    let id = store::insert_person(
        conn,
        store::NewPersonRow {
            organisation_id: organisation.id,
            email: new.email.as_str(),
            name: &new.name,
            password_hash,
            must_change_password,
            status: "active",
            version: 1,
            created_at: at,
            updated_at: at,
        },
        &new.roles,
    )
    .map_err(|e| match e {
        StoreError::Conflict(_) => {
            AuthError::Duplicate(format!("{} is already registered", new.email))
        }
        other => other.into(),
    })?;
    let roles: Vec<&str> = new.roles.iter().map(|r| r.as_str()).collect();
    audit::record(
        conn,
        now,
        AuditEvent {
            actor,
            organisation_id: Some(organisation.id),
            action: "person.created",
            entity_type: "person",
            entity_id: id.to_string(),
            changes: Changes::new()
                .created("email", new.email.as_str())
                .created("name", new.name.as_str())
                .created("roles", roles),
            request_id: None,
        },
    )?;
    Ok(store::person(conn, id)?)
}

/// An invitation to a new person, from an administrator.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// Their email address.
    pub email: Email,
    /// Their name.
    pub name: String,
    /// The organisation they will act for; the inviter's own when absent.
    pub organisation_id: Option<i64>,
    /// Their roles.
    pub roles: Vec<Role>,
}

/// Changes to a person.
#[derive(Debug, Clone, Default)]
pub struct PersonChanges {
    /// A new name.
    pub name: Option<String>,
    /// New roles, replacing the old.
    pub roles: Option<Vec<Role>>,
    /// `active` or `deactivated`.
    pub status: Option<String>,
}

impl Identity {
    /// Checks that `principal` may manage people of `organisation`, hiding organisations it
    /// cannot see.
    fn may_manage_people_of(
        &self,
        conn: &mut DbConnection,
        principal: &Principal,
        organisation_id: i64,
        roles: &[Role],
    ) -> Result<crate::Organisation, AuthError> {
        let organisation = store::visible_organisation(conn, principal, organisation_id)?;
        if organisation.kind == OrganisationKind::Operator {
            principal.require(Permission::ManageStaff, "manage the operator's staff")?;
        } else {
            principal.require(Permission::ManagePeople, "manage people")?;
        }
        if roles.iter().any(|r| r.is_operator_role()) {
            principal.require(Permission::ManageStaff, "grant operator roles")?;
        }
        Ok(organisation)
    }

    /// Invites a person: creates their account without a password and emails a single-use link
    /// to choose one. An organisation admin invites into their own organisation only.
    pub fn invite(
        &self,
        principal: &Principal,
        invitation: Invitation,
        client: &Client,
        idempotent: Option<Idempotent<Person>>,
    ) -> Result<Created<Person>, AuthError> {
        let now = self.now();
        self.db().write_blocking(|conn| {
            if let Some(replay) = crate::replay(conn, idempotent.as_ref())? {
                return Ok(replay);
            }
            let organisation_id = invitation
                .organisation_id
                .unwrap_or(principal.organisation_id);
            let organisation =
                self.may_manage_people_of(conn, principal, organisation_id, &invitation.roles)?;
            let person = create_person(
                conn,
                now,
                &principal.actor,
                NewPerson {
                    email: invitation.email.clone(),
                    name: invitation.name.clone(),
                    organisation_id,
                    roles: invitation.roles.clone(),
                },
                NO_PASSWORD,
                false,
            )?;
            let creds = store::credentials_by_id(conn, person.id)?;
            self.send_invitation(conn, &creds, &person.name, &organisation.name)?;
            self.audit_change(
                conn,
                principal,
                &person,
                "invitation.sent",
                Changes::new(),
                client,
            )?;
            if let Some(key) = idempotent {
                key.keep(conn, now, &person)?;
            }
            Ok(Created::New(person))
        })
    }

    /// One page of the people `principal` may see, optionally of one organisation.
    pub fn list_people(
        &self,
        principal: &Principal,
        organisation_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<Person>, AuthError> {
        principal.require(Permission::ViewPeople, "see people")?;
        let rows = self
            .db()
            .read_blocking(|conn| store::people_page(conn, principal, organisation_id, page))?;
        Ok(Page::from_rows(rows, page, |p| p.id))
    }

    /// One person, if `principal` may see them (404 otherwise).
    pub fn person(&self, principal: &Principal, id: i64) -> Result<Person, AuthError> {
        if principal.person_id() == Some(id) {
            return Ok(self.db().read_blocking(|conn| store::person(conn, id))?);
        }
        principal.require(Permission::ViewPeople, "see people")?;
        Ok(self
            .db()
            .read_blocking(|conn| store::visible_person(conn, principal, id))?)
    }

    /// Changes a person's name, roles or status if they are still at `version`. Deactivation
    /// ends their sessions at once.
    pub fn update_person(
        &self,
        principal: &Principal,
        id: i64,
        version: Option<i64>,
        changes: PersonChanges,
        client: &Client,
    ) -> Result<Person, AuthError> {
        let now = self.stamp();
        self.db().write_blocking(|conn| {
            let before = store::visible_person(conn, principal, id)?;
            let roles = changes.roles.clone().unwrap_or_else(|| before.roles.clone());
            self.may_manage_people_of(conn, principal, before.organisation_id, &roles)?;
            let expected = version.unwrap_or(before.version);
            if expected != before.version {
                return Err(AuthError::VersionMismatch(expected));
            }
            let mut errors = ValidationErrors::default();
            let name = changes.name.clone().unwrap_or_else(|| before.name.clone()).trim().to_owned();
            if name.is_empty() || name.chars().count() > 200 {
                errors.push("name", "must be 1 to 200 characters");
            }
            let status = changes.status.clone().unwrap_or_else(|| before.status.clone());
            if status != "active" && status != "deactivated" {
                errors.push("status", "must be active or deactivated");
            }
            if status == "deactivated" && principal.person_id() == Some(id) {
                errors.push("status", "you cannot deactivate yourself");
            }
            let mut roles = roles;
            roles.sort();
            roles.dedup();
            if roles.is_empty() {
                errors.push("roles", format!("must hold at least one of: {}", Role::names()));
            }
            let organisation = store::organisation(conn, before.organisation_id)?;
            if roles.iter().any(|r| r.is_operator_role() != (organisation.kind == OrganisationKind::Operator)) {
                errors.push("roles", "operator roles are for the operator's staff only, organisation roles for everyone else");
            }
            errors.into_result()?;
            if !store::update_person(conn, id, expected, &name, &status, now)? {
                return Err(AuthError::VersionMismatch(expected));
            }
            if roles != before.roles {
                store::replace_roles(conn, id, &roles)?;
            }
            if status == "deactivated" && before.status != "deactivated" {
                store::revoke_sessions_of(conn, id, None, now)?;
            }
            let after = store::person(conn, id)?;
            let names = |r: &[Role]| r.iter().map(|r| r.as_str()).collect::<Vec<_>>();
            self.audit_change(
                conn,
                principal,
                &after,
                "person.updated",
                Changes::new()
                    .field("name", before.name.as_str(), after.name.as_str())
                    .field("status", before.status.as_str(), after.status.as_str())
                    .field("roles", names(&before.roles), names(&after.roles)),
                client,
            )?;
            Ok(after)
        })
    }

    /// Clears a person's authenticator and recovery codes and ends their sessions: they must
    /// enrol again at next sign-in.
    pub fn reset_mfa(
        &self,
        principal: &Principal,
        id: i64,
        client: &Client,
    ) -> Result<Person, AuthError> {
        let now = self.stamp();
        self.db().write_blocking(|conn| {
            let person = store::visible_person(conn, principal, id)?;
            self.may_manage_people_of(conn, principal, person.organisation_id, &[])?;
            store::set_totp(conn, id, None, None, now)?;
            store::replace_recovery_codes(conn, id, &[])?;
            let ended = store::revoke_sessions_of(conn, id, None, now)?;
            let after = store::person(conn, id)?;
            self.audit_change(
                conn,
                principal,
                &after,
                "mfa.reset",
                Changes::new()
                    .field("mfa_enrolled", person.mfa_enrolled, false)
                    .created("sessions_ended", ended as i64),
                client,
            )?;
            Ok(after)
        })
    }

    /// Sign-in activity of a person, newest first.
    pub fn sign_in_activity(
        &self,
        principal: &Principal,
        id: i64,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, AuthError> {
        let person = self.person(principal, id)?;
        if principal.person_id() != Some(id) {
            principal.require(Permission::ManagePeople, "see others' sign-in activity")?;
        }
        let filter = AuditFilter {
            entity_type: Some("person".into()),
            entity_id: Some(person.id.to_string()),
            action_prefix: Some("sign_".into()),
            ..AuditFilter::default()
        };
        let rows = self
            .db()
            .read_blocking(|conn| audit::list(conn, principal, &filter, page))?;
        Ok(Page::from_rows(rows, page, |e| e.id))
    }

    /// Records a change `principal` made to a person.
    pub(crate) fn audit_change(
        &self,
        conn: &mut DbConnection,
        principal: &Principal,
        person: &Person,
        action: &str,
        changes: Changes,
        client: &Client,
    ) -> Result<(), StoreError> {
        audit::record(
            conn,
            self.now(),
            AuditEvent {
                actor: &principal.actor,
                organisation_id: Some(person.organisation_id),
                action,
                entity_type: "person",
                entity_id: person.id.to_string(),
                changes,
                request_id: client.request_id.as_deref(),
            },
        )
    }
}
