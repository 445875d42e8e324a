//! Identity and access for dsms: organisations (the operator and the SEC parties that use the
//! network), the people who act for them and their roles, password hashing, and the first-run
//! bootstrap of an administrator.
//!
//! Depends on `dsms-core` and `dsms-store` only; knows nothing of HTTP.

mod bootstrap;
mod error;
mod model;
mod organisations;
mod password;
mod people;
mod store;

pub use bootstrap::{BootstrapSettings, InitialCredentials, ensure_first_admin};
pub use error::AuthError;
pub use model::{Organisation, OrganisationKind, OrganisationStatus, Person, Role, SecRole};
pub use organisations::{NewOrganisation, create_organisation, find_operator};
pub use password::{Argon2Settings, PasswordHasher, generate_initial_password};
pub use people::{NewPerson, create_person};
