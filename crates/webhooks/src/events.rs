//! The events an endpoint can subscribe to, and which subscriptions match an event.

use dsms_core::ValidationErrors;

/// Every event type an endpoint may choose, as the incident service emits them.
pub const EVENT_TYPES: &[&str] = &[
    "incident.created",
    "incident.updated",
    "incident.assigned",
    "incident.comment_added",
    "incident.resolved",
    "incident.reopened",
    "incident.closed",
    "incident.cancelled",
    "incident.attachment_added",
    "incident.sla_at_risk",
    "incident.sla_breached",
    "request.submitted",
    "request.approval_due",
    "request.approved",
    "request.rejected",
    "request.fulfilment_started",
    "request.task_completed",
    "request.fulfilled",
    "request.closed",
    "request.cancelled",
    "request.comment_added",
    "request.attachment_added",
    "request.sla_at_risk",
    "request.sla_breached",
    "hub_forecast.submitted",
    "hub_order.submitted",
    "hub_order.accepted",
    "hub_order.rejected",
    "hub_order.amended",
    "hub_order.cancelled",
    "hub_order.dispatched",
    "hub_order.discrepancy_reported",
    "hub_order.delivered",
    "hub_order.consignments_amended",
    "hub_order.delivery_deemed_accepted",
    "hub_discrepancy.opened",
    "hub_discrepancy.extended",
    "hub_discrepancy.investigating",
    "hub_discrepancy.settled",
    "hub_discrepancy.rejected",
    "hub_return.requested",
    "hub_return.authorised",
    "hub_return.collected",
    "hub_return.received",
    "hub_return.analysed",
    "hub_return.closed",
];

/// Subscribes to every incident event, including types added later.
pub const ALL_INCIDENT_EVENTS: &str = "incident.*";

/// Subscribes to every service-request event, including types added later.
pub const ALL_REQUEST_EVENTS: &str = "request.*";

/// The most event names one endpoint may list.
const MAX_EVENTS: usize = 32;

/// Checks a chosen list of events: each must be a known type or `incident.*`; duplicates are
/// dropped, the order kept.
pub(crate) fn parse_events(chosen: &[String], errors: &mut ValidationErrors) -> Vec<String> {
    let mut events: Vec<String> = Vec::new();
    if chosen.is_empty() {
        errors.push("events", "must name at least one event");
    } else if chosen.len() > MAX_EVENTS {
        errors.push("events", format!("must name at most {MAX_EVENTS} events"));
    }
    for (i, raw) in chosen.iter().enumerate() {
        let event = raw.trim();
        if event != ALL_INCIDENT_EVENTS
            && event != ALL_REQUEST_EVENTS
            && !EVENT_TYPES.contains(&event)
        {
            errors.push(
                format!("events[{i}]"),
                format!(
                    "unknown event {event:?}; expected {ALL_INCIDENT_EVENTS}, {ALL_REQUEST_EVENTS} or one of {}",
                    EVENT_TYPES.join(", ")
                ),
            );
        } else if !events.iter().any(|e| e == event) {
            events.push(event.to_owned());
        }
    }
    events
}

/// The events as stored: space-separated.
pub(crate) fn join(events: &[String]) -> String {
    events.join(" ")
}

/// The events as stored, split again.
pub(crate) fn split(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_owned).collect()
}

/// True when an endpoint subscribed to `stored` (space-separated) wants `event_type`: a listed
/// type, or a wildcard `area.*` for the event's area.
pub(crate) fn subscribed(stored: &str, event_type: &str) -> bool {
    stored.split_whitespace().any(|chosen| {
        chosen == event_type
            || chosen.strip_suffix('*').is_some_and(|area| {
                area.ends_with('.') && event_type.starts_with(area) && event_type.len() > area.len()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_events_and_the_wildcard_are_accepted_once_each() {
        let mut errors = ValidationErrors::default();
        let events = parse_events(
            &[
                "incident.created".into(),
                " incident.resolved ".into(),
                "incident.created".into(),
                "incident.*".into(),
            ],
            &mut errors,
        );
        assert!(errors.0.is_empty(), "{errors:?}");
        assert_eq!(
            events,
            ["incident.created", "incident.resolved", "incident.*"]
        );
    }

    #[test]
    fn unknown_and_missing_events_name_their_field() {
        let mut errors = ValidationErrors::default();
        parse_events(
            &[
                "incident.created".into(),
                "incident.deleted".into(),
                "*".into(),
            ],
            &mut errors,
        );
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["events[1]", "events[2]"]);

        let mut errors = ValidationErrors::default();
        parse_events(&[], &mut errors);
        assert_eq!(errors.0[0].field, "events");
    }

    #[test]
    fn subscriptions_match_exact_types_and_area_wildcards_only() {
        assert!(subscribed(
            "incident.created incident.resolved",
            "incident.resolved"
        ));
        assert!(!subscribed("incident.created", "incident.updated"));
        assert!(subscribed("incident.*", "incident.comment_added"));
        assert!(!subscribed("incident.*", "request.created"));
        assert!(subscribed("request.*", "request.approved"));
        assert!(!subscribed("incident.*", "incident."));
        assert!(!subscribed("incident.created", "incident.created_later"));
        assert!(!subscribed("", "incident.created"));
    }
}
