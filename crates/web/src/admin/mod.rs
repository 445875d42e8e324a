//! Administration at `/admin`: organisations (operator administrators), the people of one's
//! organisation, API tokens, webhooks and their deliveries, the audit log, and a read-only view
//! of the SLA targets and the business calendar. Every page checks the permission it needs
//! before it reads anything; the context crates check again, and scope every read to the
//! caller's organisation.

mod audit;
pub(crate) mod fields;
mod organisations;
mod people;
mod service_levels;
mod tokens;
mod webhooks;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use dsms_api::ApiError;
use dsms_api::auth::blocking;
use dsms_core::{Permission, Principal};

use crate::csrf;
use crate::nav::{Area, Menu};
use crate::page::{Caching, PageError, show};
use crate::session::WebSession;
use crate::site::Site;

/// Mounts every administration page.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(index))
        .configure(organisations::configure)
        .configure(people::configure)
        .configure(tokens::configure)
        .configure(webhooks::configure)
        .configure(audit::configure)
        .configure(service_levels::configure);
}

/// A sign-in that may act: the person has chosen their password.
#[derive(Debug, Clone)]
pub(crate) struct Acting {
    /// The session, for the UI's context and the CSRF token.
    pub session: WebSession,
}

impl Acting {
    /// The session, refused while the person must first choose a new password.
    pub fn of(session: WebSession) -> Result<Self, PageError> {
        session.require_password_chosen()?;
        Ok(Self { session })
    }

    /// Who acts.
    pub fn principal(&self) -> &Principal {
        &self.session.authenticated.principal
    }

    /// The site, for headers and cookies.
    pub fn site(&self) -> &Site {
        &self.session.ui.site
    }

    /// The section menu, with `area` marked current.
    pub fn menu(&self, area: Area) -> Menu {
        Menu::of(self.principal(), area)
    }

    /// The token every form on the page carries.
    pub fn csrf_token(&self) -> String {
        self.session.csrf_token().to_owned()
    }

    /// Refuses (403) a person without `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), Refusal> {
        if self.principal().can(permission) {
            Ok(())
        } else {
            Err(Refusal::forbidden(self.site()))
        }
    }

    /// Refuses (403) a person with none of `permissions`.
    pub fn require_any(&self, permissions: &[Permission]) -> Result<(), Refusal> {
        if permissions.iter().any(|p| self.principal().can(*p)) {
            Ok(())
        } else {
            Err(Refusal::forbidden(self.site()))
        }
    }

    /// The facts about the browser's request recorded with audited changes.
    pub fn client(&self, req: &HttpRequest) -> dsms_auth::Client {
        dsms_api::auth::client_of(req)
    }

    /// Accepts a form post only from this site with the session's token.
    pub fn check_form(&self, req: &HttpRequest, given: &str) -> Result<(), PageError> {
        csrf::check_session_form(
            req,
            self.site(),
            self.session.authenticated.csrf_token.as_deref(),
            given,
        )
    }

    /// Runs context work (database, hashing) on a blocking thread. The outer error is a failure
    /// to run it at all; the inner one is the context's answer, for the page to branch on.
    pub async fn call<T, E, F>(&self, work: F) -> Result<Result<T, E>, PageError>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        blocking(move || Ok(work()))
            .await
            .map_err(|error| PageError::Failure {
                site: self.site().clone(),
                error,
            })
    }
}

/// The permissions that open the administration area: any one of them.
const ADMINISTRATION: &[Permission] = &[
    Permission::ManageOrganisations,
    Permission::ManagePeople,
    Permission::ManageApiTokens,
    Permission::ManageWebhooks,
    Permission::ViewAudit,
];

/// Why a page is not shown: the general page failures, or a refusal with its own page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// Sign-in needed, a rejected form, a failure.
    #[error(transparent)]
    Page(#[from] PageError),
    /// Not allowed (403) or not there (404): never says which records exist elsewhere.
    #[error("refused with {status}")]
    Shown {
        /// The site, for the headers.
        site: Site,
        /// 403 or 404.
        status: StatusCode,
    },
}

impl Refusal {
    /// 403: the person may not use this page.
    pub fn forbidden(site: &Site) -> Self {
        Self::Shown {
            site: site.clone(),
            status: StatusCode::FORBIDDEN,
        }
    }

    /// 404: no such record, or not visible to this person.
    pub fn not_found(site: &Site) -> Self {
        Self::Shown {
            site: site.clone(),
            status: StatusCode::NOT_FOUND,
        }
    }

    /// A context's answer that is neither success nor a field error: 403 and 404 get their
    /// pages, anything else is a failure.
    pub fn from_context(site: &Site, error: impl Into<ApiError>) -> Self {
        match error.into() {
            ApiError::Forbidden(_) => Self::forbidden(site),
            ApiError::NotFound => Self::not_found(site),
            error => Self::Page(PageError::Failure {
                site: site.clone(),
                error,
            }),
        }
    }
}

/// The page shown for a refusal.
#[derive(Template)]
#[template(path = "error.html")]
struct RefusalPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Page(error) => error.status_code(),
            Self::Shown { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Page(error) => error.error_response(),
            Self::Shown { site, status } => {
                let page = if *status == StatusCode::FORBIDDEN {
                    RefusalPage {
                        title: "You cannot use this page",
                        message: "Your roles do not allow this. Ask your organisation's \
                                  administrator if you need it.",
                    }
                } else {
                    RefusalPage {
                        title: "Page not found",
                        message: "There is nothing here, or it is not visible to you. Check \
                                  the address or go back to the list.",
                    }
                };
                show(site, *status, Caching::NoStore, &page)
                    .unwrap_or_else(|error| error.error_response())
            }
        }
    }
}

/// A page result: the response, or why there is none.
pub(crate) type Answer = Result<HttpResponse, Refusal>;

/// One section of the administration area, as listed on its start page.
struct Section {
    href: &'static str,
    name: &'static str,
    about: &'static str,
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    csrf_token: String,
    menu: Menu,
    sections: Vec<Section>,
}

/// The sections `principal` may use, in the order they are listed.
fn sections(principal: &Principal) -> Vec<Section> {
    let all = [
        (
            Permission::ManageOrganisations,
            Section {
                href: "/admin/organisations",
                name: "Organisations",
                about: "Register the organisations that use the network, their SEC roles and standing.",
            },
        ),
        (
            Permission::ManagePeople,
            Section {
                href: "/admin/people",
                name: "People",
                about: "Invite people, change their roles, deactivate them or reset their authenticator.",
            },
        ),
        (
            Permission::ManageApiTokens,
            Section {
                href: "/admin/tokens",
                name: "API tokens",
                about: "Issue and revoke the tokens your systems use to call the API.",
            },
        ),
        (
            Permission::ManageWebhooks,
            Section {
                href: "/admin/webhooks",
                name: "Webhooks",
                about: "Endpoints that receive incident events, and their delivery attempts.",
            },
        ),
        (
            Permission::ViewAudit,
            Section {
                href: "/admin/audit",
                name: "Audit log",
                about: "Every sign-in, role change, token and record change, with CSV export.",
            },
        ),
    ];
    let mut shown: Vec<Section> = all
        .into_iter()
        .filter(|(permission, _)| principal.can(*permission))
        .map(|(_, section)| section)
        .collect();
    if !shown.is_empty() {
        shown.push(Section {
            href: "/admin/service-levels",
            name: "Service levels and calendar",
            about: "The priority matrix, target times, working hours and bank holidays in force.",
        });
    }
    shown
}

async fn index(session: WebSession) -> Answer {
    let acting = Acting::of(session)?;
    acting.require_any(ADMINISTRATION)?;
    let page = IndexPage {
        csrf_token: acting.csrf_token(),
        menu: acting.menu(Area::Administration),
        sections: sections(acting.principal()),
    };
    Ok(show(
        acting.site(),
        StatusCode::OK,
        Caching::Private,
        &page,
    )?)
}

/// Formats a stored UTC time for people.
pub(crate) fn when(at: chrono::NaiveDateTime) -> String {
    at.format("%-d %b %Y %H:%M UTC").to_string()
}

/// Formats an optional stored UTC time, with `none` when absent.
pub(crate) fn when_or(at: Option<chrono::NaiveDateTime>, none: &str) -> String {
    at.map_or_else(|| none.to_owned(), when)
}
