use chrono::{DateTime, Utc};
use dsms_core::{Actor, ValidationErrors};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError, timestamp};

use crate::AuthError;
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
