//! The agents' workspace: queues, filters, saved views, SLA colours and bulk actions.

use actix_web::http::StatusCode;
use chrono::Duration;
use dsms_auth::{Client, NewGroup, Role};
use dsms_core::Principal;
use dsms_incident::{IncidentChanges, Incidents, NewIncident, Raised};

use crate::support::{secret_on, spawn, totp};

/// Raises an incident as `raiser`, outside the UI; returns its reference.
pub fn raise(
    incidents: &Incidents,
    raiser: &Principal,
    title: &str,
    impact: i64,
    urgency: i64,
) -> String {
    let raised = incidents
        .raise(
            raiser,
            NewIncident {
                title: title.into(),
                description: format!("{title}: described"),
                category: "communications_hub".into(),
                impact,
                urgency,
                ..NewIncident::default()
            },
            None,
        )
        .expect("raise");
    match raised {
        Raised::Created(incident) => incident.reference,
        Raised::Replayed(_) => panic!("no idempotency key was sent"),
    }
}

/// The incident references a queue page lists, in order.
pub fn listed(body: &str) -> Vec<String> {
    body.split("<td><a href=\"/incidents/")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(r, _)| r.to_owned()))
        .collect()
}

#[actix_web::test]
async fn an_agent_takes_an_unassigned_incident_with_a_bulk_action() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let agent = app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let first = raise(&app.incidents, &ada, "Hub offline in Leeds", 2, 2);
    let second = raise(&app.incidents, &ada, "Meter not reading", 4, 4);
    let mut browser = app.browser();
    browser.first_sign_in("sam@dcc.example").await;

    let unassigned = browser.get("/desk?queue=unassigned").await;
    assert_eq!(unassigned.status, StatusCode::OK, "{}", unassigned.body);
    assert_eq!(listed(&unassigned.body), [first.clone(), second.clone()]);
    assert!(
        unassigned
            .body
            .contains("<a href=\"/desk?queue=unassigned\" aria-current=\"page\">Unassigned</a>")
    );
    assert!(unassigned.body.contains("Northern Power"));
    let token = unassigned.field("csrf_token");

    let done = browser
        .post(
            "/desk/bulk",
            &[
                ("csrf_token", &token),
                ("view", "queue=unassigned"),
                ("incident", &first),
                ("group", ""),
                ("assignee", "me"),
                ("status", "in_progress"),
            ],
        )
        .await;
    done.assert_redirect("/desk?queue=unassigned&updated=1&failed=0");
    let after = browser.get(done.location()).await;
    assert!(
        after.body.contains("1 incident(s) updated."),
        "{}",
        after.body
    );
    assert_eq!(listed(&after.body), [second]);

    let mine = browser.get("/desk?queue=mine").await;
    assert_eq!(listed(&mine.body), vec![first.clone()]);
    let taken = app.incidents.get(&agent, &first).expect("the incident");
    assert_eq!(taken.assignee_id, agent.person_id());
    assert_eq!(taken.status, dsms_incident::Status::InProgress);
}

#[actix_web::test]
async fn a_bulk_change_the_lifecycle_refuses_is_counted_and_the_rest_applied() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let open = raise(&app.incidents, &ada, "Open one", 3, 3);
    let cancelled = raise(&app.incidents, &ada, "Raised in error", 3, 3);
    app.incidents
        .update(
            &ada,
            &cancelled,
            None,
            IncidentChanges {
                status: Some("cancelled".into()),
                ..IncidentChanges::default()
            },
            None,
        )
        .expect("cancel");
    let mut browser = app.browser();
    browser.first_sign_in("sam@dcc.example").await;
    let token = browser.get("/desk").await.field("csrf_token");
    let done = browser
        .post(
            "/desk/bulk",
            &[
                ("csrf_token", &token),
                ("view", "queue=open"),
                ("incident", &open),
                ("incident", &cancelled),
                ("status", "in_progress"),
            ],
        )
        .await;
    done.assert_redirect("/desk?queue=open&updated=1&failed=1");
    assert!(
        browser
            .get(done.location())
            .await
            .body
            .contains("1 incident(s) updated; 1 could not be")
    );
}

#[actix_web::test]
async fn bulk_actions_and_saved_views_need_the_sessions_token() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let reference = raise(&app.incidents, &ada, "Hub offline", 3, 3);
    let mut browser = app.browser();
    browser.first_sign_in("sam@dcc.example").await;
    let forged = browser
        .post(
            "/desk/bulk",
            &[("incident", reference.as_str()), ("assignee", "me")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = browser
        .post("/desk/views", &[("name", "x"), ("view", "queue=major")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        listed(&browser.get("/desk?queue=unassigned").await.body),
        [reference]
    );
}

#[actix_web::test]
async fn filters_narrow_a_queue_and_my_groups_shows_my_groups_work() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let other = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let bea = app.member("bea@southern.example", Some(other), vec![Role::OrgUser]);
    let admin = app.member("root@dcc.example", None, vec![Role::DccAdmin]);
    let agent = app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let urgent = raise(&app.incidents, &ada, "Region dark", 1, 1);
    let minor = raise(&app.incidents, &ada, "One meter", 4, 4);
    let southern = raise(&app.incidents, &bea, "Gas meter", 4, 4);
    let group = app
        .identity
        .create_group(
            &admin,
            NewGroup {
                name: "Second line".into(),
                description: "Resolvers".into(),
            },
            &Client::default(),
        )
        .expect("group");
    app.identity
        .add_group_member(
            &admin,
            group.id,
            agent.person_id().expect("a person"),
            &Client::default(),
        )
        .expect("member");
    for (reference, group) in [(&minor, "Second line"), (&southern, "Hub provider")] {
        app.incidents
            .update(
                &agent,
                reference,
                None,
                IncidentChanges {
                    assignment_group: Some(Some(group.into())),
                    ..IncidentChanges::default()
                },
                None,
            )
            .expect("assign to a group");
    }
    let mut browser = app.browser();
    browser.first_sign_in("sam@dcc.example").await;

    let p1 = browser.get("/desk?queue=open&priority=1").await;
    assert_eq!(listed(&p1.body), vec![urgent.clone()]);
    let by_org = browser
        .get(&format!("/desk?queue=open&organisation={other}"))
        .await;
    assert_eq!(listed(&by_org.body), vec![southern.clone()]);
    let groups = browser.get("/desk?queue=groups").await;
    assert_eq!(listed(&groups.body), vec![minor.clone()]);
    let newest = browser.get("/desk?queue=open&sort=newest").await;
    assert_eq!(listed(&newest.body), [southern, minor, urgent]);
    let bad = browser.get("/desk?queue=open&priority=urgent").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("Choose a priority from the list."));
}

#[actix_web::test]
async fn an_agent_saves_a_view_and_deletes_it() {
    let app = spawn().await;
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let mut browser = app.browser();
    browser.first_sign_in("sam@dcc.example").await;
    let token = browser.get("/desk").await.field("csrf_token");
    let saved = browser
        .post(
            "/desk/views",
            &[
                ("csrf_token", &token),
                ("name", "Urgent hubs"),
                (
                    "view",
                    "queue=major&priority=1&cursor=zzz&category=communications_hub",
                ),
            ],
        )
        .await;
    saved.assert_redirect("/desk?queue=major&priority=1&category=communications_hub");
    let page = browser.get("/desk").await;
    assert!(
        page.body.contains(
            "<a href=\"/desk?queue=major&#38;priority=1&#38;category=communications_hub\">Urgent hubs</a>"
        ),
        "{}",
        page.body
    );
    let id = crate::support::between(&page.body, "action=\"/desk/views/", "/delete")
        .expect("a delete button");
    browser
        .post(
            &format!("/desk/views/{id}/delete"),
            &[("csrf_token", &token)],
        )
        .await
        .assert_redirect("/desk");
    assert!(!browser.get("/desk").await.body.contains("Urgent hubs"));
}

#[actix_web::test]
async fn only_people_who_work_incidents_may_use_the_workspace() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("ada@northern.example", Some(org), vec![Role::OrgAdmin]);
    app.member("root@dcc.example", None, vec![Role::DccAdmin]);
    let mut anonymous = app.browser();
    anonymous.get("/desk").await.assert_redirect("/sign-in");
    for email in ["ada@northern.example", "root@dcc.example"] {
        let mut browser = app.browser();
        browser.first_sign_in(email).await;
        for path in ["/desk", "/desk/dashboard"] {
            assert_eq!(
                browser.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{email} {path}"
            );
        }
        let token = browser.get("/account").await.field("csrf_token");
        let bulk = browser
            .post("/desk/bulk", &[("csrf_token", &token), ("assignee", "me")])
            .await;
        assert_eq!(bulk.status, StatusCode::FORBIDDEN, "{email}");
    }
}

/// Seconds since the epoch on the app's (moved) clock.
fn app_time<S>(app: &crate::support::TestApp<S>) -> u64 {
    u64::try_from(dsms_core::Clock::now(app.clock.as_ref()).timestamp()).expect("after 1970")
}

/// Signs in for the first time at the app's own (moved) time; returns the authenticator's
/// secret.
async fn first_sign_in_at_app_time<S, B>(
    app: &crate::support::TestApp<S>,
    browser: &mut crate::support::Browser<'_, S>,
    email: &str,
) -> Vec<u8>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    browser
        .enter_password(email, crate::support::PASSWORD)
        .await
        .assert_redirect("/sign-in/enrol");
    let enrol = browser.get("/sign-in/enrol").await;
    let secret = secret_on(&enrol.body);
    let token = enrol.field("csrf_token");
    let shown = browser
        .post(
            "/sign-in/enrol",
            &[
                ("code", &totp(&secret, app_time(app))),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    secret
}

#[actix_web::test]
async fn sla_countdowns_turn_amber_at_risk_and_red_when_breached() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    // Priority 1: four hours around the clock, at risk after three (the default 75 %).
    let reference = raise(&app.incidents, &ada, "Region dark", 1, 1);

    let mut fresh = app.browser();
    let secret = first_sign_in_at_app_time(&app, &mut fresh, "sam@dcc.example").await;
    let page = fresh.get("/desk?queue=open").await;
    assert!(
        page.body.contains("<span class=\"sla sla-ok\" data-due="),
        "{}",
        page.body
    );
    assert!(page.body.contains("4 h 0 min left") || page.body.contains("3 h 59 min left"));

    app.clock.advance(Duration::minutes(190));
    let mut later = app.browser();
    later
        .sign_in("sam@dcc.example", &totp(&secret, app_time(&app)))
        .await;
    let page = later.get("/desk?queue=breaching").await;
    assert_eq!(listed(&page.body), vec![reference.clone()]);
    assert!(
        page.body.contains("<span class=\"sla sla-risk\""),
        "{}",
        page.body
    );

    app.clock.advance(Duration::minutes(80));
    let mut latest = app.browser();
    latest
        .sign_in("sam@dcc.example", &totp(&secret, app_time(&app)))
        .await;
    let page = latest.get("/desk?queue=open").await;
    assert!(
        page.body
            .contains("<span class=\"sla sla-breached\">Breached 30 min ago</span>"),
        "{}",
        page.body
    );
}

#[actix_web::test]
async fn the_dashboard_counts_what_is_unresolved_and_what_arrived() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let agent = app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    raise(&app.incidents, &ada, "Region dark", 1, 1);
    raise(&app.incidents, &ada, "One meter", 4, 4);
    let fixed = raise(&app.incidents, &ada, "Another meter", 4, 4);
    app.incidents
        .update(
            &agent,
            &fixed,
            None,
            IncidentChanges {
                status: Some("resolved".into()),
                resolution_code: Some("fixed".into()),
                ..IncidentChanges::default()
            },
            None,
        )
        .expect("resolve");
    let mut browser = app.browser();
    browser.first_sign_in("sam@dcc.example").await;
    let page = browser.get("/desk/dashboard").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for expected in [
        "<li><strong>2</strong> unresolved</li>",
        "<li><strong>3</strong> raised today</li>",
        "<title id=\"by-priority-title\">Unresolved incidents by priority</title>",
        "<desc id=\"by-priority-desc\">P1: 1, P2: 0, P3: 0, P4: 0, P5: 1</desc>",
        "<desc id=\"flow-desc\">3 raised and 1 resolved over the last 30 days</desc>",
        "<th scope=\"row\">P1</th><td>1</td>",
        "<th scope=\"row\">On track</th><td>2</td>",
    ] {
        assert!(
            page.body.contains(expected),
            "{expected} in:\n{}",
            page.body
        );
    }
    assert_eq!(page.body.matches("role=\"img\"").count(), 3);
}
