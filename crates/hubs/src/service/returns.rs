//! Returns: import and gas suppliers send hubs back by serial with a reason (faulty, saying
//! whether found before or after installation, or no-fault). Each serial must be known, have
//! been delivered to the organisation and not be returned already. The operator authorises,
//! collects, receives and analyses the hubs; the analysis decides each hub's charge or credit.

use std::collections::{HashMap, HashSet};

use dsms_core::{Page, PageRequest, Permission, Principal, ValidationErrors};
use dsms_store::audit::{AuditEntry, Changes};
use dsms_store::idempotency::{Created, Idempotent};
use dsms_store::{DbConnection, StoreError, timestamp};
use serde_json::{Value, json};

use super::{Hubs, emit, optional_text, party, record, resolve_key};
use crate::lifecycle::{self, Mover, RETURN_TRANSITIONS, ReturnStatus};
use crate::model::{
    Analysis, FaultFound, HanBand, HubError, HubReturn, NewReturn, Party, ReturnLine, ReturnReason,
};
use crate::month::{HubSerial, SERIAL_RULE};
use crate::rules::ReturnCharges;
use crate::store::{self, Outcome, ReturnLineRow, ReturnRow};

/// What a list of returns is filtered by.
#[derive(Debug, Clone, Default)]
pub struct ReturnFilter {
    /// Only this organisation (operator staff).
    pub organisation_id: Option<i64>,
    /// Only these statuses.
    pub statuses: Vec<String>,
}

/// Hub states that count as delivered to (and so held by) the organisation.
const HELD: [&str; 2] = ["delivered", "damaged"];

fn reasons_message() -> String {
    let (faulty, no_fault): (Vec<_>, Vec<_>) =
        ReturnReason::ALL.iter().partition(|r| r.is_faulty());
    let names = |list: Vec<&ReturnReason>| {
        list.iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "must be a faulty reason ({}) or a no-fault reason ({})",
        names(faulty),
        names(no_fault)
    )
}

/// What a hub's analysis settles: a confirmed fault is credited at the hub's value; otherwise
/// the supplier is charged the redeployment charge, or the hub's value when it cannot be
/// redeployed.
fn settle(
    charges: &ReturnCharges,
    band: &str,
    fault_confirmed: bool,
    redeployable: bool,
) -> (&'static str, i64) {
    let value = if band == HanBand::Dual.as_str() {
        charges.dual_band_pence
    } else {
        charges.single_band_pence
    };
    match (fault_confirmed, redeployable) {
        (true, _) => ("credit", value),
        (false, true) => ("charge", charges.redeployable_pence),
        (false, false) => ("charge", value),
    }
}

fn return_event(r: &HubReturn) -> Value {
    json!({
        "id": r.id.to_string(),
        "reference": r.reference,
        "status": r.status.as_str(),
        "quantity": r.quantity,
        "incident_id": r.incident_id.map(|i| i.to_string()),
        "charge_pence": r.charge_pence,
        "credit_pence": r.credit_pence,
        "version": r.version,
    })
}

impl Hubs {
    /// Requests a return of the caller's organisation's hubs. Every row is checked and every
    /// fault named at once.
    pub fn request_return(
        &self,
        principal: &Principal,
        new: NewReturn,
        idempotent: Option<Idempotent<HubReturn>>,
        request_id: Option<&str>,
    ) -> Result<Created<HubReturn>, HubError> {
        principal.require(Permission::OrderHubs, "return hubs")?;
        let (kind, actor_id) = party(principal)?;
        let now = self.now();
        let organisation_id = principal.organisation_id;
        let mut errors = ValidationErrors::default();
        if new.rows.is_empty() {
            errors.push("lines", "must list the hubs returned");
        } else if new.rows.len() > crate::bulk::MAX_ROWS {
            errors.push(
                "lines",
                format!("must be at most {} hubs", crate::bulk::MAX_ROWS),
            );
        }
        let mut lines: Vec<(String, ReturnLineRow)> = Vec::with_capacity(new.rows.len());
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(new.rows.len());
        for (i, row) in new.rows.iter().enumerate() {
            let at = |f: &str| format!("{}.{f}", row.at);
            let serial = HubSerial::parse(&row.serial);
            if serial.is_none() {
                errors.push(at("serial"), SERIAL_RULE);
            }
            let reason = ReturnReason::parse(row.reason.trim());
            if reason.is_none() {
                errors.push(at("reason"), reasons_message());
            }
            let found = match row
                .found
                .as_deref()
                .map(str::trim)
                .filter(|f| !f.is_empty())
            {
                None => None,
                Some(f) => match FaultFound::parse(f) {
                    Some(f) => Some(f),
                    None => {
                        errors.push(
                            at("found"),
                            format!("must be one of {}", FaultFound::names()),
                        );
                        None
                    }
                },
            };
            if let Some(r) = reason {
                if r.is_faulty() && found.is_none() && row.found.is_none() {
                    errors.push(
                        at("found"),
                        "must say before_installation or after_installation for a faulty reason",
                    );
                }
                if !r.is_faulty() && found.is_some() {
                    errors.push(at("found"), "applies only to faulty reasons");
                }
            }
            if let Some(s) = &serial
                && let Some(first) = seen.insert(s.as_str().to_owned(), i)
            {
                errors.push(
                    at("serial"),
                    format!("repeats {}.serial ({})", new.rows[first].at, s.as_str()),
                );
                continue;
            }
            if let (Some(serial), Some(reason)) = (serial, reason) {
                lines.push((
                    at("serial"),
                    ReturnLineRow {
                        serial: serial.into_string(),
                        return_id: 0,
                        reason: reason.as_str().to_owned(),
                        faulty: reason.is_faulty(),
                        found: found.map(|f| f.as_str().to_owned()),
                        fault_confirmed: None,
                        redeployable: None,
                        settlement: None,
                        amount_pence: None,
                    },
                ));
            }
        }
        let notes = optional_text("notes", new.notes.clone(), 4000, &mut errors);
        if new.incident_id.is_some() && !lines.iter().any(|(_, l)| l.faulty) {
            errors.push(
                "incident_id",
                "links only a return of faulty hubs to its incident",
            );
        }
        self.create(now, idempotent, |conn| {
            if !store::is_supplier(conn, organisation_id)? {
                return Err(super::forbidden(
                    "return hubs: only import and gas suppliers return hubs",
                ));
            }
            let serials: Vec<String> = lines.iter().map(|(_, l)| l.serial.clone()).collect();
            let records = store::serial_records(conn, &serials)?;
            let returned = store::returned_serials(conn, &serials)?;
            for (field, line) in &lines {
                match records.get(&line.serial) {
                    None => errors.push(
                        field.as_str(),
                        format!("{} is not a known hub serial number", line.serial),
                    ),
                    // Another organisation's hub reads the same as one never delivered.
                    Some(r)
                        if r.organisation_id != organisation_id
                            || !HELD.contains(&r.status.as_str()) =>
                    {
                        errors.push(
                            field.as_str(),
                            format!("{} was not delivered to your organisation", line.serial),
                        )
                    }
                    Some(_) if returned.contains(&line.serial) => errors.push(
                        field.as_str(),
                        format!("{} was already returned", line.serial),
                    ),
                    Some(_) => {}
                }
            }
            if let Some(incident) = new.incident_id
                && store::incident_organisation(conn, incident)? != Some(organisation_id)
            {
                errors.push("incident_id", "is not an incident of your organisation");
            }
            std::mem::take(&mut errors).into_result()?;
            let stamp = timestamp(now);
            let row = ReturnRow {
                id: 0,
                reference: format!(
                    "pending:{kind}:{actor_id}:{}",
                    stamp.and_utc().timestamp_micros()
                ),
                organisation_id,
                status: ReturnStatus::Requested.as_str().to_owned(),
                incident_id: new.incident_id,
                quantity: lines.len() as i64,
                charge_pence: None,
                credit_pence: None,
                notes: notes.clone(),
                requested_by_kind: kind.to_owned(),
                requested_by_id: actor_id,
                requested_by_name: principal.display_name.clone(),
                created_at: stamp,
                updated_at: stamp,
                version: 1,
            };
            let mut rows: Vec<ReturnLineRow> = lines.iter().map(|(_, l)| l.clone()).collect();
            let id = store::insert_return(conn, &row, &mut rows)?;
            let faulty = rows.iter().filter(|l| l.faulty).count() as i64;
            record(
                conn,
                now,
                principal,
                Some(organisation_id),
                "hub_return.requested",
                "hub_return",
                id,
                Changes::new()
                    .created("reference", store::return_reference(id))
                    .created("quantity", row.quantity)
                    .created("faulty", faulty)
                    .created("no_fault", row.quantity - faulty)
                    .created(
                        "incident_id",
                        row.incident_id.map_or(Value::Null, Value::from),
                    )
                    .created("status", row.status.as_str()),
                request_id,
            )?;
            let requested = store::return_visible(conn, principal, id)?;
            let hub_return = self.assemble_return(conn, requested)?;
            emit(
                conn,
                now,
                "hub_return.requested",
                organisation_id,
                "hub_return",
                return_event(&hub_return),
            )?;
            Ok(hub_return)
        })
    }

    fn assemble_return(
        &self,
        conn: &mut DbConnection,
        row: ReturnRow,
    ) -> Result<HubReturn, StoreError> {
        let reasons = store::reason_counts(conn, &[row.id])?
            .into_iter()
            .filter_map(|(_, reason, n)| ReturnReason::parse(&reason).map(|r| (r, n)))
            .collect();
        Ok(HubReturn {
            id: row.id,
            reference: row.reference,
            organisation_id: row.organisation_id,
            organisation_name: store::organisation_name(conn, row.organisation_id)?,
            status: ReturnStatus::parse(&row.status).unwrap_or(ReturnStatus::Requested),
            incident_id: row.incident_id,
            quantity: row.quantity,
            reasons,
            charge_pence: row.charge_pence,
            credit_pence: row.credit_pence,
            notes: row.notes,
            requested_by: Party {
                kind: row.requested_by_kind,
                id: row.requested_by_id,
                name: row.requested_by_name,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }

    /// One return by id or reference, if the caller may see it.
    pub fn hub_return(&self, principal: &Principal, key: &str) -> Result<HubReturn, HubError> {
        principal.require(Permission::ViewHubs, "see hub returns")?;
        let id = resolve_key(key, "RET")?;
        Ok(self.db().read_blocking(|conn| {
            let row = store::return_visible(conn, principal, id)?;
            self.assemble_return(conn, row)
        })?)
    }

    /// The hubs of a return, by serial, with their analysis once done.
    pub fn return_lines(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<ReturnLine>, HubError> {
        principal.require(Permission::ViewHubs, "see hub returns")?;
        let id = resolve_key(key, "RET")?;
        Ok(self.db().read_blocking(|conn| {
            store::return_visible(conn, principal, id)?;
            Ok::<_, StoreError>(
                store::return_lines(conn, id)?
                    .into_iter()
                    .map(|(l, variant, _)| ReturnLine {
                        serial: l.serial,
                        variant,
                        reason: ReturnReason::parse(&l.reason).unwrap_or(ReturnReason::General),
                        faulty: l.faulty,
                        found: l.found.as_deref().and_then(FaultFound::parse),
                        fault_confirmed: l.fault_confirmed,
                        redeployable: l.redeployable,
                        settlement: l.settlement,
                        amount_pence: l.amount_pence,
                    })
                    .collect(),
            )
        })?)
    }

    /// One page of the returns the caller may see, oldest first.
    pub fn returns(
        &self,
        principal: &Principal,
        filter: &ReturnFilter,
        page: PageRequest,
    ) -> Result<Page<HubReturn>, HubError> {
        principal.require(Permission::ViewHubs, "see hub returns")?;
        for s in &filter.statuses {
            if ReturnStatus::parse(s).is_none() {
                return Err(dsms_core::FieldError::new(
                    "status",
                    format!("must be one of {}", ReturnStatus::names()),
                )
                .into());
            }
        }
        Ok(self.db().read_blocking(|conn| {
            let rows = store::returns(
                conn,
                principal,
                filter.organisation_id,
                &filter.statuses,
                page,
            )?;
            let page = Page::from_rows(rows, page, |r| r.id);
            let mut items = Vec::with_capacity(page.items.len());
            for row in page.items {
                items.push(self.assemble_return(conn, row)?);
            }
            Ok::<_, StoreError>(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })?)
    }

    /// Moves a return one step along its lifecycle (operator): authorised, collected,
    /// received, closed. Analysis has its own call.
    pub fn advance_return(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        to: &str,
        notes: Option<String>,
        request_id: Option<&str>,
    ) -> Result<HubReturn, HubError> {
        let to = ReturnStatus::parse(to.trim()).ok_or_else(|| {
            dsms_core::FieldError::new(
                "status",
                format!("must be one of {}", ReturnStatus::names()),
            )
        })?;
        if to == ReturnStatus::Analysed {
            return Err(dsms_core::FieldError::new(
                "status",
                "a return is analysed by POSTing its analysis",
            )
            .into());
        }
        self.move_return(principal, key, expected, to, request_id, |_, row| {
            let mut errors = ValidationErrors::default();
            if let Some(n) = optional_text("notes", notes, 4000, &mut errors) {
                row.notes = Some(n);
            }
            errors.into_result().map_err(HubError::from)
        })
    }

    /// Records the analysis of a received return (operator): faults confirmed or not, hubs
    /// redeployable or not, and so each hub's charge or credit under the rules in force.
    pub fn analyse_return(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        analysis: Analysis,
        request_id: Option<&str>,
    ) -> Result<HubReturn, HubError> {
        let (rules, _) = self.in_force(self.now());
        let charges = rules.return_charges;
        self.move_return(
            principal,
            key,
            expected,
            ReturnStatus::Analysed,
            request_id,
            |conn, row| {
                let lines = store::return_lines(conn, row.id)?;
                let on_return: HashSet<&str> =
                    lines.iter().map(|(l, _, _)| l.serial.as_str()).collect();
                let mut errors = ValidationErrors::default();
                let mut exceptions: HashMap<String, (bool, bool)> = HashMap::new();
                for (i, e) in analysis.exceptions.iter().enumerate() {
                    match HubSerial::parse(&e.serial) {
                        Some(s) if on_return.contains(s.as_str()) => {
                            exceptions.insert(s.into_string(), (e.fault_confirmed, e.redeployable));
                        }
                        _ => errors.push(
                            format!("exceptions[{i}].serial"),
                            "is not a hub of this return",
                        ),
                    }
                }
                if let Some(n) = optional_text("notes", analysis.notes.clone(), 4000, &mut errors) {
                    row.notes = Some(n);
                }
                errors.into_result()?;
                let mut outcomes: HashMap<Outcome, Vec<String>> = HashMap::new();
                let (mut charged, mut credited) = (0, 0);
                for (line, _, band) in &lines {
                    let (confirmed, redeployable) = exceptions
                        .get(&line.serial)
                        .copied()
                        .unwrap_or((analysis.fault_confirmed, analysis.redeployable));
                    // Only a hub returned as faulty can have its fault confirmed.
                    let confirmed = confirmed && line.faulty;
                    let (settlement, amount) = settle(&charges, band, confirmed, redeployable);
                    if settlement == "credit" {
                        credited += amount;
                    } else {
                        charged += amount;
                    }
                    outcomes
                        .entry(Outcome {
                            fault_confirmed: confirmed,
                            redeployable,
                            settlement,
                            amount_pence: amount,
                        })
                        .or_default()
                        .push(line.serial.clone());
                }
                store::record_outcomes(conn, row.id, &outcomes)?;
                row.charge_pence = Some(charged);
                row.credit_pence = Some(credited);
                Ok(())
            },
        )
    }

    /// One lifecycle step of a return, with `apply` making the step's own changes.
    fn move_return(
        &self,
        principal: &Principal,
        key: &str,
        expected: Option<i64>,
        to: ReturnStatus,
        request_id: Option<&str>,
        apply: impl FnOnce(&mut DbConnection, &mut ReturnRow) -> Result<(), HubError>,
    ) -> Result<HubReturn, HubError> {
        principal.require(Permission::ViewHubs, "see hub returns")?;
        let id = resolve_key(key, "RET")?;
        let now = self.now();
        self.db().write_blocking(|conn| {
            let before = store::return_visible(conn, principal, id)?;
            if !principal.can(Permission::ManageHubs) {
                return Err(super::forbidden("handle hub returns (the operator does)"));
            }
            if expected.is_some_and(|v| v != before.version) {
                return Err(HubError::VersionMismatch(before.version));
            }
            let from = ReturnStatus::parse(&before.status).unwrap_or(ReturnStatus::Requested);
            if !lifecycle::may(RETURN_TRANSITIONS, from, to, Mover::Operator) {
                return Err(HubError::Transition {
                    detail: format!("a return that is {from} cannot become {to}"),
                    allowed: lifecycle::allowed(RETURN_TRANSITIONS, from, Mover::Operator)
                        .iter()
                        .map(|s| s.as_str().to_owned())
                        .collect(),
                });
            }
            let mut row = before.clone();
            apply(conn, &mut row)?;
            row.status = to.as_str().to_owned();
            row.updated_at = timestamp(now);
            row.version += 1;
            if !store::update_return(conn, &row, before.version)? {
                return Err(HubError::VersionMismatch(before.version));
            }
            let opt = |v: Option<i64>| v.map_or(Value::Null, Value::from);
            let action = format!("hub_return.{to}");
            record(
                conn,
                now,
                principal,
                Some(row.organisation_id),
                &action,
                "hub_return",
                id,
                Changes::new()
                    .field("status", before.status.as_str(), row.status.as_str())
                    .field(
                        "charge_pence",
                        opt(before.charge_pence),
                        opt(row.charge_pence),
                    )
                    .field(
                        "credit_pence",
                        opt(before.credit_pence),
                        opt(row.credit_pence),
                    )
                    .field(
                        "notes",
                        before.notes.clone().map_or(Value::Null, Value::from),
                        row.notes.clone().map_or(Value::Null, Value::from),
                    ),
                request_id,
            )?;
            let hub_return = self.assemble_return(conn, row)?;
            emit(
                conn,
                now,
                &action,
                hub_return.organisation_id,
                "hub_return",
                return_event(&hub_return),
            )?;
            Ok(hub_return)
        })
    }

    /// The history of a return, oldest first.
    pub fn return_history(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<AuditEntry>, HubError> {
        principal.require(Permission::ViewHubs, "see hub returns")?;
        let id = resolve_key(key, "RET")?;
        Ok(self.db().read_blocking(|conn| {
            store::return_visible(conn, principal, id)?;
            Hubs::history_of(conn, "hub_return", id)
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmed_fault_is_credited_and_anything_else_charged() {
        let charges = crate::rules::RuleSet::default().return_charges;
        assert_eq!(settle(&charges, "single", true, false), ("credit", 3087));
        assert_eq!(settle(&charges, "dual", true, true), ("credit", 5875));
        assert_eq!(settle(&charges, "dual", false, true), ("charge", 827));
        assert_eq!(settle(&charges, "dual", false, false), ("charge", 5875));
        assert_eq!(settle(&charges, "single", false, false), ("charge", 3087));
    }
}
