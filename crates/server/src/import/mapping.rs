//! The column mapping of an export: which column holds what, and how the old system's words
//! (statuses, priorities, categories, organisations) become dsms's. Exports vary, so this is a
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
    pub incidents: IncidentMapping,
    /// The notes and work logs export.
    pub notes: Option<NoteMapping>,
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
    /// The old reference of its incident (required).
    pub incident_reference: String,
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
        let mapping: Self =
            toml::from_str(&text).with_context(|| format!("invalid mapping {}", path.display()))?;
        if mapping.source.trim().is_empty() {
            bail!("mapping: `source` must name the old system");
        }
        if mapping.notes.as_ref().is_some_and(|n| {
            n.kinds
                .values()
                .chain(std::iter::once(&n.default_kind))
                .any(|k| k != "comment" && k != "work_note")
        }) {
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
