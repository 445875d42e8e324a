//! What is wrong with a submitted form, field by field, as the pages show it: a message next to
//! each field (referenced by `aria-describedby`) and a summary at the top linking to each one.

use dsms_core::ValidationErrors;

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    /// The form field's name (and its element's id).
    pub field: String,
    /// What is wrong, as a sentence starting with the field's label.
    pub message: String,
}

/// Every problem with one submitted form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldErrors {
    fields: Vec<FieldProblem>,
    other: Vec<String>,
}

impl FieldErrors {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a problem with `field` (at most one each: the first is kept).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.fields.push(FieldProblem {
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    /// Adds a problem that is not about one field of the form.
    pub fn add_other(&mut self, message: impl Into<String>) {
        self.other.push(message.into());
    }

    /// A context's validation errors on this form: `labels` maps each field the context names
    /// (list items such as `devices[2]` count as their list) to the form's field and its label;
    /// anything else is shown in the summary only.
    pub fn from_validation(errors: ValidationErrors, labels: &[(&str, &str, &str)]) -> Self {
        let mut out = Self::new();
        for error in errors.0 {
            let name = error.field.split(['[', '.']).next().unwrap_or_default();
            match labels.iter().find(|(context, _, _)| *context == name) {
                Some((_, field, label)) => out.add(field, format!("{label} {}", error.message)),
                None => out.add_other(format!("{} {}", error.field, error.message)),
            }
        }
        out
    }

    /// The same problems, the fields' in the order the form shows them.
    pub fn in_order(mut self, order: &[&str]) -> Self {
        self.fields.sort_by_key(|p| {
            order
                .iter()
                .position(|f| *f == p.field)
                .unwrap_or(usize::MAX)
        });
        self
    }

    /// The problem with `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    }

    /// Whether `field` has a problem.
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// Whether there is anything to show.
    pub fn any(&self) -> bool {
        !self.fields.is_empty() || !self.other.is_empty()
    }

    /// Every field's problem, in the order found.
    pub fn all(&self) -> &[FieldProblem] {
        &self.fields
    }

    /// The problems not about one field.
    pub fn others(&self) -> &[String] {
        &self.other
    }
}

#[cfg(test)]
mod tests {
    use dsms_core::FieldError;

    use super::*;

    #[test]
    fn list_items_count_as_their_list_and_unknown_fields_fall_back() {
        let errors = ValidationErrors(vec![
            FieldError::new("title", "must not be empty"),
            FieldError::new("devices[2]", "must be an identifier"),
            FieldError::new("devices[3]", "must be an identifier too"),
            FieldError::new("region", "is too long"),
        ]);
        let shown = FieldErrors::from_validation(
            errors,
            &[
                ("title", "title", "Title"),
                ("devices", "devices", "Each device"),
            ],
        );
        assert_eq!(shown.get("title"), Some("Title must not be empty"));
        assert_eq!(
            shown.get("devices"),
            Some("Each device must be an identifier")
        );
        assert_eq!(shown.all().len(), 2, "one message per field: {shown:?}");
        assert_eq!(shown.others(), ["region is too long"]);
    }
}
