//! The command line, fixed by the API contract: `serve`, `migrate`, `config show`,
//! `admin create-org`, `admin create-user`; and `seed` and `bench` for performance work;
//! `import` from the old system and the operator's `admin` commands.

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
    /// Import incidents, service requests and their notes from the CSV exports of the system
    /// dsms replaces, through a column mapping (see deploy/import-mapping.example.toml).
    /// Re-running updates what changed and never duplicates.
    Import(ImportCliArgs),
    /// Fill an empty database with a realistic, reproducible data set for benchmarks and
    /// demonstrations (never in production: every seeded person shares one password). On SQLite
    /// stop the server first: the seed writes without a journal for speed.
    Seed(SeedArgs),
    /// Benchmark a running server on a seeded database over HTTP; prints throughput and
    /// latency percentiles per scenario.
    Bench(BenchArgs),
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

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent clients per scenario.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Requests per scenario.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// The --seed the database was seeded with.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The --password the database was seeded with.
    #[arg(long, env = "DSMS_SEED_PASSWORD", default_value = crate::seed::DEFAULT_PASSWORD)]
    password: String,
    /// The server's process id, to report its memory (Linux).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Only the scenarios whose names start with these (comma-separated): create, get, list,
    /// search, sign-in, report.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct SeedArgs {
    /// How many incidents.
    #[arg(long, default_value_t = 100_000)]
    incidents: u64,
    /// The random seed: the same seed and --until give the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Months of history.
    #[arg(long, default_value_t = 13)]
    months: u32,
    /// The end of the history, RFC 3339 (default: midnight UTC today).
    #[arg(long)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// The password of every seeded person.
    #[arg(long, env = "DSMS_SEED_PASSWORD", default_value = crate::seed::DEFAULT_PASSWORD)]
    password: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
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
    /// Lift the sign-in lock of an account and forget its failed attempts (audited).
    Unlock {
        /// The account's email address.
        #[arg(long)]
        email: String,
    },
    /// Clear a person's authenticator and recovery codes and end their sessions; they enrol
    /// again at their next sign-in (audited).
    ResetMfa {
        /// Their email address.
        #[arg(long)]
        email: String,
    },
    /// Start signing access tokens with a fresh key; tokens already issued keep working until
    /// they expire (audited). Prints the new key's id.
    RotateSigningKey,
    /// Put dead outbox rows (deliveries that ran out of attempts) back in the queue (audited).
    RedriveOutbox {
        /// Only these rows (repeat for several; default: every dead row).
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<i64>,
        /// Only rows of this kind: email, event or webhook.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Show how the delivery workers are doing: outbox rows by kind and state, the oldest
    /// pending row, leases held, locked accounts and SLA breaches.
    Health {
        /// Exit with failure when there are dead rows or a pending row older than this many
        /// seconds (for cron checks).
        #[arg(long, value_name = "SECS")]
        fail_after_secs: Option<i64>,
    },
}

#[derive(Debug, clap::Args)]
struct ImportCliArgs {
    /// The column mapping (TOML).
    #[arg(long, value_name = "FILE")]
    mapping: PathBuf,
    /// The incidents export (CSV).
    #[arg(long, value_name = "FILE")]
    incidents: Option<PathBuf>,
    /// The incidents' notes and work logs export (CSV).
    #[arg(long, value_name = "FILE")]
    notes: Option<PathBuf>,
    /// The service requests export (CSV).
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// The service requests' notes and work logs export (CSV).
    #[arg(long, value_name = "FILE")]
    request_notes: Option<PathBuf>,
    /// Where the rejects CSVs (incidents-rejects.csv, notes-rejects.csv, requests-rejects.csv,
    /// request-notes-rejects.csv) are written.
    #[arg(long, value_name = "DIR", default_value = ".")]
    rejects_dir: PathBuf,
    /// Check every row and report, writing nothing to the database.
    #[arg(long)]
    dry_run: bool,
    /// Rows per transaction.
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
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
        Command::Import(args) => import(args, &config),
        Command::Seed(args) => seed(args, &config),
        Command::Bench(args) => bench(args, &config),
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
        AdminAction::Unlock { email } => {
            let was_locked = crate::admin::unlock(&db, &clock, &email)?;
            println!(
                "{email}: {}",
                if was_locked {
                    "unlocked"
                } else {
                    "was not locked; failed attempts forgotten"
                }
            );
            Ok(())
        }
        AdminAction::ResetMfa { email } => {
            let ended = crate::admin::reset_mfa(&db, &clock, &email)?;
            println!("{email}: MFA reset, {ended} session(s) ended; they enrol again at sign-in");
            Ok(())
        }
        AdminAction::RotateSigningKey => {
            let kid = crate::admin::rotate_signing_key(&db, &clock, &config.master_key()?)?;
            println!("{kid}");
            Ok(())
        }
        AdminAction::RedriveOutbox { ids, kind } => {
            let rows = crate::admin::redrive(&db, &clock, &crate::admin::Redrive { ids, kind })?;
            for row in &rows {
                println!(
                    "re-queued {} ({}, {} attempts, last error: {})",
                    row.id,
                    row.kind,
                    row.attempts,
                    row.last_error.as_deref().unwrap_or("-")
                );
            }
            println!("{} dead row(s) re-queued", rows.len());
            Ok(())
        }
        AdminAction::Health { fail_after_secs } => {
            let health = crate::admin::health(&db, &clock)?;
            print!("{}", crate::admin::render_health(&health, clock.now()));
            match fail_after_secs {
                Some(max) => crate::admin::check_health(&health, clock.now(), max),
                None => Ok(()),
            }
        }
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

fn import(args: ImportCliArgs, config: &Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.db_settings())?;
    db.migrate().context("cannot migrate the database")?;
    let clock: dsms_core::SharedClock = std::sync::Arc::new(SystemClock);
    let incidents =
        dsms_incident::Incidents::new(db.clone(), clock.clone(), config.incident_policy()?);
    let requests = dsms_service_request::ServiceRequests::new(
        db.clone(),
        clock.clone(),
        dsms_service_request::RequestPolicy {
            calendar: config.business_calendar()?,
            ..dsms_service_request::RequestPolicy::default()
        },
    );
    let report = crate::import::run(
        &db,
        &incidents,
        &requests,
        &*clock,
        &crate::import::ImportArgs {
            mapping: args.mapping,
            incidents: args.incidents,
            notes: args.notes,
            requests: args.requests,
            request_notes: args.request_notes,
            rejects_dir: args.rejects_dir,
            dry_run: args.dry_run,
            batch_size: args.batch_size,
            quiet: args.quiet,
        },
    )?;
    print!("{report}");
    Ok(())
}

fn bench(args: BenchArgs, config: &Config) -> anyhow::Result<()> {
    let options = crate::bench::BenchOptions {
        url: args.url,
        concurrency: args.concurrency.max(1),
        requests: args.requests.max(1),
        seed: args.seed,
        password: args.password,
        server_pid: args.server_pid,
        only: args.only,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let report = runtime.block_on(crate::bench::run(config, &options))?;
    crate::bench::print(&report, &options);
    if report.scenarios.iter().any(|m| m.errors > 0) {
        bail!("some requests failed");
    }
    Ok(())
}

fn seed(args: SeedArgs, config: &Config) -> anyhow::Result<()> {
    if args.incidents == 0 {
        bail!("--incidents must be at least 1");
    }
    let options = crate::seed::SeedOptions {
        incidents: args.incidents,
        seed: args.seed,
        months: args.months.max(1),
        until: args.until.unwrap_or_else(crate::seed::today),
        password: args.password,
        progress: !args.quiet,
    };
    let report = crate::seed::run(config, &options)?;
    let rows = report.rows;
    println!(
        "seeded {} organisations, {} people and {} incidents ({} rows: {} comments, {} history \
         entries, {} devices, {} pauses, {} SLA events) in {:.1} s (setup {:.1} s, incidents \
         {:.1} s, {:.0} incidents/s)",
        report.organisations,
        report.people,
        rows.incidents,
        rows.total(),
        rows.comments,
        rows.audit,
        rows.devices,
        rows.pauses,
        rows.sla_events,
        (report.setup + report.incidents).as_secs_f64(),
        report.setup.as_secs_f64(),
        report.incidents.as_secs_f64(),
        rows.incidents as f64 / report.incidents.as_secs_f64().max(1e-9),
    );
    println!(
        "every seeded person (e.g. {}, {}) signs in with the --password given to dsms seed; \
         their TOTP secrets derive from --seed. For benchmarks only.",
        crate::seed::agent_email(0),
        crate::seed::org_admin_email(0)
    );
    Ok(())
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
