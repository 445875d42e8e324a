use dsms_auth::Identity;
use dsms_core::SharedClock;
use dsms_store::Db;

/// What handlers need from the running server; registered as `web::Data<ApiState>`.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The database.
    pub db: Db,
    /// The source of "now".
    pub clock: SharedClock,
    /// Identity and access.
    pub identity: Identity,
    /// Whether to take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}
