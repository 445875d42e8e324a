//! Accessibility checks run in the browser on the pages the scenarios visit (WCAG 2.2 AA
//! basics): the page's language, one main landmark and one `h1`, a name for every form control,
//! button and image, a skip link that the first Tab reaches and shows, a visible focus
//! indicator, no sideways scrolling at 1280 px or on a 390 px phone, and text contrast of at least
//! 4.5:1 (3:1 for large text) against the background it is drawn on (WCAG 1.4.3). These are
//! hand-written checks, not a full automated checker such as axe-core, which would need a Node
//! toolchain to fetch.

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
const rgba = (css) => {
  const m = css.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
const background = (e) => {
  const layers = [];
  for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
    const c = rgba(getComputedStyle(n).backgroundColor);
    if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  return layers.reduceRight((under, top) => over(top, under), [255, 255, 255, 1]);
};
const luminance = (c) => {
  const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
for (const e of document.querySelectorAll("body *")) {
  if (!visible(e) || ["SCRIPT", "STYLE", "svg"].includes(e.tagName) || e.closest("svg, .visually-hidden")) continue;
  if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
  const s = getComputedStyle(e);
  const bg = background(e);
  const fg = over(rgba(s.color) || [0, 0, 0, 1], bg);
  const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const size = parseFloat(s.fontSize);
  const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) problems.push("contrast " + ratio.toFixed(2) + ":1 for \"" + e.textContent.trim().slice(0, 40) + "\" (" + s.color + " on rgb(" + bg.slice(0, 3).map(Math.round).join(",") + "))");
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
