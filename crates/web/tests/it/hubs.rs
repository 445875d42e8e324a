//! Communications hubs through the pages: a supplier registers a location the operator
//! approves, forecasts, has an order refused with every broken rule named and then accepted,
//! the operator dispatches it from a CSV file, the supplier confirms delivery and returns a
//! faulty hub, and the operator takes the return through to its analysis. Bulk files name every
//! bad row at once; another organisation sees none of it.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::test::TestRequest;
use chrono::{DateTime, Utc};
use dsms_auth::Role;
use dsms_core::{Clock, Principal};
use dsms_hubs::{
    Confirmation, Created, Hubs, LocationChanges, NewConsignment, NewForecastLine, NewLocation,
    NewOrder, NewReturn, OrderChanges, ReturnRow, SerialRow,
};

use crate::support::{Answer, Browser, PASSWORD, TestApp, between, secret_on, totp};

/// Tuesday 1 December 2026, 10:00 GMT: forecasts made now are on time and cover 2027-01 to
/// 2028-12; orders for April 2027 are inside the lead time and before their cut-off.
const START: &str = "2026-12-01T10:00:00Z";

/// The 4G central single-band variant the migrations seed.
const VARIANT: &str = "CH-C-4G-SB";

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a time")
        .with_timezone(&Utc)
}

/// The app's own time, for authenticator codes once the clock has moved.
fn app_time<S>(app: &TestApp<S>) -> u64 {
    u64::try_from(app.clock.as_ref().now().timestamp()).expect("after 1970")
}

/// Signs `email` in for the first time at the app's time; returns the authenticator secret.
async fn enrol<S, B>(app: &TestApp<S>, browser: &mut Browser<'_, S>, email: &str) -> Vec<u8>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    browser
        .enter_password(email, PASSWORD)
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

/// A `multipart/form-data` body with the page's token, text fields and one file.
fn upload(token: &str, fields: &[(&str, &str)], csv: &str) -> TestRequest {
    let boundary = "dsmsHubsBoundary1A2B3C";
    let mut body = String::new();
    for (name, value) in std::iter::once(("csrf_token", token)).chain(fields.iter().copied()) {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hubs.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ));
    TestRequest::post()
        .insert_header((
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(body)
}

/// Posts the forecast grid with `cells` (name, value).
async fn post_grid<S, B>(
    browser: &mut Browser<'_, S>,
    cells: &[(String, String)],
    token: &str,
) -> Answer
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut pairs: Vec<(&str, &str)> = cells
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("csrf_token", token));
    browser.post("/portal/hubs/forecasts/new", &pairs).await
}

fn assert_contains(answer: &Answer, expected: &[&str]) {
    for e in expected {
        assert!(answer.body.contains(e), "{e} in:\n{}", answer.body);
    }
}

/// `n` serials `{prefix}0000000` onwards.
fn serials(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:07}")).collect()
}

fn new<T: std::fmt::Debug>(created: Result<Created<T>, dsms_hubs::HubError>) -> T {
    match created.expect("created") {
        Created::New(value) => value,
        Created::Replayed(kept) => panic!("unexpected replay: {kept:?}"),
    }
}

/// What [`delivered`] made.
struct Delivered {
    order: String,
    location: i64,
    forecast: i64,
}

/// Through the service, not the pages: a forecast, an approved location, and an order of 20
/// hubs `{prefix}0000000..19` dispatched on 6 April 2027 and confirmed on the 7th (the clock
/// is left there).
fn delivered(
    hubs: &Hubs,
    app_clock: &dsms_core::ManualClock,
    supplier: &Principal,
    operator: &Principal,
    prefix: &str,
) -> Delivered {
    app_clock.set(utc(START));
    let forecast = new(hubs.submit_forecast(
        supplier,
        (1..=24)
            .map(|n| NewForecastLine {
                month: dsms_hubs::Month::parse("2026-12")
                    .expect("month")
                    .plus(n)
                    .to_string(),
                variant: VARIANT.into(),
                region: None,
                quantity: 20,
            })
            .collect(),
        None,
        None,
    ));
    let location = new(hubs.register_location(
        supplier,
        NewLocation {
            name: "Warrington depot".into(),
            address: "1 Depot Way, Warrington".into(),
            postcode: "WA1 1AA".into(),
            contact_name: "Goods In".into(),
            contact_phone: "01925 000000".into(),
            contact_email: None,
            delivery_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
        },
        None,
        None,
    ));
    hubs.update_location(
        operator,
        location.id,
        None,
        LocationChanges {
            status: Some("approved".into()),
            ..LocationChanges::default()
        },
        None,
    )
    .expect("approved");
    let order = new(hubs.place_order(
        supplier,
        NewOrder {
            delivery_month: "2027-04".into(),
            location_id: location.id,
            variant: VARIANT.into(),
            quantity: 20,
        },
        None,
        None,
    ));
    hubs.update_order(
        operator,
        &order.reference,
        None,
        OrderChanges {
            status: Some("accepted".into()),
            ..OrderChanges::default()
        },
        None,
    )
    .expect("accepted");
    let consignment = new(hubs.dispatch(
        operator,
        &order.reference,
        NewConsignment {
            delivery_date: "2027-04-06".into(),
            serials: serials(prefix, 20)
                .into_iter()
                .enumerate()
                .map(|(i, serial)| SerialRow {
                    field: format!("serials[{i}]"),
                    serial,
                })
                .collect(),
        },
        None,
        None,
    ));
    app_clock.set(utc("2027-04-07T09:00:00Z"));
    hubs.confirm_delivery(
        supplier,
        &order.reference,
        consignment.id,
        Confirmation::default(),
        None,
    )
    .expect("confirmed");
    Delivered {
        order: order.reference,
        location: location.id,
        forecast: forecast.id,
    }
}

#[actix_web::test]
async fn a_supplier_goes_from_forecast_to_a_faulty_return_analysed_through_the_pages() {
    let app = crate::support::spawn().await;
    app.clock.set(utc(START));
    let org = app.organisation("Northern Supply");
    app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    app.member("max@dcc.example", None, vec![Role::ServiceDeskManager]);
    let mut ada = app.browser();
    let ada_secret = enrol(&app, &mut ada, "ada@northern.example").await;
    let mut max = app.browser();
    let max_secret = enrol(&app, &mut max, "max@dcc.example").await;

    let home = ada.get("/portal/hubs").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert_contains(
        &home,
        &["<a href=\"/portal/hubs\" aria-current=\"page\">Hubs</a>"],
    );
    max.get("/portal/hubs").await.assert_redirect("/desk/hubs");

    // A location, approved by the operator.
    let days = ["mon", "tue", "wed", "thu", "fri"].map(|d| ("delivery_days", d));
    let mut fields = vec![
        ("name", "Warrington depot"),
        ("address", "1 Depot Way, Warrington"),
        ("postcode", "wa1 1aa"),
        ("contact_name", "Goods In"),
        ("contact_phone", "01925 000000"),
        ("contact_email", ""),
    ];
    fields.extend(days);
    ada.submit(
        "/portal/hubs/locations/new",
        "/portal/hubs/locations/new",
        &fields,
    )
    .await
    .assert_redirect("/portal/hubs/locations?done=added");
    assert_contains(
        &ada.get("/portal/hubs/locations").await,
        &["Warrington depot", "WA1 1AA", "Awaiting the operator"],
    );
    let desk = max.get("/desk/hubs").await;
    assert_eq!(desk.status, StatusCode::OK, "{}", desk.body);
    let location = between(&desk.body, "/desk/hubs/locations/", "/decide").expect("a decision");
    let version = desk.field("version");
    max.post(
        &format!("/desk/hubs/locations/{location}/decide"),
        &[
            ("decision", "approved"),
            ("note", ""),
            ("version", &version),
            ("csrf_token", &desk.field("csrf_token")),
        ],
    )
    .await
    .assert_redirect("/desk/hubs?done=decided");
    assert_contains(&ada.get("/portal/hubs/locations").await, &[">Approved<"]);

    // A forecast: a typo and a missing month are named by their cells and rule, then it goes in.
    let grid = ada.get("/portal/hubs/forecasts/new").await;
    assert_contains(
        &grid,
        &[
            "name=\"q:2027-01:CH-C-4G-SB\"",
            "name=\"q:2028-12:CH-S-4G-DB\"",
        ],
    );
    let months: Vec<String> = (1..=24)
        .map(|n| {
            dsms_hubs::Month::parse("2026-12")
                .expect("month")
                .plus(n)
                .to_string()
        })
        .collect();
    let cells: Vec<(String, String)> = months
        .iter()
        .map(|m| (format!("q:{m}:{VARIANT}"), "20".to_owned()))
        .collect();
    let token = grid.field("csrf_token");
    let mut typo = cells.clone();
    typo[0].1 = "twenty".into();
    let shown = post_grid(&mut ada, &typo, &token).await;
    assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(
        &shown,
        &[
            "<a href=\"#q-2027-01-CH-C-4G-SB\">CH-C-4G-SB in 2027-01 must be a whole number of hubs</a>",
            "value=\"twenty\"",
        ],
    );
    let shown = post_grid(&mut ada, &cells[..23], &token).await;
    assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(
        &shown,
        &[
            "The forecast breaks the forecast horizon rule: must cover every month from 2027-01 to 2028-12; missing 2028-12",
        ],
    );
    post_grid(&mut ada, &cells, &token)
        .await
        .assert_redirect("/portal/hubs/forecasts?done=submitted");
    let forecasts = ada.get("/portal/hubs/forecasts").await;
    assert_contains(
        &forecasts,
        &[
            "Version 1</a>",
            "<th scope=\"row\">2027-04</th>",
            "CH-C-4G-SB (central): 20",
        ],
    );

    // An order breaking four rules names each; then one inside them all is placed.
    let form = ada.get("/portal/hubs/orders/new").await;
    assert_contains(
        &form,
        &[&format!(
            "<option value=\"{location}\">Warrington depot (WA1 1AA)</option>"
        )],
    );
    let token = form.field("csrf_token");
    let refused = ada
        .post(
            "/portal/hubs/orders/new",
            &[
                ("delivery_month", "2027-03"),
                ("location_id", &location),
                ("variant", VARIANT),
                ("quantity", "5"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_contains(
        &refused,
        &[
            "Delivery month breaks the lead time rule: orders for 2027-03 had to be placed by 2026-11-01",
            "Quantity breaks the minimum order rule: must be at least 10 hubs",
            "Quantity breaks the pack size rule: must be a whole multiple of 10",
            "Quantity breaks the forecast tolerance rule: there is no forecast in force for 2027-03",
            "<option value=\"2027-03\" selected>",
        ],
    );
    let placed = ada
        .post(
            "/portal/hubs/orders/new",
            &[
                ("delivery_month", "2027-04"),
                ("location_id", &location),
                ("variant", VARIANT),
                ("quantity", "20"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let order_page = placed
        .location()
        .split('?')
        .next()
        .expect("a path")
        .to_owned();
    let reference = order_page
        .strip_prefix("/hubs/orders/")
        .expect("an order")
        .to_owned();
    assert!(reference.starts_with("ORD"), "{reference}");
    assert_contains(
        &ada.get(&order_page).await,
        &["Submitted", "Amend the order", "Cancel the order"],
    );
    assert_contains(
        &ada.get("/portal/hubs/orders?status=submitted").await,
        &[&reference],
    );

    // The operator accepts it and dispatches from a file: every bad row is named at once.
    assert_contains(
        &max.get("/desk/hubs").await,
        &[&reference, "Northern Supply"],
    );
    let page = max.get(&order_page).await;
    max.post(
        &format!("{order_page}/decide"),
        &[
            ("decision", "accepted"),
            ("version", &page.field("version")),
            ("csrf_token", &page.field("csrf_token")),
        ],
    )
    .await
    .assert_redirect(&format!("{order_page}?done=decided"));
    let token = max.get(&order_page).await.field("csrf_token");
    let bad = max
        .send(
            upload(
                &token,
                &[("delivery_date", "2027-04-06")],
                "serial\nCHD0000000\nnot a serial\nchd0000000\n",
            ),
            &format!("{order_page}/dispatch-file"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_contains(
        &bad,
        &[
            "Row 2 (serial): must be a hub serial number",
            "Row 3 (serial): repeats rows[0].serial (CHD0000000)",
        ],
    );
    let csv = format!("serial\n{}\n", serials("CHD", 20).join("\n"));
    max.send(
        upload(&token, &[("delivery_date", "2027-04-06")], &csv),
        &format!("{order_page}/dispatch-file"),
    )
    .await
    .assert_redirect(&format!("{order_page}?done=dispatched"));

    // The day after delivery the supplier confirms it, one hub short.
    app.clock.set(utc("2027-04-07T09:00:00Z"));
    let mut ada = app.browser();
    ada.sign_in("ada@northern.example", &totp(&ada_secret, app_time(&app)))
        .await;
    let page = ada.get(&order_page).await;
    assert_contains(
        &page,
        &["Dispatched", "CHD0000019", "Confirm this delivery"],
    );
    assert!(
        !page.body.contains("Amend the order"),
        "firm after the cut-off"
    );
    // The consignment's id is the first path segment after `/consignments/` (its notice links
    // and its confirm form both carry it).
    let consignment = between(&page.body, "/consignments/", "/").expect("a consignment");
    ada.post(
        &format!("{order_page}/consignments/{consignment}/confirm"),
        &[
            ("missing", "CHD0000019"),
            ("damaged", ""),
            ("excess", ""),
            ("notes", "one short"),
            ("csrf_token", &page.field("csrf_token")),
        ],
    )
    .await
    .assert_redirect(&format!("{order_page}?done=confirmed"));
    assert_contains(
        &ada.get(&order_page).await,
        &["Delivered", "shortage of 1 hub (open): CHD0000019"],
    );

    // A faulty hub goes back, and the operator takes it through to its analysis.
    let returned = ada
        .submit(
            "/portal/hubs/returns/new",
            "/portal/hubs/returns/new",
            &[
                ("serials", "CHD0000000"),
                ("reason", "sm_wan"),
                ("found", "after_installation"),
                ("incident", ""),
                ("notes", "WAN drops after install"),
            ],
        )
        .await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER, "{}", returned.body);
    let return_page = returned
        .location()
        .split('?')
        .next()
        .expect("a path")
        .to_owned();
    assert!(
        return_page.starts_with("/hubs/returns/RET"),
        "{return_page}"
    );
    let mut max = app.browser();
    max.sign_in("max@dcc.example", &totp(&max_secret, app_time(&app)))
        .await;
    for (label, to) in [
        ("Authorise the return", "authorised"),
        ("Mark as collected", "collected"),
        ("Mark as received", "received"),
    ] {
        let page = max.get(&return_page).await;
        assert_contains(&page, &[label]);
        max.post(
            &format!("{return_page}/advance"),
            &[
                ("status", to),
                ("notes", ""),
                ("version", &page.field("version")),
                ("csrf_token", &page.field("csrf_token")),
            ],
        )
        .await
        .assert_redirect(&format!("{return_page}?done=advanced"));
    }
    let page = max.get(&return_page).await;
    assert_contains(&page, &["Record the analysis"]);
    max.post(
        &format!("{return_page}/analyse"),
        &[
            ("fault_confirmed", "yes"),
            ("redeployable", "no"),
            ("notes", "WAN module failed"),
            ("version", &page.field("version")),
            ("csrf_token", &page.field("csrf_token")),
        ],
    )
    .await
    .assert_redirect(&format!("{return_page}?done=analysed"));
    assert_contains(
        &ada.get(&return_page).await,
        &[
            "Analysed",
            "Credited</dt><dd>£30.87",
            "credit £30.87",
            "Faulty: sm wan",
        ],
    );
}

#[actix_web::test]
async fn a_file_of_returned_hubs_names_every_bad_row_at_once() {
    let app = crate::support::spawn().await;
    app.clock.set(utc(START));
    let org = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let max = app.member("max@dcc.example", None, vec![Role::ServiceDeskManager]);
    delivered(&app.hubs, &app.clock, &ada, &max, "CHD");
    let mut browser = app.browser();
    enrol(&app, &mut browser, "ada@northern.example").await;
    let token = browser
        .get("/portal/hubs/returns/new")
        .await
        .field("csrf_token");

    let csv = "serial,reason,found\n\
               CHD0000001,aerial,before_installation\n\
               CHX9999999,general,\n\
               CHD0000002,broken,\n\
               CHD0000003,led,\n\
               CHD0000001,general,\n";
    let bad = browser
        .send(
            upload(&token, &[("notes", "")], csv),
            "/portal/hubs/returns/upload",
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_contains(
        &bad,
        &[
            "Row 3 (reason): must be a faulty reason",
            "Row 4 (found): must say before_installation or after_installation for a faulty reason",
            "Row 5 (serial): repeats rows[0].serial (CHD0000001)",
        ],
    );
    let missing = browser
        .send(
            upload(&token, &[], "serials\nCHD0000001\n"),
            "/portal/hubs/returns/upload",
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(&missing, &["must name a `serial` column"]);

    let unknown = browser
        .send(
            upload(
                &token,
                &[],
                "serial,reason\nCHX9999999,general\nCHD0000004,general\n",
            ),
            "/portal/hubs/returns/upload",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(
        &unknown,
        &["Row 1 (serial): CHX9999999 is not a known hub serial number"],
    );

    let unchosen = browser
        .post(
            "/portal/hubs/returns/new",
            &[
                ("serials", "CHD0000001"),
                ("reason", ""),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(unchosen.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(
        &unchosen,
        &[
            "<a href=\"#reason\">Choose a reason</a>",
            ">CHD0000001</textarea>",
        ],
    );

    let good = browser
        .send(
            upload(
                &token,
                &[("notes", "surplus")],
                "serial,reason,found\nCHD0000001,aerial,before_installation\nCHD0000002,general,\n",
            ),
            "/portal/hubs/returns/upload",
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    let page = browser.get(good.location()).await;
    assert_contains(&page, &["Requested", "CHD0000001", "CHD0000002", "surplus"]);
}

#[actix_web::test]
async fn another_organisation_gets_not_found_and_sees_nothing() {
    let app = crate::support::spawn().await;
    let northern = app.organisation("Northern Supply");
    let southern = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(northern), vec![Role::OrgUser]);
    app.member("eve@southern.example", Some(southern), vec![Role::OrgAdmin]);
    let max = app.member("max@dcc.example", None, vec![Role::ServiceDeskManager]);
    let made = delivered(&app.hubs, &app.clock, &ada, &max, "CHD");
    let returned = new(app.hubs.request_return(
        &ada,
        NewReturn {
            rows: vec![ReturnRow {
                at: "lines[0]".into(),
                serial: "CHD0000000".into(),
                reason: "general".into(),
                found: None,
            }],
            ..NewReturn::default()
        },
        None,
        None,
    ));

    let mut eve = app.browser();
    enrol(&app, &mut eve, "eve@southern.example").await;
    let order_page = format!("/hubs/orders/{}", made.order);
    let return_page = format!("/hubs/returns/{}", returned.reference);
    for path in [
        order_page.clone(),
        return_page.clone(),
        format!("/portal/hubs/locations/{}", made.location),
        format!("/portal/hubs/forecasts/{}", made.forecast),
    ] {
        assert_eq!(eve.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let token = eve.get("/portal/hubs").await.field("csrf_token");
    let amend = eve
        .post(
            &format!("{order_page}/amend"),
            &[("quantity", "30"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(amend.status, StatusCode::NOT_FOUND);
    let change = eve
        .post(
            &format!("/portal/hubs/locations/{}", made.location),
            &[("name", "Mine now"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(change.status, StatusCode::NOT_FOUND);
    assert_eq!(eve.get("/desk/hubs").await.status, StatusCode::FORBIDDEN);

    for list in [
        "/portal/hubs",
        "/portal/hubs/locations",
        "/portal/hubs/forecasts",
        "/portal/hubs/orders",
        "/portal/hubs/returns",
    ] {
        let page = eve.get(list).await;
        assert_eq!(page.status, StatusCode::OK, "{list}: {}", page.body);
        for theirs in [
            made.order.as_str(),
            returned.reference.as_str(),
            "Warrington depot",
            "Version 1",
        ] {
            assert!(!page.body.contains(theirs), "{theirs} on {list}");
        }
    }
}

#[actix_web::test]
async fn orders_are_amended_cancelled_and_rejected_only_as_the_rules_allow() {
    let app = crate::support::spawn().await;
    let org = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(org), vec![Role::OrgUser]);
    let max = app.member("max@dcc.example", None, vec![Role::ServiceDeskManager]);
    // An earlier delivered order leaves a forecast of 20 a month and an approved location.
    let made = delivered(&app.hubs, &app.clock, &ada, &max, "CHD");
    app.clock.set(utc(START));
    let mut browser = app.browser();
    let secret = enrol(&app, &mut browser, "ada@northern.example").await;
    let location = made.location.to_string();
    let place = async |browser: &mut Browser<'_, _>, month: &str| {
        let placed = browser
            .submit(
                "/portal/hubs/orders/new",
                "/portal/hubs/orders/new",
                &[
                    ("delivery_month", month),
                    ("location_id", &location),
                    ("variant", VARIANT),
                    ("quantity", "10"),
                ],
            )
            .await;
        assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
        placed
            .location()
            .split('?')
            .next()
            .expect("a path")
            .to_owned()
    };

    // Amended: refused off the pack size, accepted inside the tolerance of the forecast.
    let may = place(&mut browser, "2027-05").await;
    let page = browser.get(&may).await;
    let (version, token) = (page.field("version"), page.field("csrf_token"));
    let (version, token) = (version.as_str(), token.as_str());
    let amend = |quantity| {
        [
            ("quantity", quantity),
            ("version", version),
            ("csrf_token", token),
        ]
    };
    let refused = browser.post(&format!("{may}/amend"), &amend("15")).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_contains(
        &refused,
        &["Quantity breaks the pack size rule: must be a whole multiple of 10"],
    );
    browser
        .post(&format!("{may}/amend"), &amend("20"))
        .await
        .assert_redirect(&format!("{may}?done=amended"));
    let stale = browser.post(&format!("{may}/amend"), &amend("10")).await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "the page showed an older version"
    );
    assert_contains(&browser.get(&may).await, &["Amended", "<dd>20</dd>"]);

    // The operator must say why an order is rejected.
    let mut desk = app.browser();
    enrol(&app, &mut desk, "max@dcc.example").await;
    let page = desk.get(&may).await;
    let (version, token) = (page.field("version"), page.field("csrf_token"));
    let (version, token) = (version.as_str(), token.as_str());
    let reject = |reason| {
        [
            ("decision", "rejected"),
            ("reason", reason),
            ("version", version),
            ("csrf_token", token),
        ]
    };
    let bare = desk.post(&format!("{may}/decide"), &reject("")).await;
    assert_eq!(bare.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_contains(&bare, &["Reason must say why the order is rejected"]);
    desk.post(
        &format!("{may}/decide"),
        &reject("No stock of this variant"),
    )
    .await
    .assert_redirect(&format!("{may}?done=decided"));
    assert_contains(
        &browser.get(&may).await,
        &["Rejected", "No stock of this variant"],
    );

    // Cancelled before the cut-off; after it an order is firm and the page offers neither.
    let june = place(&mut browser, "2027-06").await;
    let page = browser.get(&june).await;
    browser
        .post(
            &format!("{june}/cancel"),
            &[
                ("version", &page.field("version")),
                ("csrf_token", &page.field("csrf_token")),
            ],
        )
        .await
        .assert_redirect(&format!("{june}?done=cancelled"));
    assert_contains(&browser.get(&june).await, &["Cancelled"]);
    let july = place(&mut browser, "2027-07").await;
    let shown_at = browser.get(&july).await.field("version");
    app.clock.set(utc("2027-04-01T09:00:00Z"));
    let mut later = app.browser();
    later
        .sign_in("ada@northern.example", &totp(&secret, app_time(&app)))
        .await;
    let page = later.get(&july).await;
    assert!(!page.body.contains("Amend the order"), "{}", page.body);
    let firm = later
        .post(
            &format!("{july}/cancel"),
            &[
                ("version", &shown_at),
                ("csrf_token", &page.field("csrf_token")),
            ],
        )
        .await;
    assert_eq!(
        firm.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        firm.body
    );
    assert_contains(
        &firm,
        &["breaks the amendment cut-off rule: orders for 2027-07 became firm on 2027-04-01"],
    );

    // A changed address goes back to the operator for approval.
    let form = later
        .get(&format!("/portal/hubs/locations/{location}"))
        .await;
    assert_contains(
        &form,
        &[
            "value=\"Warrington depot\"",
            "Operator approval: <strong>Approved</strong>",
        ],
    );
    let mut fields = vec![
        ("name", "Warrington depot"),
        ("address", "2 Depot Way, Warrington"),
        ("postcode", "WA1 1AB"),
        ("contact_name", "Goods In"),
        ("contact_phone", "01925 000000"),
        ("contact_email", ""),
        ("delivery_days", "tue"),
    ];
    let version = form.field("version");
    let token = form.field("csrf_token");
    fields.push(("version", &version));
    fields.push(("csrf_token", &token));
    later
        .post(&format!("/portal/hubs/locations/{location}"), &fields)
        .await
        .assert_redirect("/portal/hubs/locations?done=saved");
    assert_contains(
        &later.get("/portal/hubs/locations").await,
        &["2 Depot Way", "Tuesday", "Awaiting the operator"],
    );
}
