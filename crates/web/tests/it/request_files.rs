//! Files on the request page: the raiser attaches one from the page, everyone who sees the
//! request finds it listed and downloads it, and another organisation can neither see nor add
//! any.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test::TestRequest;
use dsms_auth::Role;
use dsms_service_request::{NewRequest, Raised};
use serde_json::json;

use crate::support::spawn;

/// A `multipart/form-data` body with the page's token and one file.
fn upload_body(token: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "dsmsRequestBoundary3kq9";
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
async fn the_raiser_attaches_a_file_the_desk_downloads_it_and_strangers_get_404() {
    let app = spawn().await;
    let org = app.organisation("Northern Supply");
    let other = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("bea@southern.example", Some(other), vec![Role::OrgAdmin]);
    app.member("sam@dcc.example", None, vec![Role::ServiceDeskAgent]);
    let new = NewRequest {
        item: "information".into(),
        summary: None,
        contact: None,
        fields: json!({"question": "Where is the SEC guidance?"}),
    };
    let reference = match app.requests.raise(&ada, new, None) {
        Ok(Raised::Created(request)) => request.reference,
        other => panic!("expected a new request, got {other:?}"),
    };
    let page_path = format!("/requests/{reference}");

    let mut raiser = app.browser();
    raiser.first_sign_in("ada@northern.example").await;
    let page = raiser.get(&page_path).await;
    assert!(
        page.body.contains("No files are attached."),
        "{}",
        page.body
    );
    let token = page.field("csrf_token");
    let (content_type, body) = upload_body(&token, "meter.log", b"no readings since Friday\n");
    raiser
        .send(
            TestRequest::post()
                .insert_header((header::CONTENT_TYPE, content_type))
                .set_payload(body),
            &format!("{page_path}/attachments"),
        )
        .await
        .assert_redirect(&format!("{page_path}?done=attach"));
    let page = raiser.get(&format!("{page_path}?done=attach")).await;
    assert!(page.body.contains("The file has been attached."));

    let mut desk = app.browser();
    desk.first_sign_in("sam@dcc.example").await;
    let page = desk.get(&page_path).await;
    let prefix = format!("<a href=\"{page_path}/attachments/");
    let id = crate::support::between(&page.body, &prefix, "\" download>meter.log</a>")
        .expect("a download link");
    let href = format!("{page_path}/attachments/{id}");
    let file = desk.get(&href).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, "no readings since Friday\n");
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename=\"meter.log\""
    );
    assert_eq!(file.header("x-content-type-options"), "nosniff");

    let mut stranger = app.browser();
    stranger.first_sign_in("bea@southern.example").await;
    assert_eq!(stranger.get(&href).await.status, StatusCode::NOT_FOUND);
    let token = stranger.get("/account").await.field("csrf_token");
    let (content_type, body) = upload_body(&token, "x.log", b"x");
    let refused = stranger
        .send(
            TestRequest::post()
                .insert_header((header::CONTENT_TYPE, content_type))
                .set_payload(body),
            &format!("{page_path}/attachments"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.requests
            .attachments(&ada, &reference)
            .expect("the files")
            .len(),
        1
    );
}
