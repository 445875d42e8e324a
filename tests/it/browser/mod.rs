//! Browser tests: the real application driven through real headless Chromium over WebDriver
//! (`chromedriver`), as the people who use it would. Each test starts its own `chromedriver`
//! on a free port and one browser session per person. Without Chromium installed they print
//! `SKIPPED` and pass, unless `DSMS_TEST_REQUIRE_TOOLS=1` (CI) makes that a failure.

mod accessibility;
mod requests;
mod service_desk;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dsms_tests::{TestApp, totp_code};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A `chromedriver` process, stopped when dropped.
pub struct Driver {
    process: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    /// A running `chromedriver`, or `None` (after saying so) when no browser is installed.
    pub fn start(test: &str) -> Option<Self> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            dsms_testkit::skip(
                test,
                "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
            );
            return None;
        }
        let port = dsms_testkit::free_port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Self {
            process,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(driver)
    }

    /// A new browser window with an empty profile (no cookies), 1280 px wide.
    pub async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    "--lang=en-GB",
                ],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

/// Types `text` into the field `css`, replacing what it held.
pub async fn fill(browser: &Client, css: &str, text: &str) {
    let field = browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// Clicks the element `css` and, when that leads to another page (a link, a form's submit
/// button), waits until that page has loaded: a WebDriver click may return while the browser is
/// still posting the form, and the old page would then be read as the answer.
pub async fn click(browser: &Client, css: &str) {
    browser
        .execute("window.dsmsBeforeClick = true;", vec![])
        .await
        .expect("mark the page");
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
    for _ in 0..100 {
        let loaded = browser
            .execute(
                "return window.dsmsBeforeClick !== true && document.readyState === 'complete';",
                vec![],
            )
            .await;
        if loaded.is_ok_and(|v| v == true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The visible text of the page's `main` element, once the page a click led to has loaded.
pub async fn main_text(browser: &Client) -> String {
    let mut last = None;
    for _ in 0..50 {
        if let Ok(main) = browser.find(Locator::Css("main")).await {
            match main.text().await {
                Ok(text) => return text,
                Err(e) => last = Some(e),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no main landmark: {last:?}");
}

/// The path of the page shown.
pub async fn path(browser: &Client) -> String {
    browser.current_url().await.expect("url").path().to_owned()
}

/// A first sign-in through the pages: password, then enrolment with the key the page shows,
/// typed in as a person copies it into an authenticator app.
pub async fn first_sign_in(app: &TestApp, browser: &Client, email: &str, password: &str) {
    browser
        .goto(&app.url("/sign-in"))
        .await
        .expect("sign-in page");
    fill(browser, "#email", email).await;
    fill(browser, "#password", password).await;
    click(browser, "main button[type=submit]").await;
    assert_eq!(
        path(browser).await,
        "/sign-in/enrol",
        "{}",
        main_text(browser).await
    );
    let secret = browser
        .find(Locator::Css(".secret"))
        .await
        .expect("the setup key")
        .text()
        .await
        .expect("text");
    let secret: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
    fill(browser, "#code", &totp_code(&secret, app.unix_now())).await;
    click(browser, "main form button[type=submit]").await;
    assert!(
        main_text(browser).await.contains("recovery codes"),
        "enrolled: {}",
        main_text(browser).await
    );
}

/// Saves a PNG of the page shown as a test artefact under the build's temporary folder
/// (`target/tmp/screenshots/`), and into `docs/screenshots/` for the README when
/// `DSMS_UPDATE_SCREENSHOTS=1`, so a test run never rewrites committed files by accident.
pub async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")];
    if std::env::var("DSMS_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots"));
    }
    for dir in dirs {
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), &png).expect("screenshot written");
    }
}
