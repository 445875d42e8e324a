//! The service desk's dashboard at `/desk/dashboard`: unresolved incidents by priority, their
//! resolution clocks (on track, at risk, breached, paused) and arrivals against resolutions over
//! the last 30 days, as SVG charts drawn on the server with the numbers as tables beside them.
//! The figures are counted by the incident service in a fixed handful of indexed queries.

use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use dsms_incident::Incidents;

use crate::admin::{Answer, Refusal};
use crate::charts::{self, Bar, Series};
use crate::desk::desk_worker;
use crate::nav::{Area, Menu};
use crate::page::{Caching, show};
use crate::session::WebSession;

/// Mounts the dashboard.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/desk/dashboard", web::get().to(dashboard));
}

/// How many days the arrivals chart covers.
const DAYS: i64 = 30;

/// A colour per priority, darkest for the most severe; all at least 3:1 on white.
const PRIORITY_COLOURS: [&str; 5] = ["#8a1c12", "#b3261e", "#8a5a00", "#0b4f6c", "#5a6673"];

/// One row of a chart's table.
struct Figure {
    label: String,
    value: i64,
}

/// One day of the arrivals table.
struct Day {
    date: String,
    arrivals: i64,
    resolutions: i64,
}

#[derive(Template)]
#[template(path = "desk/dashboard.html")]
struct DashboardPage {
    csrf_token: String,
    menu: Menu,
    unresolved: i64,
    at_risk: i64,
    breached: i64,
    arrived_today: i64,
    by_priority_svg: String,
    by_priority: Vec<Figure>,
    sla_svg: String,
    sla: Vec<Figure>,
    flow_svg: String,
    days: Vec<Day>,
}

async fn dashboard(session: WebSession, incidents: web::Data<Incidents>) -> Answer {
    let acting = desk_worker(session)?;
    let principal = acting.principal().clone();
    let service = incidents.clone();
    let figures = acting
        .call(move || service.figures(&principal, DAYS))
        .await?
        .map_err(|e| Refusal::from_context(acting.site(), e))?;
    let by_priority: Vec<Figure> = figures
        .unresolved_by_priority
        .iter()
        .enumerate()
        .map(|(i, n)| Figure {
            label: format!("P{}", i + 1),
            value: *n,
        })
        .collect();
    let by_priority_svg = charts::bars(
        "by-priority",
        "Unresolved incidents by priority",
        &by_priority
            .iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect::<Vec<_>>()
            .join(", "),
        &by_priority
            .iter()
            .zip(PRIORITY_COLOURS)
            .map(|(f, colour)| Bar {
                label: f.label.clone(),
                value: f.value,
                colour,
            })
            .collect::<Vec<_>>(),
    );
    let sla = vec![
        Figure {
            label: "On track".into(),
            value: figures.on_track,
        },
        Figure {
            label: "At risk".into(),
            value: figures.at_risk,
        },
        Figure {
            label: "Breached".into(),
            value: figures.breached,
        },
        Figure {
            label: "Paused".into(),
            value: figures.paused,
        },
    ];
    let sla_svg = charts::bars(
        "sla",
        "Resolution clocks of unresolved incidents",
        &sla.iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect::<Vec<_>>()
            .join(", "),
        &sla.iter()
            .zip(["#1e6b3a", "#8a5a00", "#b3261e", "#5a6673"])
            .map(|(f, colour)| Bar {
                label: f.label.clone(),
                value: f.value,
                colour,
            })
            .collect::<Vec<_>>(),
    );
    let days: Vec<Day> = figures
        .arrivals
        .iter()
        .zip(&figures.resolutions)
        .map(|((date, arrivals), (_, resolutions))| Day {
            date: date.format("%-d %b").to_string(),
            arrivals: *arrivals,
            resolutions: *resolutions,
        })
        .collect();
    let (raised, resolved): (i64, i64) = days
        .iter()
        .fold((0, 0), |(a, r), d| (a + d.arrivals, r + d.resolutions));
    let flow_svg = charts::lines(
        "flow",
        "Incidents raised and resolved per day, last 30 days",
        &format!("{raised} raised and {resolved} resolved over the last {DAYS} days"),
        &days.iter().map(|d| d.date.clone()).collect::<Vec<_>>(),
        &[
            Series {
                name: "Raised",
                colour: "#0b4f6c",
                dashed: false,
                values: days.iter().map(|d| d.arrivals).collect(),
            },
            Series {
                name: "Resolved",
                colour: "#1e6b3a",
                dashed: true,
                values: days.iter().map(|d| d.resolutions).collect(),
            },
        ],
        7,
    );
    let page = DashboardPage {
        csrf_token: acting.csrf_token(),
        menu: Menu::of(acting.principal(), Area::Dashboard),
        unresolved: figures.unresolved_by_priority.iter().sum(),
        at_risk: figures.at_risk,
        breached: figures.breached,
        arrived_today: days.last().map_or(0, |d| d.arrivals),
        by_priority_svg,
        by_priority,
        sla_svg,
        sla,
        flow_svg,
        days,
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::Private,
        &page,
    )?)
}
