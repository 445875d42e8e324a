//! The section menu under the masthead: the areas of the UI a signed-in person may use, from
//! their permissions, with the current one marked for assistive technology.

use dsms_core::{Permission, Principal};

/// One entry of the menu.
#[derive(Debug, Clone)]
pub(crate) struct MenuItem {
    /// Where it leads.
    pub href: &'static str,
    /// What it is called.
    pub label: &'static str,
    /// The page shown is in this area.
    pub current: bool,
}

/// The areas a person may use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Menu {
    /// In the order shown.
    pub items: Vec<MenuItem>,
}

/// An area of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    /// The agents' queues at `/desk`.
    Workspace,
    /// The desk's charts at `/desk/dashboard`.
    Dashboard,
    /// Organisations' incidents at `/portal`.
    Portal,
    /// Administration at `/admin`.
    Administration,
    /// An incident's own page: part of whichever list led there.
    Incident,
    /// Communications hubs: `/portal/hubs` for organisations, `/desk/hubs` for the operator.
    Hubs,
    /// Reports and scheduled reports at `/reports`.
    Reports,
    /// Organisations' service requests and the catalogue at `/portal/requests`.
    Requests,
    /// The service desk's request queues at `/desk/requests`.
    RequestQueue,
    /// A service request's own page: part of whichever list led there.
    Request,
}

/// Any of these opens the administration area.
const ADMINISTRATION: &[Permission] = &[
    Permission::ManageOrganisations,
    Permission::ManagePeople,
    Permission::ManageApiTokens,
    Permission::ManageWebhooks,
    Permission::ViewAudit,
];

impl Menu {
    /// The menu for `principal`, with `area` marked current.
    pub fn of(principal: &Principal, area: Area) -> Self {
        let desk = principal.can(Permission::WorkIncidents);
        let portal = !principal.is_operator_staff() && principal.can(Permission::ViewIncidents);
        let admin = ADMINISTRATION.iter().any(|p| principal.can(*p));
        let fulfils = principal.can(Permission::WorkRequests);
        let requests = !principal.is_operator_staff() && principal.can(Permission::ViewRequests);
        let hubs = principal.can(Permission::ViewHubs);
        let hubs_home = if principal.is_operator_staff() {
            "/desk/hubs"
        } else {
            "/portal/hubs"
        };
        let reports = principal.can(Permission::ViewReports);
        let entries = [
            (desk, "/desk", "Workspace", Area::Workspace),
            (desk, "/desk/dashboard", "Dashboard", Area::Dashboard),
            (portal, "/portal", "Incidents", Area::Portal),
            (fulfils, "/desk/requests", "Requests", Area::RequestQueue),
            (requests, "/portal/requests", "Requests", Area::Requests),
            (hubs, hubs_home, "Hubs", Area::Hubs),
            (reports, "/reports", "Reports", Area::Reports),
            (admin, "/admin", "Administration", Area::Administration),
        ];
        let lists_incidents = if desk { Area::Workspace } else { Area::Portal };
        let lists_requests = if fulfils {
            Area::RequestQueue
        } else {
            Area::Requests
        };
        Self {
            items: entries
                .into_iter()
                .filter(|(allowed, ..)| *allowed)
                .map(|(_, href, label, of)| MenuItem {
                    href,
                    label,
                    current: of == area
                        || (area == Area::Incident && of == lists_incidents)
                        || (area == Area::Request && of == lists_requests),
                })
                .collect(),
        }
    }
}
