//! The standard reports: each a name, a title, what it measures and which parameters it takes.

dsms_core::text_enum! {
    /// A standard report.
    ReportName {
        /// The SEC performance measures: share resolved within target per month and priority.
        SlaPerformance => "sla-performance",
        /// Incidents raised and resolved per period.
        ArrivalsResolutions => "arrivals-resolutions",
        /// Open incidents now, by priority and age.
        Backlog => "backlog",
        /// Mean and median times to respond and to resolve.
        ResponseResolutionTimes => "response-resolution-times",
        /// Incidents raised per period by category, organisation, group or priority.
        Volumes => "volumes",
        /// The share of resolved incidents that were reopened.
        ReopenRate => "reopen-rate",
        /// Incidents affecting the caller's organisation or the devices it is responsible for.
        NetworkDiagnostics => "network-diagnostics",
        /// Service requests raised and fulfilled per catalogue item, times to fulfil, met/missed.
        RequestFulfilment => "request-fulfilment",
        /// Hubs ordered against the forecast in force per delivery month, variant and region.
        HubForecastAccuracy => "hub-forecast-accuracy",
        /// Accepted hub orders delivered on time and in full per delivery month.
        HubDeliveryOtif => "hub-delivery-otif",
        /// Returned hubs per period, variant and reason, faulty or not.
        HubReturns => "hub-returns",
        /// The share of faulty returned hubs whose analysis confirmed the fault.
        HubFaultConfirmation => "hub-fault-confirmation",
        /// The self-service interface's availability: unplanned downtime minutes per month.
        Availability => "availability",
    }
}

/// One parameter reports accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParameterDoc {
    /// Its name in the query string.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// Every parameter, documented once.
pub const PARAMETERS: &[ParameterDoc] = &[
    ParameterDoc {
        name: "from",
        description: "First day of the period, YYYY-MM-DD (default: the first day of the month eleven months before `to`)",
    },
    ParameterDoc {
        name: "to",
        description: "Last day of the period, YYYY-MM-DD, inclusive (default: today)",
    },
    ParameterDoc {
        name: "granularity",
        description: "day, week (Monday to Sunday) or month (default month); days are counted in the business calendar's time zone",
    },
    ParameterDoc {
        name: "organisation_id",
        description: "Only this organisation's incidents (operator staff; others always see only their own)",
    },
    ParameterDoc {
        name: "priority",
        description: "Only incidents of this priority, 1 to 5",
    },
    ParameterDoc {
        name: "category",
        description: "Only incidents of this category code",
    },
    ParameterDoc {
        name: "group",
        description: "Only incidents assigned to this resolver group",
    },
    ParameterDoc {
        name: "by",
        description: "volumes: group by category, organisation (operator staff), group or priority (default category); request and hub reports: organisation gives one row per organisation (operator staff compare organisations; others see only their own)",
    },
    ParameterDoc {
        name: "status",
        description: "network-diagnostics: open (unresolved) or all (default all)",
    },
    ParameterDoc {
        name: "device",
        description: "network-diagnostics: only incidents naming this device, hub or meter-point id",
    },
    ParameterDoc {
        name: "region",
        description: "network-diagnostics: only incidents in this region; hub reports: only hub variants of this region (north, central or south)",
    },
];

/// A report as listed: what it is and what it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDefinition {
    /// Its name.
    pub name: ReportName,
    /// Its title.
    pub title: &'static str,
    /// What it measures and how.
    pub description: &'static str,
    /// The parameters it takes.
    pub parameters: &'static [&'static str],
}

const FILTERS: &[&str] = &[
    "from",
    "to",
    "granularity",
    "organisation_id",
    "priority",
    "category",
    "group",
];

/// The standard reports.
pub const REPORTS: &[ReportDefinition] = &[
    ReportDefinition {
        name: ReportName::SlaPerformance,
        title: "SLA performance",
        description: "Per period (by default per calendar month) and priority, the incidents resolved in the period, how many were resolved within the Target Resolution Time (met) and how many were not (missed), and the share met; the SEC measures group priorities 1-2 and 3-5 and compare the share with their configured target and minimum service level. Time waiting on the user does not count; working-hours targets skip nights, weekends and bank holidays. Cancelled incidents are not counted.",
        parameters: FILTERS,
    },
    ReportDefinition {
        name: ReportName::ArrivalsResolutions,
        title: "Arrivals and resolutions",
        description: "Per period, the incidents raised, the incidents resolved, and the difference (growth of the backlog).",
        parameters: FILTERS,
    },
    ReportDefinition {
        name: ReportName::Backlog,
        title: "Backlog",
        description: "Incidents not yet resolved now, per priority, in age bands since they were raised (under 1 day, 1-3 days, 3-7 days, 7-30 days, over 30 days), with how many are past their resolution target. The period is ignored: the backlog is the queue as it stands.",
        parameters: &["organisation_id", "priority", "category", "group"],
    },
    ReportDefinition {
        name: ReportName::ResponseResolutionTimes,
        title: "Response and resolution times",
        description: "Per period and priority, for incidents resolved in the period: the mean and median time to first response and to resolution, in minutes counted as the SLA clocks count them (working minutes for working-hours priorities, time waiting on the user excluded).",
        parameters: FILTERS,
    },
    ReportDefinition {
        name: ReportName::Volumes,
        title: "Volumes",
        description: "Per period, incidents raised, grouped by category, organisation, resolver group or priority (`by`).",
        parameters: &[
            "from",
            "to",
            "granularity",
            "organisation_id",
            "priority",
            "category",
            "group",
            "by",
        ],
    },
    ReportDefinition {
        name: ReportName::ReopenRate,
        title: "Reopen rate",
        description: "Per period, the incidents resolved in the period, how many of them were reopened at least once, and the share reopened.",
        parameters: FILTERS,
    },
    ReportDefinition {
        name: ReportName::NetworkDiagnostics,
        title: "Network diagnostics",
        description: "Incidents raised in the period by the caller's organisation or naming a device or hub registered to it as a network operator, with the fields field teams act on: reference, status, priority, category, devices, region, times and SLA state. Operator staff see every incident.",
        parameters: &[
            "from",
            "to",
            "organisation_id",
            "priority",
            "category",
            "group",
            "status",
            "device",
            "region",
        ],
    },
    ReportDefinition {
        name: ReportName::RequestFulfilment,
        title: "Request fulfilment",
        description: "Per period and catalogue item: service requests raised in the period, requests fulfilled in the period, the mean and median time to fulfil them in working minutes as their SLA clock counts it (working hours of the business calendar, a working day of the target being the configured working time, paused while the organisation's own administrator has yet to approve), and how many were fulfilled within the form version's target (met) or not (missed). Rejected and cancelled requests count as raised only.",
        parameters: OPERATIONS,
    },
    ReportDefinition {
        name: ReportName::HubForecastAccuracy,
        title: "Hub forecast accuracy",
        description: "Per delivery month in the period, variant and region: the hubs in the forecast in force (for each supplier the latest forecast submitted before the month's order cut-off, the cut-off of the ordering rules in force today), the hubs ordered for that month (orders not rejected or cancelled), and ordered divided by forecast. Months are delivery months; granularity is ignored.",
        parameters: HUBS_MONTHLY,
    },
    ReportDefinition {
        name: ReportName::HubDeliveryOtif,
        title: "Hub delivery on time in full",
        description: "Per delivery month in the period, the hub orders the operator accepted, the hubs they ordered, how many were delivered on time (consignments carrying the whole quantity have agreed delivery dates inside the delivery month), in full (the whole quantity dispatched, every consignment's receipt confirmed, no shortage or damage reported), and both, with the share on time in full and the orders still awaiting the receiver's confirmation. Granularity is ignored.",
        parameters: HUBS_MONTHLY,
    },
    ReportDefinition {
        name: ReportName::HubReturns,
        title: "Hub returns",
        description: "Per period (of the day the return was asked for), variant and reason: the hubs (serial numbers) returned, classed faulty or no-fault by their reason.",
        parameters: HUBS,
    },
    ReportDefinition {
        name: ReportName::HubFaultConfirmation,
        title: "Hub fault confirmation",
        description: "Per period (of the day the return was asked for) and variant: faulty hubs returned, how many have been analysed, how many of those the analysis confirmed as faulty or not, and the share confirmed of those analysed.",
        parameters: HUBS,
    },
    ReportDefinition {
        name: ReportName::Availability,
        title: "Self-service interface availability",
        description: "Per period (by default per calendar month): the minutes measured, the minutes of planned maintenance left out, the minutes of unplanned downtime and the share available. The server records every minute; a minute is down when no readiness check in it succeeded, when more than half the API requests answered in it were server errors, or when nothing was recorded for it (no server running). Measuring starts at the first minute recorded and ends a minute before now. The figures are the service's, the same for every organisation.",
        parameters: &["from", "to", "granularity"],
    },
];

/// Parameters of the request-fulfilment report.
const OPERATIONS: &[&str] = &["from", "to", "granularity", "organisation_id", "by"];

/// Parameters of hub reports per delivery month.
const HUBS_MONTHLY: &[&str] = &["from", "to", "organisation_id", "by", "region"];

/// Parameters of hub reports per period.
const HUBS: &[&str] = &[
    "from",
    "to",
    "granularity",
    "organisation_id",
    "by",
    "region",
];

impl ReportName {
    /// The report's definition.
    pub fn definition(self) -> &'static ReportDefinition {
        REPORTS
            .iter()
            .find(|d| d.name == self)
            .unwrap_or(&REPORTS[0])
    }
}
