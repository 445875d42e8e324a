use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong talking to the database, in terms callers branch on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or is too busy: worth retrying later (HTTP 503).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness or foreign-key rule refused the write.
    #[error("the write conflicts with existing data: {0}")]
    Conflict(String),
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// Any other database failure: a bug or a broken database (HTTP 500).
    #[error("database error: {0}")]
    Database(#[source] DieselError),
    /// The blocking task running a unit of work died.
    #[error("the unit of work was interrupted: {0}")]
    Interrupted(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation,
                info,
            ) => Self::Conflict(info.message().to_owned()),
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(_, ref info) if is_busy(info.message()) => {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::Database(other),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl StoreError {
    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// SQLite reports a lock held past `busy_timeout` only in its message text; PostgreSQL's
/// connection failures surface as "server closed the connection" or "terminating connection".
fn is_busy(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("database is locked")
        || m.contains("database table is locked")
        || m.contains("terminating connection")
        || m.contains("server closed the connection")
        || m.contains("no connection to the server")
        || m.contains("connection to server")
        || m.contains("could not connect")
        || m.contains("the database system is")
}
