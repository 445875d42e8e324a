//! Reports: every report as a table with its chart, downloads as CSV, SVG and PNG, the
//! organisation scoping of every figure, and scheduled reports subscribed to and cancelled.

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use dsms_auth::Role;
use dsms_reporting::REPORTS;

use crate::desk::raise;
use crate::support::spawn;

/// A header's value, or "" when absent.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The PNG file signature.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The table cells of the row headed `head` on a report page, as text.
fn row(body: &str, head: &str) -> Option<Vec<String>> {
    let start = format!("<tr><th scope=\"row\">{head}</th>");
    let rest = &body[body.find(&start)? + start.len()..];
    let cells = &rest[..rest.find("</tr>")?];
    Some(
        cells
            .split("</td>")
            .filter_map(|cell| cell.rsplit_once('>').map(|(_, text)| text.to_owned()))
            .collect(),
    )
}

/// The period label of this month, as monthly reports head their rows.
fn this_month<S>(app: &crate::support::TestApp<S>) -> String {
    app.reports.today().format("%Y-%m").to_string()
}

#[actix_web::test]
async fn every_report_shows_an_accessible_table_beside_its_chart() {
    let app = spawn().await;
    let northern = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(northern), vec![Role::OrgUser]);
    raise(&app.incidents, &ada, "Hub offline in Leeds", 2, 2);
    raise(&app.incidents, &ada, "Meter not reading", 4, 4);
    app.member("maria@dcc.example", None, vec![Role::ServiceDeskManager]);
    let mut browser = app.browser();
    browser.first_sign_in("maria@dcc.example").await;

    let index = browser.get("/reports").await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.body);
    assert!(
        index
            .body
            .contains("<a href=\"/reports\" aria-current=\"page\">Reports</a>"),
        "the menu marks the area: {}",
        index.body
    );
    for definition in REPORTS {
        assert!(
            index.body.contains(&format!(
                "<a href=\"/reports/{}\">{}</a>",
                definition.name, definition.title
            )),
            "{} listed",
            definition.name
        );
        let path = format!("/reports/{}", definition.name);
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(
            page.body.contains("<caption id=\"report-caption\">"),
            "{path}"
        );
        assert!(page.body.contains("<th scope=\"col\">"), "{path}");
        assert!(page.body.contains("<svg "), "{path}: the chart");
        for extension in ["csv", "svg", "png"] {
            assert!(
                page.body.contains(&format!(
                    "href=\"/reports/{}.{extension}\" download=",
                    definition.name
                )),
                "{path}: the {extension} download"
            );
        }
        let staff_may_choose = definition.parameters.contains(&"organisation_id");
        assert_eq!(
            page.body
                .contains("<option value=\"\" selected>All organisations</option>"),
            staff_may_choose,
            "{path}"
        );
    }

    let arrivals = browser.get("/reports/arrivals-resolutions").await;
    assert_eq!(
        row(&arrivals.body, &this_month(&app)).expect("this month's row"),
        ["2", "0", "2"]
    );
    let volumes = browser
        .get(&format!(
            "/reports/volumes?by=organisation&organisation_id={northern}"
        ))
        .await;
    assert_eq!(
        row(&volumes.body, &this_month(&app)).expect("this month's row"),
        ["organisation", "Northern Supply", "2"]
    );
    assert!(volumes.body.contains(&format!(
        "<option value=\"{northern}\" selected>Northern Supply</option>"
    )));

    let bad = browser.get("/reports/backlog?priority=9").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Priority must be 1 to 5"), "{}", bad.body);
    assert!(!bad.body.contains("<svg "), "no result for bad parameters");
    assert_eq!(
        browser.get("/reports/no-such-report").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn downloads_are_csv_svg_and_png_of_the_same_figures() {
    let app = spawn().await;
    let northern = app.organisation("Northern Supply");
    let ada = app.member("ada@northern.example", Some(northern), vec![Role::OrgUser]);
    raise(&app.incidents, &ada, "Hub offline in Leeds", 2, 2);
    app.member(
        "rex@northern.example",
        Some(northern),
        vec![Role::OrgReporter],
    );
    let mut browser = app.browser();
    browser.first_sign_in("rex@northern.example").await;

    let (status, headers, csv) = browser
        .get_bytes("/reports/arrivals-resolutions.csv?granularity=month")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header(&headers, "content-type"),
        "text/csv; charset=utf-8; header=present"
    );
    assert_eq!(
        header(&headers, "content-disposition"),
        "attachment; filename=\"arrivals-resolutions.csv\""
    );
    let csv = String::from_utf8(csv).expect("UTF-8");
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some("period,raised,resolved,net_change"));
    assert!(
        lines.any(|l| l == format!("{},1,0,1", this_month(&app))),
        "{csv}"
    );

    let (status, headers, svg) = browser.get_bytes("/reports/backlog.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/svg+xml");
    assert!(String::from_utf8(svg).expect("UTF-8").starts_with("<svg "));

    let (status, headers, png) = browser.get_bytes("/reports/backlog.png?priority=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert!(png.starts_with(PNG_SIGNATURE));
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut pixels).expect("the image decodes");
    assert_eq!(
        (frame.width, frame.height),
        (1800, 840),
        "the chart at twice its size"
    );
    assert!(
        pixels.chunks(4).any(|p| p[..3] != [255, 255, 255]),
        "something is drawn"
    );

    assert_eq!(
        browser.get_bytes("/reports/backlog.pdf").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = browser.get_bytes("/reports/backlog.csv?priority=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn an_organisation_sees_only_its_own_figures_and_cannot_choose_another() {
    let app = spawn().await;
    let northern = app.organisation("Northern Supply");
    let southern = app.organisation("Southern Gas");
    let ada = app.member("ada@northern.example", Some(northern), vec![Role::OrgUser]);
    let sid = app.member("sid@southern.example", Some(southern), vec![Role::OrgUser]);
    raise(&app.incidents, &ada, "Hub offline in Leeds", 2, 2);
    raise(&app.incidents, &ada, "Meter not reading", 4, 4);
    for title in ["Gas meter silent", "Hub lost", "Valve stuck"] {
        raise(&app.incidents, &sid, title, 3, 3);
    }
    app.member(
        "rex@northern.example",
        Some(northern),
        vec![Role::OrgReporter],
    );
    let mut browser = app.browser();
    browser.first_sign_in("rex@northern.example").await;
    let month = this_month(&app);

    let arrivals = browser.get("/reports/arrivals-resolutions").await;
    assert_eq!(arrivals.status, StatusCode::OK, "{}", arrivals.body);
    assert_eq!(row(&arrivals.body, &month).expect("row"), ["2", "0", "2"]);
    assert!(
        !arrivals.body.contains("name=\"organisation_id\""),
        "no organisation to choose"
    );
    for name in REPORTS.iter().map(|d| d.name.as_str()) {
        let page = browser.get(&format!("/reports/{name}")).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert!(!page.body.contains("Southern Gas"), "{name}");
        assert!(!page.body.contains("Gas meter silent"), "{name}");
        let (_, _, csv) = browser.get_bytes(&format!("/reports/{name}.csv")).await;
        let csv = String::from_utf8(csv).expect("UTF-8");
        assert!(
            !csv.contains("Southern Gas") && !csv.contains("Valve stuck"),
            "{name}: {csv}"
        );
    }
    let volumes = browser.get("/reports/volumes?by=category").await;
    assert_eq!(
        row(&volumes.body, &month).expect("row"),
        ["category", "communications_hub", "2"]
    );

    // Naming another organisation is refused, in the page and in every download.
    let other = format!("organisation_id={southern}");
    let refused = browser
        .get(&format!("/reports/arrivals-resolutions?{other}"))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("<table"));
    for extension in ["csv", "svg", "png"] {
        let (status, _, body) = browser
            .get_bytes(&format!(
                "/reports/volumes.{extension}?by=organisation&{other}"
            ))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{extension}");
        assert!(!String::from_utf8_lossy(&body).contains("Southern Gas"));
    }
    let token = arrivals.field("csrf_token");
    let subscribe = browser
        .post(
            "/reports/volumes/subscribe",
            &[
                ("csrf_token", &token),
                ("cadence", "weekly"),
                ("organisation_id", &southern.to_string()),
            ],
        )
        .await;
    assert_eq!(subscribe.status, StatusCode::FORBIDDEN);

    // Someone without reports sees neither the menu entry nor the pages.
    let mut ada_browser = app.browser();
    let portal = {
        ada_browser.first_sign_in("ada@northern.example").await;
        ada_browser.get("/portal").await
    };
    assert!(!portal.body.contains("href=\"/reports\""));
    for path in ["/reports", "/reports/backlog", "/reports/subscriptions"] {
        assert_eq!(
            ada_browser.get(path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        ada_browser.get_bytes("/reports/backlog.csv").await.0,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn a_person_subscribes_to_a_report_and_cancels_it() {
    let app = spawn().await;
    let northern = app.organisation("Northern Supply");
    let rex = app.member(
        "rex@northern.example",
        Some(northern),
        vec![Role::OrgReporter],
    );
    let other = app.member(
        "pat@northern.example",
        Some(northern),
        vec![Role::OrgReporter],
    );
    let mut browser = app.browser();
    browser.first_sign_in("rex@northern.example").await;

    let page = browser
        .get("/reports/volumes?by=priority&priority=2&from=2026-01-01")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The subscription keeps the filters but not the period, which each email sets.
    assert!(
        page.body
            .contains("<input type=\"hidden\" name=\"by\" value=\"priority\">")
    );
    assert!(
        page.body
            .contains("<input type=\"hidden\" name=\"priority\" value=\"2\">")
    );
    assert!(!page.body.contains("<input type=\"hidden\" name=\"from\""));
    let token = page.field("csrf_token");
    let done = browser
        .post(
            "/reports/volumes/subscribe",
            &[
                ("csrf_token", &token),
                ("cadence", "weekly"),
                ("by", "priority"),
                ("priority", "2"),
            ],
        )
        .await;
    done.assert_redirect("/reports/subscriptions?subscribed=1");
    let listed = browser.get(done.location()).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(
        listed
            .body
            .contains("Subscribed: the report will be emailed")
    );
    assert!(
        listed.body.contains("Weekly, on Mondays"),
        "{}",
        listed.body
    );
    assert!(
        listed.body.contains("priority: 2; by: priority"),
        "{}",
        listed.body
    );
    let mine = app.reports.subscriptions(&rex).expect("subscriptions");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].parameters.priority.as_deref(), Some("2"));
    assert!(
        app.reports
            .subscriptions(&other)
            .expect("theirs")
            .is_empty()
    );

    let refused = browser
        .post(
            "/reports/backlog/subscribe",
            &[("csrf_token", &token), ("cadence", "hourly")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("Send it must be daily"),
        "{}",
        refused.body
    );
    let forged = browser
        .post(
            "/reports/backlog/subscribe",
            &[("csrf_token", "forged"), ("cadence", "daily")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Another person cannot cancel it; its owner can.
    let cancel = format!("/reports/subscriptions/{}/cancel", mine[0].id);
    let mut pat = app.browser();
    pat.first_sign_in("pat@northern.example").await;
    let their_list = pat.get("/reports/subscriptions").await;
    assert!(their_list.body.contains("You have no scheduled reports."));
    let their_token = their_list.field("csrf_token");
    let theirs = pat.post(&cancel, &[("csrf_token", &their_token)]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(app.reports.subscriptions(&rex).expect("mine").len(), 1);

    let cancelled = browser.post(&cancel, &[("csrf_token", &token)]).await;
    cancelled.assert_redirect("/reports/subscriptions?cancelled=1");
    let after = browser.get(cancelled.location()).await;
    assert!(after.body.contains("Subscription cancelled"));
    assert!(after.body.contains("You have no scheduled reports."));
    assert!(app.reports.subscriptions(&rex).expect("mine").is_empty());
}
