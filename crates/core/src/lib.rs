//! Vocabulary shared by every dsms bounded context: who acts ([`Actor`]), what time it is
//! ([`Clock`]), how input is judged ([`FieldError`], [`Email`]) and how retries are spaced
//! ([`Backoff`]).
//!
//! This crate does no I/O and depends on no other dsms crate; everything else depends on it.

mod actor;
mod backoff;
mod clock;
mod email;
mod validation;

pub use actor::Actor;
pub use backoff::Backoff;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use email::Email;
pub use validation::{FieldError, ValidationErrors};
