//! Incidents as the network produces them: mostly communications-hub and meter faults, mostly
//! low priority, nearly all resolved within target and closed after the reopen window; the
//! newest still open in every state. Each incident draws from its own random stream (seed and
//! number), so the data does not depend on how it is batched.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use dsms_core::sla::ClockHours;
use dsms_incident::{Impact, IncidentPolicy, Urgency};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::Cast;
use super::calendar::WorkingWindows;
use super::load::{
    AuditRow, Batch, CommentRow, DetailsRow, DeviceRow, IncidentRow, PauseRow, SlaEventRow,
};

const SURNAMES: &[&str] = &[
    "Ahmed", "Baker", "Campbell", "Davies", "Evans", "Fraser", "Green", "Hughes", "Iqbal", "Jones",
    "Khan", "Lewis", "Morgan", "Nolan", "Owen", "Patel", "Quinn", "Roberts", "Smith", "Taylor",
    "Usman", "Vaughan", "Walker", "Young",
];
const GIVEN: &[&str] = &[
    "Alex", "Bethan", "Chris", "Deepa", "Emma", "Farah", "Gareth", "Hannah", "Imran", "Jo",
    "Kieran", "Laura", "Mohammed", "Niamh", "Olu", "Priya", "Rhys", "Sam", "Tom", "Zoe",
];
const COMPANIES: &[&str] = &[
    "Albion",
    "Brightwater",
    "Caledonia",
    "Dunmore",
    "Ember",
    "Fenland",
    "Greystone",
    "Harbour",
    "Isca",
    "Juniper",
    "Kestrel",
    "Lomond",
    "Meridian",
    "Northgate",
    "Oakfield",
    "Pennine",
];
const REGIONS: &[&str] = &[
    "North Scotland",
    "South Scotland",
    "North West",
    "North East",
    "Yorkshire",
    "North Wales and Mersey",
    "East Midlands",
    "West Midlands",
    "East England",
    "South Wales",
    "South West",
    "South",
    "London",
    "South East",
];

/// A surname, for naming seeded people.
pub(super) fn surname(n: usize) -> &'static str {
    SURNAMES[n % SURNAMES.len()]
}

/// A full name, for naming seeded people.
pub(super) fn full_name(n: usize) -> String {
    format!(
        "{} {}",
        GIVEN[n % GIVEN.len()],
        SURNAMES[(n / GIVEN.len() + n) % SURNAMES.len()]
    )
}

/// A company name, for naming seeded organisations.
pub(super) fn company(n: usize) -> &'static str {
    COMPANIES[n % COMPANIES.len()]
}

/// What incidents of a category are about, and who works them.
struct Theme {
    code: &'static str,
    weight: u32,
    group: &'static str,
    titles: &'static [&'static str],
    details: &'static [&'static str],
    resolutions: &'static [&'static str],
}

const THEMES: &[Theme] = &[
    Theme {
        code: "communications_hub",
        weight: 30,
        group: "Comms Hub Support",
        titles: &[
            "Communications hub {d} offline",
            "Hub {d} not responding to service requests",
            "Firmware update failed on hub {d}",
            "Hub {d} lost WAN connectivity",
            "Intermittent mesh connection on hub {d}",
        ],
        details: &[
            "The hub stopped answering after the overnight firmware window.",
            "Signal strength reported as poor since installation.",
            "Service requests time out with no response from the hub.",
            "Alerts show repeated power outage and restoration events.",
        ],
        resolutions: &[
            "hub_replaced",
            "firmware_reapplied",
            "wan_restored",
            "no_fault_found",
        ],
    },
    Theme {
        code: "smart_meter",
        weight: 22,
        group: "Meter Support",
        titles: &[
            "Electricity meter {d} not commissioned",
            "Gas meter {d} readings missing",
            "Meter {d} tariff update rejected",
            "Prepayment top-up not applied on meter {d}",
            "Meter {d} clock drift alert",
        ],
        details: &[
            "Daily reads have been missing for several days.",
            "The device reports an unexpected security credential.",
            "The consumer reports the in-home display shows no balance.",
            "Commissioning failed at the final join step.",
        ],
        resolutions: &[
            "device_rejoined",
            "credentials_replaced",
            "config_corrected",
            "no_fault_found",
        ],
    },
    Theme {
        code: "service_request_failure",
        weight: 15,
        group: "DSP Operations",
        titles: &[
            "Service request failures for device {d}",
            "Response codes E65 for requests to {d}",
            "Scheduled reads not returned for {d}",
            "Duplicate responses received for {d}",
        ],
        details: &[
            "A batch of service requests failed with error responses.",
            "Responses arrived hours after the request was accepted.",
            "The request was acknowledged but never completed.",
        ],
        resolutions: &["queue_cleared", "request_replayed", "config_corrected"],
    },
    Theme {
        code: "user_gateway",
        weight: 8,
        group: "DSP Operations",
        titles: &[
            "Gateway connection refused for {d}",
            "Slow acknowledgements on the user gateway ({d})",
            "Certificate rejected by the gateway for {d}",
        ],
        details: &[
            "Our adapter cannot establish a session since the last certificate renewal.",
            "Acknowledgement latency exceeds the agreed limits.",
        ],
        resolutions: &["certificate_renewed", "capacity_added", "config_corrected"],
    },
    Theme {
        code: "self_service_interface",
        weight: 6,
        group: "Service Desk",
        titles: &[
            "Cannot download the device report for {d}",
            "Self-service search times out for {d}",
            "Portal shows wrong install status for {d}",
        ],
        details: &[
            "The page shows an error after a long wait.",
            "Colleagues see the same problem from several locations.",
        ],
        resolutions: &["defect_fixed", "user_guidance", "no_fault_found"],
    },
    Theme {
        code: "security",
        weight: 2,
        group: "Security Operations",
        titles: &[
            "Anomaly detection threshold breached for {d}",
            "Unexpected key rotation on {d}",
            "Suspicious command sequence sent to {d}",
        ],
        details: &[
            "Anomaly detection quarantined a command set.",
            "The security operations centre requests confirmation from the supplier.",
        ],
        resolutions: &[
            "threshold_adjusted",
            "confirmed_legitimate",
            "credentials_replaced",
        ],
    },
    Theme {
        code: "data_registration",
        weight: 9,
        group: "Data Services",
        titles: &[
            "Registration data mismatch for {d}",
            "MPxN {d} linked to the wrong supplier",
            "Missing inventory record for {d}",
        ],
        details: &[
            "The registration data provider shows a different supplier.",
            "The device is installed but missing from the smart metering inventory.",
        ],
        resolutions: &[
            "inventory_corrected",
            "registration_updated",
            "user_guidance",
        ],
    },
    Theme {
        code: "order_management",
        weight: 5,
        group: "Order Management",
        titles: &[
            "Hub delivery short for order {d}",
            "Damaged hubs received in consignment {d}",
            "Order {d} not visible in the forecast",
        ],
        details: &[
            "The consignment arrived with fewer hubs than ordered.",
            "Pallets arrived damaged; photographs attached to the delivery note.",
        ],
        resolutions: &["replacement_sent", "order_corrected", "credit_issued"],
    },
    Theme {
        code: "other",
        weight: 3,
        group: "Service Desk",
        titles: &[
            "General enquiry about {d}",
            "Query about incident handling for {d}",
        ],
        details: &["Please advise on the expected behaviour."],
        resolutions: &["user_guidance", "no_fault_found"],
    },
];

const DESK_REPLIES: &[&str] = &[
    "We are investigating and will update you shortly.",
    "Diagnostics show the device last communicated yesterday evening.",
    "A field visit may be needed; can you confirm site access?",
    "The fix has been applied; please confirm the device now responds.",
    "Escalated to the second-line team for analysis.",
];
const RAISER_REPLIES: &[&str] = &[
    "Thanks, the consumer confirms the problem continues.",
    "Site access confirmed for tomorrow morning.",
    "We can confirm the device is now responding.",
    "Further devices in the same area show the same symptom.",
];
const WORK_NOTES: &[&str] = &[
    "Checked head-end logs: repeated join failures.",
    "Linked to the known problem with the last firmware batch.",
    "Raised with the communications service provider.",
];

/// Weighted choice over `weights`.
fn pick(rng: &mut SmallRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut roll = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    weights.len() - 1
}

fn stamp(t: DateTime<Utc>) -> NaiveDateTime {
    dsms_store::timestamp(t)
}

fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Makes incidents, batch by batch.
pub(crate) struct Generator<'a> {
    policy: &'a IncidentPolicy,
    cast: &'a Cast,
    windows: WorkingWindows,
    seed: u64,
    start: DateTime<Utc>,
    until: DateTime<Utc>,
    total: u64,
    category_weights: Vec<u32>,
    organisation_weights: Vec<u32>,
}

impl<'a> Generator<'a> {
    /// Incidents `1..=total`, raised evenly from `start` to `until`.
    pub fn new(
        policy: &'a IncidentPolicy,
        cast: &'a Cast,
        seed: u64,
        start: DateTime<Utc>,
        until: DateTime<Utc>,
        total: u64,
    ) -> Self {
        // Far enough past the end for the longest due time of the newest incidents.
        let windows = WorkingWindows::new(&policy.calendar, start, until + Duration::days(400));
        let category_weights = THEMES
            .iter()
            .map(|t| {
                if policy.category(t.code).is_some() {
                    t.weight
                } else {
                    0
                }
            })
            .collect();
        // A few large suppliers raise most incidents.
        let organisation_weights = (0..cast.organisations.len())
            .map(|i| (1000.0 / (i as f64 + 1.0).powf(0.9)) as u32 + 1)
            .collect();
        Self {
            policy,
            cast,
            windows,
            seed,
            start,
            until,
            total,
            category_weights,
            organisation_weights,
        }
    }

    /// How many incidents in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Incidents `first..=last`, with everything recorded about them; comments are numbered
    /// from `first_comment`.
    pub fn batch(&self, first: u64, last: u64, first_comment: i64) -> Batch {
        let mut batch = Batch::default();
        let mut comment_id = first_comment;
        for n in first..=last {
            self.incident(n, &mut comment_id, &mut batch);
        }
        batch
    }

    fn incident(&self, n: u64, comment_id: &mut i64, out: &mut Batch) {
        let mut rng = SmallRng::seed_from_u64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let id = n as i64;
        let span = (self.until - self.start).num_seconds() as f64;
        // Evenly spread and increasing with the id, as the product numbers them.
        let offset = ((n as f64 - 1.0 + rng.random::<f64>()) / self.total as f64) * span;
        let created = self.start + Duration::seconds(offset as i64);
        let theme = &THEMES[pick(&mut rng, &self.category_weights)];
        let org = &self.cast.organisations[pick(&mut rng, &self.organisation_weights)];
        let impact = [1, 2, 3, 4][pick(&mut rng, &[2, 10, 45, 43])];
        let urgency = [1, 2, 3, 4][pick(&mut rng, &[3, 15, 50, 32])];
        let priority = self.policy.matrix.priority(
            Impact::parse(impact).unwrap_or(Impact::LOWEST),
            Urgency::parse(urgency).unwrap_or(Urgency::LOWEST),
        );
        let targets = self.policy.targets(priority);
        let channel = ["api", "portal", "email", "telephone"][pick(&mut rng, &[45, 40, 10, 5])];
        let agent =
            |rng: &mut SmallRng| &self.cast.agents[rng.random_range(0..self.cast.agents.len())];
        let (raised_by_kind, raised_by_id, raised_by_name) = match channel {
            "api" => ("api_token", org.token.0, org.token.1.clone()),
            "portal" => {
                let p = &org.people[rng.random_range(0..org.people.len())];
                ("person", p.0, p.1.clone())
            }
            _ => {
                let a = agent(&mut rng);
                ("person", a.0, a.1.clone())
            }
        };
        let device_count = [0, 1, 2, 3][pick(&mut rng, &[15, 65, 15, 5])];
        let mut devices: Vec<String> = Vec::new();
        for _ in 0..device_count {
            let device = if rng.random_bool(0.7) {
                format!(
                    "00-1D-{:02X}-FF-FE-{:02X}-{:02X}-{:02X}",
                    rng.random_range(0..8u8),
                    rng.random::<u8>(),
                    rng.random::<u8>(),
                    rng.random_range(0..64u8)
                )
            } else {
                format!(
                    "{:013}",
                    1_000_000_000_000u64 + rng.random_range(0..200_000u64) * 7919
                )
            };
            if !devices.contains(&device) {
                devices.push(device);
            }
        }
        let subject = devices
            .first()
            .cloned()
            .unwrap_or_else(|| format!("SP{:04}", 1000 + org.id));
        let title = theme.titles[rng.random_range(0..theme.titles.len())].replace("{d}", &subject);
        let region = REGIONS[rng.random_range(0..REGIONS.len())];
        let description = format!(
            "{} {} Region: {region}. Devices affected: {}.",
            theme.details[rng.random_range(0..theme.details.len())],
            theme.details[rng.random_range(0..theme.details.len())],
            if devices.is_empty() {
                "none recorded".to_owned()
            } else {
                devices.join(", ")
            },
        );

        // The SLA story: how far into each target the desk responded and resolved.
        let hours = targets.hours;
        let fraction = |rng: &mut SmallRng, late: f64| -> f64 {
            if rng.random_bool(late) {
                1.0 + rng.random::<f64>() * 1.5
            } else {
                0.02 + rng.random::<f64>().powf(1.6) * 0.95
            }
        };
        let scaled = |d: Duration, f: f64| Duration::seconds((d.num_seconds() as f64 * f) as i64);
        let response_fraction = fraction(&mut rng, 0.03);
        let responded =
            self.windows
                .add(hours, created, scaled(targets.response, response_fraction));
        let resolution_fraction = fraction(&mut rng, 0.08);
        // One in eight waits on the raiser for a while after the first response.
        let pause = rng.random_bool(0.12).then(|| {
            let from = responded + Duration::minutes(rng.random_range(5..120));
            (from, from + Duration::minutes(rng.random_range(60..4_000)))
        });
        let resolution_with =
            |pause: Option<(DateTime<Utc>, DateTime<Utc>)>, amount: Duration| match pause {
                Some((from, to)) => {
                    let before = self.windows.between(hours, created, from);
                    if amount <= before {
                        self.windows.add(hours, created, amount)
                    } else {
                        self.windows.add(hours, to, amount - before)
                    }
                }
                None => self.windows.add(hours, created, amount),
            };
        let resolved =
            resolution_with(pause, scaled(targets.resolution, resolution_fraction)).max(responded);
        let cancelled = rng.random_bool(0.02);
        let now = self.until;
        // The pause as the product would have recorded it by now; due times count only that.
        let recorded =
            pause.filter(|p| !cancelled && responded <= now && p.0 <= now && p.0 < resolved);
        let resolution_at = |amount: Duration| resolution_with(recorded, amount);
        let closed = self.windows.add(
            ClockHours::WorkingHours,
            resolved,
            self.policy.reopen_window,
        ) + Duration::minutes(rng.random_range(1..30));

        let group = theme.group;
        let assignee = agent(&mut rng);
        let mut row = IncidentRow {
            id,
            reference: format!("INC{id:07}"),
            organisation_id: org.id,
            raised_by_kind,
            raised_by_id,
            raised_by_name: raised_by_name.clone(),
            channel,
            title,
            description,
            category: theme.code,
            subcategory: None,
            impact: impact as i32,
            urgency: urgency as i32,
            priority: i32::from(priority.get()),
            status: "new",
            assignment_group: None,
            assignee_id: None,
            resolution_code: None,
            major: priority.get() == 1 && rng.random_bool(0.05),
            parent_id: None,
            duplicate_of_id: None,
            responded_at: None,
            resolved_at: None,
            closed_at: None,
            response_due_at: None,
            resolution_due_at: None,
            response_at_risk_at: None,
            resolution_at_risk_at: None,
            created_at: stamp(created),
            updated_at: stamp(created),
            version: 1,
        };
        let raiser_actor = (raised_by_kind, raised_by_id.to_string());
        let desk_actor = ("person", assignee.0.to_string());
        let mut changes_made = 0i64;
        let mut audit = |at: DateTime<Utc>,
                         actor: &(&'static str, String),
                         action: &'static str,
                         changes: String| {
            changes_made += 1;
            out.audit.push(AuditRow {
                occurred_at: stamp(at),
                actor_kind: actor.0,
                actor_id: actor.1.clone(),
                organisation_id: Some(org.id),
                action,
                entity_type: "incident",
                entity_id: id.to_string(),
                changes,
                request_id: None,
            });
        };
        audit(
            created,
            &raiser_actor,
            "incident.created",
            format!(
                "{{\"category\":{{\"from\":null,\"to\":\"{}\"}},\"channel\":{{\"from\":null,\"to\":\"{channel}\"}},\"impact\":{{\"from\":null,\"to\":{impact}}},\"priority\":{{\"from\":null,\"to\":{}}},\"reference\":{{\"from\":null,\"to\":\"{}\"}},\"status\":{{\"from\":null,\"to\":\"new\"}},\"title\":{{\"from\":null,\"to\":{}}},\"urgency\":{{\"from\":null,\"to\":{urgency}}}}}",
                theme.code,
                row.priority,
                row.reference,
                quoted(&row.title)
            ),
        );
        let iso = |t: DateTime<Utc>| stamp(t).and_utc().to_rfc3339();
        let mut last_change = created;
        let mut pauses_open = Vec::new();
        if cancelled {
            let at = created + Duration::minutes(rng.random_range(10..600));
            if at <= now {
                row.status = "cancelled";
                row.closed_at = Some(stamp(at));
                last_change = at;
                audit(
                    at,
                    &raiser_actor,
                    "incident.updated",
                    format!(
                        "{{\"closed_at\":{{\"from\":null,\"to\":\"{}\"}},\"status\":{{\"from\":\"new\",\"to\":\"cancelled\"}}}}",
                        iso(at)
                    ),
                );
            }
        } else if responded <= now {
            row.status = "assigned";
            row.assignment_group = Some(group);
            row.assignee_id = Some(assignee.0);
            row.responded_at = Some(stamp(responded));
            last_change = responded;
            audit(
                responded,
                &desk_actor,
                "incident.updated",
                format!(
                    "{{\"assignee_id\":{{\"from\":null,\"to\":{}}},\"assignment_group\":{{\"from\":null,\"to\":\"{group}\"}},\"responded_at\":{{\"from\":null,\"to\":\"{}\"}},\"status\":{{\"from\":\"new\",\"to\":\"assigned\"}}}}",
                    assignee.0,
                    iso(responded)
                ),
            );
            if let Some((from, to)) = recorded {
                row.status = "awaiting_user";
                last_change = from;
                audit(
                    from,
                    &desk_actor,
                    "incident.updated",
                    "{\"status\":{\"from\":\"assigned\",\"to\":\"awaiting_user\"}}".to_owned(),
                );
                let ended = (to <= now).then_some(to);
                out.pauses.push(PauseRow {
                    incident_id: id,
                    reason: "awaiting_user",
                    started_at: stamp(from),
                    ended_at: ended.map(stamp),
                });
                pauses_open.push((from, ended));
                if let Some(to) = ended {
                    row.status = "in_progress";
                    last_change = to;
                    audit(
                        to,
                        &desk_actor,
                        "incident.updated",
                        "{\"status\":{\"from\":\"awaiting_user\",\"to\":\"in_progress\"}}"
                            .to_owned(),
                    );
                }
            }
            if resolved <= now && row.status != "awaiting_user" {
                let code = theme.resolutions[rng.random_range(0..theme.resolutions.len())];
                let before = row.status;
                row.status = "resolved";
                row.resolution_code = Some(code);
                row.resolved_at = Some(stamp(resolved));
                last_change = resolved;
                audit(
                    resolved,
                    &desk_actor,
                    "incident.updated",
                    format!(
                        "{{\"resolution_code\":{{\"from\":null,\"to\":\"{code}\"}},\"resolved_at\":{{\"from\":null,\"to\":\"{}\"}},\"status\":{{\"from\":\"{before}\",\"to\":\"resolved\"}}}}",
                        iso(resolved)
                    ),
                );
                if closed <= now {
                    row.status = "closed";
                    row.closed_at = Some(stamp(closed));
                    last_change = closed;
                    audit(
                        closed,
                        &("system", "auto-close".to_owned()),
                        "incident.updated",
                        format!(
                            "{{\"closed_at\":{{\"from\":null,\"to\":\"{}\"}},\"status\":{{\"from\":\"resolved\",\"to\":\"closed\"}}}}",
                            iso(closed)
                        ),
                    );
                }
            } else if row.status == "assigned" && rng.random_bool(0.5) {
                row.status = "in_progress";
                audit(
                    responded,
                    &desk_actor,
                    "incident.updated",
                    "{\"status\":{\"from\":\"assigned\",\"to\":\"in_progress\"}}".to_owned(),
                );
            }
        }

        // The conversation, up to the last change (or now, for open incidents).
        let open = matches!(
            row.status,
            "new" | "assigned" | "in_progress" | "awaiting_user"
        );
        let talk_until = if open { now } else { last_change };
        let comments = [0, 1, 2, 3, 4][pick(&mut rng, &[30, 30, 20, 12, 8])];
        let mut times: Vec<DateTime<Utc>> = (0..comments)
            .map(|_| {
                let seconds = (talk_until - created).num_seconds().max(1);
                created + Duration::seconds(rng.random_range(0..seconds))
            })
            .collect();
        times.sort();
        for at in times {
            let from_desk =
                row.responded_at.is_some_and(|r| r.and_utc() <= at) && rng.random_bool(0.6);
            let internal = from_desk && rng.random_bool(0.3);
            let (kind, author, name, body) = if from_desk {
                let body = if internal {
                    WORK_NOTES[rng.random_range(0..WORK_NOTES.len())]
                } else {
                    DESK_REPLIES[rng.random_range(0..DESK_REPLIES.len())]
                };
                ("person", assignee.0, assignee.1.clone(), body)
            } else {
                (
                    raised_by_kind,
                    raised_by_id,
                    raised_by_name.clone(),
                    RAISER_REPLIES[rng.random_range(0..RAISER_REPLIES.len())],
                )
            };
            out.comments.push(CommentRow {
                id: *comment_id,
                incident_id: id,
                author_kind: kind,
                author_id: author,
                author_name: name,
                body,
                internal,
                created_at: stamp(at),
            });
            audit(
                at,
                &(kind, author.to_string()),
                if internal {
                    "incident.work_note_added"
                } else {
                    "incident.comment_added"
                },
                format!(
                    "{{\"comment_id\":{{\"from\":null,\"to\":{}}}}}",
                    *comment_id
                ),
            );
            *comment_id += 1;
            last_change = last_change.max(at);
        }

        // SLA events fire once each threshold passes while the clock still runs.
        let response_due = self.windows.add(hours, created, targets.response);
        let response_risk = self.windows.add(
            hours,
            created,
            scaled(targets.response, self.policy.at_risk_fraction),
        );
        let resolution_due = resolution_at(targets.resolution);
        let resolution_risk =
            resolution_at(scaled(targets.resolution, self.policy.at_risk_fraction));
        let response_stop = row
            .responded_at
            .or(row.closed_at)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let resolution_stop = row
            .resolved_at
            .or(row.closed_at)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        for (clock, kind, at, stop) in [
            ("response", "at_risk", response_risk, response_stop),
            ("response", "breached", response_due, response_stop),
            ("resolution", "at_risk", resolution_risk, resolution_stop),
            ("resolution", "breached", resolution_due, resolution_stop),
        ] {
            if at < stop && at <= now {
                out.sla_events.push(SlaEventRow {
                    incident_id: id,
                    clock,
                    kind,
                    fired_at: stamp(at),
                });
            }
        }
        // Running clocks store their due and at-risk instants for the queues and the sweeper.
        if open {
            if row.responded_at.is_none() {
                row.response_due_at = Some(stamp(response_due));
                row.response_at_risk_at = Some(stamp(response_risk));
            }
            let paused_now = pauses_open
                .iter()
                .any(|p: &(DateTime<Utc>, Option<DateTime<Utc>>)| p.1.is_none());
            if !paused_now {
                row.resolution_due_at = Some(stamp(resolution_due));
                row.resolution_at_risk_at = Some(stamp(resolution_risk));
            }
        }
        row.updated_at = stamp(last_change);
        // Every change after the first write bumped the version once.
        row.version = changes_made;
        out.details.push(DetailsRow {
            incident_id: id,
            contact: (raised_by_kind == "person").then(|| raised_by_name.clone()),
            region: Some(region),
            fault_started_at: Some(stamp(
                created - Duration::minutes(rng.random_range(5..2_000)),
            )),
            message_ids: None,
            priority_reason: None,
            resolution_notes: row
                .resolution_code
                .map(|c| format!("Resolved: {}.", c.replace('_', " "))),
        });
        for device in devices {
            out.devices.push(DeviceRow {
                incident_id: id,
                device_id: device,
            });
        }
        out.incidents.push(row);
    }
}
