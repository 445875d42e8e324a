//! Vocabulary shared by every dsms bounded context: who acts ([`Actor`], [`Principal`]) and what
//! they may do ([`Permission`]), what time it is
//! ([`Clock`]), how input is judged ([`FieldError`], [`Email`]) and how retries are spaced
//! ([`Backoff`]), and the UK business calendar with the SLA clocks that run on it ([`calendar`],
//! [`sla`]).
//!
//! This crate does no I/O and depends on no other dsms crate; everything else depends on it.

mod actor;
pub mod attachment;
mod backoff;
pub mod calendar;
mod clock;
mod email;
mod page;
mod principal;
mod roles;
pub mod sla;
mod ticket;
mod validation;

pub use actor::Actor;
pub use backoff::Backoff;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use email::Email;
pub use page::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest};
pub use principal::{Forbidden, Permission, Principal, Scope};
pub use roles::{OrganisationKind, Role, SecRole};
pub use ticket::{TicketStatus, status_filter};
pub use validation::{FieldError, ValidationErrors};
