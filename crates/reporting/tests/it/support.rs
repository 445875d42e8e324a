//! The fixed data set: three organisations using the network, the operator, and ten incidents
//! whose times are chosen so each report's figures can be worked out by hand.
//!
//! | # | org | P | category | resolved | what it tests |
//! |---|-----|---|----------|----------|---------------|
//! | 1 | N | 1 | communications_hub | Mon 2 Nov 13:00 | met: 3 h of 4; responded in 10 min |
//! | 2 | N | 2 | smart_meter | Wed 4 Nov 07:00 | missed: 9 h of 8 round the clock; response 40 min |
//! | 3 | N | 3 | smart_meter | Thu 31 Dec 08:30 | met across Christmas and the Boxing Day substitute |
//! | 4 | N | 3 | smart_meter | Thu 31 Dec 09:30 | missed by 30 working minutes across the same holidays |
//! | 5 | N | 4 | smart_meter | Fri 13 Nov 08:30 | met only because 4 working days awaiting the user do not count |
//! | 6 | S | 1 | communications_hub | Mon 2 Nov 14:00 | met; another organisation |
//! | 7 | S | 3 | communications_hub | open | backlog 3-7 days; names hub HUB-EAST-1 of Eastern Networks |
//! | 8 | N | 5 | other | Wed 11 Nov 09:00 | reopened once, then met |
//! | 9 | N | 2 | smart_meter | cancelled | counted as raised, never as resolved |
//! | 10 | N | 4 | smart_meter | open, awaiting user | backlog 1-3 days |
//!
//! N is Northern Supply, S Southern Gas. All of November and December 2026 is GMT, so local
//! times equal UTC. "Now" is Monday 4 January 2027 12:00.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use dsms_core::{ManualClock, OrganisationKind, Principal, Role, Scope};
use dsms_reporting::{ReportName, ReportPolicy, ReportQuery, ReportTable, Reports, Value};
use dsms_store::schema::{
    incident_details, incident_devices, incident_pauses, incidents, organisations, people,
    person_roles,
};
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::TestDatabase;

pub const NOW: &str = "2027-01-04T12:00:00Z";

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// One incident of the data set.
pub struct Spec {
    pub org: i64,
    pub priority: i32,
    pub category: &'static str,
    pub group: Option<&'static str>,
    pub status: &'static str,
    pub created: &'static str,
    pub responded: Option<&'static str>,
    pub resolved: Option<&'static str>,
    pub closed: Option<&'static str>,
    pub due: Option<&'static str>,
    pub at_risk: Option<&'static str>,
    /// (reason, from, to)
    pub pauses: Vec<(&'static str, &'static str, Option<&'static str>)>,
    pub devices: Vec<&'static str>,
    pub region: Option<&'static str>,
}

pub struct World {
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub reports: Reports,
    pub northern: i64,
    pub southern: i64,
    pub eastern: i64,
    /// A service-desk manager.
    pub manager: Principal,
    /// Northern Supply's reporter.
    pub northern_reporter: Principal,
    /// Southern Gas's reporter.
    pub southern_reporter: Principal,
    /// Eastern Networks' reporter (an electricity distributor).
    pub eastern_reporter: Principal,
    /// Northern Supply's org_user, who may not read reports.
    pub northern_user: Principal,
    /// Incident ids of the data set, in table order (index 0 is incident 1).
    pub ids: Vec<i64>,
    // Dropped last: the database outlives the pool.
    pub test_db: TestDatabase,
}

pub fn connect(url: &str) -> Db {
    Db::connect(&DbSettings {
        target: DbTarget::from_url(url),
        pool_size: 4,
        acquire_timeout: StdDuration::from_secs(30),
        busy_timeout: StdDuration::from_secs(10),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("pool")
}

impl World {
    pub fn new() -> Self {
        let test_db = TestDatabase::new();
        let db = connect(test_db.url());
        db.migrate().expect("migrations apply");
        let clock = Arc::new(ManualClock::new(utc(NOW)));
        let stamp = at("2026-10-01 00:00");
        let (orgs, people_ids) = db
            .write_blocking(|conn| {
                let mut org = |name: &str, kind: &str| {
                    diesel::insert_into(organisations::table)
                        .values((
                            organisations::name.eq(name),
                            organisations::kind.eq(kind),
                            organisations::status.eq("active"),
                            organisations::version.eq(1i64),
                            organisations::created_at.eq(stamp),
                            organisations::updated_at.eq(stamp),
                        ))
                        .returning(organisations::id)
                        .get_result::<i64>(conn)
                };
                let orgs = [
                    org("Operator", "operator")?,
                    org("Northern Supply", "user")?,
                    org("Southern Gas", "user")?,
                    org("Eastern Networks", "user")?,
                ];
                let mut person = |email: &str, org: i64, role: &str| {
                    let id = diesel::insert_into(people::table)
                        .values((
                            people::organisation_id.eq(org),
                            people::email.eq(email),
                            people::name.eq(email.split('@').next().unwrap_or(email)),
                            people::password_hash.eq("!"),
                            people::must_change_password.eq(false),
                            people::status.eq("active"),
                            people::version.eq(1i64),
                            people::created_at.eq(stamp),
                            people::updated_at.eq(stamp),
                        ))
                        .returning(people::id)
                        .get_result::<i64>(conn)?;
                    diesel::insert_into(person_roles::table)
                        .values((person_roles::person_id.eq(id), person_roles::role.eq(role)))
                        .execute(conn)?;
                    Ok::<_, diesel::result::Error>(id)
                };
                let people_ids = [
                    person("manager@operator.example", orgs[0], "service_desk_manager")?,
                    person("reporter@northern.example", orgs[1], "org_reporter")?,
                    person("reporter@southern.example", orgs[2], "org_reporter")?,
                    person("reporter@eastern.example", orgs[3], "org_reporter")?,
                    person("user@northern.example", orgs[1], "org_user")?,
                ];
                Ok::<_, dsms_store::StoreError>((orgs, people_ids))
            })
            .expect("organisations and people");
        let principal = |i: usize, org: i64, kind, role| {
            Principal::person(people_ids[i], org, kind, vec![role])
        };
        let manager = principal(
            0,
            orgs[0],
            OrganisationKind::Operator,
            Role::ServiceDeskManager,
        );
        let northern_reporter = principal(1, orgs[1], OrganisationKind::User, Role::OrgReporter);
        let southern_reporter = principal(2, orgs[2], OrganisationKind::User, Role::OrgReporter);
        let eastern_reporter = principal(3, orgs[3], OrganisationKind::User, Role::OrgReporter);
        let northern_user = principal(4, orgs[1], OrganisationKind::User, Role::OrgUser);
        let reports = Reports::new(db.clone(), clock.clone(), ReportPolicy::default());
        let mut world = Self {
            db,
            clock,
            reports,
            northern: orgs[1],
            southern: orgs[2],
            eastern: orgs[3],
            manager,
            northern_reporter,
            southern_reporter,
            eastern_reporter,
            northern_user,
            ids: Vec::new(),
            test_db,
        };
        let (n, s) = (world.northern, world.southern);
        for spec in data_set(n, s) {
            let id = world.insert(&spec);
            world.ids.push(id);
        }
        world
    }

    /// Writes one incident as the incident service would have left it.
    pub fn insert(&self, spec: &Spec) -> i64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let reference = format!("INCT{:07}", NEXT.fetch_add(1, Ordering::Relaxed));
        let updated = [
            spec.closed,
            spec.resolved,
            spec.responded,
            Some(spec.created),
        ]
        .into_iter()
        .flatten()
        .map(at)
        .max()
        .unwrap_or_else(|| at(spec.created));
        self.db
            .write_blocking(|conn| {
                let id = diesel::insert_into(incidents::table)
                    .values((
                        incidents::reference.eq(&reference),
                        incidents::organisation_id.eq(spec.org),
                        incidents::raised_by_kind.eq("person"),
                        incidents::raised_by_id.eq(1i64),
                        incidents::raised_by_name.eq("someone"),
                        incidents::channel.eq("portal"),
                        incidents::title.eq(format!("Fault in {}", spec.category)),
                        incidents::description.eq("details"),
                        incidents::category.eq(spec.category),
                        incidents::impact.eq(2),
                        incidents::urgency.eq(2),
                        incidents::priority.eq(spec.priority),
                        incidents::status.eq(spec.status),
                        incidents::assignment_group.eq(spec.group),
                        incidents::responded_at.eq(spec.responded.map(at)),
                        incidents::resolved_at.eq(spec.resolved.map(at)),
                        incidents::closed_at.eq(spec.closed.map(at)),
                        incidents::resolution_due_at.eq(spec.due.map(at)),
                        incidents::resolution_at_risk_at.eq(spec.at_risk.map(at)),
                        incidents::created_at.eq(at(spec.created)),
                        incidents::updated_at.eq(updated),
                        incidents::version.eq(1i64),
                    ))
                    .returning(incidents::id)
                    .get_result::<i64>(conn)?;
                diesel::insert_into(incident_details::table)
                    .values((
                        incident_details::incident_id.eq(id),
                        incident_details::region.eq(spec.region),
                    ))
                    .execute(conn)?;
                for (reason, from, to) in &spec.pauses {
                    diesel::insert_into(incident_pauses::table)
                        .values((
                            incident_pauses::incident_id.eq(id),
                            incident_pauses::reason.eq(*reason),
                            incident_pauses::started_at.eq(at(from)),
                            incident_pauses::ended_at.eq(to.map(at)),
                        ))
                        .execute(conn)?;
                }
                for device in &spec.devices {
                    diesel::insert_into(incident_devices::table)
                        .values((
                            incident_devices::incident_id.eq(id),
                            incident_devices::device_id.eq(*device),
                        ))
                        .execute(conn)?;
                }
                Ok::<_, dsms_store::StoreError>(id)
            })
            .expect("incident")
    }

    /// Runs `name` for `who` with `query`.
    pub fn run(&self, who: &Principal, name: ReportName, query: &[(&str, &str)]) -> ReportTable {
        self.reports
            .run(who, name, &params(query))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"))
    }

    /// An API token of `organisation` with `reports:read`.
    pub fn token(&self, organisation: i64) -> Principal {
        Principal::api_token(99, organisation, &[Scope::ReportsRead])
    }
}

/// Query parameters from pairs.
pub fn params(pairs: &[(&str, &str)]) -> ReportQuery {
    let mut query = ReportQuery::default();
    for (key, value) in pairs {
        let value = Some((*value).to_owned());
        match *key {
            "from" => query.from = value,
            "to" => query.to = value,
            "granularity" => query.granularity = value,
            "organisation_id" => query.organisation_id = value,
            "priority" => query.priority = value,
            "category" => query.category = value,
            "group" => query.group = value,
            "by" => query.by = value,
            "status" => query.status = value,
            "device" => query.device = value,
            "region" => query.region = value,
            other => panic!("unknown parameter {other}"),
        }
    }
    query
}

/// November and December 2026, monthly.
pub const NOV_DEC: &[(&str, &str)] = &[("from", "2026-11-01"), ("to", "2026-12-31")];

/// The integer in `column` of the one row matching every `(column, text)` in `key`.
pub fn cell<'a>(table: &'a ReportTable, key: &[(&str, &str)], column: &str) -> &'a Value {
    let matching: Vec<usize> = (0..table.rows.len())
        .filter(|i| {
            key.iter()
                .all(|(c, v)| table.value(*i, c) == Some(&Value::Text((*v).to_owned())))
        })
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "{key:?} should match one row of {table:?}"
    );
    table.value(matching[0], column).expect("column")
}

pub fn int(table: &ReportTable, key: &[(&str, &str)], column: &str) -> i64 {
    match cell(table, key, column) {
        Value::Integer(i) => *i,
        other => panic!("{column} of {key:?} is {other:?}"),
    }
}

pub fn decimal(table: &ReportTable, key: &[(&str, &str)], column: &str) -> Option<f64> {
    match cell(table, key, column) {
        Value::Decimal(d) => Some(*d),
        Value::Null => None,
        other => panic!("{column} of {key:?} is {other:?}"),
    }
}

pub fn approx(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

fn data_set(n: i64, s: i64) -> Vec<Spec> {
    let base = |org, priority, category, status, created| Spec {
        org,
        priority,
        category,
        group: None,
        status,
        created,
        responded: None,
        resolved: None,
        closed: None,
        due: None,
        at_risk: None,
        pauses: Vec::new(),
        devices: Vec::new(),
        region: None,
    };
    vec![
        Spec {
            group: Some("hub-provider"),
            responded: Some("2026-11-02 10:10"),
            resolved: Some("2026-11-02 13:00"),
            devices: vec!["HUB-N-1"],
            region: Some("north"),
            ..base(n, 1, "communications_hub", "resolved", "2026-11-02 10:00")
        },
        Spec {
            group: Some("second-line"),
            responded: Some("2026-11-03 22:40"),
            resolved: Some("2026-11-04 07:00"),
            closed: Some("2026-11-12 07:00"),
            ..base(n, 2, "smart_meter", "closed", "2026-11-03 22:00")
        },
        Spec {
            group: Some("second-line"),
            responded: Some("2026-12-24 09:30"),
            resolved: Some("2026-12-31 08:30"),
            ..base(n, 3, "smart_meter", "resolved", "2026-12-24 09:00")
        },
        Spec {
            group: Some("second-line"),
            responded: Some("2026-12-24 10:00"),
            resolved: Some("2026-12-31 09:30"),
            ..base(n, 3, "smart_meter", "resolved", "2026-12-24 09:00")
        },
        Spec {
            group: Some("second-line"),
            responded: Some("2026-11-02 09:30"),
            resolved: Some("2026-11-13 08:30"),
            pauses: vec![(
                "awaiting_user",
                "2026-11-02 10:00",
                Some("2026-11-06 10:00"),
            )],
            ..base(n, 4, "smart_meter", "resolved", "2026-11-02 09:00")
        },
        Spec {
            group: Some("hub-provider"),
            responded: Some("2026-11-02 12:05"),
            resolved: Some("2026-11-02 14:00"),
            ..base(s, 1, "communications_hub", "resolved", "2026-11-02 12:00")
        },
        Spec {
            group: Some("hub-provider"),
            responded: Some("2026-12-30 08:30"),
            due: Some("2027-01-04 18:00"),
            at_risk: Some("2027-01-04 10:30"),
            devices: vec!["HUB-EAST-1", "MPAN-1900000000001"],
            region: Some("south"),
            ..base(
                s,
                3,
                "communications_hub",
                "in_progress",
                "2026-12-30 08:00",
            )
        },
        Spec {
            responded: Some("2026-11-09 09:20"),
            resolved: Some("2026-11-11 09:00"),
            pauses: vec![("resolved", "2026-11-10 09:00", Some("2026-11-10 12:00"))],
            ..base(n, 5, "other", "resolved", "2026-11-09 09:00")
        },
        Spec {
            closed: Some("2026-11-20 10:00"),
            ..base(n, 2, "smart_meter", "cancelled", "2026-11-20 09:00")
        },
        Spec {
            responded: Some("2027-01-02 09:15"),
            pauses: vec![("awaiting_user", "2027-01-02 10:00", None)],
            devices: vec!["MTR-N-7"],
            region: Some("north"),
            ..base(n, 4, "smart_meter", "awaiting_user", "2027-01-02 09:00")
        },
    ]
}
