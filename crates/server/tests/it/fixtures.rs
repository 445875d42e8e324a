//! Set-up shared by the process tests that drive load: an organisation with an API token written
//! straight into the database the server under test uses, and a load of incident creates.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use dsms_auth::{NewOrganisation, NewPerson, OrganisationKind, Role, SecRole};
use dsms_core::{Actor, Email};
use dsms_store::schema::api_tokens;
use dsms_store::{Db, DbSettings, DbTarget, SqliteSynchronous};
use serde_json::{Value, json};

/// A pool on the test database, from the test process itself.
pub fn db(url: &str) -> Db {
    Db::connect(&DbSettings {
        target: DbTarget::from_url(url),
        pool_size: 2,
        acquire_timeout: Duration::from_secs(10),
        busy_timeout: Duration::from_secs(10),
        sqlite_synchronous: SqliteSynchronous::Normal,
    })
    .expect("database")
}

/// A new organisation with an `org_admin` and an API token of theirs with every incident scope.
/// The database must already be migrated (the server has started). Returns the token.
pub fn api_token(url: &str, organisation: &str) -> String {
    let db = db(url);
    let secret = dsms_auth::credentials::tokens::random_token(dsms_auth::API_TOKEN_PREFIX);
    let digest = dsms_auth::credentials::tokens::digest(&secret);
    let prefix: String = secret.chars().take(12).collect();
    let now = Utc::now();
    let actor = Actor::system("test");
    db.write_blocking(|conn| {
        let org = dsms_auth::create_organisation(
            conn,
            now,
            &actor,
            NewOrganisation {
                name: organisation.to_owned(),
                kind: OrganisationKind::User,
                sec_roles: vec![SecRole::ImportSupplier],
                sec_party_id: None,
            },
        )?;
        let email = format!(
            "admin@{}.example",
            organisation.to_lowercase().replace(' ', "-")
        );
        let person = dsms_auth::create_person(
            conn,
            now,
            &actor,
            NewPerson {
                email: Email::parse(&email).expect("email"),
                name: format!("{organisation} admin"),
                organisation_id: org.id,
                roles: vec![Role::OrgAdmin],
            },
            "not-a-usable-hash",
            true,
        )?;
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::organisation_id.eq(org.id),
                api_tokens::name.eq("load"),
                api_tokens::token_digest.eq(&digest),
                api_tokens::token_prefix.eq(&prefix),
                api_tokens::scopes.eq("incidents:read incidents:write"),
                api_tokens::created_by.eq(person.id),
                api_tokens::created_at.eq(dsms_store::timestamp(now)),
                api_tokens::expires_at.eq(dsms_store::timestamp(now + chrono::Days::new(30))),
            ))
            .execute(conn)
            .map_err(dsms_store::StoreError::from)?;
        Ok::<_, dsms_auth::AuthError>(())
    })
    .expect("organisation and token");
    secret
}

/// The body of an incident create whose title names it.
pub fn incident(title: &str) -> Value {
    json!({
        "title": title,
        "description": format!("{title}: the hub at the meter point stopped answering"),
        "category": "communications_hub",
        "impact": 3,
        "urgency": 3,
        "devices": [device_of(title)],
    })
}

/// The device an incident made by [`incident`] names.
pub fn device_of(title: &str) -> String {
    format!("HUB-{}", title.replace(' ', "-")).to_uppercase()
}

/// An incident the server answered 201 for.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub title: String,
    pub id: String,
    pub reference: String,
}

/// Creates incidents from `clients` concurrent clients against each of `bases` in turn until
/// `stop` is set or a client's connection fails, recording every 201. Other answers must be
/// 503 (a database in trouble); anything else fails the test.
pub async fn create_until_stopped(
    bases: Vec<String>,
    token: String,
    clients: usize,
    label: &str,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<Acknowledged> {
    use std::sync::atomic::Ordering;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, token, stop, acknowledged) = (
            http.clone(),
            token.clone(),
            stop.clone(),
            acknowledged.clone(),
        );
        let base = bases[client % bases.len()].clone();
        let label = label.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let title = format!("{label} {client}-{n}");
                let sent = http
                    .post(format!("{base}/api/v1/incidents"))
                    .bearer_auth(&token)
                    .json(&incident(&title))
                    .send()
                    .await;
                let Ok(res) = sent else { break };
                let status = res.status().as_u16();
                let Ok(body) = res.json::<Value>().await else {
                    break;
                };
                match status {
                    201 => acknowledged.lock().unwrap().push(Acknowledged {
                        title,
                        id: body["id"].as_str().expect("id").to_owned(),
                        reference: body["reference"].as_str().expect("reference").to_owned(),
                    }),
                    503 => tokio::time::sleep(Duration::from_millis(50)).await,
                    other => panic!("create answered {other}: {body}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
    Arc::try_unwrap(acknowledged)
        .expect("every client finished")
        .into_inner()
        .unwrap()
}

/// Checks the database `url`: every acknowledged incident is there as created, and every incident
/// stored is whole — its details, device, SLA due time, `incident.created` history entry and
/// domain event all written with it (one transaction, so never some without the others).
pub fn assert_incidents_whole(url: &str, acknowledged: &[Acknowledged]) {
    use dsms_store::schema::{audit_log, incident_details, incident_devices, incidents, outbox};
    use std::collections::{BTreeMap, BTreeSet};

    let db = db(url);
    type Row = (i64, String, String, Option<chrono::NaiveDateTime>);
    let (stored, details, devices, created, events) = db
        .read_blocking(|conn| {
            let stored: Vec<Row> = incidents::table
                .select((
                    incidents::id,
                    incidents::reference,
                    incidents::title,
                    incidents::resolution_due_at,
                ))
                .load(conn)?;
            let details: BTreeSet<i64> = incident_details::table
                .select(incident_details::incident_id)
                .load::<i64>(conn)?
                .into_iter()
                .collect();
            let devices: BTreeMap<i64, String> = incident_devices::table
                .select((incident_devices::incident_id, incident_devices::device_id))
                .load(conn)?
                .into_iter()
                .collect();
            let created: Vec<String> = audit_log::table
                .filter(audit_log::action.eq("incident.created"))
                .select(audit_log::entity_id)
                .load(conn)?;
            let events: Vec<String> = outbox::table
                .filter(outbox::kind.eq("event"))
                .select(outbox::payload)
                .load(conn)?;
            Ok::<_, dsms_store::StoreError>((stored, details, devices, created, events))
        })
        .expect("read the database");

    let mut created_counts: BTreeMap<String, usize> = BTreeMap::new();
    for id in created {
        *created_counts.entry(id).or_default() += 1;
    }
    let mut event_counts: BTreeMap<String, usize> = BTreeMap::new();
    for payload in events {
        let event: Value = serde_json::from_str(&payload).expect("event payload is JSON");
        if event["type"] == "incident.created" {
            let id = event["incident"]["id"].as_str().expect("event incident id");
            *event_counts.entry(id.to_owned()).or_default() += 1;
        }
    }
    let by_id: BTreeMap<String, &Row> = stored.iter().map(|r| (r.0.to_string(), r)).collect();
    for ack in acknowledged {
        let row = by_id
            .get(&ack.id)
            .unwrap_or_else(|| panic!("incident {} was answered 201 but is missing", ack.id));
        assert_eq!(row.1, ack.reference, "reference of {}", ack.id);
        assert_eq!(row.2, ack.title, "title of {}", ack.id);
    }
    for (id, reference, title, due) in &stored {
        let key = id.to_string();
        assert!(
            reference.starts_with("INC"),
            "{id} has reference {reference}"
        );
        assert!(due.is_some(), "{reference} has no resolution due time");
        assert!(details.contains(id), "{reference} has no details row");
        assert_eq!(
            devices.get(id).map(String::as_str),
            Some(device_of(title).as_str()),
            "{reference}'s device"
        );
        assert_eq!(created_counts.get(&key), Some(&1), "{reference}'s history");
        assert_eq!(
            event_counts.get(&key),
            Some(&1),
            "{reference}'s created event"
        );
    }
}
