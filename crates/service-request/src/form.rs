//! A catalogue item's definition — who may request it, its form of typed fields with their
//! rules, its approval steps, fulfilment tasks and target — and the two checks made with it:
//! that an administrator's definition is coherent, and that a request's answers fill its form.

use chrono::NaiveDate;
use dsms_core::{Role, SecRole, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

dsms_core::text_enum! {
    /// The kinds of form field.
    FieldType {
        /// Free text, optionally bounded and matched against a pattern.
        Text => "text",
        /// A number, optionally whole and bounded.
        Number => "number",
        /// A calendar date, `YYYY-MM-DD`.
        Date => "date",
        /// One of the field's options.
        Choice => "choice",
        /// Several of the field's options.
        MultiChoice => "multi_choice",
        /// A list of device, hub or meter-point identifiers.
        Identifiers => "identifiers",
        /// A file, attached to the request when it is raised (the multipart part
        /// `fields.<key>`); the answer names the attachment.
        File => "file",
    }
}

dsms_core::text_enum! {
    /// What an identifier list holds.
    IdentifierKind {
        /// Device or hub ids: 16 hexadecimal digits (an EUI-64), optionally in pairs separated
        /// by `-` or `:`.
        DeviceId => "device_id",
        /// Meter-point numbers: an MPAN (13 digits) or an MPRN (6 to 10 digits).
        Mpxn => "mpxn",
    }
}

dsms_core::text_enum! {
    /// Who decides an approval step.
    Approver {
        /// An administrator (`org_admin`) of the raising organisation.
        OrganisationAdmin => "organisation_admin",
        /// The operator's staff who may approve requests (`service_desk_manager`).
        Operator => "operator",
    }
}

/// Who may request an item; an empty list allows everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requesters {
    /// The raising organisation must hold one of these SEC roles.
    #[serde(default)]
    pub sec_roles: Vec<SecRole>,
    /// The raising person must hold one of these roles; API tokens qualify only when empty.
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// One field of a form and its rules. Rules that do not apply to the field's type are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// The answer's key: lowercase letters, digits and `_`, starting with a letter.
    pub key: String,
    /// What people read.
    pub label: String,
    /// The kind of answer.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Must be answered.
    #[serde(default)]
    pub required: bool,
    /// Guidance shown with the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Text: fewest characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Text: most characters (default 5,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Text and identifiers: a regular expression each answer must match in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Number: smallest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Number: largest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Number: whole numbers only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub integer: bool,
    /// Date: not before the day the request is raised.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_in_past: bool,
    /// Choice and multi-choice: the options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Multi-choice and identifiers: fewest items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    /// Multi-choice and identifiers: most items (identifiers default to 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// Identifiers: what kind they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<IdentifierKind>,
}

/// One approval step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalStep {
    /// Who decides it.
    pub approver: Approver,
}

/// One fulfilment task and the resolver group that does it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    /// What is to be done.
    pub name: String,
    /// The resolver group that does it.
    pub group: String,
}

/// Everything a catalogue item says, as one immutable form version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The item's name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Who may request it.
    #[serde(default)]
    pub requesters: Requesters,
    /// The form.
    pub fields: Vec<FormField>,
    /// Approval steps, decided in order; the organisation's administrator comes first.
    #[serde(default)]
    pub approvals: Vec<ApprovalStep>,
    /// Fulfilment tasks; the request is fulfilled when all are done.
    pub tasks: Vec<TaskTemplate>,
    /// The fulfilment target in working days.
    pub sla_working_days: u32,
}

/// Most characters of a text answer when the field sets no `max_length`.
const DEFAULT_MAX_LENGTH: u32 = 5_000;
/// Most identifiers in a list when the field sets no `max_items`.
const DEFAULT_MAX_ITEMS: u32 = 500;
/// Most fields in one form.
const MAX_FIELDS: usize = 50;
/// Most options of one choice field.
const MAX_OPTIONS: usize = 100;
/// The longest target, in working days.
const MAX_SLA_DAYS: u32 = 250;

fn key_is_valid(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && key.len() <= 64
}

fn text_rule(value: &str, field: &str, max: usize, errors: &mut ValidationErrors) -> String {
    let value = value.trim().to_owned();
    if value.is_empty() {
        errors.push(field, "must not be empty");
    } else if value.chars().count() > max {
        errors.push(field, format!("must be at most {max} characters"));
    }
    value
}

/// Compiles a field's pattern, anchored so it must match a whole answer.
fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

impl Definition {
    /// Checks an administrator's definition, trimming its texts; every fault is named by its
    /// path, e.g. `fields[2].options`.
    pub fn checked(mut self) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        self.name = text_rule(&self.name, "name", 200, &mut errors);
        self.description = text_rule(&self.description, "description", 5_000, &mut errors);
        if self.fields.len() > MAX_FIELDS {
            errors.push("fields", format!("must have at most {MAX_FIELDS} fields"));
        }
        let mut keys: Vec<String> = Vec::new();
        for (i, field) in self.fields.iter_mut().enumerate() {
            check_field(i, field, &keys, &mut errors);
            keys.push(field.key.clone());
        }
        let mut seen_operator = false;
        for (i, step) in self.approvals.iter().enumerate() {
            match step.approver {
                Approver::Operator => seen_operator = true,
                Approver::OrganisationAdmin if seen_operator => errors.push(
                    format!("approvals[{i}].approver"),
                    "the organisation's administrator approves before the operator",
                ),
                Approver::OrganisationAdmin => {}
            }
            if self.approvals[..i]
                .iter()
                .any(|s| s.approver == step.approver)
            {
                errors.push(
                    format!("approvals[{i}].approver"),
                    "each approver decides at most one step",
                );
            }
        }
        if self.tasks.is_empty() {
            errors.push("tasks", "must list at least one fulfilment task");
        }
        for (i, task) in self.tasks.iter_mut().enumerate() {
            task.name = text_rule(&task.name, &format!("tasks[{i}].name"), 200, &mut errors);
            task.group = text_rule(&task.group, &format!("tasks[{i}].group"), 100, &mut errors);
        }
        if !(1..=MAX_SLA_DAYS).contains(&self.sla_working_days) {
            errors.push(
                "sla_working_days",
                format!("must be between 1 and {MAX_SLA_DAYS}"),
            );
        }
        errors.into_result().map(|()| self)
    }

    /// The field with `key`.
    pub fn field(&self, key: &str) -> Option<&FormField> {
        self.fields.iter().find(|f| f.key == key)
    }
}

fn check_field(i: usize, field: &mut FormField, earlier: &[String], errors: &mut ValidationErrors) {
    let at = |rule: &str| format!("fields[{i}].{rule}");
    field.key = field.key.trim().to_owned();
    if !key_is_valid(&field.key) {
        errors.push(
            at("key"),
            "must be lowercase letters, digits and _, starting with a letter (at most 64)",
        );
    } else if earlier.contains(&field.key) {
        errors.push(at("key"), "is used by an earlier field");
    }
    field.label = text_rule(&field.label, &at("label"), 200, errors);
    let kind = field.kind;
    let only = |present: bool, rule: &str, types: &[FieldType], errors: &mut ValidationErrors| {
        if present && !types.contains(&kind) {
            errors.push(
                at(rule),
                format!(
                    "does not apply to a {kind} field (only {})",
                    types
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    };
    use FieldType::*;
    only(field.min_length.is_some(), "min_length", &[Text], errors);
    only(field.max_length.is_some(), "max_length", &[Text], errors);
    only(
        field.pattern.is_some(),
        "pattern",
        &[Text, Identifiers],
        errors,
    );
    only(field.min.is_some(), "min", &[Number], errors);
    only(field.max.is_some(), "max", &[Number], errors);
    only(field.integer, "integer", &[Number], errors);
    only(field.not_in_past, "not_in_past", &[Date], errors);
    only(
        !field.options.is_empty(),
        "options",
        &[Choice, MultiChoice],
        errors,
    );
    only(
        field.min_items.is_some(),
        "min_items",
        &[MultiChoice, Identifiers],
        errors,
    );
    only(
        field.max_items.is_some(),
        "max_items",
        &[MultiChoice, Identifiers],
        errors,
    );
    only(
        field.identifier.is_some(),
        "identifier",
        &[Identifiers],
        errors,
    );
    if matches!(kind, Choice | MultiChoice) {
        if field.options.is_empty() {
            errors.push(at("options"), "must list at least one option");
        } else if field.options.len() > MAX_OPTIONS {
            errors.push(at("options"), format!("must list at most {MAX_OPTIONS}"));
        }
        for (j, option) in field.options.iter().enumerate() {
            if option.trim().is_empty() || option.chars().count() > 200 {
                errors.push(
                    format!("fields[{i}].options[{j}]"),
                    "must be 1 to 200 characters",
                );
            } else if field.options[..j].contains(option) {
                errors.push(format!("fields[{i}].options[{j}]"), "is listed twice");
            }
        }
    }
    if kind == Identifiers && field.identifier.is_none() && field.pattern.is_none() {
        errors.push(
            at("identifier"),
            "is required (device_id or mpxn) unless a pattern says what the identifiers are",
        );
    }
    if let (Some(min), Some(max)) = (field.min_length, field.max_length)
        && min > max
    {
        errors.push(at("min_length"), "must not exceed max_length");
    }
    if field.max_length.is_some_and(|m| m == 0 || m > 20_000) {
        errors.push(at("max_length"), "must be between 1 and 20000");
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        errors.push(at("min"), "must not exceed max");
    }
    if field.min.is_some_and(|v| !v.is_finite()) || field.max.is_some_and(|v| !v.is_finite()) {
        errors.push(at("min"), "bounds must be finite numbers");
    }
    if let (Some(min), Some(max)) = (field.min_items, field.max_items)
        && min > max
    {
        errors.push(at("min_items"), "must not exceed max_items");
    }
    if field.max_items.is_some_and(|m| m == 0 || m > 5_000) {
        errors.push(at("max_items"), "must be between 1 and 5000");
    }
    if let Some(pattern) = &field.pattern
        && let Err(e) = compile(pattern)
    {
        errors.push(
            at("pattern"),
            format!("is not a valid regular expression: {e}"),
        );
    }
    if field
        .help
        .as_ref()
        .is_some_and(|h| h.chars().count() > 2_000)
    {
        errors.push(at("help"), "must be at most 2000 characters");
    }
}

/// Checks `answers` (a JSON object keyed by field) against the form, naming each fault as
/// `fields.<key>` or `fields.<key>[<index>]`, and returns them normalised: texts trimmed,
/// identifiers upper-cased without separators, duplicates dropped, unanswered optional fields
/// left out. No files come with these answers: see [`check_answers_with_files`].
pub fn check_answers(
    definition: &Definition,
    answers: &Value,
    today: NaiveDate,
    errors: &mut ValidationErrors,
) -> Map<String, Value> {
    check_answers_with_files(definition, answers, &[], today, errors)
}

/// [`check_answers`] for answers that come with files: `file_keys` are the fields a file was
/// sent for. A file field is answered only by a file (its answer, the attachment, is filled
/// in once the file is stored, so it is left out here); a file sent for any other key is a
/// fault of `fields.<key>`.
pub fn check_answers_with_files(
    definition: &Definition,
    answers: &Value,
    file_keys: &[&str],
    today: NaiveDate,
    errors: &mut ValidationErrors,
) -> Map<String, Value> {
    let mut out = Map::new();
    let empty = Map::new();
    let given = match answers {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => {
            errors.push("fields", "must be an object of answers keyed by field");
            return out;
        }
    };
    for key in given.keys() {
        if definition.field(key).is_none() {
            errors.push(
                format!("fields.{key}"),
                "is not a field of this form version",
            );
        }
    }
    for (i, key) in file_keys.iter().enumerate() {
        if definition
            .field(key)
            .is_none_or(|f| f.kind != FieldType::File)
        {
            errors.push(
                format!("fields.{key}"),
                "is not a file field of this form version",
            );
        } else if file_keys[..i].contains(key) {
            errors.push(format!("fields.{key}"), "takes one file");
        }
    }
    for field in &definition.fields {
        let path = format!("fields.{}", field.key);
        if field.kind == FieldType::File {
            if given.get(&field.key).is_some_and(|v| !is_blank(v)) {
                errors.push(
                    path,
                    "is answered by attaching a file: send it as the multipart part of this name",
                );
            } else if field.required && !file_keys.contains(&field.key.as_str()) {
                errors.push(path, "is required: attach a file");
            }
            continue;
        }
        let value = given.get(&field.key).filter(|v| !is_blank(v));
        let Some(value) = value else {
            if field.required {
                errors.push(path, "is required");
            }
            continue;
        };
        if let Some(answer) = check_answer(field, value, &path, today, errors) {
            out.insert(field.key.clone(), answer);
        }
    }
    out
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn check_answer(
    field: &FormField,
    value: &Value,
    path: &str,
    today: NaiveDate,
    errors: &mut ValidationErrors,
) -> Option<Value> {
    let before = errors.0.len();
    let answer = match field.kind {
        FieldType::Text => {
            let Some(text) = value.as_str().map(str::trim) else {
                errors.push(path, "must be text");
                return None;
            };
            let count = text.chars().count();
            let max = field.max_length.unwrap_or(DEFAULT_MAX_LENGTH) as usize;
            if count > max {
                errors.push(path, format!("must be at most {max} characters"));
            }
            if let Some(min) = field.min_length
                && count < min as usize
            {
                errors.push(path, format!("must be at least {min} characters"));
            }
            if !matches_pattern(field, text) {
                errors.push(path, "is not in the expected format");
            }
            Value::from(text)
        }
        FieldType::Number => {
            let Some(number) = value.as_f64().filter(|n| n.is_finite()) else {
                errors.push(path, "must be a number");
                return None;
            };
            if field.integer && number.fract() != 0.0 {
                errors.push(path, "must be a whole number");
            }
            if let Some(min) = field.min
                && number < min
            {
                errors.push(path, format!("must be at least {min}"));
            }
            if let Some(max) = field.max
                && number > max
            {
                errors.push(path, format!("must be at most {max}"));
            }
            value.clone()
        }
        FieldType::Date => {
            let date = value
                .as_str()
                .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
            let Some(date) = date else {
                errors.push(path, "must be a date such as 2026-12-01");
                return None;
            };
            if field.not_in_past && date < today {
                errors.push(path, "must not be in the past");
            }
            Value::from(date.format("%Y-%m-%d").to_string())
        }
        FieldType::Choice => {
            let choice = value.as_str().map(str::trim).unwrap_or_default();
            if !field.options.iter().any(|o| o == choice) {
                errors.push(path, format!("must be one of {}", field.options.join(", ")));
            }
            Value::from(choice)
        }
        FieldType::MultiChoice => {
            let Some(items) = value.as_array() else {
                errors.push(path, "must be a list of options");
                return None;
            };
            let mut chosen: Vec<Value> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(str::trim) {
                    Some(o) if field.options.iter().any(|x| x == o) => {
                        if !chosen.iter().any(|c| c == o) {
                            chosen.push(Value::from(o));
                        }
                    }
                    _ => errors.push(
                        format!("{path}[{i}]"),
                        format!("must be one of {}", field.options.join(", ")),
                    ),
                }
            }
            count_items(field, items.len(), path, None, errors);
            Value::Array(chosen)
        }
        FieldType::Identifiers => {
            let Some(items) = value.as_array() else {
                errors.push(path, "must be a list of identifiers");
                return None;
            };
            let mut ids: Vec<Value> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str().and_then(|raw| identifier(field, raw)) {
                    Some(id) => {
                        if !ids.iter().any(|x| *x == id) {
                            ids.push(Value::from(id));
                        }
                    }
                    None => errors.push(
                        format!("{path}[{i}]"),
                        match field.identifier {
                            Some(IdentifierKind::DeviceId) => {
                                "must be a device or hub id: 16 hexadecimal digits (EUI-64)"
                            }
                            Some(IdentifierKind::Mpxn) => {
                                "must be an MPAN (13 digits) or an MPRN (6 to 10 digits)"
                            }
                            None => "is not in the expected format",
                        },
                    ),
                }
            }
            count_items(field, items.len(), path, Some(DEFAULT_MAX_ITEMS), errors);
            Value::Array(ids)
        }
        FieldType::File => {
            errors.push(path, "is answered by attaching a file");
            return None;
        }
    };
    (errors.0.len() == before).then_some(answer)
}

fn count_items(
    field: &FormField,
    count: usize,
    path: &str,
    default_max: Option<u32>,
    errors: &mut ValidationErrors,
) {
    if let Some(min) = field.min_items
        && count < min as usize
    {
        errors.push(path, format!("must list at least {min}"));
    }
    if let Some(max) = field.max_items.or(default_max)
        && count > max as usize
    {
        errors.push(path, format!("must list at most {max}"));
    }
}

fn matches_pattern(field: &FormField, text: &str) -> bool {
    field
        .pattern
        .as_deref()
        .is_none_or(|p| compile(p).is_ok_and(|r| r.is_match(text)))
}

/// An identifier normalised (upper case, separators dropped), if it is one of the field's kind.
fn identifier(field: &FormField, raw: &str) -> Option<String> {
    let raw = raw.trim();
    let id = match field.identifier {
        Some(IdentifierKind::DeviceId) => {
            let digits: String = raw
                .chars()
                .filter(|c| *c != '-' && *c != ':')
                .collect::<String>()
                .to_ascii_uppercase();
            let pairs_ok = raw.len() == 16
                || (raw.split(['-', ':']).all(|pair| pair.len() == 2)
                    && raw.split(['-', ':']).count() == 8);
            (digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_hexdigit()) && pairs_ok)
                .then_some(digits)?
        }
        Some(IdentifierKind::Mpxn) => {
            let ok = raw.bytes().all(|b| b.is_ascii_digit())
                && (raw.len() == 13 || (6..=10).contains(&raw.len()));
            ok.then(|| raw.to_owned())?
        }
        None => raw.to_owned(),
    };
    matches_pattern(field, &id).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(fields: Value) -> Definition {
        serde_json::from_value(json!({
            "name": "Diagnostics", "description": "d", "fields": fields,
            "tasks": [{"name": "Run", "group": "second-line"}], "sla_working_days": 5,
        }))
        .unwrap()
    }

    fn fields_of(errors: &ValidationErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.field.as_str()).collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn each_bad_identifier_is_named_by_its_index() {
        let d = definition(json!([
            {"key": "device_ids", "label": "Devices", "type": "identifiers",
             "identifier": "device_id", "required": true, "max_items": 3},
        ]));
        let mut errors = ValidationErrors::default();
        let answers = check_answers(
            &d,
            &json!({"device_ids": ["00-db-12-34-56-78-9a-bc", "nope", "00DB123456789ABC", "00-DB-12"]}),
            today(),
            &mut errors,
        );
        assert_eq!(
            fields_of(&errors),
            [
                "fields.device_ids[1]",
                "fields.device_ids[3]",
                "fields.device_ids"
            ]
        );
        assert!(answers.is_empty());

        let mut errors = ValidationErrors::default();
        let answers = check_answers(
            &d,
            &json!({"device_ids": ["00-db-12-34-56-78-9a-bc", "00DB123456789ABC"]}),
            today(),
            &mut errors,
        );
        assert!(errors.0.is_empty(), "{errors:?}");
        assert_eq!(answers["device_ids"], json!(["00DB123456789ABC"]));
    }

    #[test]
    fn rules_of_every_type_are_applied() {
        let d = definition(json!([
            {"key": "email", "label": "E", "type": "text", "required": true, "pattern": "[^@]+@[^@]+"},
            {"key": "days", "label": "D", "type": "number", "integer": true, "min": 1, "max": 20},
            {"key": "from", "label": "F", "type": "date", "not_in_past": true},
            {"key": "kind", "label": "K", "type": "choice", "options": ["a", "b"], "required": true},
            {"key": "roles", "label": "R", "type": "multi_choice", "options": ["x", "y"], "max_items": 1},
            {"key": "mpxns", "label": "M", "type": "identifiers", "identifier": "mpxn"},
        ]));
        let mut errors = ValidationErrors::default();
        check_answers(
            &d,
            &json!({"email": "nobody", "days": 2.5, "from": "2026-11-29", "roles": ["x", "z", "y"],
                    "mpxns": ["1234567890123", "12AB"], "extra": 1}),
            today(),
            &mut errors,
        );
        assert_eq!(
            fields_of(&errors),
            [
                "fields.extra",
                "fields.email",
                "fields.days",
                "fields.from",
                "fields.kind",
                "fields.roles[1]",
                "fields.roles",
                "fields.mpxns[1]"
            ]
        );
    }

    #[test]
    fn file_fields_are_answered_by_files_only() {
        let d = definition(json!([
            {"key": "evidence", "label": "Evidence", "type": "file", "required": true},
            {"key": "photo", "label": "Photo", "type": "file"},
            {"key": "notes", "label": "Notes", "type": "text"},
        ]));
        let mut errors = ValidationErrors::default();
        check_answers(&d, &json!({"photo": "17"}), today(), &mut errors);
        assert_eq!(fields_of(&errors), ["fields.evidence", "fields.photo"]);
        assert_eq!(errors.0[0].message, "is required: attach a file");

        let mut errors = ValidationErrors::default();
        check_answers_with_files(
            &d,
            &json!({}),
            &["evidence", "notes", "evidence", "missing"],
            today(),
            &mut errors,
        );
        assert_eq!(
            fields_of(&errors),
            ["fields.notes", "fields.evidence", "fields.missing"]
        );

        let mut errors = ValidationErrors::default();
        let answers = check_answers_with_files(
            &d,
            &json!({"notes": " hi "}),
            &["evidence"],
            today(),
            &mut errors,
        );
        assert!(errors.0.is_empty(), "{errors:?}");
        assert_eq!(
            answers,
            json!({"notes": "hi"}).as_object().cloned().unwrap()
        );
    }

    #[test]
    fn file_fields_take_no_rules_of_other_types() {
        let d = definition(json!([
            {"key": "evidence", "label": "Evidence", "type": "file", "max_length": 3},
        ]));
        assert_eq!(
            fields_of(&d.checked().unwrap_err()),
            ["fields[0].max_length"]
        );
    }

    #[test]
    fn incoherent_definitions_name_each_fault() {
        let d = definition(json!([
            {"key": "Bad Key", "label": "x", "type": "text", "options": ["a"]},
            {"key": "c", "label": "c", "type": "choice"},
            {"key": "c", "label": "d", "type": "text", "pattern": "("},
            {"key": "ids", "label": "i", "type": "identifiers"},
        ]));
        let mut d = d;
        d.approvals = vec![
            ApprovalStep {
                approver: Approver::Operator,
            },
            ApprovalStep {
                approver: Approver::OrganisationAdmin,
            },
        ];
        d.tasks.clear();
        d.sla_working_days = 0;
        let errors = d.checked().unwrap_err();
        assert_eq!(
            fields_of(&errors),
            [
                "fields[0].key",
                "fields[0].options",
                "fields[1].options",
                "fields[2].key",
                "fields[2].pattern",
                "fields[3].identifier",
                "approvals[1].approver",
                "tasks",
                "sla_working_days"
            ]
        );
    }
}
