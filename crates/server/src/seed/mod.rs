//! `dsms seed`: fills an empty database with a realistic, deterministic data set for
//! benchmarks and demonstrations: organisations of every SEC role with their people and API
//! tokens, operator staff in resolver groups, and a year or more of incidents with their
//! details, devices, comments, history, pauses and SLA outcomes.
//!
//! Organisations, people and tokens go through the identity service, like `dsms admin`. The
//! incidents, by the million, are generated in memory (`generate`) and written in batched
//! multi-row inserts, many thousands of rows per transaction (`load`); the search index is
//! filled from the rows just written, in the same transaction, by the database's own tokenizer.

mod calendar;
mod generate;
mod load;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use dsms_auth::credentials::{MasterKey, SecretBox};
use dsms_auth::{Client, NewApiTokenRequest, NewOrganisation, NewPerson, OrganisationKind, Role};
use dsms_core::{Actor, Email, ManualClock, Principal, SecRole};
use dsms_store::Db;
use dsms_store::schema::{incidents, people};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest as _, Sha256};

use crate::config::Config;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// How many incidents.
    pub incidents: u64,
    /// Makes the data set reproducible: the same seed and end date give the same data.
    pub seed: u64,
    /// Months of history the incidents span.
    pub months: u32,
    /// The last instant of the history (midnight UTC today by default).
    pub until: DateTime<Utc>,
    /// The password every seeded person signs in with.
    pub password: String,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

/// The password seeded people share unless `--password` says otherwise. A seeded database is
/// for benchmarks and demonstrations, never for production, and `dsms seed` says so.
pub const DEFAULT_PASSWORD: &str = "seeded-Kestrel-Quartz-42";

/// How many service-desk agents the seed creates; `dsms bench` signs in as them.
pub const AGENTS: usize = 64;

/// The email address of seeded agent `n` (0-based).
pub fn agent_email(n: usize) -> String {
    format!("agent{n:03}@dcc.seed.example")
}

/// The email address of the administrator of seeded organisation `n` (0-based).
pub fn org_admin_email(n: usize) -> String {
    format!("admin@org{n:02}.seed.example")
}

/// The TOTP secret of a seeded person: derived from the seed and their address, so `dsms bench`
/// can compute their codes without any file passing between the two commands.
pub fn totp_secret(seed: u64, email: &str) -> Vec<u8> {
    let digest = Sha256::new()
        .chain_update(b"dsms seed totp v1")
        .chain_update(seed.to_be_bytes())
        .chain_update(email.as_bytes())
        .finalize();
    digest[..20].to_vec()
}

/// The SEC roles of the seeded organisations, in the proportions the network has them.
const ORGANISATIONS: &[(&str, &[SecRole])] = &[
    (
        "Import Supplier",
        &[SecRole::ImportSupplier, SecRole::GasSupplier],
    ),
    ("Import Supplier", &[SecRole::ImportSupplier]),
    (
        "Import Supplier",
        &[SecRole::ImportSupplier, SecRole::GasSupplier],
    ),
    ("Import Supplier", &[SecRole::ImportSupplier]),
    (
        "Import Supplier",
        &[SecRole::ImportSupplier, SecRole::GasSupplier],
    ),
    (
        "Import Supplier",
        &[SecRole::ImportSupplier, SecRole::ExportSupplier],
    ),
    (
        "Import Supplier",
        &[SecRole::ImportSupplier, SecRole::GasSupplier],
    ),
    ("Import Supplier", &[SecRole::ImportSupplier]),
    ("Gas Supplier", &[SecRole::GasSupplier]),
    ("Gas Supplier", &[SecRole::GasSupplier]),
    ("Export Supplier", &[SecRole::ExportSupplier]),
    ("Export Supplier", &[SecRole::ExportSupplier]),
    (
        "Electricity Distributor",
        &[SecRole::ElectricityDistributor],
    ),
    (
        "Electricity Distributor",
        &[SecRole::ElectricityDistributor],
    ),
    (
        "Electricity Distributor",
        &[SecRole::ElectricityDistributor],
    ),
    (
        "Electricity Distributor",
        &[SecRole::ElectricityDistributor],
    ),
    (
        "Electricity Distributor",
        &[SecRole::ElectricityDistributor],
    ),
    (
        "Electricity Distributor",
        &[SecRole::ElectricityDistributor],
    ),
    ("Gas Transporter", &[SecRole::GasTransporter]),
    ("Gas Transporter", &[SecRole::GasTransporter]),
    ("Gas Transporter", &[SecRole::GasTransporter]),
    ("Gas Transporter", &[SecRole::GasTransporter]),
    ("Supplier Agent", &[SecRole::RegisteredSupplierAgent]),
    ("Supplier Agent", &[SecRole::RegisteredSupplierAgent]),
    ("Supplier Agent", &[SecRole::RegisteredSupplierAgent]),
    ("Supplier Agent", &[SecRole::RegisteredSupplierAgent]),
    ("Other User", &[SecRole::OtherUser]),
    ("Other User", &[SecRole::OtherUser]),
];

/// Organisation users per organisation (besides its administrator and reporter).
const USERS_PER_ORGANISATION: usize = 6;
/// Service-desk managers.
const MANAGERS: usize = 4;

/// What the seed made, for the summary it prints.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// Organisations created.
    pub organisations: usize,
    /// People created.
    pub people: usize,
    /// Rows written per table.
    pub rows: load::RowCounts,
    /// Time spent creating organisations and people.
    pub setup: Duration,
    /// Time spent writing incidents and everything about them.
    pub incidents: Duration,
}

/// The organisations, people and tokens incidents are raised by and worked by.
#[derive(Debug, Clone)]
pub(crate) struct Cast {
    /// User organisations: id, name, people (id, name), API token (id, name).
    pub organisations: Vec<Member>,
    /// Operator staff who work incidents: (id, name).
    pub agents: Vec<(i64, String)>,
}

/// A user organisation and who acts for it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: i64,
    pub people: Vec<(i64, String)>,
    pub token: (i64, String),
}

/// Seeds the database `config` names. Refuses a database that already holds incidents.
pub fn run(config: &Config, options: &SeedOptions) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let mut settings = config.db_settings();
    // One connection: the seed is one writer, and its session settings must stay with it.
    settings.pool_size = 1;
    let db = Db::connect(&settings)?;
    db.migrate().context("cannot migrate the database")?;
    let existing: i64 = db.read_blocking(|conn| {
        incidents::table
            .count()
            .get_result(conn)
            .map_err(dsms_store::StoreError::from)
    })?;
    if existing > 0 {
        bail!("the database already holds {existing} incidents; seed an empty database");
    }
    let hasher = config.argon2()?;
    crate::bootstrap_first_admin(
        &db,
        &hasher,
        &dsms_core::SystemClock,
        &config.bootstrap_settings()?,
    )?;
    let master_key = config.master_key()?;
    let cast = cast(config, &db, options, &master_key)?;
    let setup = started.elapsed();

    let policy = config.incident_policy()?;
    let span_start = options.until - chrono::Months::new(options.months);
    let generator = generate::Generator::new(
        &policy,
        &cast,
        options.seed,
        span_start,
        options.until,
        options.incidents,
    );
    let bar = if options.progress {
        ProgressBar::new(options.incidents)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} incidents ({per_sec}, {eta} left) {msg}",
        )
        .context("progress template")?
        .progress_chars("=> "),
    );
    // The bulk load has the database to itself.
    drop(db);
    let loading = Instant::now();
    let rows = load::load(&settings.target, generator, &bar)?;
    bar.finish();
    Ok(SeedReport {
        organisations: cast.organisations.len(),
        people: cast
            .organisations
            .iter()
            .map(|o| o.people.len() + 1)
            .sum::<usize>()
            + cast.agents.len(),
        rows,
        setup,
        incidents: loading.elapsed(),
    })
}

/// Creates the organisations, people and API tokens, through the identity service.
fn cast(
    config: &Config,
    db: &Db,
    options: &SeedOptions,
    master_key: &MasterKey,
) -> anyhow::Result<Cast> {
    let hash = config.argon2()?.hash(&options.password)?;
    let created_at = options.until - chrono::Months::new(options.months + 1);
    let clock = Arc::new(ManualClock::new(created_at));
    let identity = dsms_auth::Identity::new(
        db.clone(),
        clock.clone(),
        config.argon2()?,
        master_key,
        config.identity_settings(),
    )?;
    let secrets = SecretBox::new(master_key.derive(dsms_auth::TOTP_SECRETS_PURPOSE));
    let actor = Actor::system("seed");
    let now = created_at;
    let person = |conn: &mut dsms_store::DbConnection,
                  email: String,
                  name: String,
                  organisation_id: i64,
                  roles: Vec<Role>|
     -> anyhow::Result<(i64, String)> {
        let created = dsms_auth::create_person(
            conn,
            now,
            &actor,
            NewPerson {
                email: Email::parse(&email)
                    .map_err(|e| anyhow::anyhow!("{email}: {}", e.message))?,
                name: name.clone(),
                organisation_id,
                roles,
            },
            &hash,
            false,
        )?;
        let sealed = secrets.seal(
            &totp_secret(options.seed, &email),
            format!("person:{}", created.id).as_bytes(),
        );
        diesel::update(people::table.find(created.id))
            .set((
                people::totp_secret.eq(Some(sealed)),
                people::totp_confirmed_at.eq(Some(dsms_store::timestamp(now))),
            ))
            .execute(conn)?;
        Ok((created.id, name))
    };
    let (organisations, agents) = db.write_blocking(|conn| -> anyhow::Result<_> {
        let operator = dsms_auth::find_operator(conn)?.context("no operator organisation")?;
        let mut agents = Vec::new();
        for n in 0..AGENTS {
            agents.push(person(
                conn,
                agent_email(n),
                format!("Agent {}", generate::surname(n)),
                operator.id,
                vec![Role::ServiceDeskAgent],
            )?);
        }
        for n in 0..MANAGERS {
            person(
                conn,
                format!("manager{n}@dcc.seed.example"),
                format!("Manager {}", generate::surname(n + AGENTS)),
                operator.id,
                vec![Role::ServiceDeskManager],
            )?;
        }
        let mut organisations = Vec::new();
        for (n, (kind, sec_roles)) in ORGANISATIONS.iter().enumerate() {
            let org = dsms_auth::create_organisation(
                conn,
                now,
                &actor,
                NewOrganisation {
                    name: format!("{} {:02} {}", generate::company(n), n, kind),
                    kind: OrganisationKind::User,
                    sec_roles: sec_roles.to_vec(),
                    sec_party_id: Some(format!("SP{:04}", 1000 + n)),
                },
            )?;
            let admin = person(
                conn,
                org_admin_email(n),
                format!("Admin {}", generate::surname(n * 7 + 1)),
                org.id,
                vec![Role::OrgAdmin, Role::OrgUser],
            )?;
            person(
                conn,
                format!("reports@org{n:02}.seed.example"),
                format!("Reporter {}", generate::surname(n * 7 + 2)),
                org.id,
                vec![Role::OrgReporter],
            )?;
            let mut members = vec![admin];
            for u in 0..USERS_PER_ORGANISATION {
                members.push(person(
                    conn,
                    format!("user{u}@org{n:02}.seed.example"),
                    generate::full_name(n * 7 + u + 3),
                    org.id,
                    vec![Role::OrgUser],
                )?);
            }
            organisations.push((org.id, members));
        }
        Ok((organisations, agents))
    })?;
    let client = Client {
        ip: None,
        user_agent: Some("dsms seed".into()),
        request_id: None,
    };
    let mut members = Vec::new();
    for (id, people) in organisations {
        let admin = &people[0];
        let principal =
            Principal::person(admin.0, id, OrganisationKind::User, vec![Role::OrgAdmin])
                .named(admin.1.clone());
        let (token, _secret) = identity.issue_api_token(
            &principal,
            NewApiTokenRequest {
                name: "Incident integration".into(),
                scopes: vec!["incidents:write".into()],
                expires_at: None,
            },
            &client,
        )?;
        members.push(Member {
            id,
            people,
            token: (token.id, token.name),
        });
    }
    Ok(Cast {
        organisations: members,
        agents,
    })
}

/// Midnight UTC today: the default end of the seeded history, so the same seed gives the same
/// data all day.
pub fn today() -> DateTime<Utc> {
    Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc()
}
