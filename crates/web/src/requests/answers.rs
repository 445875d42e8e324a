//! A catalogue item's form as the raise page shows it, and back: each typed field of the form
//! version as an input (text, number, date, a select for a choice, tick boxes for a
//! multi-choice, a text box for a list of identifiers), the posted inputs as the JSON answers the
//! service validates, the service's field errors next to the inputs they are about, and stored
//! answers as people read them on the request page.

use dsms_core::ValidationErrors;
use dsms_service_request::{Definition, FieldType, FormField, IdentifierKind};
use serde_json::{Map, Value};

use crate::admin::fields::FieldErrors;

/// The form's own fields besides the item's, with their labels.
const OWN_FIELDS: [(&str, &str); 2] = [("summary", "Summary"), ("contact", "Who to contact")];

/// The input name of the item's field `key`: prefixed, so no key can collide with the form's
/// own fields (`summary`, `contact`, `csrf_token`).
pub(crate) fn input_name(key: &str) -> String {
    format!("field_{key}")
}

/// One option of a select or a set of tick boxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opt {
    /// What is posted.
    pub value: String,
    /// What people read.
    pub text: String,
    /// Chosen (a select's option).
    pub selected: bool,
    /// Ticked (a tick box).
    pub checked: bool,
}

/// One field of the item's form, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldView {
    /// The input's name and id.
    pub name: String,
    /// Its label, saying when it is optional.
    pub label: String,
    /// `text`, `textarea`, `number`, `date`, `choice`, `multi` or `identifiers`.
    pub kind: &'static str,
    /// What it holds now (text-like inputs).
    pub value: String,
    /// The options (choices).
    pub options: Vec<Opt>,
    /// Guidance: the field's help and its rules in words.
    pub hint: String,
    /// Text boxes' height.
    pub rows: usize,
}

/// An option code as people read it: `environment_slot` becomes `Environment slot`.
pub(crate) fn humanise(option: &str) -> String {
    let spaced = option.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// The values posted for `name`, in order.
fn posted<'a>(form: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    form.iter()
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The first value posted for `name`, or empty.
pub(crate) fn first<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The identifiers typed into a box: separated by commas, semicolons, spaces or new lines.
fn identifiers(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A field's rules in words, after its own help.
fn hint(field: &FormField) -> String {
    let mut parts: Vec<String> = field.help.iter().cloned().collect();
    match field.kind {
        FieldType::Number => {
            let kind = if field.integer {
                "A whole number"
            } else {
                "A number"
            };
            parts.push(match (field.min, field.max) {
                (Some(min), Some(max)) => format!("{kind} from {min} to {max}."),
                (Some(min), None) => format!("{kind}, at least {min}."),
                (None, Some(max)) => format!("{kind}, at most {max}."),
                (None, None) => format!("{kind}."),
            });
        }
        FieldType::Date => parts.push(if field.not_in_past {
            "A date from today on, for example 2026-12-01.".to_owned()
        } else {
            "For example, 2026-12-01.".to_owned()
        }),
        FieldType::MultiChoice => parts.push("Tick all that apply.".to_owned()),
        FieldType::Identifiers => {
            let what = match field.identifier {
                Some(IdentifierKind::DeviceId) => "Device or hub ids (16 hexadecimal digits each)",
                Some(IdentifierKind::Mpxn) => "MPANs (13 digits) or MPRNs (6 to 10 digits)",
                None => "Identifiers",
            };
            let mut text = format!("{what}, separated by spaces, commas or new lines.");
            if let Some(max) = field.max_items {
                text.push_str(&format!(" At most {max}."));
            }
            parts.push(text);
        }
        FieldType::File => parts.push(
            "A file: PDF, images, text, CSV, logs or ZIP, attached to the request.".to_owned(),
        ),
        FieldType::Text | FieldType::Choice => {}
    }
    parts.join(" ")
}

/// The item's fields with what `form` posted for them (nothing, for a fresh form).
pub(crate) fn views(definition: &Definition, form: &[(String, String)]) -> Vec<FieldView> {
    definition
        .fields
        .iter()
        .map(|field| {
            let name = input_name(&field.key);
            let value = first(form, &name).to_owned();
            let chosen: Vec<&str> = posted(form, &name).collect();
            let (kind, options, rows) = match field.kind {
                FieldType::Text if field.max_length.is_some_and(|m| m <= 200) => {
                    ("text", Vec::new(), 1)
                }
                FieldType::Text => ("textarea", Vec::new(), 5),
                FieldType::Number => ("number", Vec::new(), 1),
                FieldType::Date => ("date", Vec::new(), 1),
                FieldType::Identifiers => ("identifiers", Vec::new(), 4),
                FieldType::File => ("file", Vec::new(), 1),
                FieldType::Choice => {
                    let mut options = vec![Opt {
                        value: String::new(),
                        text: "Choose one".to_owned(),
                        selected: value.is_empty(),
                        checked: false,
                    }];
                    options.extend(field.options.iter().map(|o| Opt {
                        value: o.clone(),
                        text: humanise(o),
                        selected: *o == value,
                        checked: false,
                    }));
                    ("choice", options, 1)
                }
                FieldType::MultiChoice => (
                    "multi",
                    field
                        .options
                        .iter()
                        .map(|o| Opt {
                            value: o.clone(),
                            text: humanise(o),
                            selected: false,
                            checked: chosen.contains(&o.as_str()),
                        })
                        .collect(),
                    1,
                ),
            };
            FieldView {
                label: if field.required {
                    field.label.clone()
                } else {
                    format!("{} (optional)", field.label)
                },
                name,
                kind,
                value,
                options,
                hint: hint(field),
                rows,
            }
        })
        .collect()
}

/// A number as typed: whole numbers stay whole; what is not a number is passed on as text for
/// the service to refuse with its own message.
fn number(text: &str) -> Value {
    if let Ok(whole) = text.parse::<i64>() {
        return Value::from(whole);
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::from(text), Value::Number)
}

/// The answers `form` gives to the item's fields, keyed by field; empty inputs are left out
/// (the service says which of them were required).
pub(crate) fn collect(definition: &Definition, form: &[(String, String)]) -> Value {
    let mut answers = Map::new();
    for field in &definition.fields {
        let name = input_name(&field.key);
        let text = first(form, &name).trim();
        let answer = match field.kind {
            FieldType::Text | FieldType::Date | FieldType::Choice => {
                (!text.is_empty()).then(|| Value::from(text))
            }
            FieldType::Number => (!text.is_empty()).then(|| number(text)),
            FieldType::MultiChoice => {
                let ticked: Vec<Value> = posted(form, &name)
                    .filter(|v| !v.is_empty())
                    .map(Value::from)
                    .collect();
                (!ticked.is_empty()).then_some(Value::Array(ticked))
            }
            FieldType::Identifiers => {
                let ids = identifiers(text);
                (!ids.is_empty()).then(|| Value::from(ids))
            }
            // Files come as the form's file parts, not as answers.
            FieldType::File => None,
        };
        if let Some(answer) = answer {
            answers.insert(field.key.clone(), answer);
        }
    }
    Value::Object(answers)
}

/// The service's errors about a raise form, next to the inputs they are about and in the order
/// the form shows them: `fields.<key>` and `fields.<key>[<i>]` (naming the item at fault) for
/// the item's fields, `summary` and `contact` for the form's own.
pub(crate) fn errors(
    invalid: ValidationErrors,
    definition: &Definition,
    answers: &Value,
) -> FieldErrors {
    let mut out = FieldErrors::new();
    for error in invalid.0 {
        if let Some((_, label)) = OWN_FIELDS.iter().find(|(f, _)| *f == error.field) {
            out.add(&error.field, format!("{label} {}", error.message));
            continue;
        }
        if error.field == "catalogue_item" {
            out.add_other("This item is no longer on offer; choose another from the catalogue.");
            continue;
        }
        let Some(path) = error.field.strip_prefix("fields.") else {
            out.add_other(format!("{} {}", error.field, error.message));
            continue;
        };
        let (key, index) = match path.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (path, None),
        };
        let Some(field) = definition.field(key) else {
            out.add_other(format!(
                "The form has changed since you opened it: {key} {}. Reload the page.",
                error.message
            ));
            continue;
        };
        let message = match index.and_then(|i| answers.get(key)?.get(i)?.as_str()) {
            Some(item) => format!("{}: “{item}” {}", field.label, error.message),
            None => format!("{} {}", field.label, error.message),
        };
        out.add(&input_name(key), message);
    }
    let order: Vec<String> = std::iter::once("summary".to_owned())
        .chain(definition.fields.iter().map(|f| input_name(&f.key)))
        .chain(std::iter::once("contact".to_owned()))
        .collect();
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    out.in_order(&order)
}

/// A stored answer as people read it.
pub(crate) fn shown(field: &FormField, answer: Option<&Value>) -> String {
    let humane = |v: &Value| match (field.kind, v) {
        (FieldType::Choice | FieldType::MultiChoice, Value::String(s)) => humanise(s),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    };
    match answer {
        None | Some(Value::Null) => "Not given".to_owned(),
        Some(file) if field.kind == FieldType::File => file["filename"].as_str().map_or_else(
            || "Not given".to_owned(),
            |name| format!("{name} (see Files)"),
        ),
        Some(Value::Array(items)) if items.is_empty() => "Not given".to_owned(),
        Some(Value::Array(items)) => items.iter().map(humane).collect::<Vec<_>>().join(", "),
        Some(other) => humane(other),
    }
}

#[cfg(test)]
mod tests {
    use dsms_core::FieldError;
    use serde_json::json;

    use super::*;

    fn definition() -> Definition {
        serde_json::from_value(json!({
            "name": "Diagnostics", "description": "d",
            "fields": [
                {"key": "device_ids", "label": "Device ids", "type": "identifiers",
                 "identifier": "device_id", "required": true},
                {"key": "days", "label": "Days", "type": "number", "integer": true, "min": 1, "max": 20},
                {"key": "kind", "label": "Kind", "type": "choice", "options": ["event_log", "full"]},
                {"key": "roles", "label": "Roles", "type": "multi_choice", "options": ["a", "b"]},
            ],
            "tasks": [{"name": "Run", "group": "second-line"}], "sla_working_days": 5,
        }))
        .expect("definition")
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn inputs_become_typed_answers() {
        let posted = form(&[
            (
                "field_device_ids",
                "00DB123456789ABC, 00-DB-12\n  1122334455667788",
            ),
            ("field_days", "3"),
            ("field_kind", ""),
            ("field_roles", "a"),
            ("field_roles", "b"),
        ]);
        assert_eq!(
            collect(&definition(), &posted),
            json!({"device_ids": ["00DB123456789ABC", "00-DB-12", "1122334455667788"],
                   "days": 3, "roles": ["a", "b"]})
        );
        let odd = collect(&definition(), &form(&[("field_days", "2.5x")]));
        assert_eq!(
            odd,
            json!({"days": "2.5x"}),
            "left for the service to refuse"
        );
    }

    #[test]
    fn each_error_is_named_next_to_its_input_with_the_item_at_fault() {
        let answers = json!({"device_ids": ["00DB123456789ABC", "nope"]});
        let invalid = ValidationErrors(vec![
            FieldError::new("fields.days", "must be a whole number"),
            FieldError::new("fields.device_ids[1]", "must be a device or hub id"),
            FieldError::new("contact", "must be at most 200 characters"),
            FieldError::new("fields.gone", "is not a field of this form version"),
        ]);
        let shown = errors(invalid, &definition(), &answers);
        let fields: Vec<&str> = shown.all().iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["field_device_ids", "field_days", "contact"]);
        assert_eq!(
            shown.get("field_device_ids"),
            Some("Device ids: “nope” must be a device or hub id")
        );
        assert_eq!(shown.others().len(), 1);
    }

    #[test]
    fn fields_keep_what_was_posted() {
        let posted = form(&[("field_kind", "full"), ("field_roles", "b")]);
        let views = views(&definition(), &posted);
        assert_eq!(views[0].kind, "identifiers");
        assert_eq!(views[1].label, "Days (optional)");
        assert_eq!(views[1].hint, "A whole number from 1 to 20.");
        let kind = &views[2];
        assert!(kind.options.iter().any(|o| o.value == "full" && o.selected));
        assert_eq!(kind.options[1].text, "Event log");
        let roles = &views[3];
        assert_eq!(
            roles.options.iter().map(|o| o.checked).collect::<Vec<_>>(),
            [false, true]
        );
    }
}
