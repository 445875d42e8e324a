//! Resolver groups (second and third line, the hub provider, security, ...) and their members,
//! so incidents can be given to a group and agents can work "my groups" queues; and each
//! person's saved workspace views. Administrators (`manage_staff`) manage groups; members are
//! the operator's own staff. Incidents name their group by its name, which therefore never
//! changes.

mod store;

use dsms_core::{Permission, Principal, ValidationErrors};
use dsms_store::StoreError;
use dsms_store::audit::{self, AuditEvent, Changes};

use crate::AuthError;
use crate::identity::{Client, Identity};
use crate::model::OrganisationKind;

/// A resolver group with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverGroup {
    /// Its id.
    pub id: i64,
    /// Its name, as incidents' `assignment_group` carries it.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its members, by name.
    pub members: Vec<GroupMember>,
}

/// A member of a resolver group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The person's id.
    pub person_id: i64,
    /// Their name.
    pub name: String,
}

/// A group to create.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// Its name: letters, digits, spaces, `-` and `_`, up to 100 characters.
    pub name: String,
    /// What it does.
    pub description: String,
}

/// A named set of workspace filters, kept for the person who saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The workspace query string it stands for.
    pub query: String,
}

/// Group names travel in incidents, URLs and emails: keep them plain.
fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 100
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
}

fn staff_only(principal: &Principal, what: &str) -> Result<(), AuthError> {
    if principal.is_operator_staff() {
        Ok(())
    } else {
        Err(AuthError::Forbidden(dsms_core::Forbidden(what.to_owned())))
    }
}

impl Identity {
    /// Every resolver group with its members, by name (operator staff).
    pub fn list_groups(&self, principal: &Principal) -> Result<Vec<ResolverGroup>, AuthError> {
        staff_only(principal, "see resolver groups")?;
        Ok(self.db().read_blocking(store::groups)?)
    }

    /// The names of the groups `principal` belongs to.
    pub fn my_groups(&self, principal: &Principal) -> Result<Vec<String>, AuthError> {
        let Some(person_id) = principal.person_id() else {
            return Ok(Vec::new());
        };
        Ok(self
            .db()
            .read_blocking(|conn| store::group_names_of(conn, person_id))?)
    }

    /// Creates a resolver group (administrators).
    pub fn create_group(
        &self,
        principal: &Principal,
        new: NewGroup,
        client: &Client,
    ) -> Result<ResolverGroup, AuthError> {
        principal.require(Permission::ManageStaff, "manage resolver groups")?;
        let name = new.name.trim().to_owned();
        let description = new.description.trim().to_owned();
        let mut errors = ValidationErrors::default();
        if !valid_group_name(&name) {
            errors.push(
                "name",
                "must be 1 to 100 letters, digits, spaces, hyphens or underscores",
            );
        }
        if description.chars().count() > 1000 {
            errors.push("description", "must be at most 1000 characters");
        }
        errors.into_result()?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            let id =
                store::insert_group(conn, &name, &description, self.stamp()).map_err(
                    |e| match e {
                        StoreError::Conflict(_) => {
                            AuthError::Duplicate(format!("a group named {name:?} already exists"))
                        }
                        other => other.into(),
                    },
                )?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(principal.organisation_id),
                    action: "group.created",
                    entity_type: "resolver_group",
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .created("name", name.as_str())
                        .created("description", description.as_str()),
                    request_id: client.request_id.as_deref(),
                },
            )?;
            Ok(store::group(conn, id)?)
        })
    }

    /// Adds one of the operator's staff to a group (administrators); adding a member twice
    /// changes nothing.
    pub fn add_group_member(
        &self,
        principal: &Principal,
        group_id: i64,
        person_id: i64,
        client: &Client,
    ) -> Result<ResolverGroup, AuthError> {
        principal.require(Permission::ManageStaff, "manage resolver groups")?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            store::group(conn, group_id)?;
            let person = crate::store::person(conn, person_id).map_err(|e| match e {
                StoreError::NotFound => AuthError::Invalid(
                    dsms_core::FieldError::new("person_id", "no such person").into(),
                ),
                other => other.into(),
            })?;
            let organisation = crate::store::organisation(conn, person.organisation_id)?;
            if organisation.kind != OrganisationKind::Operator {
                return Err(AuthError::Invalid(
                    dsms_core::FieldError::new("person_id", "must be one of the operator's staff")
                        .into(),
                ));
            }
            if store::add_member(conn, group_id, person_id, self.stamp())? {
                audit::record(
                    conn,
                    now,
                    AuditEvent {
                        actor: &principal.actor,
                        organisation_id: Some(principal.organisation_id),
                        action: "group.member_added",
                        entity_type: "resolver_group",
                        entity_id: group_id.to_string(),
                        changes: Changes::new().created("person_id", person_id),
                        request_id: client.request_id.as_deref(),
                    },
                )?;
            }
            Ok(store::group(conn, group_id)?)
        })
    }

    /// Removes a member from a group (administrators); not found when they are not in it.
    pub fn remove_group_member(
        &self,
        principal: &Principal,
        group_id: i64,
        person_id: i64,
        client: &Client,
    ) -> Result<(), AuthError> {
        principal.require(Permission::ManageStaff, "manage resolver groups")?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            if !store::remove_member(conn, group_id, person_id)? {
                return Err(AuthError::NotFound);
            }
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(principal.organisation_id),
                    action: "group.member_removed",
                    entity_type: "resolver_group",
                    entity_id: group_id.to_string(),
                    changes: Changes::new().field("person_id", person_id, serde_json::Value::Null),
                    request_id: client.request_id.as_deref(),
                },
            )?;
            Ok(())
        })
    }

    /// The caller's saved views, by name.
    pub fn saved_views(&self, principal: &Principal) -> Result<Vec<SavedView>, AuthError> {
        let Some(person_id) = principal.person_id() else {
            return Ok(Vec::new());
        };
        Ok(self
            .db()
            .read_blocking(|conn| store::saved_views(conn, person_id))?)
    }

    /// Saves the caller's view `name` as `query`, replacing one of the same name.
    pub fn save_view(
        &self,
        principal: &Principal,
        name: &str,
        query: &str,
    ) -> Result<SavedView, AuthError> {
        let person_id = principal.person_id().ok_or_else(|| {
            AuthError::Forbidden(dsms_core::Forbidden("save views without a person".into()))
        })?;
        let name = name.trim();
        let mut errors = ValidationErrors::default();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push("name", "must be 1 to 100 characters");
        }
        if query.len() > 2000 {
            errors.push("query", "must be at most 2000 characters");
        }
        errors.into_result()?;
        let stamp = self.stamp();
        Ok(self
            .db()
            .write_blocking(|conn| store::upsert_view(conn, person_id, name, query, stamp))?)
    }

    /// Deletes one of the caller's saved views; not found when it is not theirs.
    pub fn delete_view(&self, principal: &Principal, id: i64) -> Result<(), AuthError> {
        let person_id = principal.person_id().ok_or(AuthError::NotFound)?;
        if self
            .db()
            .write_blocking(|conn| store::delete_view(conn, person_id, id))?
        {
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::valid_group_name;

    #[test]
    fn group_names_are_plain_words() {
        assert!(valid_group_name("Second line"));
        assert!(valid_group_name("hub_provider-2"));
        assert!(!valid_group_name(""));
        assert!(!valid_group_name("a/b"));
        assert!(!valid_group_name(&"x".repeat(101)));
    }
}
