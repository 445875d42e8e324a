//! One readable line of setup per test: a fresh migrated database with the operator, two
//! suppliers and a network operator, their people, a manual clock and the hub service.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use dsms_auth::{NewOrganisation, NewPerson, create_organisation, create_person};
use dsms_core::{Actor, Email, ManualClock, OrganisationKind, Principal, Role, SecRole};
use dsms_hubs::{
    Consignment, Created, DeliveryLocation, Forecast, HubError, HubOrder, HubRules, Hubs,
    LocationChanges, NewConsignment, NewForecastLine, NewLocation, NewOrder, RuleSet, SerialRow,
};
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::TestDatabase;

/// Tuesday 1 December 2026, 10:00 GMT: the first working day of the month, so forecasts made
/// today are on time; the horizon runs from 2027-01 to 2028-12.
pub const START: &str = "2026-12-01T10:00:00Z";

/// The 4G central single-band variant seeded by the migration.
pub const VARIANT: &str = "CH-C-4G-SB";

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// The people of one organisation.
pub struct Org {
    pub id: i64,
    /// An `org_user` (may order, forecast and return).
    pub user: Principal,
    /// An `org_reporter` (may only read).
    pub reporter: Principal,
}

pub struct World {
    pub hubs: Hubs,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    /// A `service_desk_manager` (manages hubs).
    pub operator: Principal,
    /// An import supplier.
    pub supplier: Org,
    /// A gas supplier that must never see the first one's records.
    pub other: Org,
    /// A network operator, which orders nothing and returns nothing.
    pub network: Org,
    _test_db: TestDatabase,
}

impl World {
    /// A fresh world at [`START`] under the default rules.
    pub fn new() -> Self {
        Self::with_rules(vec![RuleSet::default()])
    }

    /// A fresh world at [`START`] under `sets`.
    pub fn with_rules(sets: Vec<RuleSet>) -> Self {
        let test_db = TestDatabase::new();
        let db = Db::connect(&DbSettings {
            target: DbTarget::from_url(test_db.url()),
            pool_size: 4,
            acquire_timeout: StdDuration::from_secs(30),
            busy_timeout: StdDuration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::Normal,
        })
        .expect("pool");
        db.migrate().expect("migrations apply");
        let now = utc(START);
        let actor = Actor::system("test");
        let people = db
            .write_blocking(|conn| {
                let mut org = |name: &str, kind, sec_roles| {
                    create_organisation(
                        conn,
                        now,
                        &actor,
                        NewOrganisation {
                            name: name.into(),
                            kind,
                            sec_roles,
                            sec_party_id: None,
                        },
                    )
                    .map(|o| o.id)
                };
                let operator = org("Operator", OrganisationKind::Operator, Vec::new())?;
                let supplier = org(
                    "Northern Supply",
                    OrganisationKind::User,
                    vec![SecRole::ImportSupplier],
                )?;
                let other = org(
                    "Southern Gas",
                    OrganisationKind::User,
                    vec![SecRole::GasSupplier],
                )?;
                let network = org(
                    "Midland Networks",
                    OrganisationKind::User,
                    vec![SecRole::ElectricityDistributor],
                )?;
                let mut person = |email: &str, organisation_id: i64, role: Role| {
                    create_person(
                        conn,
                        now,
                        &actor,
                        NewPerson {
                            email: Email::parse(email).expect("email"),
                            name: email.split('@').next().unwrap_or(email).to_owned(),
                            organisation_id,
                            roles: vec![role],
                        },
                        "!",
                        false,
                    )
                    .map(|p| (p.id, organisation_id, role))
                };
                Ok::<_, dsms_auth::AuthError>([
                    person(
                        "manager@operator.example",
                        operator,
                        Role::ServiceDeskManager,
                    )?,
                    person("agent@operator.example", operator, Role::ServiceDeskAgent)?,
                    person("user@northern.example", supplier, Role::OrgUser)?,
                    person("reporter@northern.example", supplier, Role::OrgReporter)?,
                    person("user@southern.example", other, Role::OrgUser)?,
                    person("reporter@southern.example", other, Role::OrgReporter)?,
                    person("user@midland.example", network, Role::OrgUser)?,
                    person("reporter@midland.example", network, Role::OrgReporter)?,
                ])
            })
            .expect("organisations and people");
        let principal = |i: usize, kind| {
            let (id, org, role) = people[i];
            Principal::person(id, org, kind, vec![role]).named(format!("person {id}"))
        };
        let org = |i: usize| Org {
            id: people[i].1,
            user: principal(i, OrganisationKind::User),
            reporter: principal(i + 1, OrganisationKind::User),
        };
        let clock = Arc::new(ManualClock::new(now));
        let rules = HubRules::new(
            sets,
            dsms_core::calendar::BusinessCalendar::england_and_wales(),
        )
        .expect("rules");
        Self {
            hubs: Hubs::new(db.clone(), clock.clone(), rules),
            db,
            clock,
            operator: principal(0, OrganisationKind::Operator),
            supplier: org(2),
            other: org(4),
            network: org(6),
            _test_db: test_db,
        }
    }

    /// Sets the clock to `at` (RFC 3339).
    pub fn set_clock(&self, at: &str) {
        self.clock.set(utc(at));
    }

    /// A forecast covering the whole horizon from the current month: `quantity` of [`VARIANT`]
    /// each month, with `overrides` for particular months.
    pub fn forecast(&self, by: &Principal, quantity: i64, overrides: &[(&str, i64)]) -> Forecast {
        let start =
            dsms_hubs::Month::of(dsms_hubs::rules::today(dsms_core::Clock::now(&*self.clock)));
        let lines = (1..=24)
            .map(|n| {
                let month = start.plus(n).to_string();
                let quantity = overrides
                    .iter()
                    .find(|(m, _)| *m == month)
                    .map_or(quantity, |(_, q)| *q);
                NewForecastLine {
                    month,
                    variant: VARIANT.into(),
                    region: None,
                    quantity,
                }
            })
            .collect();
        new(self.hubs.submit_forecast(by, lines, None, None)).expect("forecast accepted")
    }

    /// A delivery location of `by`'s organisation, approved by the operator, taking deliveries
    /// Monday to Friday.
    pub fn approved_location(&self, by: &Principal) -> DeliveryLocation {
        let location = self.location(by);
        self.hubs
            .update_location(
                &self.operator,
                location.id,
                None,
                LocationChanges {
                    status: Some("approved".into()),
                    ..LocationChanges::default()
                },
                None,
            )
            .expect("approved")
    }

    /// A delivery location of `by`'s organisation, awaiting approval.
    pub fn location(&self, by: &Principal) -> DeliveryLocation {
        new(self.hubs.register_location(
            by,
            NewLocation {
                name: "Warrington depot".into(),
                address: "1 Depot Way, Warrington".into(),
                postcode: "wa1 1aa".into(),
                contact_name: "Goods In".into(),
                contact_phone: "01925 000000".into(),
                contact_email: Some("goods-in@northern.example".into()),
                delivery_days: ["mon", "tue", "wed", "thu", "fri"]
                    .map(String::from)
                    .to_vec(),
            },
            None,
            None,
        ))
        .expect("location registered")
    }

    /// Places an order of [`VARIANT`].
    pub fn order(
        &self,
        by: &Principal,
        month: &str,
        location: i64,
        quantity: i64,
    ) -> Result<HubOrder, HubError> {
        new(self.hubs.place_order(
            by,
            NewOrder {
                delivery_month: month.into(),
                location_id: location,
                variant: VARIANT.into(),
                quantity,
            },
            None,
            None,
        ))
    }

    /// Dispatches `serials` on `date` as the operator.
    pub fn dispatch(
        &self,
        order: &HubOrder,
        date: &str,
        serials: &[String],
    ) -> Result<Consignment, HubError> {
        new(self.hubs.dispatch(
            &self.operator,
            &order.reference,
            NewConsignment {
                delivery_date: date.into(),
                serials: serials
                    .iter()
                    .enumerate()
                    .map(|(i, s)| SerialRow {
                        field: format!("serials[{i}]"),
                        serial: s.clone(),
                    })
                    .collect(),
            },
            None,
            None,
        ))
    }
}

/// The created record of a create that is not a replay.
pub fn new<T: std::fmt::Debug>(created: Result<Created<T>, HubError>) -> Result<T, HubError> {
    match created? {
        Created::New(value) => Ok(value),
        Created::Replayed(kept) => panic!("unexpected replay: {kept:?}"),
    }
}

/// `n` serials starting `prefix`.
pub fn serials(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:07}")).collect()
}

/// The fields and messages of a validation failure.
pub fn invalid(result: Result<impl std::fmt::Debug, HubError>) -> Vec<(String, String)> {
    match result {
        Err(HubError::Invalid(errors)) => {
            errors.0.into_iter().map(|e| (e.field, e.message)).collect()
        }
        other => panic!("expected a validation failure, got {other:?}"),
    }
}

/// True when some error on `field` mentions `rule`.
pub fn names(errors: &[(String, String)], field: &str, rule: &str) -> bool {
    errors.iter().any(|(f, m)| f == field && m.contains(rule))
}
