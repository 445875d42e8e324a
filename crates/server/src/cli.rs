//! The command line, fixed by the API contract: `serve`, `migrate`, `config show`,
//! `admin create-org`, `admin create-user`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use dsms_auth::{
    InitialCredentials, NewOrganisation, NewPerson, OrganisationKind, Role, SecRole,
    generate_initial_password,
};
use dsms_core::{Actor, Clock, Email, SystemClock};
use dsms_store::Db;

use crate::Application;
use crate::config::Config;

/// dsms: service management for the smart-metering network.
#[derive(Debug, Parser)]
#[command(name = "dsms", version, about)]
pub struct Cli {
    /// A TOML file overriding the built-in defaults (see config/default.toml).
    #[arg(long, global = true, env = "DSMS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and web UI (applies migrations and creates the first administrator on an
    /// empty database).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Administer organisations and people.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Write a consistent copy of the SQLite database to FILE, also while the server runs.
    Backup {
        /// The backup file to create.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Replace the SQLite database with a backup made by `dsms backup` (stop the server first).
    Restore {
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print the effective configuration, secrets redacted.
    Show,
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Register an organisation that uses the network; prints its id.
    CreateOrg {
        /// The organisation's name.
        #[arg(long)]
        name: String,
        /// A SEC role it holds (repeat for several): import_supplier, export_supplier,
        /// gas_supplier, electricity_distributor, gas_transporter, registered_supplier_agent,
        /// other_user.
        #[arg(long = "sec-role", value_name = "ROLE", required = true, num_args = 1..)]
        sec_roles: Vec<String>,
        /// Its SEC party id.
        #[arg(long)]
        sec_party_id: Option<String>,
    },
    /// Add a person; prints a random initial password to change at first sign-in.
    CreateUser {
        /// Their email address.
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long)]
        name: String,
        /// Their organisation's id (default: the operator).
        #[arg(long)]
        org: Option<i64>,
        /// A role (repeat for several): dcc_admin, service_desk_manager, service_desk_agent,
        /// org_admin, org_user, org_reporter.
        #[arg(long = "role", value_name = "ROLE", required = true, num_args = 1..)]
        roles: Vec<String>,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("dsms: {error}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&config.log);
    match run(cli.command, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dsms: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config),
        Command::Migrate => {
            let db = Db::connect(&config.db_settings())?;
            let applied = db.migrate().context("cannot migrate the database")?;
            if applied.is_empty() {
                println!("database is up to date");
            } else {
                for version in applied {
                    println!("applied {version}");
                }
            }
            let admin = crate::bootstrap_first_admin(
                &db,
                &config.argon2()?,
                &SystemClock,
                &config.bootstrap_settings()?,
            )?;
            if let Some(credentials) = admin {
                print_credentials("first administrator created", &credentials);
            }
            Ok(())
        }
        Command::Config {
            action: ConfigAction::Show,
        } => {
            print!("{}", config.show());
            Ok(())
        }
        Command::Admin { action } => admin(action, &config),
        Command::Backup { to } => {
            crate::backup::backup(&config, &to)?;
            println!("backup written to {}", to.display());
            Ok(())
        }
        Command::Restore { from } => {
            crate::backup::restore(&config, &from)?;
            println!("database restored from {}", from.display());
            Ok(())
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let app = Application::build(config).await?;
        if let Some(credentials) = app.initial_admin() {
            print_credentials("first administrator created", credentials);
        }
        app.run_until_stopped().await
    })
}

fn admin(action: AdminAction, config: &Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.db_settings())?;
    db.migrate().context("cannot migrate the database")?;
    let clock = SystemClock;
    let actor = Actor::system("cli");
    match action {
        AdminAction::CreateOrg {
            name,
            sec_roles,
            sec_party_id,
        } => {
            let sec_roles = sec_roles
                .iter()
                .map(|r| {
                    SecRole::parse(r).with_context(|| {
                        format!(
                            "unknown SEC role {r:?}; expected one of {}",
                            SecRole::names()
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let org = db.write_blocking(|conn| {
                dsms_auth::create_organisation(
                    conn,
                    clock.now(),
                    &actor,
                    NewOrganisation {
                        name,
                        kind: OrganisationKind::User,
                        sec_roles,
                        sec_party_id,
                    },
                )
            })?;
            println!("{}", org.id);
            Ok(())
        }
        AdminAction::CreateUser {
            email,
            name,
            org,
            roles,
        } => {
            let email =
                Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
            let roles = roles
                .iter()
                .map(|r| {
                    Role::parse(r).with_context(|| {
                        format!("unknown role {r:?}; expected one of {}", Role::names())
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let password = generate_initial_password();
            let hash = config.argon2()?.hash(&password)?;
            let person = db.write_blocking(|conn| {
                let organisation_id = match org {
                    Some(id) => id,
                    None => match dsms_auth::find_operator(conn)? {
                        Some(operator) => operator.id,
                        None => return Err(dsms_auth::AuthError::NotFound),
                    },
                };
                dsms_auth::create_person(
                    conn,
                    clock.now(),
                    &actor,
                    NewPerson {
                        email,
                        name,
                        organisation_id,
                        roles,
                    },
                    &hash,
                    true,
                )
            });
            let person = match person {
                Err(dsms_auth::AuthError::NotFound) if org.is_none() => {
                    bail!("no operator organisation yet: run `dsms serve` once, or pass --org")
                }
                other => other?,
            };
            print_credentials(
                &format!("person {} created", person.id),
                &InitialCredentials {
                    email: person.email,
                    password,
                },
            );
            Ok(())
        }
    }
}

/// Shows new credentials once, clearly, on standard output (never in the logs).
fn print_credentials(headline: &str, credentials: &InitialCredentials) {
    let rule = "=".repeat(72);
    println!(
        "{rule}\n dsms: {headline}\n\n   email:    {}\n   password: {}\n\n \
         Sign in with these, enrol an authenticator app (TOTP) and choose a new password.\n \
         This password is shown only this once.\n{rule}",
        credentials.email, credentials.password
    );
}
