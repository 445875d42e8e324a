use serde::{Deserialize, Serialize};

/// Who caused a change: recorded on every audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// The system itself: start-up bootstrap, background workers, the command line.
    System {
        /// What part of the system acted, e.g. `bootstrap` or `cli`.
        component: String,
    },
    /// A signed-in person.
    Person {
        /// The person's id.
        id: i64,
        /// The organisation the person acted for.
        organisation_id: i64,
    },
    /// An organisation's system using an API token.
    ApiToken {
        /// The token's id.
        id: i64,
        /// The organisation that owns the token.
        organisation_id: i64,
    },
}

impl Actor {
    /// The system acting as `component`.
    pub fn system(component: &str) -> Self {
        Self::System {
            component: component.to_owned(),
        }
    }

    /// A short stable label for the kind of actor, as stored in the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::System { .. } => "system",
            Self::Person { .. } => "person",
            Self::ApiToken { .. } => "api_token",
        }
    }

    /// The actor's identifier within its kind, as stored in the audit log.
    pub fn identifier(&self) -> String {
        match self {
            Self::System { component } => component.clone(),
            Self::Person { id, .. } | Self::ApiToken { id, .. } => id.to_string(),
        }
    }

    /// The organisation the actor acted for, if any.
    pub fn organisation_id(&self) -> Option<i64> {
        match self {
            Self::System { .. } => None,
            Self::Person {
                organisation_id, ..
            }
            | Self::ApiToken {
                organisation_id, ..
            } => Some(*organisation_id),
        }
    }
}
