//! Static assets compiled into the binary. Pages link them with a query naming a digest of their
//! content, so they can be cached for a year and a new build is still fetched at once.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const STYLESHEET: &str = include_str!("../static/dsms.css");

/// FNV-1a: not for security, only to tell one build's stylesheet from another's.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

static STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| format!("/static/dsms.css?v={:016x}", digest(STYLESHEET.as_bytes())));

/// Where pages link the stylesheet from.
pub(crate) fn stylesheet_href() -> &'static str {
    &STYLESHEET_HREF
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(STYLESHEET)
}

/// Mounts the assets.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/dsms.css", web::get().to(stylesheet));
}
