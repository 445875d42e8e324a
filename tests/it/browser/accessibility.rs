//! Accessibility checks run in the browser on the pages the scenarios visit (WCAG 2.2 AA
//! basics): the page's language, one main landmark and one `h1`, a name for every form control,
//! button and image, a skip link that the first Tab reaches and shows, a visible focus
//! indicator, and no sideways scrolling at 1280 px or on a 390 px phone. These are hand-written
//! checks, not a full automated checker: colour contrast is not measured here.

use fantoccini::Client;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

/// What is wrong with the page shown, as sentences; empty when nothing is.
const PROBLEMS: &str = r#"
const problems = [];
const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
if (!document.documentElement.lang) problems.push("the page has no language");
if (document.querySelectorAll("main").length !== 1) problems.push("not exactly one main landmark");
if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
if (!document.title.trim()) problems.push("the page has no title");
for (const c of document.querySelectorAll("input, select, textarea")) {
  if (c.type === "hidden") continue;
  const named = (c.labels && c.labels.length > 0) || c.getAttribute("aria-label") || c.getAttribute("aria-labelledby");
  if (!named) problems.push("unlabelled control " + (c.id || c.name));
}
for (const b of document.querySelectorAll("button, a[href]")) {
  if (!visible(b)) continue;
  if (!(b.innerText || "").trim() && !b.getAttribute("aria-label")) problems.push("nameless " + b.outerHTML.slice(0, 80));
}
for (const i of document.querySelectorAll("img")) {
  if (!i.hasAttribute("alt")) problems.push("image without alt text");
}
for (const s of document.querySelectorAll("svg")) {
  if (s.getAttribute("role") !== "img" || !s.querySelector("title")) problems.push("chart without role img and title");
}
const ids = new Set();
for (const e of document.querySelectorAll("[id]")) {
  if (ids.has(e.id)) problems.push("duplicate id " + e.id);
  ids.add(e.id);
}
if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push("the page scrolls sideways at " + window.innerWidth + " px");
return problems;
"#;

/// Checks the page shown at its width and on a phone, and that the first Tab lands on a visible
/// skip link with a visible focus outline.
pub async fn check(browser: &Client, page: &str) {
    for (width, height) in [(1280, 900), (390, 844)] {
        browser
            .set_window_size(width, height)
            .await
            .expect("window size");
        let problems = browser
            .execute(PROBLEMS, vec![])
            .await
            .expect("the checks run");
        let problems = problems.as_array().cloned().unwrap_or_default();
        assert!(problems.is_empty(), "{page} at {width} px: {problems:?}");
    }
    browser
        .set_window_size(1280, 900)
        .await
        .expect("window size");
    browser.refresh().await.expect("reload");
    let tab = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: char::from(Key::Tab),
        })
        .then(KeyAction::Up {
            value: char::from(Key::Tab),
        });
    browser.perform_actions(tab).await.expect("Tab");
    let focused = browser
        .execute(
            "const e = document.activeElement; const r = e.getBoundingClientRect(); \
             const s = getComputedStyle(e); \
             return [e.className, r.left >= 0 && r.top >= 0 && r.width > 0, s.outlineStyle];",
            vec![],
        )
        .await
        .expect("focus read");
    assert_eq!(
        focused[0], "skip-link",
        "{page}: the first Tab reaches the skip link"
    );
    assert_eq!(
        focused[1], true,
        "{page}: the focused skip link is on screen"
    );
    assert_ne!(focused[2], "none", "{page}: focus is visible");
}
