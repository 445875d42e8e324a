//! The incident page: one timeline for everyone who may see the incident, and the actions each
//! may take — the desk works it, the raising organisation comments and confirms or reopens.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test::TestRequest;
use dsms_auth::Role;

use crate::desk::raise;
use crate::support::spawn;

#[actix_web::test]
async fn the_desk_assigns_and_resolves_and_the_raiser_confirms_the_resolution() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let agent = app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let reference = raise(&app.incidents, &ada, "Hub offline in Leeds", 2, 2);
    let page_path = format!("/incidents/{reference}");

    let mut desk = app.browser();
    desk.first_sign_in("sam@dcc.example").await;
    let page = desk.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>Hub offline in Leeds</h1>"));
    assert!(
        page.body
            .contains("<h2 id=\"work-heading\">Work on it</h2>")
    );
    assert!(
        page.body
            .contains("<option value=\"assigned\">Assigned</option>")
    );
    assert!(
        !page.body.contains("<option value=\"closed\">"),
        "the desk never closes"
    );
    let (token, version) = (page.field("csrf_token"), page.field("version"));
    let agent_id = agent.person_id().expect("a person").to_string();
    desk.post(
        &format!("{page_path}/assign"),
        &[
            ("csrf_token", &token),
            ("version", &version),
            ("group", ""),
            ("assignee", &agent_id),
        ],
    )
    .await
    .assert_redirect(&format!("{page_path}?done=assign"));
    let page = desk.get(&format!("{page_path}?done=assign")).await;
    assert!(page.body.contains("The assignment has been changed."));
    assert!(
        page.body
            .contains("assignee: none → Person sam@dcc.example"),
        "{}",
        page.body
    );

    let unresolved = desk
        .post(
            &format!("{page_path}/status"),
            &[
                ("csrf_token", &token),
                ("version", &page.field("version")),
                ("status", "resolved"),
            ],
        )
        .await;
    assert_eq!(unresolved.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unresolved.body.contains("resolution code"),
        "{}",
        unresolved.body
    );
    desk.post(
        &format!("{page_path}/status"),
        &[
            ("csrf_token", &token),
            ("version", &page.field("version")),
            ("status", "resolved"),
            ("resolution_code", "fixed"),
            ("resolution_notes", "Hub replaced."),
        ],
    )
    .await
    .assert_redirect(&format!("{page_path}?done=status"));

    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let page = raiser.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<h2 id=\"resolution-heading\">Is it fixed?</h2>")
    );
    assert!(page.body.contains("Hub replaced."));
    assert!(
        !page.body.contains("Work on it"),
        "organisations do not work incidents"
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
    let closed = app.incidents.get(&agent, &reference).expect("the incident");
    assert_eq!(closed.status, dsms_incident::Status::Closed);
    let page = raiser.get(&page_path).await;
    assert!(
        page.body
            .contains("<span class=\"status status-closed\">Closed</span>")
    );
    assert!(
        !page.body.contains("Add a comment"),
        "a closed incident takes no more comments"
    );
}

#[actix_web::test]
async fn work_notes_are_on_the_desks_timeline_only() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let reference = raise(&app.incidents, &ada, "Hub offline", 3, 3);
    let page_path = format!("/incidents/{reference}");
    let mut desk = app.browser();
    desk.first_sign_in("sam@dcc.example").await;
    let token = desk.get(&page_path).await.field("csrf_token");
    for (visibility, body) in [
        ("work_note", "Suspect the firmware push"),
        ("comment", "Looking into it now"),
    ] {
        desk.post(
            &format!("{page_path}/comment"),
            &[
                ("csrf_token", &token),
                ("visibility", visibility),
                ("body", body),
            ],
        )
        .await;
    }
    let seen_by_desk = desk.get(&page_path).await.body;
    assert!(seen_by_desk.contains("Suspect the firmware push"));
    assert!(seen_by_desk.contains("Looking into it now"));

    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let seen_by_raiser = raiser.get(&page_path).await.body;
    assert!(seen_by_raiser.contains("Looking into it now"));
    assert!(!seen_by_raiser.contains("firmware"), "{seen_by_raiser}");
    assert!(!seen_by_raiser.contains("Work note"));
    let token = raiser.get(&page_path).await.field("csrf_token");
    let posted = raiser
        .post(
            &format!("{page_path}/comment"),
            &[
                ("csrf_token", &token),
                ("visibility", "work_note"),
                ("body", "Trying to write a work note"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
}

#[actix_web::test]
async fn another_organisation_cannot_see_or_touch_the_incident() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let other = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("bea@southern.example", Some(other), vec![Role::OrgAdmin]);
    let reference = raise(&app.incidents, &ada, "Hub offline", 3, 3);
    let page_path = format!("/incidents/{reference}");
    let mut stranger = app.browser();
    stranger.first_sign_in("bea@southern.example").await;
    let seen = stranger.get(&page_path).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    assert!(!seen.body.contains("Hub offline"));
    let token = stranger.get("/account").await.field("csrf_token");
    for action in ["comment", "status", "assign"] {
        let answer = stranger
            .post(
                &format!("{page_path}/{action}"),
                &[
                    ("csrf_token", &token),
                    ("body", "x"),
                    ("status", "cancelled"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(
        stranger
            .get(&format!("{page_path}/attachments/1"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let untouched = app.incidents.get(&ada, &reference).expect("the incident");
    assert_eq!(untouched.version, 1);
}

#[actix_web::test]
async fn a_change_made_on_a_stale_page_is_refused_and_the_current_page_shown() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let reference = raise(&app.incidents, &ada, "Hub offline", 3, 3);
    let page_path = format!("/incidents/{reference}");
    let mut desk = app.browser();
    desk.first_sign_in("sam@dcc.example").await;
    let stale = desk.get(&page_path).await;
    let token = stale.field("csrf_token");
    desk.post(
        &format!("{page_path}/priority"),
        &[
            ("csrf_token", &token),
            ("version", &stale.field("version")),
            ("priority", "2"),
            ("reason", "Affects a whole town"),
        ],
    )
    .await
    .assert_redirect(&format!("{page_path}?done=priority"));
    let refused = desk
        .post(
            &format!("{page_path}/status"),
            &[
                ("csrf_token", &token),
                ("version", &stale.field("version")),
                ("status", "cancelled"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("Someone changed this incident"));
    assert!(refused.body.contains("Priority 2"), "the page as it is now");
    let no_reason = desk
        .post(
            &format!("{page_path}/priority"),
            &[
                ("csrf_token", &token),
                ("version", &refused.field("version")),
                ("priority", "1"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_reason.body.contains("priority reason is required"),
        "{}",
        no_reason.body
    );
}

/// A `multipart/form-data` body with the page's token and one file.
fn upload_body(token: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "dsmsTestBoundary7MA4YWxk";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[actix_web::test]
async fn the_raiser_attaches_a_file_and_anyone_who_sees_the_incident_downloads_it() {
    let app = spawn().await;
    let org = app.organisation("Northern Power");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let reference = raise(&app.incidents, &ada, "Hub offline", 3, 3);
    let page_path = format!("/incidents/{reference}");
    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let token = raiser.get(&page_path).await.field("csrf_token");

    let (content_type, body) = upload_body("wrong-token", "hub.log", b"hub 42 lost mesh\n");
    let forged = raiser
        .send(
            TestRequest::post()
                .insert_header((header::CONTENT_TYPE, content_type))
                .set_payload(body),
            &format!("{page_path}/attachments"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let (content_type, body) = upload_body(&token, "hub.log", b"hub 42 lost mesh\n");
    raiser
        .send(
            TestRequest::post()
                .insert_header((header::CONTENT_TYPE, content_type))
                .set_payload(body),
            &format!("{page_path}/attachments"),
        )
        .await
        .assert_redirect(&format!("{page_path}?done=attach"));

    let mut desk = app.browser();
    desk.first_sign_in("sam@dcc.example").await;
    let page = desk.get(&page_path).await;
    let href = crate::support::between(&page.body, "<p><a href=\"", "\" download>")
        .expect("a download link");
    let file = desk.get(&href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, "hub 42 lost mesh\n");
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename=\"hub.log\""
    );
    assert_eq!(file.header("x-content-type-options"), "nosniff");
}
