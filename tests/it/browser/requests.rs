//! A service request in a real browser: an organisation's person picks an item from the
//! catalogue, is told which fields of its form are wrong, raises it, and follows it on its page;
//! the form with its errors and the request page pass the accessibility checks.

use fantoccini::Locator;

use super::accessibility;
use super::{Driver, click, fill, first_sign_in, main_text, path, screenshot};
use dsms_tests::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn a_person_raises_a_request_from_the_catalogue_and_follows_it() {
    let Some(driver) = Driver::start("browser::requests") else {
        return;
    };
    let app = TestApp::spawn().await;
    let admin = app.sign_in_admin().await;
    let northern = app
        .create_org(&admin, "Northern Power", &["import_supplier"])
        .await;
    app.invite(&admin, &northern, "ada@northern.example", &["org_user"])
        .await;
    let password = app.accept_invitation("ada@northern.example").await;

    let ada = driver.browser().await;
    first_sign_in(&app, &ada, "ada@northern.example", &password).await;
    ada.goto(&app.url("/portal/catalogue"))
        .await
        .expect("the catalogue");
    click(&ada, "a[href='/portal/catalogue/device_diagnostics']").await;
    assert_eq!(path(&ada).await, "/portal/catalogue/device_diagnostics");
    fill(&ada, "#field_device_ids", "00DB123456789ABC nope").await;
    click(&ada, "main form button[type=submit]").await;
    let errors = main_text(&ada).await;
    assert!(errors.contains("There is a problem"), "{errors}");
    assert!(
        errors.contains("“nope” must be a device or hub id"),
        "{errors}"
    );
    accessibility::check(&ada, "the request form with errors").await;

    fill(&ada, "#summary", "Diagnostics for the Leeds hub").await;
    fill(&ada, "#field_device_ids", "00DB123456789ABC").await;
    ada.find(Locator::Css("#field_diagnostic"))
        .await
        .expect("the choice")
        .select_by_value("event_log")
        .await
        .expect("chosen");
    fill(&ada, "#field_symptoms", "No readings since Friday.").await;
    click(&ada, "main form button[type=submit]").await;
    let request_path = path(&ada).await;
    assert!(
        request_path.starts_with("/requests/REQ"),
        "taken to the request, not {request_path}"
    );
    let page = main_text(&ada).await;
    assert!(page.contains("Your request has been raised."), "{page}");
    assert!(page.contains("Run the diagnostics"), "{page}");
    screenshot(&ada, "request").await;
    accessibility::check(&ada, "the request page").await;
}
