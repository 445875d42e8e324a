//! The request SLA sweep, run periodically by every server instance like the incident sweep: it
//! raises each request's `request.sla_at_risk` and `request.sla_breached` event once, as an
//! outbox event the dispatcher fans out to webhooks and emails. The event table's primary key
//! records each (request, clock, kind) once, so instances sweeping at the same moment never
//! fire one twice.
//!
//! A request has one clock, `fulfilment`. A request found already breached (say, after the
//! server was down past its at-risk point) gets the breach event only: an at-risk warning would
//! arrive too late to help.

use dsms_core::sla::ClockState;
use dsms_store::timestamp;
use serde_json::Value;

use crate::model::RequestError;
use crate::service::{EVENT_KIND, ServiceRequests, event_payload};
use crate::sla_store;

/// The name of a request's only clock, as recorded and sent in events.
const CLOCK: &str = "fulfilment";

/// How many running requests one read of the sweep looks at.
const SWEEP_PAGE: i64 = 500;

/// What one request sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestSweepReport {
    /// At-risk events raised.
    pub at_risk: usize,
    /// Breach events raised.
    pub breached: usize,
}

impl ServiceRequests {
    /// One pass over every request whose clock still runs: raises each at-risk and breach event
    /// not raised yet, once however many instances sweep.
    pub fn sweep(&self) -> Result<RequestSweepReport, RequestError> {
        let now = self.now();
        let stamp = timestamp(now);
        let mut report = RequestSweepReport::default();
        let mut after = 0;
        loop {
            let (seen, last, due) = self.inner.db.read_blocking(|conn| {
                let rows = sla_store::running_after(conn, after, SWEEP_PAGE)?;
                let seen = rows.len();
                let last = rows.last().map(|r| r.id);
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let fired = sla_store::fired(conn, &ids, CLOCK)?;
                let due: Vec<(i64, &'static str)> = self
                    .assemble_all(conn, rows, now)?
                    .into_iter()
                    .filter_map(|request| {
                        let kind = match request.sla.state {
                            ClockState::AtRisk => "at_risk",
                            ClockState::Breached => "breached",
                            _ => return None,
                        };
                        let done = fired.iter().any(|(id, k)| *id == request.id && k == kind);
                        (!done).then_some((request.id, kind))
                    })
                    .collect();
                Ok::<_, RequestError>((seen, last, due))
            })?;
            for (id, kind) in due {
                let raised = self.inner.db.write_blocking(|conn| {
                    if !sla_store::record(conn, id, CLOCK, kind, stamp)? {
                        return Ok::<_, RequestError>(false);
                    }
                    let request = self.reload(conn, id, now)?;
                    let event = if kind == "breached" {
                        "request.sla_breached"
                    } else {
                        "request.sla_at_risk"
                    };
                    let mut payload = event_payload(event, now, &request);
                    payload["clock"] = Value::from(CLOCK);
                    dsms_store::outbox::enqueue(conn, now, EVENT_KIND, &payload)?;
                    Ok(true)
                })?;
                if raised {
                    if kind == "breached" {
                        report.breached += 1;
                    } else {
                        report.at_risk += 1;
                    }
                }
            }
            match last {
                Some(last) if i64::try_from(seen).is_ok_and(|n| n >= SWEEP_PAGE) => after = last,
                _ => break,
            }
        }
        Ok(report)
    }
}
