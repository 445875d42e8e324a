use dsms_core::SharedClock;
use dsms_store::Db;

/// What handlers need from the running server; registered as `web::Data<ApiState>`.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The database.
    pub db: Db,
    /// The source of "now".
    pub clock: SharedClock,
}
