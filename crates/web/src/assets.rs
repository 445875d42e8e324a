//! Static assets compiled into the binary. Pages link them with a query naming a digest of their
//! content, so they can be cached for a year and a new build is still fetched at once.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const STYLESHEET: &str = include_str!("../static/dsms.css");
const SCRIPT: &str = include_str!("../static/dsms.js");

/// FNV-1a: not for security, only to tell one build's stylesheet from another's.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

static STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| format!("/static/dsms.css?v={:016x}", digest(STYLESHEET.as_bytes())));

static SCRIPT_HREF: LazyLock<String> =
    LazyLock::new(|| format!("/static/dsms.js?v={:016x}", digest(SCRIPT.as_bytes())));

/// Where pages link the stylesheet from.
pub(crate) fn stylesheet_href() -> &'static str {
    &STYLESHEET_HREF
}

/// Where pages link the script from: countdowns, queue refresh and shortcuts, never needed for
/// a page to work.
pub(crate) fn script_href() -> &'static str {
    &SCRIPT_HREF
}

fn immutable(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body)
}

async fn stylesheet() -> HttpResponse {
    immutable("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> HttpResponse {
    immutable("text/javascript; charset=utf-8", SCRIPT)
}

/// Mounts the assets.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/dsms.css", web::get().to(stylesheet))
        .route("/static/dsms.js", web::get().to(script));
}
