//! Service requests in the web UI: organisations browse the catalogue and raise requests from
//! forms built from each item's typed fields, follow them, comment, cancel and confirm; their
//! administrators and the operator's managers approve in order; the service desk works the
//! queues, completes tasks and writes work notes; and another organisation sees none of it.

use actix_web::http::StatusCode;
use dsms_auth::Role;
use dsms_core::Principal;
use dsms_service_request::{NewRequest, Raised, ServiceRequest, Status};
use serde_json::{Value, json};

use crate::support::spawn;

/// Raises a request outside the UI, as an organisation's system would.
fn raise(
    requests: &dsms_service_request::ServiceRequests,
    who: &Principal,
    item: &str,
    fields: Value,
) -> ServiceRequest {
    let new = NewRequest {
        item: item.into(),
        summary: None,
        contact: None,
        fields,
    };
    match requests.raise(who, new, None) {
        Ok(Raised::Created(request)) => *request,
        other => panic!("expected a new request, got {other:?}"),
    }
}

/// Answers for a diagnostics request (no approval, two tasks).
fn diagnostics() -> Value {
    json!({"device_ids": ["00-DB-12-34-56-78-9A-BC"], "diagnostic": "firmware",
           "symptoms": "Firmware update failed."})
}

/// The link to a list's next page, as a browser follows it.
fn next_page(body: &str) -> Option<String> {
    let before = &body[..body.find("\" rel=\"next\"")?];
    let href = &before[before.rfind("href=\"")? + "href=\"".len()..];
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

#[actix_web::test]
async fn a_bad_form_names_each_field_next_to_it_keeps_the_values_and_a_good_one_raises() {
    let app = spawn().await;
    let org = app.organisation("Northern Supply");
    app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let mut ada = app.browser();
    ada.first_sign_in("ada@northern.example").await;

    let catalogue = ada.get("/portal/catalogue").await;
    assert_eq!(catalogue.status, StatusCode::OK, "{}", catalogue.body);
    assert!(catalogue.body.contains(
        "<a href=\"/portal/catalogue/device_diagnostics\">Device / hub diagnostics request</a>"
    ));
    assert!(
        catalogue
            .body
            .contains("<a href=\"/portal/requests\" aria-current=\"page\">Requests</a>")
    );

    let form = ada.get("/portal/catalogue/device_diagnostics").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for input in [
        "<textarea id=\"field_device_ids\" name=\"field_device_ids\"",
        "<select id=\"field_diagnostic\" name=\"field_diagnostic\"",
        "<option value=\"event_log\">Event log</option>",
        "<textarea id=\"field_symptoms\" name=\"field_symptoms\"",
        "<input id=\"field_wanted_by\" name=\"field_wanted_by\" type=\"date\"",
        "<label for=\"field_wanted_by\">Wanted by (optional)</label>",
    ] {
        assert!(form.body.contains(input), "{input} in:\n{}", form.body);
    }

    let token = form.field("csrf_token");
    let bad = ada
        .post(
            "/portal/catalogue/device_diagnostics",
            &[
                ("csrf_token", &token),
                ("summary", "Hub diagnostics for Leeds"),
                ("field_device_ids", "00DB123456789ABC nope"),
                ("field_diagnostic", ""),
                ("field_symptoms", ""),
                ("field_wanted_by", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body
            .contains("<title>Error: Request: Device / hub diagnostics request")
    );
    for (field, message) in [
        (
            "field_device_ids",
            "Device or hub ids: “nope” must be a device or hub id",
        ),
        ("field_diagnostic", "Diagnostics wanted is required"),
        ("field_symptoms", "What you see is required"),
        ("field_wanted_by", "Wanted by must not be in the past"),
    ] {
        assert!(
            bad.body
                .contains(&format!("<li><a href=\"#{field}\">{message}")),
            "summary names {field}:\n{}",
            bad.body
        );
        assert!(
            bad.body.contains(&format!(
                "<p class=\"field-error\" id=\"{field}-error\"><span class=\"visually-hidden\">Error: </span>{message}"
            )),
            "{field} has its message next to it:\n{}",
            bad.body
        );
    }
    assert!(
        bad.body.contains(">00DB123456789ABC nope</textarea>"),
        "values kept"
    );
    assert!(bad.body.contains("value=\"Hub diagnostics for Leeds\""));
    assert!(bad.body.contains("value=\"2001-01-01\""));

    let raised = ada
        .post(
            "/portal/catalogue/device_diagnostics",
            &[
                ("csrf_token", &token),
                ("summary", "Hub diagnostics for Leeds"),
                (
                    "field_device_ids",
                    "00DB123456789ABC, 11-22-33-44-55-66-77-88",
                ),
                ("field_diagnostic", "event_log"),
                ("field_symptoms", "No readings since Friday."),
                ("field_wanted_by", ""),
            ],
        )
        .await;
    assert_eq!(raised.status, StatusCode::SEE_OTHER, "{}", raised.body);
    let location = raised.location().to_owned();
    let reference = location
        .strip_prefix("/requests/")
        .and_then(|rest| rest.strip_suffix("?done=raised"))
        .expect("the request's page")
        .to_owned();
    assert!(reference.starts_with("REQ"), "{reference}");

    let page = ada.get(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Your request has been raised."));
    assert!(page.body.contains("<h1>Hub diagnostics for Leeds</h1>"));
    assert!(
        page.body
            .contains("<span class=\"status status-submitted\">Submitted</span>")
    );
    assert!(
        page.body
            .contains("<dd class=\"prewrap\">00DB123456789ABC, 1122334455667788</dd>")
    );
    assert!(page.body.contains("<dd class=\"prewrap\">Event log</dd>"));
    assert!(page.body.contains("Run the diagnostics"));
    assert!(
        page.body
            .contains("<strong>Raised</strong> by Person ada@northern.example")
    );
    assert!(page.body.contains("Cancel this request"));
    assert!(
        !page.body.contains("Complete task"),
        "organisations do not work tasks"
    );

    let list = ada.get("/portal/requests").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains(&format!(
        "<a href=\"/requests/{reference}\">{reference}</a>"
    )));
    let filtered = ada.get("/portal/requests?status=awaiting_approval").await;
    assert!(
        !filtered.body.contains(&reference),
        "filtered out by status"
    );
    let bad_status = ada.get("/portal/requests?status=lost").await;
    assert_eq!(bad_status.status, StatusCode::OK);
    assert!(
        bad_status.body.contains("There is a problem"),
        "{}",
        bad_status.body
    );
}

#[actix_web::test]
async fn approvals_are_given_in_order_and_only_by_the_right_people() {
    let app = spawn().await;
    let org = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("boss@northern.example", Some(org), vec![Role::OrgAdmin]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    app.member("max@dcc.example", None, vec![Role::ServiceDeskManager]);
    let request = raise(
        &app.requests,
        &ada,
        "test_services",
        json!({"service": "test_devices", "quantity": 4}),
    );
    let page_path = format!("/requests/{}", request.reference);
    let decision = format!("{page_path}/decision");

    let mut manager = app.browser();
    manager.first_sign_in("max@dcc.example").await;
    let page = manager.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("Step 1: The organisation&#39;s administrator"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("Your approval is needed"),
        "not the operator's turn"
    );
    let early = manager
        .post(
            &decision,
            &[
                ("csrf_token", &page.field("csrf_token")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(early.status, StatusCode::FORBIDDEN, "{}", early.body);
    assert!(
        early.body.contains("it awaits the raising organisation"),
        "{}",
        early.body
    );

    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let page = raiser.get(&page_path).await;
    assert!(!page.body.contains("Your approval is needed"));
    let own = raiser
        .post(
            &decision,
            &[
                ("csrf_token", &page.field("csrf_token")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "a raiser never approves");

    let mut boss = app.browser();
    boss.first_sign_in("boss@northern.example").await;
    let page = boss.get(&page_path).await;
    assert!(
        page.body.contains("Your approval is needed"),
        "{}",
        page.body
    );
    boss.post(
        &decision,
        &[
            ("csrf_token", &page.field("csrf_token")),
            ("decision", "approve"),
            ("comment", "Budget agreed."),
        ],
    )
    .await
    .assert_redirect(&format!("{page_path}?done=decision"));
    let page = boss.get(&page_path).await;
    assert!(
        !page.body.contains("Your approval is needed"),
        "step 1 is decided"
    );
    assert!(page.body.contains("by Person boss@northern.example on"));
    assert!(page.body.contains("Budget agreed."));

    let mut agent = app.browser();
    agent.first_sign_in("sam@dcc.example").await;
    let page = agent.get(&page_path).await;
    assert!(
        !page.body.contains("Your approval is needed"),
        "agents fulfil, never approve"
    );
    let refused = agent
        .post(
            &decision,
            &[
                ("csrf_token", &page.field("csrf_token")),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let queue = manager.get("/desk/requests?queue=approval").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert!(queue.body.contains(&request.reference), "{}", queue.body);
    assert!(
        queue
            .body
            .contains("Step 2: The service desk&#39;s managers")
    );
    let page = manager.get(&page_path).await;
    assert!(
        page.body.contains("Your approval is needed"),
        "{}",
        page.body
    );
    let token = page.field("csrf_token");
    let unexplained = manager
        .post(&decision, &[("csrf_token", &token), ("decision", "reject")])
        .await;
    assert_eq!(unexplained.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unexplained
            .body
            .contains("The reason is required to reject a request"),
        "{}",
        unexplained.body
    );
    manager
        .post(
            &decision,
            &[("csrf_token", &token), ("decision", "approve")],
        )
        .await
        .assert_redirect(&format!("{page_path}?done=decision"));

    let approved = app.requests.get(&ada, &request.reference).expect("request");
    assert_eq!(approved.status, Status::Approved);
    let page = raiser.get(&page_path).await;
    assert!(
        page.body
            .contains("<span class=\"status status-approved\">Approved</span>")
    );
    assert!(
        page.body.contains("Status: Awaiting approval → Approved"),
        "{}",
        page.body
    );
    let queue = manager.get("/desk/requests?queue=approval").await;
    assert!(
        !queue.body.contains(&request.reference),
        "left the approval queue"
    );
    let ready = manager.get("/desk/requests?queue=ready").await;
    assert!(ready.body.contains(&request.reference));
}

#[actix_web::test]
async fn a_rejection_needs_a_reason_the_raiser_sees_and_ends_the_request() {
    let app = spawn().await;
    let org = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("boss@northern.example", Some(org), vec![Role::OrgAdmin]);
    let request = raise(
        &app.requests,
        &ada,
        "self_service_access",
        json!({"action": "add", "person_name": "Grace Hopper",
               "person_email": "grace@northern.example"}),
    );
    let page_path = format!("/requests/{}", request.reference);
    let mut boss = app.browser();
    boss.first_sign_in("boss@northern.example").await;
    let page = boss.get(&page_path).await;
    boss.post(
        &format!("{page_path}/decision"),
        &[
            ("csrf_token", &page.field("csrf_token")),
            ("decision", "reject"),
            ("comment", "Grace has left the company."),
        ],
    )
    .await
    .assert_redirect(&format!("{page_path}?done=decision"));

    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let page = raiser.get(&page_path).await;
    assert!(
        page.body
            .contains("<span class=\"status status-rejected\">Rejected</span>")
    );
    assert!(page.body.contains("Grace has left the company."));
    assert!(
        !page.body.contains("comment-heading"),
        "a rejected request takes no comments"
    );
    assert!(
        !page.body.contains("Cancel this request"),
        "nothing more can happen"
    );
}

#[actix_web::test]
async fn the_desk_completes_tasks_with_work_notes_and_the_raiser_confirms() {
    let app = spawn().await;
    let org = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let request = raise(&app.requests, &ada, "device_diagnostics", diagnostics());
    let page_path = format!("/requests/{}", request.reference);

    let mut agent = app.browser();
    agent.first_sign_in("sam@dcc.example").await;
    let queue = agent.get("/desk/requests?queue=ready").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    assert!(
        queue.body.contains(&format!("<a href=\"{page_path}\">")),
        "{}",
        queue.body
    );
    assert!(queue.body.contains("Tasks: 0 of 2 done"));
    assert!(
        queue
            .body
            .contains("<a href=\"/desk/requests\" aria-current=\"page\">Requests</a>")
    );
    let page = agent.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("<a href=\"/desk/requests\" aria-current=\"page\">Requests</a>")
    );
    assert!(page.body.contains("Start fulfilment"));
    let token = page.field("csrf_token");

    agent
        .post(
            &format!("{page_path}/comment"),
            &[
                ("csrf_token", &token),
                ("body", "Firmware server was down on Friday."),
                ("visibility", "work_note"),
            ],
        )
        .await
        .assert_redirect(&format!("{page_path}?done=note"));
    agent
        .post(
            &format!("{page_path}/comment"),
            &[
                ("csrf_token", &token),
                ("body", "We are running the diagnostics now."),
                ("visibility", "comment"),
            ],
        )
        .await
        .assert_redirect(&format!("{page_path}?done=comment"));

    let [first, second] = [request.tasks[0].id, request.tasks[1].id];
    agent
        .post(
            &format!("{page_path}/tasks/{first}"),
            &[("csrf_token", &token), ("notes", "Firmware log collected.")],
        )
        .await
        .assert_redirect(&format!("{page_path}?done=task"));
    let page = agent.get(&page_path).await;
    assert!(
        page.body
            .contains("<span class=\"status status-in_fulfilment\">In fulfilment</span>")
    );
    assert!(page.body.contains("Firmware log collected."));
    let again = agent
        .post(
            &format!("{page_path}/tasks/{first}"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a task is done once");
    agent
        .post(
            &format!("{page_path}/tasks/{second}"),
            &[("csrf_token", &token), ("notes", "Findings sent.")],
        )
        .await
        .assert_redirect(&format!("{page_path}?done=task"));
    let fulfilled = app.requests.get(&ada, &request.reference).expect("request");
    assert_eq!(fulfilled.status, Status::Fulfilled);

    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let page = raiser.get(&page_path).await;
    assert!(page.body.contains("We are running the diagnostics now."));
    assert!(
        !page.body.contains("Firmware server was down"),
        "work notes are the desk's only"
    );
    assert!(
        page.body
            .contains("<strong>Task completed</strong> by Person sam@dcc.example")
    );
    raiser
        .post(
            &format!("{page_path}/status"),
            &[
                ("csrf_token", &page.field("csrf_token")),
                ("version", &page.field("version")),
                ("status", "closed"),
            ],
        )
        .await
        .assert_redirect(&format!("{page_path}?done=status"));
    let closed = app.requests.get(&ada, &request.reference).expect("request");
    assert_eq!(closed.status, Status::Closed);
}

#[actix_web::test]
async fn the_raiser_cancels_before_fulfilment_but_a_stale_page_is_told_why_not() {
    let app = spawn().await;
    let org = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let request = raise(&app.requests, &ada, "device_diagnostics", diagnostics());
    let page_path = format!("/requests/{}", request.reference);
    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let page = raiser.get(&page_path).await;
    let (token, version) = (page.field("csrf_token"), page.field("version"));
    raiser
        .post(
            &format!("{page_path}/status"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("status", "cancelled"),
            ],
        )
        .await
        .assert_redirect(&format!("{page_path}?done=status"));
    let page = raiser.get(&page_path).await;
    assert!(
        page.body
            .contains("<span class=\"status status-cancelled\">Cancelled</span>")
    );
    assert!(page.body.contains("Not needed"), "its tasks are withdrawn");
    let stale = raiser
        .post(
            &format!("{page_path}/status"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("status", "cancelled"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.body.contains("class=\"error-summary\""));
}

#[actix_web::test]
async fn another_organisation_gets_not_found_and_sees_none_in_its_lists() {
    let app = spawn().await;
    let northern = app.organisation("Northern Supply");
    let southern = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(northern), vec![Role::OrgUser]);
    app.member("bob@southern.example", Some(southern), vec![Role::OrgAdmin]);
    app.member(
        "rita@northern.example",
        Some(northern),
        vec![Role::OrgReporter],
    );
    let request = raise(
        &app.requests,
        &ada,
        "self_service_access",
        json!({"action": "add", "person_name": "Grace Hopper",
               "person_email": "grace@northern.example"}),
    );
    let page_path = format!("/requests/{}", request.reference);

    let mut bob = app.browser();
    bob.first_sign_in("bob@southern.example").await;
    let page = bob.get(&page_path).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Page not found"));
    assert!(!page.body.contains("Grace Hopper"));
    let by_id = bob.get(&format!("/requests/{}", request.id)).await;
    assert_eq!(by_id.status, StatusCode::NOT_FOUND);
    let list = bob.get("/portal/requests").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains(&request.reference));
    assert!(list.body.contains("No requests match these filters."));
    let token = list.field("csrf_token");
    for (action, form) in [
        ("comment", vec![("body", "Hello")]),
        ("decision", vec![("decision", "approve")]),
        ("status", vec![("status", "cancelled")]),
        (
            &format!("tasks/{}", request.tasks[0].id) as &str,
            vec![("notes", "done")],
        ),
    ] {
        let mut form = form;
        form.push(("csrf_token", &token));
        let answer = bob.post(&format!("{page_path}/{action}"), &form).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{action}: {}",
            answer.body
        );
    }
    let queue = bob.get("/desk/requests").await;
    assert_eq!(
        queue.status,
        StatusCode::FORBIDDEN,
        "organisations have no desk queues"
    );
    let unchanged = app.requests.get(&ada, &request.reference).expect("request");
    assert_eq!(unchanged.version, request.version);

    // A reader of the same organisation follows the request but may not raise one.
    let mut rita = app.browser();
    rita.first_sign_in("rita@northern.example").await;
    assert_eq!(rita.get(&page_path).await.status, StatusCode::OK);
    assert_eq!(
        rita.get("/portal/catalogue").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rita.get("/portal/catalogue/information").await.status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn the_desk_queues_filter_by_organisation_and_page() {
    let app = spawn().await;
    let northern = app.organisation("Northern Supply");
    let southern = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(northern), vec![Role::OrgUser]);
    let bob = app.member("bob@southern.example", Some(southern), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let mut northern_refs = Vec::new();
    for _ in 0..26 {
        northern_refs.push(
            raise(
                &app.requests,
                &ada,
                "information",
                json!({"question": "Where?"}),
            )
            .reference,
        );
    }
    let southern_ref = raise(
        &app.requests,
        &bob,
        "information",
        json!({"question": "When?"}),
    )
    .reference;

    let mut agent = app.browser();
    agent.first_sign_in("sam@dcc.example").await;
    let first = agent
        .get(&format!(
            "/desk/requests?queue=ready&organisation={northern}"
        ))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(!first.body.contains(&southern_ref));
    assert!(first.body.contains(&northern_refs[0]), "oldest first");
    assert!(!first.body.contains(&northern_refs[25]), "on the next page");
    let next = next_page(&first.body).expect("a next page");
    let second = agent.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert!(second.body.contains(&northern_refs[25]), "{}", second.body);
    let everyone = agent.get("/desk/requests?queue=open&sort=newest").await;
    assert!(everyone.body.contains(&southern_ref));
    let nonsense = agent.get("/desk/requests?organisation=north").await;
    assert!(
        nonsense
            .body
            .contains("Choose an organisation from the list")
    );
}
