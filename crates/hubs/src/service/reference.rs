//! Reference data: the hub variants the operator offers, and organisations' delivery locations,
//! which orders may use once the operator has approved them.

use chrono::Weekday;
use dsms_core::{Page, PageRequest, Permission, Principal, ValidationErrors};
use dsms_store::audit::{AuditEntry, Changes};
use dsms_store::idempotency::{Created, Idempotent};
use dsms_store::timestamp;

use super::{Hubs, optional_text, record, text};
use crate::model::{
    DeliveryLocation, HanBand, HubError, HubVariant, LocationChanges, LocationStatus, NewLocation,
    NewVariant, RadioTechnology, Region, VariantChanges,
};
use crate::store::{self, LocationRow, VariantRow};

/// Weekday names as locations list them.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl From<VariantRow> for HubVariant {
    fn from(r: VariantRow) -> Self {
        Self {
            id: r.id,
            product_code: r.product_code,
            name: r.name,
            radio_technology: RadioTechnology::parse(&r.radio_technology)
                .unwrap_or(RadioTechnology::Cellular4g),
            region: Region::parse(&r.region).unwrap_or(Region::Central),
            han_band: HanBand::parse(&r.han_band).unwrap_or(HanBand::Single),
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

impl From<LocationRow> for DeliveryLocation {
    fn from(r: LocationRow) -> Self {
        Self {
            id: r.id,
            organisation_id: r.organisation_id,
            name: r.name,
            address: r.address,
            postcode: r.postcode,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            contact_email: r.contact_email,
            delivery_days: r
                .delivery_days
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            status: LocationStatus::parse(&r.status).unwrap_or(LocationStatus::Pending),
            decision_note: r.decision_note,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// Checks delivery days: at least one, each `mon` .. `sun`; stored in week order.
fn delivery_days(days: &[String], errors: &mut ValidationErrors) -> String {
    let mut chosen = [false; 7];
    if days.is_empty() {
        errors.push("delivery_days", "must name at least one weekday");
    }
    for (i, day) in days.iter().enumerate() {
        match DAYS.iter().position(|d| d.eq_ignore_ascii_case(day.trim())) {
            Some(p) => chosen[p] = true,
            None => errors.push(
                format!("delivery_days[{i}]"),
                format!("must be one of {}", DAYS.join(", ")),
            ),
        }
    }
    DAYS.iter()
        .zip(chosen)
        .filter(|(_, on)| *on)
        .map(|(d, _)| *d)
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when deliveries are accepted on `day` at a location with `days` (as stored).
pub(crate) fn delivers_on(days: &str, day: Weekday) -> bool {
    let name = DAYS[day.num_days_from_monday() as usize];
    days.split_whitespace().any(|d| d == name)
}

fn email(field: &str, value: Option<String>, errors: &mut ValidationErrors) -> Option<String> {
    let value = optional_text(field, value, 254, errors);
    if let Some(v) = &value
        && dsms_core::Email::parse(v).is_err()
    {
        errors.push(field, "must be an email address");
    }
    value
}

impl Hubs {
    /// Every hub variant, by product code.
    pub fn variants(&self, principal: &Principal) -> Result<Vec<HubVariant>, HubError> {
        principal.require(Permission::ViewHubs, "see hub variants")?;
        let rows = self.db().read_blocking(store::variants)?;
        Ok(rows.into_iter().map(HubVariant::from).collect())
    }

    /// One variant, by id or product code.
    pub fn variant(&self, principal: &Principal, key: &str) -> Result<HubVariant, HubError> {
        self.variants(principal)?
            .into_iter()
            .find(|v| {
                v.id.to_string() == key.trim() || v.product_code.eq_ignore_ascii_case(key.trim())
            })
            .ok_or(HubError::NotFound)
    }

    /// Adds a variant (operator).
    pub fn add_variant(
        &self,
        principal: &Principal,
        new: NewVariant,
        request_id: Option<&str>,
    ) -> Result<HubVariant, HubError> {
        principal.require(Permission::ManageHubs, "manage hub variants")?;
        let mut errors = ValidationErrors::default();
        let product_code =
            text("product_code", &new.product_code, 40, &mut errors).to_ascii_uppercase();
        if !product_code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            errors.push("product_code", "must be letters, digits and hyphens");
        }
        let name = text("name", &new.name, 200, &mut errors);
        let radio = RadioTechnology::parse(new.radio_technology.trim());
        if radio.is_none() {
            errors.push(
                "radio_technology",
                format!("must be one of {}", RadioTechnology::names()),
            );
        }
        let region = Region::parse(new.region.trim());
        if region.is_none() {
            errors.push("region", format!("must be one of {}", Region::names()));
        }
        let band = HanBand::parse(new.han_band.trim());
        if band.is_none() {
            errors.push("han_band", format!("must be one of {}", HanBand::names()));
        }
        errors.into_result()?;
        let (Some(radio), Some(region), Some(band)) = (radio, region, band) else {
            return Err(ValidationErrors::default().into());
        };
        let now = self.now();
        let stamp = timestamp(now);
        let row = VariantRow {
            id: 0,
            product_code,
            name,
            radio_technology: radio.as_str().to_owned(),
            region: region.as_str().to_owned(),
            han_band: band.as_str().to_owned(),
            active: true,
            created_at: stamp,
            updated_at: stamp,
            version: 1,
        };
        self.db().write_blocking(|conn| {
            if store::variants(conn)?
                .iter()
                .any(|v| v.product_code == row.product_code)
            {
                return Err(HubError::from(dsms_core::FieldError::new(
                    "product_code",
                    "is already used by another variant",
                )));
            }
            let id = store::insert_variant(conn, &row)?;
            record(
                conn,
                now,
                principal,
                None,
                "hub_variant.created",
                "hub_variant",
                id,
                Changes::new()
                    .created("product_code", row.product_code.as_str())
                    .created("region", row.region.as_str())
                    .created("radio_technology", row.radio_technology.as_str())
                    .created("han_band", row.han_band.as_str()),
                request_id,
            )?;
            Ok(HubVariant::from(store::variant(conn, id)?))
        })
    }

    /// Renames, withdraws or reinstates a variant (operator).
    pub fn update_variant(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        changes: VariantChanges,
        request_id: Option<&str>,
    ) -> Result<HubVariant, HubError> {
        principal.require(Permission::ManageHubs, "manage hub variants")?;
        let id = self.variant(principal, key)?.id;
        let mut errors = ValidationErrors::default();
        let name = changes.name.map(|n| text("name", &n, 200, &mut errors));
        errors.into_result()?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            let before = store::variant(conn, id)?;
            if expected.is_some_and(|v| v != before.version) {
                return Err(HubError::VersionMismatch(before.version));
            }
            let mut row = before.clone();
            if let Some(name) = name {
                row.name = name;
            }
            if let Some(active) = changes.active {
                row.active = active;
            }
            row.updated_at = timestamp(now);
            row.version += 1;
            if !store::update_variant(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            record(
                conn,
                now,
                principal,
                None,
                "hub_variant.updated",
                "hub_variant",
                id,
                Changes::new()
                    .field("name", before.name.as_str(), row.name.as_str())
                    .field("active", before.active, row.active),
                request_id,
            )?;
            Ok(HubVariant::from(row))
        })
    }

    /// Registers a delivery location for the caller's organisation; it awaits the operator's
    /// approval before orders may use it.
    pub fn register_location(
        &self,
        principal: &Principal,
        new: NewLocation,
        idempotent: Option<Idempotent<DeliveryLocation>>,
        request_id: Option<&str>,
    ) -> Result<Created<DeliveryLocation>, HubError> {
        principal.require(Permission::OrderHubs, "register delivery locations")?;
        let mut errors = ValidationErrors::default();
        let now = self.now();
        let stamp = timestamp(now);
        let row = LocationRow {
            id: 0,
            organisation_id: principal.organisation_id,
            name: text("name", &new.name, 200, &mut errors),
            address: text("address", &new.address, 1000, &mut errors),
            postcode: text("postcode", &new.postcode, 10, &mut errors).to_ascii_uppercase(),
            contact_name: text("contact_name", &new.contact_name, 200, &mut errors),
            contact_phone: text("contact_phone", &new.contact_phone, 40, &mut errors),
            contact_email: email("contact_email", new.contact_email, &mut errors),
            delivery_days: delivery_days(&new.delivery_days, &mut errors),
            status: LocationStatus::Pending.as_str().to_owned(),
            decision_note: None,
            created_at: stamp,
            updated_at: stamp,
            version: 1,
        };
        errors.into_result()?;
        self.create(now, idempotent, |conn| {
            let id = store::insert_location(conn, &row)?;
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                "delivery_location.created",
                "delivery_location",
                id,
                Changes::new()
                    .created("name", row.name.as_str())
                    .created("address", row.address.as_str())
                    .created("postcode", row.postcode.as_str())
                    .created("delivery_days", row.delivery_days.as_str())
                    .created("status", row.status.as_str()),
                request_id,
            )?;
            Ok(DeliveryLocation::from(LocationRow { id, ..row.clone() }))
        })
    }

    /// One page of the locations the caller may see.
    pub fn locations(
        &self,
        principal: &Principal,
        organisation_id: Option<i64>,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<DeliveryLocation>, HubError> {
        principal.require(Permission::ViewHubs, "see delivery locations")?;
        if let Some(s) = status
            && LocationStatus::parse(s).is_none()
        {
            return Err(dsms_core::FieldError::new(
                "status",
                format!("must be one of {}", LocationStatus::names()),
            )
            .into());
        }
        let rows = self.db().read_blocking(|conn| {
            store::locations(conn, principal, organisation_id, status, page)
        })?;
        Ok(Page::from_rows(rows, page, |r| r.id).map(DeliveryLocation::from))
    }

    /// One location, if the caller may see it.
    pub fn location(&self, principal: &Principal, id: i64) -> Result<DeliveryLocation, HubError> {
        principal.require(Permission::ViewHubs, "see delivery locations")?;
        let row = self
            .db()
            .read_blocking(|conn| store::location_visible(conn, principal, id))?;
        Ok(row.into())
    }

    /// Changes a location: its organisation edits the details (a changed address or delivery
    /// days needs approval again); the operator approves or rejects it.
    pub fn update_location(
        &self,
        principal: &Principal,
        id: i64,
        expected: Option<i64>,
        changes: LocationChanges,
        request_id: Option<&str>,
    ) -> Result<DeliveryLocation, HubError> {
        principal.require(Permission::ViewHubs, "see delivery locations")?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            let before = store::location_visible(conn, principal, id)?;
            let operator = principal.can(Permission::ManageHubs);
            let owner = principal.organisation_id == before.organisation_id
                && principal.can(Permission::OrderHubs);
            let edits = changes.name.is_some()
                || changes.address.is_some()
                || changes.postcode.is_some()
                || changes.contact_name.is_some()
                || changes.contact_phone.is_some()
                || changes.contact_email.is_some()
                || changes.delivery_days.is_some();
            if edits && !owner {
                return Err(super::forbidden(
                    "change another organisation's delivery location",
                ));
            }
            if (changes.status.is_some() || changes.decision_note.is_some()) && !operator {
                return Err(super::forbidden(
                    "approve delivery locations (the operator does)",
                ));
            }
            if expected.is_some_and(|v| v != before.version) {
                return Err(HubError::VersionMismatch(before.version));
            }
            let mut errors = ValidationErrors::default();
            let mut row = before.clone();
            if let Some(v) = changes.name {
                row.name = text("name", &v, 200, &mut errors);
            }
            if let Some(v) = changes.address {
                row.address = text("address", &v, 1000, &mut errors);
            }
            if let Some(v) = changes.postcode {
                row.postcode = text("postcode", &v, 10, &mut errors).to_ascii_uppercase();
            }
            if let Some(v) = changes.contact_name {
                row.contact_name = text("contact_name", &v, 200, &mut errors);
            }
            if let Some(v) = changes.contact_phone {
                row.contact_phone = text("contact_phone", &v, 40, &mut errors);
            }
            if let Some(v) = changes.contact_email {
                row.contact_email = email("contact_email", v, &mut errors);
            }
            if let Some(v) = changes.delivery_days {
                row.delivery_days = delivery_days(&v, &mut errors);
            }
            if row.address != before.address
                || row.postcode != before.postcode
                || row.delivery_days != before.delivery_days
            {
                // Where and when hubs may be delivered is what the operator approved.
                row.status = LocationStatus::Pending.as_str().to_owned();
            }
            if let Some(status) = changes.status {
                match LocationStatus::parse(status.trim()) {
                    Some(s @ (LocationStatus::Approved | LocationStatus::Rejected)) => {
                        row.status = s.as_str().to_owned();
                    }
                    _ => errors.push("status", "must be approved or rejected"),
                }
            }
            if let Some(note) = changes.decision_note {
                row.decision_note = optional_text("decision_note", Some(note), 2000, &mut errors);
            }
            if row.status == LocationStatus::Rejected.as_str()
                && before.status != row.status
                && row.decision_note.is_none()
            {
                errors.push("decision_note", "must say why the location is rejected");
            }
            errors.into_result()?;
            row.updated_at = timestamp(now);
            row.version += 1;
            if !store::update_location(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            let action = match (before.status.as_str(), row.status.as_str()) {
                (a, "approved") if a != "approved" => "delivery_location.approved",
                (a, "rejected") if a != "rejected" => "delivery_location.rejected",
                _ => "delivery_location.updated",
            };
            let opt = |v: &Option<String>| v.clone().map_or(serde_json::Value::Null, Into::into);
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                action,
                "delivery_location",
                id,
                Changes::new()
                    .field("name", before.name.as_str(), row.name.as_str())
                    .field("address", before.address.as_str(), row.address.as_str())
                    .field("postcode", before.postcode.as_str(), row.postcode.as_str())
                    .field(
                        "contact_name",
                        before.contact_name.as_str(),
                        row.contact_name.as_str(),
                    )
                    .field(
                        "contact_phone",
                        before.contact_phone.as_str(),
                        row.contact_phone.as_str(),
                    )
                    .field(
                        "contact_email",
                        opt(&before.contact_email),
                        opt(&row.contact_email),
                    )
                    .field(
                        "delivery_days",
                        before.delivery_days.as_str(),
                        row.delivery_days.as_str(),
                    )
                    .field("status", before.status.as_str(), row.status.as_str())
                    .field(
                        "decision_note",
                        opt(&before.decision_note),
                        opt(&row.decision_note),
                    ),
                request_id,
            )?;
            Ok(DeliveryLocation::from(row))
        })
    }

    /// The history of a location, oldest first.
    pub fn location_history(
        &self,
        principal: &Principal,
        id: i64,
    ) -> Result<Vec<AuditEntry>, HubError> {
        principal.require(Permission::ViewHubs, "see delivery locations")?;
        Ok(self.db().read_blocking(|conn| {
            store::location_visible(conn, principal, id)?;
            Hubs::history_of(conn, "delivery_location", id)
        })?)
    }
}
