//! The audit log, for administrators and service-desk managers: filtered and paged on the page,
//! and exported as CSV with the same filters. What an organisation's administrator sees is
//! their organisation's entries only, without the service desk's work notes.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use dsms_core::{PageRequest, Permission};
use dsms_store::audit::{AuditEntry, AuditFilter};
use serde::Deserialize;

use super::fields::FieldErrors;
use super::{Acting, Answer, Refusal, when};
use crate::nav::{Area, Menu};
use crate::page::{Caching, show};
use crate::session::WebSession;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(list))
        .route("/admin/audit.csv", web::get().to(export));
}

/// Entries on one page of the list.
const PAGE_SIZE: i64 = 50;
/// Entries fetched per query while exporting.
const EXPORT_BATCH: i64 = 500;
/// The most entries one export holds; narrower filters export the rest.
const EXPORT_LIMIT: usize = 50_000;

/// The filters, from the query string. Empty means "any".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct AuditQuery {
    action: String,
    entity_type: String,
    entity_id: String,
    actor_id: String,
    /// First day, `YYYY-MM-DD`.
    from: String,
    /// Last day, `YYYY-MM-DD`, inclusive.
    to: String,
    cursor: String,
}

impl AuditQuery {
    /// The store's filter, or what is wrong with the dates.
    fn filter(&self) -> Result<AuditFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut day = |field: &str, label: &str, text: &str| -> Option<NaiveDate> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| {
                    errors.add(field, format!("{label} must be a date such as 2026-11-28"))
                })
                .ok()
        };
        let from = day("from", "From", &self.from);
        let to = day("to", "To", &self.to);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.add("to", "To must not be before From");
        }
        if errors.any() {
            return Err(errors);
        }
        let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
        let midnight = |d: NaiveDate| -> Option<NaiveDateTime> { d.and_hms_opt(0, 0, 0) };
        Ok(AuditFilter {
            entity_type: text(&self.entity_type),
            entity_id: text(&self.entity_id),
            action_prefix: text(&self.action),
            actor_id: text(&self.actor_id),
            since: from.and_then(midnight),
            until: to.and_then(|d| d.succ_opt()).and_then(midnight),
        })
    }

    /// The query string of these filters (without the cursor), for links.
    fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                [
                    ("action", &self.action),
                    ("entity_type", &self.entity_type),
                    ("entity_id", &self.entity_id),
                    ("actor_id", &self.actor_id),
                    ("from", &self.from),
                    ("to", &self.to),
                ]
                .into_iter()
                .filter(|(_, v)| !v.trim().is_empty()),
            )
            .finish()
    }
}

struct Row {
    at: String,
    actor: String,
    organisation: String,
    action: String,
    entity: String,
    changes: String,
}

impl From<AuditEntry> for Row {
    fn from(e: AuditEntry) -> Self {
        Self {
            at: when(e.occurred_at),
            actor: format!("{} {}", e.actor_kind, e.actor_id),
            organisation: e.organisation_id.map(|o| o.to_string()).unwrap_or_default(),
            action: e.action,
            entity: format!("{} {}", e.entity_type, e.entity_id),
            changes: e.changes,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct ListPage {
    csrf_token: String,
    menu: Menu,
    query: AuditQuery,
    errors: FieldErrors,
    rows: Vec<Row>,
    export_href: String,
    first_page: Option<String>,
    next_page: Option<String>,
}

async fn list(session: WebSession, query: web::Query<AuditQuery>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewAudit)?;
    let query = query.into_inner();
    let filters = query.query_string();
    let with = |extra: &str| {
        let joined = [filters.as_str(), extra]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("&");
        if joined.is_empty() {
            String::new()
        } else {
            format!("?{joined}")
        }
    };
    let (rows, next, errors) = match query.filter() {
        Err(errors) => (Vec::new(), None, errors),
        Ok(filter) => {
            let page = PageRequest::parse(Some(PAGE_SIZE), Some(&query.cursor))
                .map_err(|_| Refusal::not_found(acting.site()))?;
            let principal = acting.principal().clone();
            let identity = acting.session.ui.identity.clone();
            let found = acting
                .call(move || identity.audit_log(&principal, &filter, page))
                .await?
                .map_err(|e| Refusal::from_context(acting.site(), e))?;
            (
                found.items.into_iter().map(Row::from).collect(),
                found.next_cursor,
                FieldErrors::new(),
            )
        }
    };
    let page = ListPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        export_href: format!("/admin/audit.csv{}", with("")),
        first_page: (!query.cursor.is_empty()).then(|| format!("/admin/audit{}", with(""))),
        next_page: next.map(|c| format!("/admin/audit{}", with(&format!("cursor={c}")))),
        query,
        errors,
        rows,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::NoStore,
        &page,
    )?)
}

/// One CSV field: quoted when it must be, and never read as a formula by a spreadsheet (a
/// leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` first).
fn csv_field(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The entries as CSV (RFC 4180: CRLF line ends, a header row).
fn csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from(
        "id,occurred_at,actor_kind,actor_id,organisation_id,action,entity_type,entity_id,changes,request_id\r\n",
    );
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.occurred_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            e.actor_kind.clone(),
            e.actor_id.clone(),
            e.organisation_id.map(|o| o.to_string()).unwrap_or_default(),
            e.action.clone(),
            e.entity_type.clone(),
            e.entity_id.clone(),
            e.changes.clone(),
            e.request_id.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

async fn export(
    session: WebSession,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, Refusal> {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewAudit)?;
    let filter = query.filter().map_err(|_| {
        Refusal::from_context(
            acting.site(),
            dsms_api::ApiError::invalid("from", "must be a date"),
        )
    })?;
    let principal = acting.principal().clone();
    let identity = acting.session.ui.identity.clone();
    let entries = acting
        .call(move || {
            let mut entries = Vec::new();
            let mut page = PageRequest {
                limit: EXPORT_BATCH,
                after: None,
            };
            loop {
                let found = identity.audit_log(&principal, &filter, page)?;
                entries.extend(found.items);
                let next = found.next_cursor.as_deref();
                match next.map(|c| PageRequest::parse(Some(EXPORT_BATCH), Some(c))) {
                    Some(Ok(next)) if entries.len() < EXPORT_LIMIT => page = next,
                    _ => break,
                }
            }
            entries.truncate(EXPORT_LIMIT);
            Ok::<_, dsms_auth::AuthError>(entries)
        })
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, Caching::NoStore.header()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"dsms-audit.csv\"",
        ))
        .body(csv(&entries)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
    }

    #[test]
    fn the_last_day_is_included() {
        let query = AuditQuery {
            from: "2026-11-01".into(),
            to: "2026-11-30".into(),
            ..AuditQuery::default()
        };
        let filter = query.filter().expect("valid dates");
        assert_eq!(
            filter.until.map(|t| t.to_string()).as_deref(),
            Some("2026-12-01 00:00:00")
        );
        let backwards = AuditQuery {
            from: "2026-11-30".into(),
            to: "2026-11-01".into(),
            ..AuditQuery::default()
        };
        assert!(backwards.filter().is_err());
    }
}
