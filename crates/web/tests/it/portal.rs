//! The Self Service Interface: organisations' people list their own incidents and raise new
//! ones. The form's field names are a contract the browser tests rely on.

use actix_web::http::StatusCode;
use dsms_auth::Role;
use dsms_core::Principal;
use dsms_incident::NewIncident;

use crate::support::{between, spawn};

/// Raises an incident as `raiser`, outside the UI.
fn raise(
    incidents: &dsms_incident::Incidents,
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
        dsms_incident::Raised::Created(incident) => incident.reference,
        dsms_incident::Raised::Replayed(_) => panic!("no idempotency key was sent"),
    }
}

/// The references an incident list shows, in order.
fn references(body: &str) -> Vec<String> {
    body.split("<td><a href=\"/incidents/")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(r, _)| r.to_owned()))
        .collect()
}

#[actix_web::test]
async fn a_person_raises_an_incident_and_is_taken_to_it() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let mut browser = app.browser();
    browser.first_sign_in("ada@northern.example").await;

    let form = browser.get("/portal/incidents/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for contract in [
        "name=\"title\"",
        "name=\"description\"",
        "<select id=\"category\" name=\"category\"",
        "<option value=\"communications_hub\">Communications hub</option>",
        "name=\"subcategory\"",
        "<select id=\"impact\" name=\"impact\"",
        "<select id=\"urgency\" name=\"urgency\"",
        "name=\"devices\"",
        "<button type=\"submit\">",
        "<label for=\"title\">Title</label>",
        "<legend>How serious it is</legend>",
    ] {
        assert!(
            form.body.contains(contract),
            "{contract} in:\n{}",
            form.body
        );
    }

    let token = form.field("csrf_token");
    let raised = browser
        .post(
            "/portal/incidents/new",
            &[
                ("title", "Hub offline in Leeds"),
                ("description", "No readings from 40 meters since 09:00."),
                ("category", "communications_hub"),
                ("subcategory", ""),
                ("impact", "2"),
                ("urgency", "2"),
                ("devices", "00-11-22-33-44-55-66-77, 1234567890123"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(raised.status, StatusCode::SEE_OTHER, "{}", raised.body);
    let reference = raised
        .location()
        .strip_prefix("/incidents/")
        .expect("the incident's page")
        .to_owned();
    assert!(reference.starts_with("INC"), "{reference}");

    let principal = app.member("agent@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let incident = app.incidents.get(&principal, &reference).expect("stored");
    assert_eq!(incident.title, "Hub offline in Leeds");
    assert_eq!(incident.channel, "portal");
    assert_eq!(
        incident.priority.get(),
        3,
        "impact 2 × urgency 2 in the default matrix"
    );
    assert_eq!(
        incident.devices,
        ["00-11-22-33-44-55-66-77", "1234567890123"]
    );

    let list = browser.get("/portal").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(references(&list.body), [reference]);
    assert!(list.body.contains("Hub offline in Leeds"));
}

#[actix_web::test]
async fn an_incomplete_incident_comes_back_with_each_error_by_its_field_and_the_input_kept() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let mut browser = app.browser();
    browser.first_sign_in("ada@northern.example").await;

    let shown = browser
        .submit(
            "/portal/incidents/new",
            "/portal/incidents/new",
            &[
                ("title", "   "),
                ("description", "Meters stopped <reporting>"),
                ("category", ""),
                ("impact", "2"),
                ("urgency", ""),
                ("devices", "bad/id"),
            ],
        )
        .await;
    assert_eq!(
        shown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        shown.body
    );
    for expected in [
        "<div class=\"error-summary\" role=\"alert\">",
        "<a href=\"#title\">Title must not be empty</a>",
        "<a href=\"#category\">Choose a category</a>",
        "<a href=\"#urgency\">Choose the urgency</a>",
        "href=\"#devices\"",
        "id=\"title-error\"",
        "aria-describedby=\"title-hint title-error\" aria-invalid=\"true\"",
        "aria-describedby=\"category-error\" aria-invalid=\"true\"",
        // The input is kept, escaped.
        ">Meters stopped &#60;reporting&#62;</textarea>",
        "<option value=\"2\" selected>",
        ">bad/id</textarea>",
    ] {
        assert!(
            shown.body.contains(expected),
            "{expected} in:\n{}",
            shown.body
        );
    }
    let summary = between(&shown.body, "<ul>", "</ul>").expect("a summary");
    let title = summary.find("#title").expect("title listed");
    let category = summary.find("#category").expect("category listed");
    assert!(title < category, "errors in the form's order: {summary}");
    assert!(
        !shown.body.contains("href=\"#impact\""),
        "impact was chosen"
    );

    assert!(references(&browser.get("/portal").await.body).is_empty());
}

#[actix_web::test]
async fn raising_without_the_forms_token_is_refused() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let mut browser = app.browser();
    browser.first_sign_in("ada@northern.example").await;
    let fields = [
        ("title", "Forged"),
        ("description", "A forged post"),
        ("category", "other"),
        ("impact", "4"),
        ("urgency", "4"),
    ];
    let forged = browser.post("/portal/incidents/new", &fields).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut with_wrong_token = fields.to_vec();
    with_wrong_token.push(("csrf_token", "not-the-sessions-token"));
    let forged = browser
        .post("/portal/incidents/new", &with_wrong_token)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(references(&browser.get("/portal").await.body).is_empty());
}

#[actix_web::test]
async fn the_list_filters_sorts_and_pages_with_the_services_cursor() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let mut raised = Vec::new();
    for n in 0..27 {
        raised.push(raise(
            &app.incidents,
            &ada,
            &format!("Meter fault {n}"),
            4,
            4,
        ));
    }
    let urgent = raise(&app.incidents, &ada, "Whole region dark", 1, 1);
    let mut browser = app.browser();
    browser.first_sign_in("ada@northern.example").await;

    let first = browser.get("/portal").await;
    let shown = references(&first.body);
    assert_eq!(shown.len(), 25, "a page holds 25");
    assert_eq!(shown[0], urgent, "newest first by default");
    let cursor =
        between(&first.body, "<a href=\"/portal?cursor=", "\" rel=\"next\"").expect("a next page");
    let next = format!("/portal?cursor={cursor}");
    let second = browser.get(&next).await;
    let rest = references(&second.body);
    assert_eq!(rest.len(), 3);
    assert_eq!(rest.last(), raised.first(), "the oldest comes last");
    assert!(!second.body.contains("rel=\"next\""));
    assert!(second.body.contains(">First page</a>"));

    let oldest = references(&browser.get("/portal?sort=oldest").await.body);
    assert_eq!(oldest.first(), raised.first());

    let p1 = references(&browser.get("/portal?priority=1").await.body);
    assert_eq!(p1, std::slice::from_ref(&urgent));
    let found = references(&browser.get("/portal?q=region").await.body);
    assert_eq!(found, std::slice::from_ref(&urgent));
    let closed = browser.get("/portal?status=closed").await;
    assert!(references(&closed.body).is_empty());
    assert!(
        closed
            .body
            .contains("<option value=\"closed\" selected>Closed</option>")
    );

    let bad = browser.get("/portal?priority=9").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(
        bad.body
            .contains("<a href=\"#priority\">Priority must be 1 to 5</a>")
    );
}

#[actix_web::test]
async fn an_organisation_sees_only_its_own_incidents() {
    let app = spawn().await;
    let north = app.organisation("Northern Power");
    let south = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(north), vec![Role::OrgUser]);
    let bob = app.member("bob@southern.example", Some(south), vec![Role::OrgUser]);
    let ours = raise(&app.incidents, &ada, "Ours", 3, 3);
    raise(&app.incidents, &bob, "Theirs", 3, 3);
    let mut browser = app.browser();
    browser.first_sign_in("ada@northern.example").await;
    let list = browser.get("/portal").await;
    assert_eq!(references(&list.body), [ours]);
    assert!(!list.body.contains("Theirs"));
    let searched = browser.get("/portal?q=Theirs").await;
    assert!(references(&searched.body).is_empty());
}

#[actix_web::test]
async fn a_reporter_follows_incidents_but_cannot_raise_them() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    app.member("rita@northern.example", Some(org), vec![Role::OrgReporter]);
    let mut browser = app.browser();
    browser.first_sign_in("rita@northern.example").await;
    let list = browser.get("/portal").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("href=\"/portal/incidents/new\""));
    let form = browser.get("/portal/incidents/new").await;
    assert_eq!(form.status, StatusCode::FORBIDDEN);
    assert!(form.body.contains("You cannot use this page"));
}

#[actix_web::test]
async fn the_portal_sends_visitors_to_sign_in() {
    let app = spawn().await;
    let mut browser = app.browser();
    browser.get("/portal").await.assert_redirect("/sign-in");
    browser
        .get("/portal/incidents/new")
        .await
        .assert_redirect("/sign-in");
}
