//! Auxiliary equipment in the web UI: the catalogue at `/desk/hubs/auxiliary`, where the
//! operator's admins add items and change their limits, delivery dates or availability (other
//! staff read it); and the helpers the order pages use to read the items typed on an order
//! (`CODE QUANTITY`, one a line) and to show them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use dsms_core::Permission;
use dsms_hubs::{
    AuxiliaryItem, AuxiliaryItemChanges, AuxiliaryLine, HubError, Hubs, NewAuxiliaryItem,
    NewAuxiliaryLine,
};

use super::{Form, done, form_post, one_of, optional, problems, request_id, version_of};
use crate::admin::fields::FieldErrors;
use crate::admin::{Acting, Answer, Refusal};
use crate::nav::{Area, Menu};
use crate::page::{Caching, see_other, show};
use crate::session::WebSession;

/// Mounts the catalogue page.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/desk/hubs/auxiliary")
            .get(catalogue)
            .post(add),
    )
    .route("/desk/hubs/auxiliary/{id}", web::post().to(update));
}

/// How the service's `lines[N]…` faults read on a form: under the auxiliary-equipment field.
pub(super) const LINES_LABEL: (&str, &str, &str) = ("lines", "auxiliary", "Auxiliary equipment");

/// The catalogue form's fields and their labels.
const LABELS: &[(&str, &str, &str)] = &[
    ("code", "code", "Item code"),
    ("name", "name", "Name"),
    ("description", "description", "Description"),
    ("pack_size", "pack_size", "Pack size"),
    ("minimum_quantity", "minimum_quantity", "Minimum per order"),
    ("maximum_quantity", "maximum_quantity", "Maximum per order"),
    ("available_from", "available_from", "Deliverable from"),
    ("available_until", "available_until", "Deliverable until"),
];

/// Items typed one a line as `CODE QUANTITY`, with the lines that cannot be read: each is
/// still sent, with quantity 0, so the service refuses the order rather than placing it
/// without them, and its fault is named by the line's number.
pub(super) fn parse_lines(text: &str) -> (Vec<NewAuxiliaryLine>, Vec<(usize, String)>) {
    let mut lines = Vec::new();
    let mut faults = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let mut words = raw.split([' ', '\t', ',', ';']).filter(|w| !w.is_empty());
        let Some(code) = words.next() else { continue };
        let quantity = match (words.next().map(str::parse::<i64>), words.next()) {
            (Some(Ok(quantity)), None) => quantity,
            _ => {
                faults.push((
                    lines.len(),
                    format!(
                        "Auxiliary equipment line {}: write an item code and a whole number, \
                         such as \"AUX-AERIAL-EXT 20\"",
                        n + 1
                    ),
                ));
                0
            }
        };
        lines.push(NewAuxiliaryLine {
            code: code.to_owned(),
            quantity,
        });
    }
    (lines, faults)
}

/// Names the lines that could not be read, in place of what the service said of their
/// quantity of 0.
pub(super) fn unreadable(
    invalid: &mut dsms_core::ValidationErrors,
    faults: &[(usize, String)],
    errors: &mut FieldErrors,
) {
    for (i, message) in faults {
        let field = format!("lines[{i}].quantity");
        invalid.0.retain(|e| e.field != field);
        if errors.has(LINES_LABEL.1) {
            errors.add_other(message.clone());
        } else {
            errors.add(LINES_LABEL.1, message.clone());
        }
    }
}

/// The items on an order as the form shows them: `CODE QUANTITY`, one a line.
pub(super) fn lines_text(lines: &[AuxiliaryLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} {}", l.code, l.quantity))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The items on an order for people: `AUX-AERIAL-EXT × 20 (External aerial)`, or `None`.
pub(super) fn describe(lines: &[AuxiliaryLine]) -> String {
    if lines.is_empty() {
        return "None".into();
    }
    lines
        .iter()
        .map(|l| format!("{} × {} ({})", l.code, l.quantity, l.name))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An item's ordering rules in a sentence.
pub(super) fn item_rules(item: &AuxiliaryItem) -> String {
    let most = item
        .maximum_quantity
        .map_or_else(String::new, |m| format!(", at most {m}"));
    let until = item
        .available_until
        .map_or_else(String::new, |u| format!(" until {u}"));
    format!(
        "{} – {}: packs of {}, at least {}{most} an order; deliverable from {}{until}",
        item.code, item.name, item.pack_size, item.minimum_quantity, item.available_from
    )
}

/// One catalogue item as the page shows and edits it.
struct Row {
    id: i64,
    version: i64,
    code: String,
    name: String,
    description: String,
    pack_size: i64,
    minimum_quantity: i64,
    maximum_quantity: String,
    available_from: String,
    available_until: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "hubs/auxiliary.html")]
struct CataloguePage {
    csrf_token: String,
    menu: Menu,
    notice: Option<&'static str>,
    errors: FieldErrors,
    may_maintain: bool,
    items: Vec<Row>,
    form: Vec<(String, String)>,
}

impl CataloguePage {
    /// What the add form had in `name`, to show it again after a refusal.
    fn typed(&self, name: &str) -> &str {
        one_of(&self.form, name)
    }
}

fn may_maintain(acting: &Acting) -> bool {
    acting.principal().can(Permission::ManageHubs)
        && acting.principal().can(Permission::ManageCatalogue)
}

async fn render(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    form: Vec<(String, String)>,
    errors: FieldErrors,
    status: StatusCode,
) -> Answer {
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let items = acting
        .call(move || service.auxiliary_items(&principal, false))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let page = CataloguePage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Hubs),
        notice: done(
            req,
            &[
                ("added", "The item has been added to the catalogue."),
                ("changed", "The item has been changed."),
            ],
        ),
        errors,
        may_maintain: may_maintain(acting),
        items: items
            .into_iter()
            .map(|i| Row {
                id: i.id,
                version: i.version,
                maximum_quantity: i
                    .maximum_quantity
                    .map_or_else(String::new, |m| m.to_string()),
                available_from: i.available_from.to_string(),
                available_until: i
                    .available_until
                    .map_or_else(String::new, |u| u.to_string()),
                code: i.code,
                name: i.name,
                description: i.description,
                pack_size: i.pack_size,
                minimum_quantity: i.minimum_quantity,
                active: i.active,
            })
            .collect(),
        form,
    };
    Ok(show(acting.site(), status, Caching::NoStore, &page)?)
}

async fn catalogue(req: HttpRequest, session: WebSession, hubs: web::Data<Hubs>) -> Answer {
    let acting = Acting::of(session)?;
    acting.require(Permission::ViewHubs)?;
    if !acting.principal().is_operator_staff() {
        return Err(Refusal::forbidden(acting.site()));
    }
    render(
        &req,
        &acting,
        &hubs,
        Vec::new(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// A whole number typed in `name`; `None` when blank, and a fault named when not a number.
fn number(form: &[(String, String)], name: &str, errors: &mut FieldErrors) -> Option<i64> {
    let text = one_of(form, name).trim();
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse().ok();
    if parsed.is_none() {
        let label = LABELS
            .iter()
            .find(|(_, field, _)| *field == name)
            .map_or(name, |(_, _, label)| *label);
        errors.add(name, format!("{label} must be a whole number"));
    }
    parsed
}

/// Shows the service's refusal (and the page's own faults) on the catalogue page.
async fn refusal(
    req: &HttpRequest,
    acting: &Acting,
    hubs: &web::Data<Hubs>,
    form: Vec<(String, String)>,
    mut errors: FieldErrors,
    error: HubError,
) -> Answer {
    match error {
        HubError::Invalid(invalid) => {
            let found = problems(invalid, LABELS);
            for p in found.all() {
                if !errors.has(&p.field) {
                    errors.add(&p.field, p.message.clone());
                }
            }
            for o in found.others() {
                errors.add_other(o.clone());
            }
            let order: Vec<&str> = LABELS.iter().map(|(_, field, _)| *field).collect();
            render(
                req,
                acting,
                hubs,
                form,
                errors.in_order(&order),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        HubError::VersionMismatch(_) => {
            errors.add_other(
                "Someone changed this item since the page was shown; it shows their change now.",
            );
            render(req, acting, hubs, form, errors, StatusCode::CONFLICT).await
        }
        other => Err(Refusal::from_context(acting.site(), other)),
    }
}

async fn add(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageCatalogue)?;
    let mut errors = FieldErrors::new();
    let new = NewAuxiliaryItem {
        code: one_of(&form, "code").to_owned(),
        name: one_of(&form, "name").to_owned(),
        description: optional(&form, "description"),
        // A blank limit is judged as 0, which the service names as too small.
        pack_size: number(&form, "pack_size", &mut errors).unwrap_or(0),
        minimum_quantity: number(&form, "minimum_quantity", &mut errors).unwrap_or(0),
        maximum_quantity: number(&form, "maximum_quantity", &mut errors),
        available_from: optional(&form, "available_from"),
        available_until: optional(&form, "available_until"),
    };
    if errors.any() {
        let order: Vec<&str> = LABELS.iter().map(|(_, field, _)| *field).collect();
        return render(
            &req,
            &acting,
            &hubs,
            form,
            errors.in_order(&order),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let request_id = request_id(&req);
    let result = acting
        .call(move || service.add_auxiliary_item(&principal, new, request_id.as_deref()))
        .await?;
    match result {
        Ok(_) => Ok(see_other(acting.site(), "/desk/hubs/auxiliary?done=added").finish()),
        Err(error) => refusal(&req, &acting, &hubs, form, errors, error).await,
    }
}

async fn update(
    req: HttpRequest,
    session: WebSession,
    hubs: web::Data<Hubs>,
    id: web::Path<i64>,
    web::Form(form): Form,
) -> Answer {
    let acting = form_post(&req, session, &form)?;
    acting.require(Permission::ManageCatalogue)?;
    let mut errors = FieldErrors::new();
    let changes = AuxiliaryItemChanges {
        name: Some(one_of(&form, "name").to_owned()),
        description: Some(one_of(&form, "description").to_owned()),
        // A blank limit is judged as 0, which the service names as too small.
        pack_size: Some(number(&form, "pack_size", &mut errors).unwrap_or(0)),
        minimum_quantity: Some(number(&form, "minimum_quantity", &mut errors).unwrap_or(0)),
        maximum_quantity: Some(number(&form, "maximum_quantity", &mut errors)),
        active: Some(one_of(&form, "active") == "yes"),
        available_from: Some(one_of(&form, "available_from").to_owned()),
        available_until: Some(optional(&form, "available_until")),
    };
    if errors.any() {
        let order: Vec<&str> = LABELS.iter().map(|(_, field, _)| *field).collect();
        return render(
            &req,
            &acting,
            &hubs,
            Vec::new(),
            errors.in_order(&order),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let principal = acting.principal().clone();
    let service = hubs.clone().into_inner();
    let request_id = request_id(&req);
    let version = version_of(&form);
    let key = id.to_string();
    let result = acting
        .call(move || {
            service.update_auxiliary_item(&principal, &key, version, changes, request_id.as_deref())
        })
        .await?;
    match result {
        Ok(_) => Ok(see_other(acting.site(), "/desk/hubs/auxiliary?done=changed").finish()),
        Err(error) => refusal(&req, &acting, &hubs, Vec::new(), errors, error).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_items_are_read_one_a_line_and_unreadable_lines_are_named() {
        let (lines, faults) =
            parse_lines("AUX-AERIAL-EXT 20\n\n  aux-bracket,5\nAUX-X\nAUX-Y ten\n");
        let read: Vec<(&str, i64)> = lines
            .iter()
            .map(|l| (l.code.as_str(), l.quantity))
            .collect();
        assert_eq!(
            read,
            [
                ("AUX-AERIAL-EXT", 20),
                ("aux-bracket", 5),
                ("AUX-X", 0),
                ("AUX-Y", 0)
            ]
        );
        let at: Vec<usize> = faults.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [2, 3]);
        assert!(faults[0].1.contains("line 4"), "{faults:?}");
        assert!(faults[1].1.contains("line 5"), "{faults:?}");
    }

    #[test]
    fn items_read_back_as_typed() {
        let lines = vec![AuxiliaryLine {
            item_id: 1,
            code: "AUX-AERIAL-EXT".into(),
            name: "External aerial".into(),
            quantity: 20,
        }];
        assert_eq!(parse_lines(&lines_text(&lines)).0[0].quantity, 20);
        assert_eq!(describe(&lines), "AUX-AERIAL-EXT × 20 (External aerial)");
        assert_eq!(describe(&[]), "None");
    }
}
