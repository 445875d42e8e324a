//! One readable line of setup per test: a fresh migrated database (SQLite, or PostgreSQL when
//! `DSMS_TEST_DATABASE_URL` is set) with the operator, two supplier organisations and their
//! people, a manual clock, and the incident service over them.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use dsms_auth::{NewOrganisation, NewPerson, create_organisation, create_person};
use dsms_core::{
    Actor, Email, FieldError, ManualClock, OrganisationKind, PageRequest, Principal, Role, Scope,
    SecRole,
};
use dsms_incident::{
    Incident, IncidentChanges, IncidentError, IncidentFilter, IncidentPolicy, Incidents,
    NewIncident, Raised, Status,
};
use dsms_store::audit::AuditEntry;
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use dsms_testkit::TestDatabase;

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
    /// An `org_user`.
    pub user: Principal,
    /// Another `org_user` of the same organisation.
    pub colleague: Principal,
    /// An `org_reporter`, who may read but not raise.
    pub reporter: Principal,
    /// An API token with `incidents:write`.
    pub token: Principal,
}

pub struct World {
    pub incidents: Incidents,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub operator_id: i64,
    /// A `service_desk_agent`.
    pub desk: Principal,
    /// Another `service_desk_agent`, to assign incidents to.
    pub agent: Principal,
    /// A `service_desk_manager`.
    pub manager: Principal,
    /// An import supplier.
    pub supplier: Org,
    /// A gas supplier that must never see the first one's incidents.
    pub other: Org,
    // Dropped last: the database outlives the pool.
    _test_db: TestDatabase,
}

impl World {
    /// A fresh world with the clock at Monday 30 November 2026 09:00 GMT.
    pub fn new() -> Self {
        Self::at(MONDAY_0900)
    }

    /// A fresh world with the clock at `start`.
    pub fn at(start: &str) -> Self {
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
        let clock = Arc::new(ManualClock::new(utc(start)));
        let now = utc(start);
        let actor = Actor::system("test");
        let (operator_id, staff, supplier, other) = db
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
                    person("desk@operator.example", operator, Role::ServiceDeskAgent)?,
                    person("agent@operator.example", operator, Role::ServiceDeskAgent)?,
                    person(
                        "manager@operator.example",
                        operator,
                        Role::ServiceDeskManager,
                    )?,
                ];
                let supplier_people = [
                    person("user@northern.example", supplier, Role::OrgUser)?,
                    person("colleague@northern.example", supplier, Role::OrgUser)?,
                    person("reporter@northern.example", supplier, Role::OrgReporter)?,
                ];
                let other_people = [
                    person("user@southern.example", other, Role::OrgUser)?,
                    person("colleague@southern.example", other, Role::OrgUser)?,
                    person("reporter@southern.example", other, Role::OrgReporter)?,
                ];
                Ok::<_, dsms_auth::AuthError>((
                    operator,
                    staff,
                    (supplier, supplier_people),
                    (other, other_people),
                ))
            })
            .expect("organisations and people");
        let staff_principal = |id: i64, role: Role, name: &str| {
            Principal::person(id, operator_id, OrganisationKind::Operator, vec![role]).named(name)
        };
        let org = |(id, people): (i64, [i64; 3]), token_id: i64, label: &str| {
            let person = |pid: i64, role: Role, name: &str| {
                Principal::person(pid, id, OrganisationKind::User, vec![role])
                    .named(format!("{name} ({label})"))
            };
            Org {
                id,
                user: person(people[0], Role::OrgUser, "User"),
                colleague: person(people[1], Role::OrgUser, "Colleague"),
                reporter: person(people[2], Role::OrgReporter, "Reporter"),
                token: Principal::api_token(token_id, id, &[Scope::IncidentsWrite])
                    .named(format!("{label} integration")),
            }
        };
        let incidents = Incidents::new(db.clone(), clock.clone(), IncidentPolicy::default());
        Self {
            incidents,
            db,
            clock,
            operator_id,
            desk: staff_principal(staff[0], Role::ServiceDeskAgent, "Desk Agent"),
            agent: staff_principal(staff[1], Role::ServiceDeskAgent, "Second Agent"),
            manager: staff_principal(staff[2], Role::ServiceDeskManager, "Desk Manager"),
            supplier: org(supplier, 9_001, "Northern"),
            other: org(other, 9_002, "Southern"),
            _test_db: test_db,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        use dsms_core::Clock;
        self.clock.now()
    }

    /// Sets the clock to `at` (RFC 3339).
    pub fn set_clock(&self, at: &str) {
        self.clock.set(utc(at));
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Raises `new` as `principal`, expecting a new incident.
    pub fn raise(&self, principal: &Principal, new: NewIncident) -> Incident {
        match self.incidents.raise(principal, new, None) {
            Ok(Raised::Created(incident)) => *incident,
            other => panic!("expected a new incident, got {other:?}"),
        }
    }

    /// A priority-3 incident (impact 2 × urgency 2) raised by the supplier's user.
    pub fn raise_p3(&self, title: &str) -> Incident {
        self.raise(&self.supplier.user.clone(), incident(title))
    }

    pub fn get(&self, principal: &Principal, incident: &Incident) -> Incident {
        self.incidents
            .get(principal, &incident.reference)
            .unwrap_or_else(|e| panic!("get {}: {e:?}", incident.reference))
    }

    /// The incident as the service desk sees it now.
    pub fn reload(&self, incident: &Incident) -> Incident {
        self.get(&self.desk, incident)
    }

    /// Applies `changes` as `principal`, without an expected version.
    pub fn update(
        &self,
        principal: &Principal,
        incident: &Incident,
        changes: IncidentChanges,
    ) -> Result<Incident, IncidentError> {
        self.incidents
            .update(principal, &incident.reference, None, changes, None)
    }

    /// Moves an incident to `status` as `principal`, expecting success.
    pub fn move_to(&self, principal: &Principal, incident: &Incident, status: Status) -> Incident {
        let mut changes = status_change(status);
        if status == Status::Assigned && incident.assignment_group.is_none() {
            changes.assignment_group = Some(Some("comms-hub-2nd-line".into()));
        }
        if status == Status::Resolved {
            changes.resolution_code = Some("fixed".into());
        }
        self.update(principal, incident, changes)
            .unwrap_or_else(|e| panic!("{} -> {status}: {e:?}", incident.status))
    }

    /// Every incident `principal` sees that matches `filter`, one large page.
    pub fn list(&self, principal: &Principal, filter: &IncidentFilter) -> Vec<Incident> {
        let page = self
            .incidents
            .list(principal, filter, page(500, None))
            .unwrap_or_else(|e| panic!("list: {e:?}"));
        assert_eq!(page.next_cursor, None, "one page holds everything here");
        page.items
    }

    /// The references `principal` finds with `filter`.
    pub fn references(&self, principal: &Principal, filter: &IncidentFilter) -> Vec<String> {
        references(&self.list(principal, filter))
    }

    /// The whole history of an incident as `principal` sees it, newest first.
    pub fn history(&self, principal: &Principal, incident: &Incident) -> Vec<AuditEntry> {
        self.incidents
            .history(principal, &incident.reference, page(500, None))
            .unwrap_or_else(|e| panic!("history: {e:?}"))
            .items
    }

    /// Suspends an organisation, as an operator administrator would.
    pub fn suspend(&self, organisation_id: i64) {
        use dsms_store::schema::organisations;
        let updated = self
            .db
            .write_blocking(|conn| {
                diesel::update(organisations::table.find(organisation_id))
                    .set(organisations::status.eq("suspended"))
                    .execute(conn)
                    .map_err(dsms_store::StoreError::from)
            })
            .expect("suspend");
        assert_eq!(updated, 1);
    }
}

/// A valid incident: impact 2 × urgency 2 (priority 3 by the default matrix).
pub fn incident(title: &str) -> NewIncident {
    NewIncident {
        title: title.into(),
        description: format!("{title}: reported by the supplier's operations team."),
        category: "communications_hub".into(),
        impact: 2,
        urgency: 2,
        ..NewIncident::default()
    }
}

/// A valid incident with the given impact and urgency.
pub fn incident_with(title: &str, impact: i64, urgency: i64) -> NewIncident {
    NewIncident {
        impact,
        urgency,
        ..incident(title)
    }
}

pub fn status_change(status: Status) -> IncidentChanges {
    IncidentChanges {
        status: Some(status.as_str().into()),
        ..IncidentChanges::default()
    }
}

pub fn page(limit: i64, after: Option<&str>) -> PageRequest {
    PageRequest::parse(Some(limit), after).expect("page request")
}

pub fn references(incidents: &[Incident]) -> Vec<String> {
    incidents.iter().map(|i| i.reference.clone()).collect()
}

/// The fields an `Invalid` error names, in order; panics on any other outcome.
pub fn invalid_fields<T: std::fmt::Debug>(result: Result<T, IncidentError>) -> Vec<String> {
    match result {
        Err(IncidentError::Invalid(errors)) => {
            errors.0.into_iter().map(|e: FieldError| e.field).collect()
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Panics unless `result` is `Forbidden` (HTTP 403).
pub fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, IncidentError>) {
    assert!(
        matches!(result, Err(IncidentError::Forbidden(_))),
        "expected 403 Forbidden, got {result:?}"
    );
}

/// Panics unless `result` is `NotFound` (HTTP 404).
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, IncidentError>) {
    assert!(
        matches!(result, Err(IncidentError::NotFound)),
        "expected 404 Not Found, got {result:?}"
    );
}

/// The `{"field": {"from", "to"}}` changes of an audit row.
pub fn changes(entry: &AuditEntry) -> serde_json::Value {
    serde_json::from_str(&entry.changes).expect("changes are JSON")
}
