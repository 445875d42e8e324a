//! The organisations and people an export's names and emails are matched against, read once
//! before the import starts.

use std::collections::HashMap;

use diesel::prelude::*;
use dsms_store::schema::{organisations, people};
use dsms_store::{DbConnection, StoreError};

/// A person an export row may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// Their id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Whether they work for the operator (and may be assigned incidents).
    pub operator: bool,
}

/// Organisations by SEC party id and by name, people by email.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    by_party_id: HashMap<String, i64>,
    by_name: HashMap<String, i64>,
    people: HashMap<String, Known>,
}

impl Directory {
    /// Reads every organisation and person.
    pub fn load(conn: &mut DbConnection) -> Result<Self, StoreError> {
        let orgs: Vec<(i64, String, Option<String>)> = organisations::table
            .select((
                organisations::id,
                organisations::name,
                organisations::sec_party_id,
            ))
            .load(conn)?;
        let found: Vec<(i64, String, String, String)> = people::table
            .inner_join(organisations::table)
            .select((people::id, people::email, people::name, organisations::kind))
            .load(conn)?;
        Ok(Self::new(orgs, found))
    }

    /// The directory of `orgs` (id, name, SEC party id) and `found` people (id, email, name,
    /// their organisation's kind), as [`load`](Self::load) reads them.
    pub fn new(
        orgs: Vec<(i64, String, Option<String>)>,
        found: Vec<(i64, String, String, String)>,
    ) -> Self {
        let mut directory = Self::default();
        for (id, name, party) in orgs {
            directory.by_name.insert(name.trim().to_lowercase(), id);
            if let Some(party) = party {
                directory
                    .by_party_id
                    .insert(party.trim().to_uppercase(), id);
            }
        }
        for (id, email, name, kind) in found {
            directory.people.insert(
                email.to_lowercase(),
                Known {
                    id,
                    name,
                    operator: kind == "operator",
                },
            );
        }
        directory
    }

    /// The organisation with this SEC party id or, failing that, this name.
    pub fn organisation(&self, key: &str) -> Option<i64> {
        let key = key.trim();
        self.by_party_id
            .get(&key.to_uppercase())
            .or_else(|| self.by_name.get(&key.to_lowercase()))
            .copied()
    }

    /// The person with this email.
    pub fn person(&self, email: &str) -> Option<&Known> {
        self.people.get(&email.trim().to_lowercase())
    }
}
