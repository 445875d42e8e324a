//! One readable line of setup per test: a fresh migrated database (SQLite, or PostgreSQL when
//! `DSMS_TEST_DATABASE_URL` is set) holding the seed catalogue, the operator's staff, two
//! supplier organisations and a network operator with their people, a manual clock, and the
//! service-request service over them.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use dsms_auth::{NewOrganisation, NewPerson, create_organisation, create_person};
use dsms_core::{Actor, Email, ManualClock, OrganisationKind, Principal, Role, Scope, SecRole};
use dsms_service_request::{
    Decision, NewRequest, Raised, RequestError, RequestPolicy, ServiceRequest, ServiceRequests,
};
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::TestDatabase;
use serde_json::{Value, json};

/// A Monday in winter (GMT, so local time is UTC), inside working hours.
pub const MONDAY_0900: &str = "2026-11-30T09:00:00Z";

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// The people and systems of one organisation that uses the network.
pub struct Org {
    pub id: i64,
    /// An `org_admin`.
    pub admin: Principal,
    /// An `org_user`.
    pub user: Principal,
    /// An `org_reporter`, who may read but not raise.
    pub reporter: Principal,
    /// An API token with `requests:write`.
    pub token: Principal,
}

pub struct World {
    pub requests: ServiceRequests,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    /// A `dcc_admin`, who maintains the catalogue.
    pub dcc_admin: Principal,
    /// A `service_desk_agent`, who fulfils but may not approve.
    pub agent: Principal,
    /// A `service_desk_manager`, who approves operator steps.
    pub manager: Principal,
    /// An import supplier.
    pub supplier: Org,
    /// A gas supplier that must never see the first one's requests.
    pub other: Org,
    /// An electricity distributor (a network operator).
    pub distributor: Org,
    _test_db: TestDatabase,
}

impl World {
    /// A fresh world with the clock at Monday 30 November 2026 09:00 GMT.
    pub fn new() -> Self {
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
        let now = utc(MONDAY_0900);
        let clock = Arc::new(ManualClock::new(now));
        let actor = Actor::system("test");
        let mut next_token = 9_000;
        let (operator, staff, orgs) = db
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
                let orgs = [
                    org(
                        "Northern Supply",
                        OrganisationKind::User,
                        vec![SecRole::ImportSupplier],
                    )?,
                    org(
                        "Southern Gas",
                        OrganisationKind::User,
                        vec![SecRole::GasSupplier],
                    )?,
                    org(
                        "Midlands Networks",
                        OrganisationKind::User,
                        vec![SecRole::ElectricityDistributor],
                    )?,
                ];
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
                    .map(|p| p.id)
                };
                let staff = [
                    person("admin@operator.example", operator, Role::DccAdmin)?,
                    person("agent@operator.example", operator, Role::ServiceDeskAgent)?,
                    person(
                        "manager@operator.example",
                        operator,
                        Role::ServiceDeskManager,
                    )?,
                ];
                let mut people = Vec::new();
                for (i, org) in orgs.iter().enumerate() {
                    people.push((
                        *org,
                        [
                            person(&format!("admin@org{i}.example"), *org, Role::OrgAdmin)?,
                            person(&format!("user@org{i}.example"), *org, Role::OrgUser)?,
                            person(&format!("reporter@org{i}.example"), *org, Role::OrgReporter)?,
                        ],
                    ));
                }
                Ok::<_, dsms_auth::AuthError>((operator, staff, people))
            })
            .expect("organisations and people");
        let staff_principal = |id: i64, role: Role, name: &str| {
            Principal::person(id, operator, OrganisationKind::Operator, vec![role]).named(name)
        };
        let mut org = |(id, people): (i64, [i64; 3]), label: &str| {
            let person = |pid: i64, role: Role, name: &str| {
                Principal::person(pid, id, OrganisationKind::User, vec![role])
                    .named(format!("{name} ({label})"))
            };
            next_token += 1;
            Org {
                id,
                admin: person(people[0], Role::OrgAdmin, "Admin"),
                user: person(people[1], Role::OrgUser, "User"),
                reporter: person(people[2], Role::OrgReporter, "Reporter"),
                token: Principal::api_token(next_token, id, &[Scope::RequestsWrite])
                    .named(format!("{label} integration")),
            }
        };
        let supplier = org(orgs[0], "Northern");
        let other = org(orgs[1], "Southern");
        let distributor = org(orgs[2], "Midlands");
        let requests = ServiceRequests::new(db.clone(), clock.clone(), RequestPolicy::default());
        Self {
            requests,
            db,
            clock,
            dcc_admin: staff_principal(staff[0], Role::DccAdmin, "DCC Admin"),
            agent: staff_principal(staff[1], Role::ServiceDeskAgent, "Desk Agent"),
            manager: staff_principal(staff[2], Role::ServiceDeskManager, "Desk Manager"),
            supplier,
            other,
            distributor,
            _test_db: test_db,
        }
    }

    /// Raises `new` as `principal`, expecting a new request.
    pub fn raise(&self, principal: &Principal, new: NewRequest) -> ServiceRequest {
        match self.requests.raise(principal, new, None) {
            Ok(Raised::Created(request)) => *request,
            other => panic!("expected a new request, got {other:?}"),
        }
    }

    /// Decides the step due as `principal`, expecting success.
    pub fn approve(&self, principal: &Principal, request: &ServiceRequest) -> ServiceRequest {
        self.requests
            .decide(principal, &request.reference, Decision::Approve, None, None)
            .unwrap_or_else(|e| panic!("approve {}: {e:?}", request.reference))
    }

    /// The request as the service desk sees it now.
    pub fn reload(&self, request: &ServiceRequest) -> ServiceRequest {
        self.requests
            .get(&self.agent, &request.reference)
            .unwrap_or_else(|e| panic!("get {}: {e:?}", request.reference))
    }
}

/// A request for catalogue item `item` with `fields`.
pub fn request(item: &str, fields: Value) -> NewRequest {
    NewRequest {
        item: item.into(),
        summary: None,
        contact: None,
        fields,
    }
}

/// Valid answers for each seeded catalogue item.
pub fn seeded_answers() -> Vec<(&'static str, Value)> {
    vec![
        (
            "self_service_access",
            json!({"action": "add", "person_name": "Ada Lovelace",
                   "person_email": "ada@northern.example", "roles": ["org_user"]}),
        ),
        (
            "registration_data",
            json!({"request_type": "correction", "mpxns": ["1234567890123", "1234567"],
                   "details": "The MPAN's address is wrong."}),
        ),
        (
            "device_diagnostics",
            json!({"device_ids": ["00-DB-12-34-56-78-9A-BC"], "diagnostic": "connectivity",
                   "symptoms": "No readings since Friday.", "wanted_by": "2026-12-04"}),
        ),
        (
            "test_services",
            json!({"service": "environment_slot", "start_date": "2026-12-07", "working_days": 5}),
        ),
        (
            "hub_logistics",
            json!({"topic": "delivery", "question": "When is consignment 7 due?"}),
        ),
        (
            "information",
            json!({"question": "Where is the SEC guidance?"}),
        ),
        (
            "report_request",
            json!({"description": "Monthly installs by region", "format": "csv"}),
        ),
    ]
}

/// A diagnostics request for one device.
pub fn diagnostics() -> NewRequest {
    request(
        "device_diagnostics",
        json!({"device_ids": ["00-DB-12-34-56-78-9A-BC"], "diagnostic": "firmware",
               "symptoms": "Firmware update failed."}),
    )
}

/// A test-services request: the organisation's administrator, then the operator, approve it.
pub fn test_slot() -> NewRequest {
    request(
        "test_services",
        json!({"service": "test_devices", "quantity": 4}),
    )
}

/// The fields an `Invalid` error names, in order; panics on any other outcome.
pub fn invalid_fields<T: std::fmt::Debug>(result: Result<T, RequestError>) -> Vec<String> {
    match result {
        Err(RequestError::Invalid(errors)) => errors.0.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Panics unless `result` is `Forbidden` (HTTP 403).
pub fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, RequestError>) {
    assert!(
        matches!(result, Err(RequestError::Forbidden(_))),
        "expected 403 Forbidden, got {result:?}"
    );
}

/// Panics unless `result` is `NotFound` (HTTP 404).
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, RequestError>) {
    assert!(
        matches!(result, Err(RequestError::NotFound)),
        "expected 404 Not Found, got {result:?}"
    );
}

/// Panics unless `result` is a refused transition (HTTP 409).
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, RequestError>) {
    assert!(
        matches!(result, Err(RequestError::Transition { .. })),
        "expected 409 Conflict, got {result:?}"
    );
}
