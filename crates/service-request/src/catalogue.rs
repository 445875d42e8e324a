//! The service catalogue: what organisations may ask for, maintained by the operator's
//! administrators. Every change to an item's definition adds an immutable form version and
//! makes it the one in force; requests keep the version they were raised against.

use dsms_core::{Permission, Principal, ValidationErrors};
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{DbConnection, StoreError, timestamp};

use crate::model::{CatalogueChanges, CatalogueItem, FormVersion, NewCatalogueItem, RequestError};
use crate::service::{ServiceRequests, form_version, may_request, parse_definition};
use crate::store::{self, ItemRow, VersionRow};

/// The audit entity type of catalogue items.
const ENTITY: &str = "catalogue_item";

fn item(row: ItemRow, version: VersionRow) -> Result<CatalogueItem, RequestError> {
    Ok(CatalogueItem {
        id: row.id,
        code: row.code,
        active: row.active,
        form: form_version(version)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    })
}

fn code_is_valid(code: &str) -> bool {
    let mut bytes = code.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && code.len() <= 64
}

/// Looks an item up by id or code, whoever may see it.
fn find(conn: &mut DbConnection, key: &str) -> Result<(ItemRow, VersionRow), StoreError> {
    let key = key.trim();
    store::item(conn, key.parse().ok(), key)
}

impl ServiceRequests {
    fn require_catalogue_reader(principal: &Principal) -> Result<bool, RequestError> {
        if principal.can(Permission::ManageCatalogue) {
            return Ok(true);
        }
        principal.require(Permission::ViewRequests, "see the service catalogue")?;
        Ok(false)
    }

    /// The items on offer, by code; administrators of the catalogue also see withdrawn ones.
    pub fn catalogue(&self, principal: &Principal) -> Result<Vec<CatalogueItem>, RequestError> {
        let managers = Self::require_catalogue_reader(principal)?;
        let rows = self
            .inner
            .db
            .read_blocking(|conn| store::items(conn, managers))?;
        rows.into_iter()
            .map(|(row, version)| item(row, version))
            .collect()
    }

    /// The items on offer that the caller may request: active, and open to its organisation's
    /// SEC roles and to the person's roles. None for an organisation that is not active.
    pub fn requestable(&self, principal: &Principal) -> Result<Vec<CatalogueItem>, RequestError> {
        principal.require(Permission::RaiseRequests, "raise service requests")?;
        let (rows, sec_roles) = self.inner.db.read_blocking(|conn| {
            Ok::<_, StoreError>((
                store::items(conn, false)?,
                store::active_organisation_sec_roles(conn, principal.organisation_id)?,
            ))
        })?;
        let Some(sec_roles) = sec_roles else {
            return Ok(Vec::new());
        };
        let mut offered = Vec::new();
        for (row, version) in rows {
            let item = item(row, version)?;
            if may_request(principal, &item.form.definition, &sec_roles).is_ok() {
                offered.push(item);
            }
        }
        Ok(offered)
    }

    /// One item by id or code, with its form version in force.
    pub fn catalogue_item(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<CatalogueItem, RequestError> {
        let managers = Self::require_catalogue_reader(principal)?;
        let (row, version) = self.inner.db.read_blocking(|conn| find(conn, key))?;
        if !row.active && !managers {
            return Err(RequestError::NotFound);
        }
        item(row, version)
    }

    /// Form version `number` of an item, as requests raised against it were validated.
    pub fn form_version(
        &self,
        principal: &Principal,
        key: &str,
        number: i32,
    ) -> Result<FormVersion, RequestError> {
        Self::require_catalogue_reader(principal)?;
        let version = self.inner.db.read_blocking(|conn| {
            let (row, _) = find(conn, key)?;
            store::version_by_number(conn, row.id, number)
        })?;
        form_version(version)
    }

    /// Adds an item to the catalogue with its first form version.
    pub fn add_item(
        &self,
        principal: &Principal,
        new: NewCatalogueItem,
    ) -> Result<CatalogueItem, RequestError> {
        principal.require(
            Permission::ManageCatalogue,
            "maintain the service catalogue",
        )?;
        let code = new.code.trim().to_owned();
        let mut errors = ValidationErrors::default();
        if !code_is_valid(&code) {
            errors.push(
                "code",
                "must be lowercase letters, digits and _, starting with a letter (at most 64)",
            );
        }
        let definition = match new.definition.checked() {
            Ok(d) => Some(d),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        errors.into_result()?;
        let Some(definition) = definition else {
            return Err(ValidationErrors::default().into());
        };
        let now = self.now();
        let stamp = timestamp(now);
        let text = serde_json::to_string(&definition).unwrap_or_default();
        self.inner.db.write_blocking(|conn| {
            if store::item_id_of_code(conn, &code)?.is_some() {
                return Err(RequestError::Duplicate(format!(
                    "a catalogue item with code {code} already exists"
                )));
            }
            let id = store::insert_item(conn, &code, stamp)?;
            let version_id =
                store::insert_version(conn, id, 1, &text, &principal.display_name, stamp)?;
            let row = ItemRow {
                id,
                code: code.clone(),
                active: true,
                current_version_id: Some(version_id),
                created_at: stamp,
                updated_at: stamp,
                version: 1,
            };
            store::update_item(conn, &row, row.version)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: None,
                    action: "catalogue_item.created",
                    entity_type: ENTITY,
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .created("code", code.as_str())
                        .created("name", definition.name.as_str())
                        .created("form_version", 1),
                    request_id: None,
                },
            )?;
            let (row, version) = find(conn, &id.to_string())?;
            item(row, version)
        })
    }

    /// Changes an item if it is still at `expected` (when given). A new definition that differs
    /// from the one in force becomes the next form version; requests already raised keep theirs.
    pub fn change_item(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        changes: CatalogueChanges,
    ) -> Result<CatalogueItem, RequestError> {
        principal.require(
            Permission::ManageCatalogue,
            "maintain the service catalogue",
        )?;
        let definition = changes.definition.map(|d| d.checked()).transpose()?;
        let now = self.now();
        let stamp = timestamp(now);
        self.inner.db.write_blocking(|conn| {
            let (before, current) = find(conn, key)?;
            let version = expected.unwrap_or(before.version);
            if version != before.version {
                return Err(RequestError::VersionMismatch(version));
            }
            let mut row = before.clone();
            let mut audit_changes = Changes::new();
            if let Some(active) = changes.active {
                row.active = active;
                audit_changes = audit_changes.field("active", before.active, active);
            }
            if let Some(definition) = &definition
                && *definition != parse_definition(&current)?
            {
                let number = current.number + 1;
                let text = serde_json::to_string(definition).unwrap_or_default();
                let id = store::insert_version(
                    conn,
                    row.id,
                    number,
                    &text,
                    &principal.display_name,
                    stamp,
                )?;
                row.current_version_id = Some(id);
                audit_changes = audit_changes
                    .field("form_version", current.number, number)
                    .field(
                        "name",
                        parse_definition(&current)?.name.as_str(),
                        definition.name.as_str(),
                    );
            }
            if audit_changes.is_empty() {
                return item(before, current);
            }
            row.version += 1;
            row.updated_at = stamp;
            if !store::update_item(conn, &row, before.version)? {
                return Err(RequestError::VersionMismatch(version));
            }
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: None,
                    action: "catalogue_item.updated",
                    entity_type: ENTITY,
                    entity_id: row.id.to_string(),
                    changes: audit_changes,
                    request_id: None,
                },
            )?;
            let (row, version) = find(conn, &row.id.to_string())?;
            item(row, version)
        })
    }
}
