//! The service desk's main flow in a real browser: an organisation's person raises an incident
//! in the portal, an agent finds it in the unassigned queue, assigns and resolves it, and the
//! raiser sees the resolution and confirms it; nobody sees another organisation's incident or
//! pages that are not theirs.

use dsms_tests::TestApp;
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

use super::accessibility;
use super::{Driver, click, fill, first_sign_in, main_text, path, screenshot};

#[tokio::test(flavor = "multi_thread")]
async fn an_incident_goes_from_the_portal_through_the_desk_and_back_to_its_raiser() {
    let Some(driver) = Driver::start("browser::service_desk") else {
        return;
    };
    let app = TestApp::spawn().await;
    let admin = app.sign_in_admin().await;
    let northern = app
        .create_org(&admin, "Northern Power", &["import_supplier"])
        .await;
    let southern = app
        .create_org(&admin, "Southern Gas", &["gas_supplier"])
        .await;
    app.invite(&admin, &northern, "ada@northern.example", &["org_user"])
        .await;
    let ada_password = app.accept_invitation("ada@northern.example").await;
    app.invite(&admin, &southern, "bea@southern.example", &["org_user"])
        .await;
    let bea_password = app.accept_invitation("bea@southern.example").await;
    app.invite(
        &admin,
        &admin.organisation_id,
        "sam@dcc.example",
        &["service_desk_agent"],
    )
    .await;
    let sam_password = app.accept_invitation("sam@dcc.example").await;

    // Ada raises an incident in the portal.
    let ada = driver.browser().await;
    first_sign_in(&app, &ada, "ada@northern.example", &ada_password).await;
    ada.goto(&app.url("/portal/incidents/new"))
        .await
        .expect("the form");
    fill(&ada, "#title", "Hub offline in Leeds").await;
    fill(
        &ada,
        "#description",
        "No readings from 40 meters since 09:00.",
    )
    .await;
    for (select, value) in [
        ("#category", "communications_hub"),
        ("#impact", "2"),
        ("#urgency", "2"),
    ] {
        ada.find(Locator::Css(select))
            .await
            .expect(select)
            .select_by_value(value)
            .await
            .expect("chosen");
    }
    click(&ada, "main form button[type=submit]").await;
    let incident_path = path(&ada).await;
    let Some(reference) = incident_path.strip_prefix("/incidents/").map(str::to_owned) else {
        panic!(
            "taken to the incident, not {incident_path}: {}",
            main_text(&ada).await
        );
    };
    assert!(main_text(&ada).await.contains("Hub offline in Leeds"));
    ada.goto(&app.url("/portal")).await.expect("the portal");
    assert!(main_text(&ada).await.contains(&reference));
    screenshot(&ada, "portal").await;
    accessibility::check(&ada, "the portal").await;
    ada.goto(&app.url("/portal/incidents/new"))
        .await
        .expect("the form");
    accessibility::check(&ada, "the incident form").await;

    // Sam finds it in the unassigned queue, takes it and resolves it.
    let sam = driver.browser().await;
    first_sign_in(&app, &sam, "sam@dcc.example", &sam_password).await;
    sam.goto(&app.url("/desk?queue=unassigned"))
        .await
        .expect("the workspace");
    assert!(main_text(&sam).await.contains("Northern Power"));
    screenshot(&sam, "workspace").await;
    accessibility::check(&sam, "the workspace").await;
    shortcuts_move_through_the_queue(&sam, &reference).await;
    sam.find(Locator::LinkText(&reference))
        .await
        .expect("the incident in the unassigned queue")
        .click()
        .await
        .expect("open it");
    assert_eq!(path(&sam).await, incident_path);
    sam.find(Locator::Css("#assign-person"))
        .await
        .expect("the assignee list")
        .select_by_label("Person sam@dcc.example")
        .await
        .expect("chosen");
    click(&sam, "form[action$='/assign'] button").await;
    assert!(
        main_text(&sam)
            .await
            .contains("The assignment has been changed.")
    );
    sam.find(Locator::Css("#next-status"))
        .await
        .expect("the status list")
        .select_by_value("resolved")
        .await
        .expect("chosen");
    fill(&sam, "#resolution-code", "fixed").await;
    fill(
        &sam,
        "#resolution-notes",
        "The hub was replaced and is reporting again.",
    )
    .await;
    click(&sam, "form[action$='/status'] button").await;
    let resolved = main_text(&sam).await;
    assert!(
        resolved.contains("The status has been changed."),
        "{resolved}"
    );
    assert!(resolved.contains("Resolved"));
    screenshot(&sam, "incident").await;
    accessibility::check(&sam, "the incident page (desk)").await;
    sam.goto(&app.url("/desk/dashboard"))
        .await
        .expect("the dashboard");
    accessibility::check(&sam, "the dashboard").await;
    screenshot(&sam, "dashboard").await;

    // Ada sees the resolution and confirms it.
    ada.goto(&app.url(&incident_path))
        .await
        .expect("the incident");
    let seen = main_text(&ada).await;
    assert!(seen.contains("Is it fixed?"), "{seen}");
    assert!(seen.contains("The hub was replaced and is reporting again."));
    accessibility::check(&ada, "the incident page (raiser)").await;
    click(&ada, "button[value=closed]").await;
    assert!(main_text(&ada).await.contains("Closed"));

    // Bea, of another organisation, sees none of it, nor the desk's or the administrators' pages.
    let bea = driver.browser().await;
    first_sign_in(&app, &bea, "bea@southern.example", &bea_password).await;
    for (page, refusal) in [
        (incident_path.as_str(), "Page not found"),
        ("/desk", "You cannot use this page"),
        ("/desk/dashboard", "You cannot use this page"),
        ("/admin", "You cannot use this page"),
    ] {
        bea.goto(&app.url(page)).await.expect("a page");
        let text = main_text(&bea).await;
        assert!(text.contains(refusal), "{page}: {text}");
        assert!(!text.contains("Hub offline"), "{page}");
    }

    for browser in [ada, sam, bea] {
        browser.close().await.expect("the browser closes");
    }
}

/// Presses one key, as a person would.
async fn press(browser: &fantoccini::Client, key: char) {
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser.perform_actions(actions).await.expect("key press");
}

/// The script's shortcuts on a queue: `j` moves to the first incident, `?` opens the list of
/// shortcuts and Escape closes it.
async fn shortcuts_move_through_the_queue(browser: &fantoccini::Client, reference: &str) {
    press(browser, 'j').await;
    let focused = browser
        .execute(
            "const e = document.activeElement; \
             return [e.textContent, !!e.closest('tr.row-current')];",
            vec![],
        )
        .await
        .expect("focus read");
    assert_eq!(focused[0], reference, "j focuses the first incident");
    assert_eq!(focused[1], true, "j marks its row");
    press(browser, '?').await;
    let open = "return !!document.querySelector('dialog.shortcuts[open]');";
    assert_eq!(
        browser.execute(open, vec![]).await.expect("dialog read"),
        true,
        "? opens the shortcuts"
    );
    press(browser, char::from(Key::Escape)).await;
    assert_eq!(
        browser.execute(open, vec![]).await.expect("dialog read"),
        false,
        "Escape closes them"
    );
}
