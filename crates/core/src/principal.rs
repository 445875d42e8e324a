//! Who acts, for which organisation, and what they may do: the one permission model every
//! context consults.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Actor;
use crate::roles::{OrganisationKind, Role};
use crate::text_enum;

text_enum! {
    /// One thing a caller may do. Roles and API-token scopes grant sets of these.
    Permission {
        /// Register organisations and change their standing (operator administrators).
        ManageOrganisations => "manage_organisations",
        /// Add and change the operator's own staff.
        ManageStaff => "manage_staff",
        /// Invite, change, deactivate people of one's organisation and reset their MFA.
        ManagePeople => "manage_people",
        /// See the people of the organisations one can see.
        ViewPeople => "view_people",
        /// Issue and revoke one's organisation's API tokens.
        ManageApiTokens => "manage_api_tokens",
        /// Read the audit log of the organisations one can see.
        ViewAudit => "view_audit",
        /// Raise incidents.
        RaiseIncidents => "raise_incidents",
        /// See incidents.
        ViewIncidents => "view_incidents",
        /// Triage, assign, work and resolve incidents (service desk).
        WorkIncidents => "work_incidents",
        /// Override priorities, declare major incidents (service-desk managers).
        ManageIncidents => "manage_incidents",
        /// Raise service requests.
        RaiseRequests => "raise_requests",
        /// See service requests.
        ViewRequests => "view_requests",
        /// Fulfil service requests (service desk).
        WorkRequests => "work_requests",
        /// Approve service requests at one's step.
        ApproveRequests => "approve_requests",
        /// Maintain the service catalogue.
        ManageCatalogue => "manage_catalogue",
        /// Forecast, order and return communications hubs.
        OrderHubs => "order_hubs",
        /// See hub forecasts, orders and returns.
        ViewHubs => "view_hubs",
        /// Accept, dispatch and analyse hub orders and returns (operator).
        ManageHubs => "manage_hubs",
        /// Read reports and diagnostics.
        ViewReports => "view_reports",
        /// Register and manage one's organisation's webhook endpoints.
        ManageWebhooks => "manage_webhooks",
    }
}

impl Role {
    /// What the role may do — the single table of the product's permission model.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::DccAdmin => &[
                ManageOrganisations,
                ManageStaff,
                ManagePeople,
                ViewPeople,
                ViewAudit,
                ViewIncidents,
                ViewRequests,
                ManageCatalogue,
                ViewHubs,
                ManageHubs,
                ViewReports,
                ManageWebhooks,
            ],
            Role::ServiceDeskManager => &[
                ViewPeople,
                ViewAudit,
                RaiseIncidents,
                ViewIncidents,
                WorkIncidents,
                ManageIncidents,
                ViewRequests,
                WorkRequests,
                ApproveRequests,
                ViewHubs,
                ManageHubs,
                ViewReports,
            ],
            Role::ServiceDeskAgent => &[
                ViewPeople,
                RaiseIncidents,
                ViewIncidents,
                WorkIncidents,
                ViewRequests,
                WorkRequests,
                ViewHubs,
                ViewReports,
            ],
            Role::OrgAdmin => &[
                ManagePeople,
                ViewPeople,
                ManageApiTokens,
                ViewAudit,
                RaiseIncidents,
                ViewIncidents,
                RaiseRequests,
                ViewRequests,
                ApproveRequests,
                OrderHubs,
                ViewHubs,
                ViewReports,
                ManageWebhooks,
            ],
            Role::OrgUser => &[
                RaiseIncidents,
                ViewIncidents,
                RaiseRequests,
                ViewRequests,
                OrderHubs,
                ViewHubs,
            ],
            Role::OrgReporter => &[ViewIncidents, ViewRequests, ViewHubs, ViewReports],
        }
    }
}

text_enum! {
    /// What an organisation's API token may do. Tokens never manage people, tokens or audit.
    Scope {
        /// Read the organisation's incidents.
        IncidentsRead => "incidents:read",
        /// Raise, update and comment on the organisation's incidents.
        IncidentsWrite => "incidents:write",
        /// Read the organisation's service requests.
        RequestsRead => "requests:read",
        /// Raise and follow the organisation's service requests.
        RequestsWrite => "requests:write",
        /// Read the organisation's hub forecasts, orders and returns.
        HubsRead => "hubs:read",
        /// Submit hub forecasts, orders and returns.
        HubsWrite => "hubs:write",
        /// Read the organisation's reports and diagnostics.
        ReportsRead => "reports:read",
    }
}

impl Scope {
    /// What the scope allows.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Scope::IncidentsRead => &[ViewIncidents],
            Scope::IncidentsWrite => &[ViewIncidents, RaiseIncidents],
            Scope::RequestsRead => &[ViewRequests],
            Scope::RequestsWrite => &[ViewRequests, RaiseRequests],
            Scope::HubsRead => &[ViewHubs],
            Scope::HubsWrite => &[ViewHubs, OrderHubs],
            Scope::ReportsRead => &[ViewReports],
        }
    }

    /// Parses `incidents:*`-style wildcards as well as single scopes.
    pub fn parse_pattern(text: &str) -> Option<Vec<Scope>> {
        match text.strip_suffix(":*") {
            Some(area) => {
                let matched: Vec<Scope> = Scope::ALL
                    .iter()
                    .copied()
                    .filter(|s| s.as_str().split(':').next() == Some(area))
                    .collect();
                (!matched.is_empty()).then_some(matched)
            }
            None => Scope::parse(text).map(|s| vec![s]),
        }
    }
}

/// An authenticated caller: who, for which organisation, allowed to do what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Who acts (a person or an API token).
    pub actor: Actor,
    /// The organisation acted for.
    pub organisation_id: i64,
    /// Whether that organisation is the operator.
    pub organisation_kind: OrganisationKind,
    /// The person's roles; empty for API tokens.
    pub roles: Vec<Role>,
    /// Everything the caller may do.
    pub permissions: BTreeSet<Permission>,
    /// The person's name or the API token's name, as shown on what they create.
    pub display_name: String,
}

/// A caller lacks a permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("you are not allowed to {0}")]
pub struct Forbidden(pub String);

impl Principal {
    /// A person with `roles` in their organisation.
    pub fn person(
        id: i64,
        organisation_id: i64,
        organisation_kind: OrganisationKind,
        roles: Vec<Role>,
    ) -> Self {
        let permissions = roles
            .iter()
            .flat_map(|r| r.permissions().iter().copied())
            .collect();
        Self {
            actor: Actor::Person {
                id,
                organisation_id,
            },
            organisation_id,
            organisation_kind,
            roles,
            permissions,
            display_name: String::new(),
        }
    }

    /// The same principal with the name shown on what it creates.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// An organisation's system acting through an API token with `scopes`.
    pub fn api_token(id: i64, organisation_id: i64, scopes: &[Scope]) -> Self {
        Self {
            actor: Actor::ApiToken {
                id,
                organisation_id,
            },
            organisation_id,
            organisation_kind: OrganisationKind::User,
            roles: Vec::new(),
            permissions: scopes
                .iter()
                .flat_map(|s| s.permissions().iter().copied())
                .collect(),
            display_name: String::new(),
        }
    }

    /// True when the caller may do `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// `Ok` when the caller may do `permission`; `what` completes "you are not allowed to …".
    pub fn require(&self, permission: Permission, what: &str) -> Result<(), Forbidden> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Forbidden(what.to_owned()))
        }
    }

    /// The operator's staff see every organisation; everyone else sees only their own.
    pub fn is_operator_staff(&self) -> bool {
        self.organisation_kind == OrganisationKind::Operator
            && matches!(self.actor, Actor::Person { .. })
    }

    /// The only organisation whose records the caller may see, or `None` for all of them.
    pub fn visible_organisation(&self) -> Option<i64> {
        (!self.is_operator_staff()).then_some(self.organisation_id)
    }

    /// True when the caller may see records of `organisation_id`.
    pub fn sees_organisation(&self, organisation_id: i64) -> bool {
        self.visible_organisation()
            .is_none_or(|own| own == organisation_id)
    }

    /// The person acting, if a person acts.
    pub fn person_id(&self) -> Option<i64> {
        match self.actor {
            Actor::Person { id, .. } => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_see_everything_and_organisations_only_themselves() {
        let agent = Principal::person(
            1,
            10,
            OrganisationKind::Operator,
            vec![Role::ServiceDeskAgent],
        );
        assert_eq!(agent.visible_organisation(), None);
        assert!(agent.sees_organisation(99));

        let user = Principal::person(2, 20, OrganisationKind::User, vec![Role::OrgUser]);
        assert_eq!(user.visible_organisation(), Some(20));
        assert!(!user.sees_organisation(21));
    }

    #[test]
    fn permissions_come_from_roles_and_scopes() {
        let admin = Principal::person(1, 20, OrganisationKind::User, vec![Role::OrgAdmin]);
        assert!(admin.can(Permission::ManageApiTokens));
        assert!(!admin.can(Permission::ManageOrganisations));
        assert!(
            admin
                .require(Permission::ManageStaff, "manage staff")
                .is_err()
        );

        let token = Principal::api_token(5, 20, &[Scope::IncidentsWrite]);
        assert!(token.can(Permission::RaiseIncidents));
        assert!(!token.can(Permission::ManagePeople));
        assert_eq!(token.visible_organisation(), Some(20));
    }

    #[test]
    fn scope_patterns_expand() {
        assert_eq!(
            Scope::parse_pattern("requests:*"),
            Some(vec![Scope::RequestsRead, Scope::RequestsWrite])
        );
        assert_eq!(
            Scope::parse_pattern("hubs:read"),
            Some(vec![Scope::HubsRead])
        );
        assert_eq!(Scope::parse_pattern("admin:*"), None);
    }

    #[test]
    fn only_operator_administrators_manage_organisations_and_staff() {
        for role in Role::ALL {
            let manages = role
                .permissions()
                .contains(&Permission::ManageOrganisations)
                || role.permissions().contains(&Permission::ManageStaff);
            assert_eq!(manages, *role == Role::DccAdmin, "{role}");
        }
    }
}
