use chrono::{DateTime, Utc};
use dsms_core::{Actor, Page, PageRequest, Permission, Principal, ValidationErrors};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::idempotency::{Created, Idempotent};
use dsms_store::{DbConnection, StoreError, timestamp};

use crate::AuthError;
use crate::identity::Identity;
use crate::model::{Organisation, OrganisationKind, OrganisationStatus, SecRole};
use crate::store;

/// What is needed to register an organisation.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    /// Its name.
    pub name: String,
    /// Operator or user.
    pub kind: OrganisationKind,
    /// Its SEC user roles; a user organisation holds at least one.
    pub sec_roles: Vec<SecRole>,
    /// Its SEC party id, when known.
    pub sec_party_id: Option<String>,
}

impl NewOrganisation {
    fn validate(&mut self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() {
            errors.push("name", "must not be empty");
        } else if self.name.chars().count() > 200 {
            errors.push("name", "must be at most 200 characters");
        }
        self.sec_roles.sort();
        self.sec_roles.dedup();
        if self.kind == OrganisationKind::User && self.sec_roles.is_empty() {
            errors.push(
                "sec_roles",
                format!("must hold at least one of: {}", SecRole::names()),
            );
        }
        if let Some(id) = &self.sec_party_id
            && (id.trim().is_empty() || id.len() > 64)
        {
            errors.push("sec_party_id", "must be 1 to 64 characters when given");
        }
        errors.into_result()
    }
}

/// Registers an organisation, recording it in the audit log, within the caller's unit of work.
pub fn create_organisation(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    mut new: NewOrganisation,
) -> Result<Organisation, AuthError> {
    new.validate()?;
    let at = timestamp(now);
    let id = store::insert_organisation(
        conn,
        store::NewOrganisationRow {
            name: &new.name,
            kind: new.kind.as_str(),
            sec_party_id: new.sec_party_id.as_deref(),
            status: OrganisationStatus::Active.as_str(),
            version: 1,
            created_at: at,
            updated_at: at,
        },
        &new.sec_roles,
    )
    .map_err(|e| match e {
        StoreError::Conflict(_) if new.kind == OrganisationKind::Operator => {
            AuthError::Duplicate("the operator organisation already exists".into())
        }
        StoreError::Conflict(_) => AuthError::Duplicate(format!(
            "an organisation named {:?} already exists",
            new.name
        )),
        other => other.into(),
    })?;
    let roles: Vec<&str> = new.sec_roles.iter().map(|r| r.as_str()).collect();
    audit::record(
        conn,
        now,
        AuditEvent {
            actor,
            organisation_id: Some(id),
            action: "organisation.created",
            entity_type: "organisation",
            entity_id: id.to_string(),
            changes: Changes::new()
                .created("name", new.name.as_str())
                .created("kind", new.kind.as_str())
                .created("sec_roles", roles)
                .created("sec_party_id", new.sec_party_id.clone()),
            request_id: None,
        },
    )?;
    Ok(store::organisation(conn, id)?)
}

/// The operator's organisation, once bootstrapped.
pub fn find_operator(conn: &mut DbConnection) -> Result<Option<Organisation>, AuthError> {
    Ok(store::operator_organisation(conn)?)
}

/// Changes to an organisation.
#[derive(Debug, Clone, Default)]
pub struct OrganisationChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new standing.
    pub status: Option<OrganisationStatus>,
    /// New SEC roles, replacing the old.
    pub sec_roles: Option<Vec<SecRole>>,
    /// A new SEC party id (`Some(None)` clears it).
    pub sec_party_id: Option<Option<String>>,
}

impl Identity {
    /// Registers an organisation that uses the network (operator administrators only). With
    /// an idempotency key, a retry answers with the first response instead of registering again.
    pub fn register_organisation(
        &self,
        principal: &Principal,
        new: NewOrganisation,
        idempotent: Option<Idempotent<Organisation>>,
    ) -> Result<Created<Organisation>, AuthError> {
        principal.require(Permission::ManageOrganisations, "register organisations")?;
        if new.kind == OrganisationKind::Operator {
            return Err(
                dsms_core::ValidationErrors::from(dsms_core::FieldError::new(
                    "kind",
                    "there is only one operator organisation",
                ))
                .into(),
            );
        }
        let now = self.now();
        self.db().write_blocking(|conn| {
            if let Some(replay) = crate::replay(conn, idempotent.as_ref())? {
                return Ok(replay);
            }
            let organisation = create_organisation(conn, now, &principal.actor, new)?;
            if let Some(key) = idempotent {
                key.keep(conn, now, &organisation)?;
            }
            Ok(Created::New(organisation))
        })
    }

    /// One page of the organisations `principal` may see.
    pub fn list_organisations(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Organisation>, AuthError> {
        let rows = self
            .db()
            .read_blocking(|conn| store::organisations_page(conn, principal, page))?;
        Ok(Page::from_rows(rows, page, |o| o.id))
    }

    /// One organisation, if `principal` may see it.
    pub fn organisation(&self, principal: &Principal, id: i64) -> Result<Organisation, AuthError> {
        Ok(self
            .db()
            .read_blocking(|conn| store::visible_organisation(conn, principal, id))?)
    }

    /// Changes an organisation if it is still at `version`. Suspending or withdrawing it stops
    /// its people and API tokens at once.
    pub fn update_organisation(
        &self,
        principal: &Principal,
        id: i64,
        version: Option<i64>,
        changes: OrganisationChanges,
        request_id: Option<&str>,
    ) -> Result<Organisation, AuthError> {
        let now = self.now();
        let at = timestamp(now);
        self.db().write_blocking(|conn| {
            let before = store::visible_organisation(conn, principal, id)?;
            principal.require(Permission::ManageOrganisations, "change organisations")?;
            let expected = version.unwrap_or(before.version);
            if expected != before.version {
                return Err(AuthError::VersionMismatch(expected));
            }
            let mut candidate = NewOrganisation {
                name: changes.name.clone().unwrap_or_else(|| before.name.clone()),
                kind: before.kind,
                sec_roles: changes
                    .sec_roles
                    .clone()
                    .unwrap_or_else(|| before.sec_roles.clone()),
                sec_party_id: changes
                    .sec_party_id
                    .clone()
                    .unwrap_or_else(|| before.sec_party_id.clone()),
            };
            candidate.validate()?;
            let status = changes.status.unwrap_or(before.status);
            if before.kind == OrganisationKind::Operator && status != OrganisationStatus::Active {
                return Err(
                    dsms_core::ValidationErrors::from(dsms_core::FieldError::new(
                        "status",
                        "the operator organisation cannot be suspended or withdrawn",
                    ))
                    .into(),
                );
            }
            let updated = store::update_organisation(
                conn,
                id,
                expected,
                &candidate.name,
                status.as_str(),
                candidate.sec_party_id.as_deref(),
                at,
            )
            .map_err(|e| match e {
                StoreError::Conflict(_) => AuthError::Duplicate(format!(
                    "an organisation named {:?} already exists",
                    candidate.name
                )),
                other => other.into(),
            })?;
            if !updated {
                return Err(AuthError::VersionMismatch(expected));
            }
            if candidate.sec_roles != before.sec_roles {
                store::replace_sec_roles(conn, id, &candidate.sec_roles)?;
            }
            if status != OrganisationStatus::Active && before.status == OrganisationStatus::Active {
                // Authentication also checks the standing, but ending the sessions means
                // reinstating the organisation does not revive them.
                store::revoke_sessions_of_organisation(conn, id, at)?;
            }
            let after = store::organisation(conn, id)?;
            let roles = |r: &[SecRole]| r.iter().map(|r| r.as_str()).collect::<Vec<_>>();
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(id),
                    action: "organisation.updated",
                    entity_type: "organisation",
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .field("name", before.name.as_str(), after.name.as_str())
                        .field("status", before.status.as_str(), after.status.as_str())
                        .field(
                            "sec_roles",
                            roles(&before.sec_roles),
                            roles(&after.sec_roles),
                        )
                        .field(
                            "sec_party_id",
                            before.sec_party_id.clone(),
                            after.sec_party_id.clone(),
                        ),
                    request_id,
                },
            )?;
            Ok(after)
        })
    }
}
