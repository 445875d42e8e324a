use dsms_core::{Actor, Clock, Email};
use dsms_store::Db;

use crate::model::{OrganisationKind, Role};
use crate::organisations::{NewOrganisation, create_organisation};
use crate::password::{PasswordHasher, generate_initial_password};
use crate::people::{NewPerson, create_person};
use crate::{AuthError, store};

/// Who the first administrator is, from configuration.
#[derive(Debug, Clone)]
pub struct BootstrapSettings {
    /// The operator organisation's name.
    pub operator_name: String,
    /// The first administrator's email address.
    pub admin_email: Email,
    /// The first administrator's name.
    pub admin_name: String,
}

/// The credentials of a newly created account, shown once to whoever created it.
#[derive(Clone)]
pub struct InitialCredentials {
    /// The account's email address.
    pub email: String,
    /// The random initial password, which must be changed at first sign-in.
    pub password: String,
}

impl std::fmt::Debug for InitialCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitialCredentials")
            .field("email", &self.email)
            .field("password", &"***")
            .finish()
    }
}

/// On a database with no administrator, creates the operator organisation (if missing) and a
/// first `dcc_admin` with a random password, returning the credentials to show once. Returns
/// `None` when an administrator already exists, including when another server instance
/// bootstrapped at the same moment.
pub fn ensure_first_admin(
    db: &Db,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    settings: &BootstrapSettings,
) -> Result<Option<InitialCredentials>, AuthError> {
    let exists = db.read_blocking(|conn| store::any_person_with_role(conn, Role::DccAdmin))?;
    if exists {
        return Ok(None);
    }
    let password = generate_initial_password();
    let hash = hasher.hash(&password)?;
    let actor = Actor::system("bootstrap");
    let created = db.write_blocking(|conn| {
        if store::any_person_with_role(conn, Role::DccAdmin)? {
            return Ok(false);
        }
        let now = clock.now();
        let operator = match store::operator_organisation(conn)? {
            Some(org) => org,
            None => create_organisation(
                conn,
                now,
                &actor,
                NewOrganisation {
                    name: settings.operator_name.clone(),
                    kind: OrganisationKind::Operator,
                    sec_roles: Vec::new(),
                    sec_party_id: None,
                },
            )?,
        };
        create_person(
            conn,
            now,
            &actor,
            NewPerson {
                email: settings.admin_email.clone(),
                name: settings.admin_name.clone(),
                organisation_id: operator.id,
                roles: vec![Role::DccAdmin],
            },
            &hash,
            true,
        )?;
        Ok::<_, AuthError>(true)
    });
    match created {
        Ok(true) => {
            tracing::info!(email = %settings.admin_email, "created the first administrator");
            Ok(Some(InitialCredentials {
                email: settings.admin_email.to_string(),
                password,
            }))
        }
        Ok(false) | Err(AuthError::Duplicate(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
