use chrono::{DateTime, Utc};
use dsms_core::{Actor, Email, ValidationErrors};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError, timestamp};

use crate::AuthError;
use crate::model::{OrganisationKind, Person, Role};
use crate::store;

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
