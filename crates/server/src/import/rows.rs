//! Turning one export row into what dsms records, or into the reason it cannot be.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use dsms_incident::{HistoricIncident, Impact, IncidentPolicy, Priority, Raiser, Status, Urgency};
use dsms_service_request::{CatalogueItem, HistoricRequest, OldValue, Party};
use sha2::{Digest as _, Sha256};

use super::directory::Directory;
use super::mapping::{Mapping, NoteMapping, RequestMapping};

/// Why a row was not imported: a short kind (counted in the report) and the particulars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// What kind of problem, e.g. `unknown status`.
    pub kind: &'static str,
    /// The offending value or more detail.
    pub detail: String,
}

impl Reject {
    /// A reject of `kind` about `detail`.
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.detail.is_empty() {
            f.write_str(self.kind)
        } else {
            write!(f, "{}: {}", self.kind, self.detail)
        }
    }
}

/// Column positions by header name.
#[derive(Debug, Clone)]
pub struct Columns(HashMap<String, usize>);

impl Columns {
    /// The positions of `headers`; fails naming every mapped column the export lacks.
    pub fn new<'a>(
        headers: &csv::StringRecord,
        mapped: impl IntoIterator<Item = &'a String>,
        file: &str,
    ) -> anyhow::Result<Self> {
        let positions: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_owned(), i))
            .collect();
        let missing: Vec<&String> = mapped
            .into_iter()
            .filter(|c| !positions.contains_key(c.as_str()))
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "the {file} export has no column {}",
                missing
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(Self(positions))
    }

    /// The trimmed value of `column` in `record`, `None` when the column is unmapped or empty.
    pub fn get<'r>(
        &self,
        record: &'r csv::StringRecord,
        column: Option<&String>,
    ) -> Option<&'r str> {
        column
            .and_then(|c| self.0.get(c.as_str()))
            .and_then(|&i| record.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// What converting rows needs besides the row.
pub struct Context<'a> {
    /// The mapping.
    pub mapping: &'a Mapping,
    /// Organisations and people.
    pub directory: &'a Directory,
    /// The incident rules (categories, matrix, reopen window).
    pub policy: &'a IncidentPolicy,
    /// The service catalogue, withdrawn items included.
    pub items: &'a [CatalogueItem],
    /// The export's time zone.
    pub zone: chrono_tz::Tz,
    /// Now: nothing may have happened after it.
    pub now: DateTime<Utc>,
}

impl Context<'_> {
    fn time(&self, field: &'static str, value: &str) -> Result<DateTime<Utc>, Reject> {
        let bad = || Reject::new("bad time", format!("{field} {value:?}"));
        let local = NaiveDateTime::parse_from_str(value, &self.mapping.timestamp_format)
            .or_else(|_| DateTime::parse_from_rfc3339(value).map(|t| t.naive_utc()))
            .map_err(|_| bad())?;
        let at = if DateTime::parse_from_rfc3339(value).is_ok() {
            local.and_utc()
        } else {
            // A time in the hour repeated when clocks go back is taken as its first occurrence.
            self.zone
                .from_local_datetime(&local)
                .earliest()
                .ok_or_else(bad)?
                .with_timezone(&Utc)
        };
        if at > self.now {
            return Err(Reject::new(
                "time in the future",
                format!("{field} {value:?}"),
            ));
        }
        Ok(at)
    }

    fn optional_time(
        &self,
        field: &'static str,
        value: Option<&str>,
    ) -> Result<Option<DateTime<Utc>>, Reject> {
        value.map(|v| self.time(field, v)).transpose()
    }

    fn person_or_fallback(
        &self,
        email: Option<&str>,
        name: Option<&str>,
        kind: &'static str,
    ) -> Result<Raiser, Reject> {
        if let Some(person) = email.and_then(|e| self.directory.person(e)) {
            return Ok(Raiser {
                kind: "person".into(),
                id: person.id,
                name: person.name.clone(),
            });
        }
        let fallback = self
            .mapping
            .people
            .fallback_email
            .as_deref()
            .and_then(|e| self.directory.person(e))
            .ok_or_else(|| Reject::new(kind, email.unwrap_or("(none)").to_owned()))?;
        Ok(Raiser {
            kind: "person".into(),
            id: fallback.id,
            name: name.or(email).unwrap_or(&fallback.name).to_owned(),
        })
    }

    /// The organisation an export names by SEC party id or name, directly or through the
    /// mapping's `[organisations]`.
    fn organisation(&self, raw: &str) -> Result<i64, Reject> {
        let key = self
            .mapping
            .organisations
            .get(raw)
            .map_or(raw, String::as_str);
        self.directory
            .organisation(key)
            .ok_or_else(|| Reject::new("unknown organisation", format!("{raw:?}")))
    }

    /// The alias an old reference is kept under.
    pub fn alias(&self, reference: &str) -> String {
        dsms_incident::normalise_alias(&format!("{}{reference}", self.mapping.alias_prefix))
    }
}

/// An incident row, converted: its alias, what to record and the digest of both.
pub struct IncidentRow {
    /// The old reference as kept.
    pub alias: String,
    /// The incident.
    pub incident: HistoricIncident,
    /// Changes whenever the row (as mapped) changes.
    pub digest: String,
}

fn digest(text: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(text.as_bytes()))
}

/// Converts one row of the incidents export with its mapping `m`.
pub fn incident(
    cx: &Context<'_>,
    m: &super::mapping::IncidentMapping,
    columns: &Columns,
    record: &csv::StringRecord,
) -> Result<IncidentRow, Reject> {
    let c = &m.columns;
    let get = |column: &String| columns.get(record, Some(column));
    let opt = |column: &Option<String>| columns.get(record, column.as_ref()).map(str::to_owned);
    let reference = get(&c.reference).ok_or_else(|| Reject::new("missing reference", ""))?;
    let title = get(&c.title).ok_or_else(|| Reject::new("missing title", ""))?;
    if title.chars().count() > 200 {
        return Err(Reject::new("title longer than 200 characters", ""));
    }
    let description = get(&c.description).ok_or_else(|| Reject::new("missing description", ""))?;
    if description.chars().count() > 20_000 {
        return Err(Reject::new("description longer than 20000 characters", ""));
    }
    let raw_status = get(&c.status).unwrap_or("");
    let status = m
        .statuses
        .get(raw_status)
        .map(String::as_str)
        .or(Some(raw_status))
        .and_then(Status::parse)
        .ok_or_else(|| Reject::new("unknown status", format!("{raw_status:?}")))?;
    let raw_priority = get(&c.priority).unwrap_or("");
    let priority = m
        .priorities
        .get(raw_priority)
        .copied()
        .or_else(|| raw_priority.parse().ok())
        .and_then(|p| Priority::parse(p).ok())
        .ok_or_else(|| Reject::new("unknown priority", format!("{raw_priority:?}")))?;
    let level = |column: &Option<String>, default: i64, what: &'static str| match columns
        .get(record, column.as_ref())
    {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| Reject::new(what, format!("{v:?}"))),
    };
    let impact = Impact::parse(level(&c.impact, m.defaults.impact, "bad impact")?)
        .map_err(|e| Reject::new("bad impact", e.message))?;
    let urgency = Urgency::parse(level(&c.urgency, m.defaults.urgency, "bad urgency")?)
        .map_err(|e| Reject::new("bad urgency", e.message))?;
    let raw_category = get(&c.category).unwrap_or("");
    let category_code = m
        .categories
        .get(raw_category)
        .map_or(raw_category, String::as_str);
    let category = cx
        .policy
        .category(category_code)
        .ok_or_else(|| Reject::new("unknown category", format!("{raw_category:?}")))?;
    let subcategory = opt(&c.subcategory);
    if let Some(sub) = &subcategory
        && !category.subcategories.is_empty()
        && !category.subcategories.contains(sub)
    {
        return Err(Reject::new("unknown subcategory", format!("{sub:?}")));
    }
    let organisation_id = cx.organisation(get(&c.organisation).unwrap_or(""))?;
    let raised_by = cx.person_or_fallback(
        get(&c.raised_by_email),
        columns.get(record, c.raised_by_name.as_ref()),
        "unknown raiser",
    )?;
    let assignee_id = match columns.get(record, c.assignee_email.as_ref()) {
        None => None,
        Some(email) => match cx.directory.person(email) {
            None => return Err(Reject::new("unknown assignee", email.to_owned())),
            Some(p) if !p.operator => {
                return Err(Reject::new(
                    "assignee is not operator staff",
                    email.to_owned(),
                ));
            }
            Some(p) => Some(p.id),
        },
    };
    let raw_channel = columns.get(record, c.channel.as_ref());
    let channel = match raw_channel {
        None => m.defaults.channel.clone(),
        Some(raw) => m
            .channels
            .get(raw)
            .cloned()
            .unwrap_or_else(|| raw.to_lowercase()),
    };
    if !["api", "portal", "email", "telephone"].contains(&channel.as_str()) {
        return Err(Reject::new("unknown channel", format!("{channel:?}")));
    }
    let created_at = cx.time("created_at", get(&c.created_at).unwrap_or(""))?;
    let responded_at =
        cx.optional_time("responded_at", columns.get(record, c.responded_at.as_ref()))?;
    let resolved_at =
        cx.optional_time("resolved_at", columns.get(record, c.resolved_at.as_ref()))?;
    let closed_at = cx.optional_time("closed_at", columns.get(record, c.closed_at.as_ref()))?;
    let updated_at = cx
        .optional_time("updated_at", columns.get(record, c.updated_at.as_ref()))?
        .into_iter()
        .chain(
            [Some(created_at), responded_at, resolved_at, closed_at]
                .into_iter()
                .flatten(),
        )
        .max()
        .unwrap_or(created_at);
    let mut devices: Vec<String> = columns
        .get(record, c.devices.as_ref())
        .map(|d| {
            d.split(m.device_separator.as_str())
                .map(|d| d.trim().to_uppercase())
                .filter(|d| !d.is_empty())
                .collect()
        })
        .unwrap_or_default();
    devices.sort();
    devices.dedup();
    let priority_reason = (cx.policy.matrix.priority(impact, urgency) != priority).then(|| {
        format!(
            "priority {} as recorded in {}",
            priority.get(),
            cx.mapping.source
        )
    });
    let incident = HistoricIncident {
        organisation_id,
        raised_by,
        channel,
        contact: opt(&c.contact),
        title: title.to_owned(),
        description: description.to_owned(),
        category: category.code.clone(),
        subcategory,
        impact,
        urgency,
        priority,
        priority_reason,
        status,
        assignment_group: opt(&c.assignment_group).map(|g| m.groups.get(&g).cloned().unwrap_or(g)),
        assignee_id,
        resolution_code: opt(&c.resolution_code),
        resolution_notes: opt(&c.resolution_notes),
        region: opt(&c.region),
        devices,
        created_at,
        updated_at,
        responded_at,
        resolved_at,
        closed_at,
    };
    Ok(IncidentRow {
        alias: cx.alias(reference),
        digest: digest(&format!("{incident:?}")),
        incident,
    })
}

/// A notes row, converted.
pub struct NoteRow {
    /// The note's id in the old system.
    pub external_id: String,
    /// The alias of its incident or request.
    pub parent_alias: String,
    /// Its author.
    pub author: Raiser,
    /// Its text.
    pub body: String,
    /// A work note the organisation never sees.
    pub internal: bool,
    /// When it was written.
    pub written_at: DateTime<Utc>,
    /// Changes whenever the row (as mapped) changes.
    pub digest: String,
}

/// Converts one row of a notes export; `missing_parent` is the reject kind of a row naming no
/// incident or request.
pub fn note(
    cx: &Context<'_>,
    mapping: &NoteMapping,
    missing_parent: &'static str,
    columns: &Columns,
    record: &csv::StringRecord,
) -> Result<NoteRow, Reject> {
    let c = &mapping.columns;
    let get = |column: &String| columns.get(record, Some(column));
    let external_id = get(&c.id).ok_or_else(|| Reject::new("missing note id", ""))?;
    let reference = get(&c.reference).ok_or_else(|| Reject::new(missing_parent, ""))?;
    let body = get(&c.body).ok_or_else(|| Reject::new("missing text", ""))?;
    if body.chars().count() > 20_000 {
        return Err(Reject::new("text longer than 20000 characters", ""));
    }
    let written_at = cx.time("created_at", get(&c.created_at).unwrap_or(""))?;
    let author = cx.person_or_fallback(
        columns.get(record, c.author_email.as_ref()),
        columns.get(record, c.author_name.as_ref()),
        "unknown author",
    )?;
    let kind = columns
        .get(record, c.kind.as_ref())
        .and_then(|k| mapping.kinds.get(k))
        .unwrap_or(&mapping.default_kind);
    let internal = kind != "comment";
    let row = NoteRow {
        external_id: external_id.to_owned(),
        parent_alias: cx.alias(reference),
        author,
        body: body.to_owned(),
        internal,
        written_at,
        digest: String::new(),
    };
    Ok(NoteRow {
        digest: digest(&format!(
            "{}|{:?}|{}|{}|{}",
            row.parent_alias, row.author, row.body, row.internal, row.written_at
        )),
        ..row
    })
}

/// The party a raiser or author of an export row is recorded as.
pub fn party(raiser: Raiser) -> Party {
    Party {
        kind: raiser.kind,
        id: raiser.id,
        name: raiser.name,
    }
}

/// A service-request row, converted: its alias, what to record and the digest of both.
pub struct RequestRow {
    /// The old reference as kept.
    pub alias: String,
    /// The request.
    pub request: HistoricRequest,
    /// Changes whenever the row (as mapped) changes.
    pub digest: String,
}

/// Converts one row of the service requests export with its mapping `m`.
pub fn request(
    cx: &Context<'_>,
    m: &RequestMapping,
    columns: &Columns,
    record: &csv::StringRecord,
) -> Result<RequestRow, Reject> {
    let c = &m.columns;
    let get = |column: &String| columns.get(record, Some(column));
    let opt = |column: &Option<String>| columns.get(record, column.as_ref());
    let reference = get(&c.reference).ok_or_else(|| Reject::new("missing reference", ""))?;
    let raw_item = get(&c.catalogue_item).unwrap_or("");
    let item_key = m.items.get(raw_item).map_or(raw_item, String::as_str);
    let item = cx
        .items
        .iter()
        .find(|i| i.code == item_key)
        .or_else(|| {
            cx.items
                .iter()
                .find(|i| i.form.definition.name.eq_ignore_ascii_case(item_key))
        })
        .ok_or_else(|| Reject::new("unknown catalogue item", format!("{raw_item:?}")))?;
    let raw_status = get(&c.status).unwrap_or("");
    let status = m
        .statuses
        .get(raw_status)
        .map(String::as_str)
        .or(Some(raw_status))
        .and_then(dsms_service_request::Status::parse)
        .ok_or_else(|| Reject::new("unknown status", format!("{raw_status:?}")))?;
    let summary = opt(&c.summary).map(str::to_owned);
    if summary.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(Reject::new("summary longer than 200 characters", ""));
    }
    let contact = opt(&c.contact).map(str::to_owned);
    if contact.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(Reject::new("contact longer than 200 characters", ""));
    }
    let organisation_id = cx.organisation(get(&c.organisation).unwrap_or(""))?;
    let raised_by = party(cx.person_or_fallback(
        get(&c.raised_by_email),
        opt(&c.raised_by_name),
        "unknown raiser",
    )?);
    let channel = match opt(&c.channel) {
        None => m.default_channel.clone(),
        Some(raw) => m
            .channels
            .get(raw)
            .cloned()
            .unwrap_or_else(|| raw.to_lowercase()),
    };
    if !["api", "portal"].contains(&channel.as_str()) {
        return Err(Reject::new("unknown channel", format!("{channel:?}")));
    }
    let created_at = cx.time("created_at", get(&c.created_at).unwrap_or(""))?;
    let fulfilled_at = cx.optional_time("fulfilled_at", opt(&c.fulfilled_at))?;
    let closed_at = cx.optional_time("closed_at", opt(&c.closed_at))?;
    let updated_at = cx
        .optional_time("updated_at", opt(&c.updated_at))?
        .into_iter()
        .chain(
            [Some(created_at), fulfilled_at, closed_at]
                .into_iter()
                .flatten(),
        )
        .max()
        .unwrap_or(created_at);
    let values: Vec<OldValue> = m
        .fields
        .iter()
        .filter_map(|(column, key)| {
            columns.get(record, Some(column)).map(|v| OldValue {
                key: key.clone(),
                label: column.clone(),
                value: v.to_owned(),
            })
        })
        .collect();
    let mut date_formats = m.date_formats.clone();
    date_formats.push(cx.mapping.timestamp_format.clone());
    let (answers, mut misfits) = dsms_service_request::historic_answers(
        &item.form.definition,
        &values,
        &m.list_separator,
        &date_formats,
    );
    misfits.extend(m.details_columns.iter().filter_map(|column| {
        columns.get(record, Some(column)).map(|v| OldValue {
            key: String::new(),
            label: column.clone(),
            value: v.to_owned(),
        })
    }));
    let details =
        dsms_service_request::details_note(&cx.mapping.source, opt(&c.description), &misfits);
    if details
        .as_ref()
        .is_some_and(|d| d.chars().count() > dsms_service_request::MAX_DETAILS)
    {
        return Err(Reject::new(
            "description and unmapped fields longer than 20000 characters",
            "",
        ));
    }
    let request = HistoricRequest {
        organisation_id,
        item: item.code.clone(),
        raised_by,
        channel,
        summary,
        contact,
        answers,
        details,
        details_internal: m.details_kind != "comment",
        status,
        fulfilled_at,
        closed_at,
        created_at,
        updated_at,
    };
    Ok(RequestRow {
        alias: cx.alias(reference),
        digest: digest(&format!("{request:?}")),
        request,
    })
}
