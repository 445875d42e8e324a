//! Tenant isolation: every identity endpoint driven as every role of another organisation sees
//! only 403 or 404, and lists hold only the caller's own organisation's records. This matrix
//! grows with every endpoint that takes an id.

use dsms_tests::{Bearer, Session, TestApp, expect, expect_problem, ids};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Tenant, app};

/// Two user organisations, each with its people and an API token, and the operator's admin.
struct World {
    app: TestApp,
    dcc: Session,
    a: Tenant,
    b: Tenant,
    a_token_id: String,
    a_token: Bearer,
    b_token: Bearer,
}

async fn world() -> World {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let a = Tenant::create(&app, &dcc, "Alpha Energy", "alpha.example").await;
    let b = Tenant::create(&app, &dcc, "Bravo Power", "bravo.example").await;
    let (a_token_id, a_token) = app
        .issue_api_token(&a.admin, &["incidents:write", "reports:read"])
        .await;
    let (_, b_token) = app
        .issue_api_token(&b.admin, &["incidents:write", "reports:read"])
        .await;
    World {
        app,
        dcc,
        a,
        b,
        a_token_id,
        a_token,
        b_token,
    }
}

/// A request on one of A's records.
struct Probe {
    method: Method,
    path: String,
    body: Option<Value>,
}

impl Probe {
    fn new(method: Method, path: String, body: Option<Value>) -> Self {
        Self { method, path, body }
    }

    async fn send(&self, caller: &Bearer) -> reqwest::Response {
        let mut request = caller.request(self.method.clone(), &self.path);
        if let Some(body) = &self.body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }
}

/// Every identity endpoint that takes an id, aimed at A's records.
fn probes_of(world: &World) -> Vec<Probe> {
    let mut probes = Vec::new();
    for person in world.a.people() {
        let id = &person.person_id;
        probes.push(Probe::new(Method::GET, format!("/api/v1/users/{id}"), None));
        probes.push(Probe::new(
            Method::PATCH,
            format!("/api/v1/users/{id}"),
            Some(json!({"name": "Hijacked", "status": "deactivated"})),
        ));
        probes.push(Probe::new(
            Method::POST,
            format!("/api/v1/users/{id}/mfa-reset"),
            Some(json!({})),
        ));
        probes.push(Probe::new(
            Method::GET,
            format!("/api/v1/users/{id}/sign-ins"),
            None,
        ));
    }
    let org = &world.a.id;
    probes.push(Probe::new(
        Method::GET,
        format!("/api/v1/organisations/{org}"),
        None,
    ));
    probes.push(Probe::new(
        Method::PATCH,
        format!("/api/v1/organisations/{org}"),
        Some(json!({"name": "Hijacked", "status": "suspended"})),
    ));
    probes.push(Probe::new(
        Method::DELETE,
        format!("/api/v1/tokens/{}", world.a_token_id),
        None,
    ));
    probes
}

/// The same request on a record that does not exist at all.
fn nonexistent(probe: &Probe) -> Probe {
    let path = probe
        .path
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "987654"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    Probe::new(probe.method.clone(), path, probe.body.clone())
}

#[tokio::test]
async fn every_role_of_another_organisation_gets_403_or_404_on_every_identity_endpoint() {
    let world = world().await;
    let probes = probes_of(&world);
    let callers: [(&str, &Bearer); 4] = [
        ("org_admin", &world.b.admin),
        ("org_user", &world.b.user),
        ("org_reporter", &world.b.reporter),
        ("api_token", &world.b_token),
    ];
    for (role, caller) in callers {
        for probe in &probes {
            let what = format!("{role} of B: {} {}", probe.method, probe.path);
            let res = probe.send(caller).await;
            let status = res.status().as_u16();
            assert!(!res.status().is_success(), "{what} answered {status}");
            let body = res.json::<Value>().await.expect("a problem body");
            match status {
                404 => dsms_tests::assert_problem(&body, 404, "not-found"),
                403 => dsms_tests::assert_problem(&body, 403, "forbidden"),
                other => panic!("{what} answered {other}: {body}"),
            }
            if role == "org_admin" {
                assert_eq!(status, 404, "{what}: an admin learns nothing exists");
                // Not even the wording differs from a record that does not exist.
                let missing = nonexistent(probe).send(caller).await;
                assert_eq!(missing.status(), 404, "{what}");
                assert_eq!(missing.json::<Value>().await.unwrap(), body, "{what}");
            }
        }
    }

    // Nothing happened to A.
    for person in world.a.people() {
        assert_eq!(
            person.me_status().await,
            200,
            "{} still signed in",
            person.email
        );
        let me = person.me().await;
        assert!(me["name"].as_str().unwrap().starts_with("Person "), "{me}");
        assert_eq!(me["mfa_enrolled"], true);
    }
    assert_eq!(
        world.a_token.me_status().await,
        200,
        "A's token still works"
    );
    let org = expect(
        world
            .a
            .admin
            .get(&format!("/api/v1/organisations/{}", world.a.id))
            .await,
        200,
    )
    .await;
    assert_eq!(org["name"], "Alpha Energy");
    assert_eq!(org["status"], "active");
    assert_eq!(org["version"], 1);
}

#[tokio::test]
async fn the_owning_organisation_and_the_operator_reach_the_same_records() {
    // The positive control of the matrix: the records exist and the endpoints work for those
    // allowed, so the refusals above are isolation, not breakage.
    let world = world().await;
    for reader in [&world.a.admin, &world.dcc] {
        for person in world.a.people() {
            expect(
                reader
                    .get(&format!("/api/v1/users/{}", person.person_id))
                    .await,
                200,
            )
            .await;
            expect(
                reader
                    .get(&format!("/api/v1/users/{}/sign-ins", person.person_id))
                    .await,
                200,
            )
            .await;
        }
        expect(
            reader
                .get(&format!("/api/v1/organisations/{}", world.a.id))
                .await,
            200,
        )
        .await;
    }
    expect(
        world
            .a
            .admin
            .delete(&format!("/api/v1/tokens/{}", world.a_token_id))
            .await,
        204,
    )
    .await;
}

/// Every string in `value`, recursively.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn lists_hold_none_of_another_organisations_records() {
    let world = world().await;
    let a_ids: Vec<&str> = world
        .a
        .people()
        .iter()
        .map(|p| p.person_id.as_str())
        .collect();
    let a_emails: Vec<&str> = world.a.people().iter().map(|p| p.email.as_str()).collect();
    let callers: [(&str, &Bearer); 4] = [
        ("org_admin", &world.b.admin),
        ("org_user", &world.b.user),
        ("org_reporter", &world.b.reporter),
        ("api_token", &world.b_token),
    ];
    let lists = [
        "/api/v1/users?limit=500".to_owned(),
        format!("/api/v1/users?limit=500&organisation_id={}", world.a.id),
        "/api/v1/organisations?limit=500".to_owned(),
        "/api/v1/tokens?limit=500".to_owned(),
        "/api/v1/audit?limit=500".to_owned(),
        "/api/v1/audit?limit=500&entity_type=person".to_owned(),
        format!(
            "/api/v1/audit?limit=500&actor_id={}",
            world.a.admin.person_id
        ),
    ];
    let mut seen_some = 0;
    for (role, caller) in callers {
        for list in &lists {
            let what = format!("{role} of B: GET {list}");
            let res = caller.get(list).await;
            let status = res.status().as_u16();
            if status == 403 {
                expect_problem(res, 403, "forbidden").await;
                continue;
            }
            let page = expect(res, 200).await;
            seen_some += 1;
            for item in page["items"].as_array().unwrap() {
                let owner = item
                    .get("organisation_id")
                    .cloned()
                    .unwrap_or_else(|| item["id"].clone());
                assert_eq!(owner, world.b.id, "{what}: {item}");
                let mut texts = Vec::new();
                strings(item, &mut texts);
                for text in &texts {
                    assert!(
                        !a_emails.iter().any(|e| text.contains(e)),
                        "{what} leaks an email of A: {item}"
                    );
                }
                if item["entity_type"] == "person" || list.starts_with("/api/v1/users") {
                    let id = item
                        .get("entity_id")
                        .unwrap_or(&item["id"])
                        .as_str()
                        .unwrap();
                    assert!(!a_ids.contains(&id), "{what} shows A's person {id}");
                }
                if item["entity_type"] == "api_token" || list.starts_with("/api/v1/tokens") {
                    let id = item.get("entity_id").unwrap_or(&item["id"]);
                    assert_ne!(id, &json!(world.a_token_id), "{what} shows A's token");
                }
            }
        }
    }
    assert!(seen_some >= 6, "the lists were reachable at all");

    // B's admin does see B's own records in those lists.
    let people = expect(world.b.admin.get("/api/v1/users?limit=500").await, 200).await;
    let mut b_ids: Vec<String> = world
        .b
        .people()
        .iter()
        .map(|p| p.person_id.clone())
        .collect();
    b_ids.sort();
    let mut listed = ids(&people);
    listed.sort();
    assert_eq!(listed, b_ids);
    let orgs = expect(world.b.user.get("/api/v1/organisations").await, 200).await;
    assert_eq!(ids(&orgs), [world.b.id.as_str()]);
    let tokens = expect(world.b.admin.get("/api/v1/tokens").await, 200).await;
    assert_eq!(ids(&tokens).len(), 1);
    let audit = expect(world.b.admin.get("/api/v1/audit?limit=500").await, 200).await;
    assert!(!ids(&audit).is_empty());
}

#[tokio::test]
async fn an_org_admin_cannot_reach_beyond_their_organisation_or_grant_operator_roles() {
    let world = world().await;
    let admin = &world.b.admin;
    let invite = |organisation_id: &str, roles: Value| {
        json!({
            "email": "new@bravo.example",
            "name": "New Person",
            "organisation_id": organisation_id,
            "roles": roles,
        })
    };

    for other in [&world.a.id, &world.dcc.organisation_id] {
        expect_problem(
            admin
                .post("/api/v1/users", &invite(other, json!(["org_user"])))
                .await,
            404,
            "not-found",
        )
        .await;
    }
    for role in ["dcc_admin", "service_desk_agent", "service_desk_manager"] {
        expect_problem(
            admin
                .post("/api/v1/users", &invite(&world.b.id, json!([role])))
                .await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(
            admin
                .patch(
                    &format!("/api/v1/users/{}", world.b.user.person_id),
                    &json!({"roles": [role]}),
                )
                .await,
            403,
            "forbidden",
        )
        .await;
    }
    expect_problem(
        admin
            .post(
                "/api/v1/organisations",
                &json!({"name": "Shadow Org", "sec_roles": ["other_user"]}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        admin
            .patch(
                &format!("/api/v1/organisations/{}", world.b.id),
                &json!({"sec_roles": ["gas_supplier", "import_supplier"]}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        admin
            .get(&format!(
                "/api/v1/organisations/{}",
                world.dcc.organisation_id
            ))
            .await,
        404,
        "not-found",
    )
    .await;
    expect_problem(
        admin
            .get(&format!("/api/v1/users/{}", world.dcc.person_id))
            .await,
        404,
        "not-found",
    )
    .await;
    // Organisation users and reporters do not manage people at all.
    for caller in [&world.b.user, &world.b.reporter] {
        expect_problem(
            caller
                .post("/api/v1/users", &invite(&world.b.id, json!(["org_user"])))
                .await,
            403,
            "forbidden",
        )
        .await;
    }
    // The refused invitations created nobody.
    let people = expect(admin.get("/api/v1/users").await, 200).await;
    assert_eq!(ids(&people).len(), 3);
    assert_eq!(world.b.user.me().await["roles"], json!(["org_user"]));
}

#[tokio::test]
async fn operator_staff_see_every_organisation() {
    let world = world().await;
    let app = &world.app;
    let agent = app
        .invite_and_activate(
            &world.dcc,
            &world.dcc.organisation_id,
            "agent@dcc.example",
            &["service_desk_agent"],
        )
        .await;
    let manager = app
        .invite_and_activate(
            &world.dcc,
            &world.dcc.organisation_id,
            "manager@dcc.example",
            &["service_desk_manager"],
        )
        .await;

    for staff in [&world.dcc, &agent, &manager] {
        let people = expect(staff.get("/api/v1/users?limit=500").await, 200).await;
        let listed = ids(&people);
        for person in world.a.people().iter().chain(world.b.people().iter()) {
            assert!(listed.contains(&person.person_id), "{}", person.email);
        }
        let orgs = ids(&expect(staff.get("/api/v1/organisations").await, 200).await);
        for org in [&world.a.id, &world.b.id, &world.dcc.organisation_id] {
            assert!(orgs.contains(org), "{org} in {orgs:?}");
        }
    }
    for auditor in [&world.dcc, &manager] {
        let audit = expect(auditor.get("/api/v1/audit?limit=500").await, 200).await;
        let owners: Vec<&Value> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["organisation_id"])
            .collect();
        for org in [&world.a.id, &world.b.id] {
            assert!(owners.contains(&&json!(org)), "{org} rows visible");
        }
    }
    expect_problem(agent.get("/api/v1/audit").await, 403, "forbidden").await;
    // Only operator administrators manage organisations.
    expect_problem(
        agent
            .patch(
                &format!("/api/v1/organisations/{}", world.a.id),
                &json!({"name": "Renamed"}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
}
