//! The column mapping of the exports: which column holds what, and how the old system's words
//! (statuses, priorities, categories, catalogue items, organisations) become dsms's. Exports vary, so this is a
//! TOML file the operator writes; `deploy/import-mapping.example.toml` documents every key.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

/// A whole mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The old system's name, kept with every alias and imported note.
    pub source: String,
    /// How the export writes times (chrono `strftime` syntax).
    pub timestamp_format: String,
    /// The time zone the export's times are in.
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// The field separator, one character.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Old references are stored with this in front (to keep them apart from dsms's own).
    #[serde(default)]
    pub alias_prefix: String,
    /// The incidents export.
    pub incidents: Option<IncidentMapping>,
    /// The incidents' notes and work logs export.
    pub notes: Option<NoteMapping>,
    /// The service requests export.
    pub requests: Option<RequestMapping>,
    /// The service requests' notes and work logs export.
    pub request_notes: Option<NoteMapping>,
    /// How people are found.
    #[serde(default)]
    pub people: PeopleMapping,
    /// Old organisation names or codes to SEC party ids or dsms names, where they differ.
    #[serde(default)]
    pub organisations: BTreeMap<String, String>,
}

fn default_zone() -> String {
    "Europe/London".into()
}

fn default_delimiter() -> char {
    ','
}

/// Where each incident field is in the export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentColumns {
    /// The old reference (required).
    pub reference: String,
    /// The summary (required).
    pub title: String,
    /// The description (required).
    pub description: String,
    /// The status (required).
    pub status: String,
    /// The priority (required).
    pub priority: String,
    /// The category (required).
    pub category: String,
    /// The raising organisation: its SEC party id or name (required).
    pub organisation: String,
    /// The raiser's email (required).
    pub raised_by_email: String,
    /// The raiser's name.
    pub raised_by_name: Option<String>,
    /// When it was raised (required).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: Option<String>,
    /// When the service desk first responded.
    pub responded_at: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<String>,
    /// When it was closed.
    pub closed_at: Option<String>,
    /// Impact 1-4.
    pub impact: Option<String>,
    /// Urgency 1-4.
    pub urgency: Option<String>,
    /// The subcategory.
    pub subcategory: Option<String>,
    /// The resolver group.
    pub assignment_group: Option<String>,
    /// The assignee's email.
    pub assignee_email: Option<String>,
    /// How it was resolved.
    pub resolution_code: Option<String>,
    /// Notes on the resolution.
    pub resolution_notes: Option<String>,
    /// Who to contact.
    pub contact: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// Affected devices, separated by `device_separator`.
    pub devices: Option<String>,
    /// The channel it came in by.
    pub channel: Option<String>,
}

impl IncidentColumns {
    /// Every column named, required or not: the export must have each.
    pub fn named(&self) -> Vec<&String> {
        [
            &self.reference,
            &self.title,
            &self.description,
            &self.status,
            &self.priority,
            &self.category,
            &self.organisation,
            &self.raised_by_email,
            &self.created_at,
        ]
        .into_iter()
        .chain(
            [
                &self.raised_by_name,
                &self.updated_at,
                &self.responded_at,
                &self.resolved_at,
                &self.closed_at,
                &self.impact,
                &self.urgency,
                &self.subcategory,
                &self.assignment_group,
                &self.assignee_email,
                &self.resolution_code,
                &self.resolution_notes,
                &self.contact,
                &self.region,
                &self.devices,
                &self.channel,
            ]
            .into_iter()
            .flatten(),
        )
        .collect()
    }
}

/// How incidents are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentMapping {
    /// Where each field is.
    pub columns: IncidentColumns,
    /// Old status → dsms status (new, assigned, in_progress, awaiting_user, resolved, closed,
    /// cancelled). Values already dsms's own need no entry.
    #[serde(default)]
    pub statuses: BTreeMap<String, String>,
    /// Old priority → 1..5. Values already 1..5 need no entry.
    #[serde(default)]
    pub priorities: BTreeMap<String, i64>,
    /// Old category → dsms category code. Codes already dsms's own need no entry.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    /// Old resolver group → dsms group name; unlisted groups keep their name.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// Old channel → api, portal, email or telephone.
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    /// What missing values default to.
    #[serde(default)]
    pub defaults: IncidentDefaults,
    /// The separator between device ids in the devices column.
    #[serde(default = "default_device_separator")]
    pub device_separator: String,
}

fn default_device_separator() -> String {
    ";".into()
}

/// Defaults for values an export does not carry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentDefaults {
    /// Impact when there is no impact column or it is empty.
    pub impact: i64,
    /// Urgency likewise.
    pub urgency: i64,
    /// Channel likewise.
    pub channel: String,
}

impl Default for IncidentDefaults {
    fn default() -> Self {
        Self {
            impact: 3,
            urgency: 3,
            channel: "portal".into(),
        }
    }
}

/// Where each note field is in the notes export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteColumns {
    /// The note's id in the old system (required: re-runs find the note by it).
    pub id: String,
    /// The old reference of its incident or request (required): `incident_reference` in
    /// `[notes.columns]`, `request_reference` in `[request_notes.columns]`.
    #[serde(rename = "incident_reference", alias = "request_reference")]
    pub reference: String,
    /// When it was written (required).
    pub created_at: String,
    /// The text (required).
    pub body: String,
    /// The author's email.
    pub author_email: Option<String>,
    /// The author's name.
    pub author_name: Option<String>,
    /// Whether it is a public comment or an internal work note (see `kinds`).
    pub kind: Option<String>,
}

impl NoteColumns {
    /// Every column named, required or not: the export must have each.
    pub fn named(&self) -> Vec<&String> {
        [&self.id, &self.reference, &self.created_at, &self.body]
            .into_iter()
            .chain(
                [&self.author_email, &self.author_name, &self.kind]
                    .into_iter()
                    .flatten(),
            )
            .collect()
    }
}

/// How notes are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteMapping {
    /// Where each field is.
    pub columns: NoteColumns,
    /// Old kind → `comment` (the organisation sees it) or `work_note` (it never does).
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
    /// What a note without a (mapped) kind is. Defaults to `work_note`, the safe choice.
    #[serde(default = "default_note_kind")]
    pub default_kind: String,
}

fn default_note_kind() -> String {
    "work_note".into()
}

/// Where each service-request field is in the requests export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestColumns {
    /// The old reference (required).
    pub reference: String,
    /// The catalogue item: its dsms code, its name, or an old name listed in `items` (required).
    pub catalogue_item: String,
    /// The status (required).
    pub status: String,
    /// The raising organisation: its SEC party id or name (required).
    pub organisation: String,
    /// The raiser's email (required).
    pub raised_by_email: String,
    /// When it was raised (required).
    pub created_at: String,
    /// The raiser's name.
    pub raised_by_name: Option<String>,
    /// The one-line summary; the catalogue item's name when absent.
    pub summary: Option<String>,
    /// The old free-text description: kept in the details note.
    pub description: Option<String>,
    /// Who to contact.
    pub contact: Option<String>,
    /// The channel it came in by.
    pub channel: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
    /// When its fulfilment was done.
    pub fulfilled_at: Option<String>,
    /// When it was closed, rejected or cancelled.
    pub closed_at: Option<String>,
}

impl RequestColumns {
    /// Every column named, required or not: the export must have each.
    pub fn named(&self) -> Vec<&String> {
        [
            &self.reference,
            &self.catalogue_item,
            &self.status,
            &self.organisation,
            &self.raised_by_email,
            &self.created_at,
        ]
        .into_iter()
        .chain(
            [
                &self.raised_by_name,
                &self.summary,
                &self.description,
                &self.contact,
                &self.channel,
                &self.updated_at,
                &self.fulfilled_at,
                &self.closed_at,
            ]
            .into_iter()
            .flatten(),
        )
        .collect()
    }
}

/// How service requests are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestMapping {
    /// Where each field is.
    pub columns: RequestColumns,
    /// Old column → the form field of the catalogue item it answers. A value the item's form
    /// has no such field for, or that its rules refuse, goes into the details note instead.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Further old columns kept, as they are, in the details note.
    #[serde(default)]
    pub details_columns: Vec<String>,
    /// What the details note is: `work_note` (the default) or `comment`.
    #[serde(default = "default_note_kind")]
    pub details_kind: String,
    /// Old catalogue item names or codes → dsms catalogue item codes.
    #[serde(default)]
    pub items: BTreeMap<String, String>,
    /// Old status → dsms status (submitted, awaiting_approval, approved, rejected,
    /// in_fulfilment, fulfilled, closed, cancelled).
    #[serde(default)]
    pub statuses: BTreeMap<String, String>,
    /// Old channel → api or portal.
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    /// The channel when the column is missing or empty.
    #[serde(default = "default_request_channel")]
    pub default_channel: String,
    /// The separator between the items of a list answer (multiple choice, identifiers).
    #[serde(default = "default_device_separator")]
    pub list_separator: String,
    /// How date answers are written, besides `YYYY-MM-DD` and `timestamp_format`.
    #[serde(default)]
    pub date_formats: Vec<String>,
}

fn default_request_channel() -> String {
    "portal".into()
}

impl RequestMapping {
    /// Every column named: the export must have each.
    pub fn named(&self) -> Vec<&String> {
        let mut named = self.columns.named();
        named.extend(self.fields.keys());
        named.extend(self.details_columns.iter());
        named
    }
}

/// How people are found.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleMapping {
    /// Incidents and notes by someone dsms does not know (left, never migrated) are recorded in
    /// the name the export gives but as raised by this person. Without it they are rejected.
    pub fallback_email: Option<String>,
}

impl Mapping {
    /// Reads and checks a mapping file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the mapping {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid mapping {}", path.display()))
    }

    /// Reads and checks the text of a mapping file.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mapping: Self = toml::from_str(text)?;
        if mapping.source.trim().is_empty() {
            bail!("mapping: `source` must name the old system");
        }
        let kind = |k: &String| k != "comment" && k != "work_note";
        if [&mapping.notes, &mapping.request_notes]
            .into_iter()
            .flatten()
            .any(|n| {
                n.kinds
                    .values()
                    .chain(std::iter::once(&n.default_kind))
                    .any(kind)
            })
            || mapping
                .requests
                .as_ref()
                .is_some_and(|r| kind(&r.details_kind))
        {
            bail!("mapping: note kinds must map to `comment` or `work_note`");
        }
        Ok(mapping)
    }

    /// The time zone, checked.
    pub fn zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.time_zone
            .parse()
            .map_err(|_| anyhow::anyhow!("mapping: {:?} is not an IANA time zone", self.time_zone))
    }

    /// The delimiter as a byte.
    pub fn delimiter_byte(&self) -> anyhow::Result<u8> {
        u8::try_from(self.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .context("mapping: `delimiter` must be one ASCII character")
    }
}
