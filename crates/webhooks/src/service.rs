//! [`Webhooks`]: organisations' endpoints — register, read, change, delete, rotate the signing
//! secret, read delivery attempts. Every call takes the caller's [`Principal`]; visibility is the
//! storage layer's organisation scope, every change is audited in its own transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dsms_auth::credentials::tokens::random_token;
use dsms_auth::credentials::{MasterKey, SecretBox};
use dsms_core::{Page, PageRequest, Permission, Principal, SharedClock, ValidationErrors};
use dsms_notify::WorkerSettings;
use dsms_store::audit::{self, AuditEvent, Changes};
use dsms_store::{Db, timestamp};
use tokio::sync::Notify;

use crate::address::EndpointUrl;
use crate::delivery::DeliveryWorker;
use crate::dispatcher::EventDispatcher;
use crate::error::WebhookError;
use crate::events;
use crate::model::{Delivery, Endpoint, EndpointChanges, EndpointStatus, NewEndpoint};
use crate::settings::{NotificationSettings, WebhookSettings};
use crate::store::{self, EndpointEdit, EndpointRow, NewEndpointRow};

/// The purpose the signing-secret key is derived for; changing it makes every stored secret
/// unreadable.
const SECRET_KEY_PURPOSE: &str = "dsms webhook secrets v1";
/// Signing secrets start with this, so a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";
/// The most endpoints (active or disabled) one organisation may have.
pub const MAX_ENDPOINTS_PER_ORGANISATION: usize = 20;
/// The longest description.
const MAX_DESCRIPTION: usize = 500;
/// The audit log's name for endpoints.
pub(crate) const ENTITY: &str = "webhook_endpoint";

/// The webhook service; also builds the two workers. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
    pub(crate) secrets: SecretBox,
    pub(crate) settings: WebhookSettings,
    /// Wakes the delivery workers of this process when the dispatcher has queued deliveries.
    pub(crate) deliveries_due: Arc<Notify>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// The associated data binding a sealed secret to its endpoint: a sealed value copied to another
/// row does not open.
pub(crate) fn secret_binding(id: i64) -> String {
    format!("{ENTITY}:{id}")
}

fn forbidden_without_person(principal: &Principal) -> Result<i64, WebhookError> {
    principal.person_id().ok_or_else(|| {
        WebhookError::Forbidden(dsms_core::Forbidden(
            "manage webhooks with an API token".into(),
        ))
    })
}

fn description(value: Option<String>, errors: &mut ValidationErrors) -> String {
    let value = value.unwrap_or_default().trim().to_owned();
    if value.chars().count() > MAX_DESCRIPTION {
        errors.push(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
    }
    value
}

impl Webhooks {
    /// The service over `db`. Signing secrets are sealed under a key derived from `master_key`,
    /// which every instance must share.
    pub fn new(
        db: Db,
        clock: SharedClock,
        master_key: &MasterKey,
        settings: WebhookSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                secrets: SecretBox::new(master_key.derive(SECRET_KEY_PURPOSE)),
                settings,
                deliveries_due: Arc::new(Notify::new()),
            }),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    /// A worker that fans domain events out to subscribed endpoints and emails the people they
    /// concern (see [`crate::notifications`]).
    pub fn dispatcher(
        &self,
        pacing: WorkerSettings,
        notifications: NotificationSettings,
    ) -> EventDispatcher {
        EventDispatcher::new(self.clone(), pacing, notifications)
    }

    /// A worker that delivers queued webhooks.
    pub fn delivery_worker(&self, pacing: WorkerSettings) -> DeliveryWorker {
        DeliveryWorker::new(self.clone(), pacing)
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn seal(&self, secret: &str, id: i64) -> String {
        self.inner
            .secrets
            .seal(secret.as_bytes(), secret_binding(id).as_bytes())
    }

    /// The signing secret of `row`, for the delivery worker.
    pub(crate) fn open_secret(&self, row: &EndpointRow) -> Result<String, WebhookError> {
        self.inner
            .secrets
            .open(&row.secret_sealed, secret_binding(row.id).as_bytes())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(WebhookError::Secret(row.id))
    }

    fn parse_url(&self, text: &str, errors: &mut ValidationErrors) -> String {
        match EndpointUrl::parse(text, self.inner.settings.allow_insecure_localhost) {
            Ok(url) => url.as_str().to_owned(),
            Err(message) => {
                errors.push("url", message);
                String::new()
            }
        }
    }

    /// Registers an endpoint. Returns it with its signing secret, which is never shown again.
    pub fn register(
        &self,
        principal: &Principal,
        new: NewEndpoint,
        request_id: Option<&str>,
    ) -> Result<(Endpoint, String), WebhookError> {
        principal.require(Permission::ManageWebhooks, "manage webhooks")?;
        let person_id = forbidden_without_person(principal)?;
        let organisation_id = new.organisation_id.unwrap_or(principal.organisation_id);
        if !principal.sees_organisation(organisation_id) {
            return Err(WebhookError::Forbidden(dsms_core::Forbidden(
                "register webhooks for another organisation".into(),
            )));
        }
        let mut errors = ValidationErrors::default();
        let url = self.parse_url(&new.url, &mut errors);
        let chosen = events::parse_events(&new.events, &mut errors);
        let description = description(new.description, &mut errors);
        errors.into_result()?;
        let event_text = events::join(&chosen);
        let secret = random_token(SECRET_PREFIX);
        let now = self.now();
        let stamp = timestamp(now);
        let endpoint = self.inner.db.write_blocking(|conn| {
            if !store::organisation_exists(conn, organisation_id)? {
                return Err(ValidationErrors::from(dsms_core::FieldError::new(
                    "organisation_id",
                    "no such organisation",
                ))
                .into());
            }
            let existing = store::live_endpoint_count(conn, organisation_id)?;
            if usize::try_from(existing).unwrap_or(usize::MAX) >= MAX_ENDPOINTS_PER_ORGANISATION {
                return Err(WebhookError::TooMany(MAX_ENDPOINTS_PER_ORGANISATION));
            }
            let id = store::insert_endpoint(
                conn,
                &NewEndpointRow {
                    organisation_id,
                    url: &url,
                    description: &description,
                    events: &event_text,
                    // Sealed for the id, which exists only once inserted; same transaction.
                    secret_sealed: "",
                    status: store::ACTIVE,
                    consecutive_failures: 0,
                    created_by: person_id,
                    created_at: stamp,
                    updated_at: stamp,
                    version: 1,
                },
            )?;
            store::set_secret(conn, id, &self.seal(&secret, id))?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(organisation_id),
                    action: "webhook.created",
                    entity_type: ENTITY,
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .created("url", url.as_str())
                        .created("events", chosen.clone())
                        .created("description", description.as_str())
                        .created("status", store::ACTIVE),
                    request_id,
                },
            )?;
            Ok::<_, WebhookError>(Endpoint::from(store::endpoint(conn, id)?))
        })?;
        tracing::info!(
            endpoint_id = endpoint.id,
            organisation_id,
            "webhook endpoint registered"
        );
        Ok((endpoint, secret))
    }

    /// One page of the endpoints `principal` may see, oldest first.
    pub fn list(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Endpoint>, WebhookError> {
        principal.require(Permission::ManageWebhooks, "see webhooks")?;
        let rows = self
            .inner
            .db
            .read_blocking(|conn| store::endpoints_page(conn, principal, page))?;
        Ok(Page::from_rows(rows, page, |r| r.id).map(Endpoint::from))
    }

    /// One endpoint (not found when not visible to the caller, or deleted).
    pub fn get(&self, principal: &Principal, id: i64) -> Result<Endpoint, WebhookError> {
        principal.require(Permission::ManageWebhooks, "see webhooks")?;
        let row = self
            .inner
            .db
            .read_blocking(|conn| store::visible_endpoint(conn, principal, id))?;
        Ok(row.into())
    }

    /// Changes an endpoint. With `expected_version`, refuses when it changed since. Setting the
    /// status to `active` re-enables a disabled endpoint and forgets its failures.
    pub fn update(
        &self,
        principal: &Principal,
        id: i64,
        expected_version: Option<i64>,
        changes: EndpointChanges,
        request_id: Option<&str>,
    ) -> Result<Endpoint, WebhookError> {
        principal.require(Permission::ManageWebhooks, "change webhooks")?;
        forbidden_without_person(principal)?;
        let mut errors = ValidationErrors::default();
        let url = changes.url.map(|u| self.parse_url(&u, &mut errors));
        let chosen = changes
            .events
            .map(|e| events::parse_events(&e, &mut errors));
        let new_description = changes
            .description
            .map(|d| description(Some(d), &mut errors));
        let status = match changes.status.as_deref() {
            None => None,
            Some(text) => match EndpointStatus::parse(text) {
                Some(status) => Some(status),
                None => {
                    errors.push("status", "must be active or disabled");
                    None
                }
            },
        };
        errors.into_result()?;
        let now = self.now();
        let stamp = timestamp(now);
        self.inner.db.write_blocking(|conn| {
            let before = store::visible_endpoint(conn, principal, id)?;
            if expected_version.is_some_and(|v| v != before.version) {
                return Err(WebhookError::VersionMismatch(
                    expected_version.unwrap_or_default(),
                ));
            }
            let after_url = url.unwrap_or_else(|| before.url.clone());
            let after_events = chosen
                .as_deref()
                .map_or_else(|| before.events.clone(), events::join);
            let after_description = new_description.unwrap_or_else(|| before.description.clone());
            let after_status =
                status.map_or_else(|| before.status.clone(), |s| s.as_str().to_owned());
            let after_status = after_status.as_str();
            let re_enabled = after_status == store::ACTIVE && before.status != store::ACTIVE;
            let after_reason = match (after_status, before.status.as_str()) {
                (store::ACTIVE, _) => None,
                (_, store::ACTIVE) => Some("disabled by a person".to_owned()),
                _ => before.disabled_reason.clone(),
            };
            let changes = Changes::new()
                .field("url", before.url.as_str(), after_url.as_str())
                .field(
                    "events",
                    events::split(&before.events),
                    events::split(&after_events),
                )
                .field(
                    "description",
                    before.description.as_str(),
                    after_description.as_str(),
                )
                .field("status", before.status.as_str(), after_status)
                .field(
                    "disabled_reason",
                    before.disabled_reason.clone(),
                    after_reason.clone(),
                );
            if changes.is_empty() {
                return Ok(Endpoint::from(before));
            }
            let edited = store::edit_endpoint(
                conn,
                id,
                before.version,
                &EndpointEdit {
                    url: &after_url,
                    description: &after_description,
                    events: &after_events,
                    status: after_status,
                    disabled_reason: after_reason.as_deref(),
                    updated_at: stamp,
                    version: before.version + 1,
                },
            )?;
            if !edited {
                // A worker disabled it between our read and write: the caller's view is stale.
                return Err(WebhookError::VersionMismatch(before.version));
            }
            if re_enabled {
                store::reset_failures(conn, id)?;
            }
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(before.organisation_id),
                    action: "webhook.updated",
                    entity_type: ENTITY,
                    entity_id: id.to_string(),
                    changes,
                    request_id,
                },
            )?;
            Ok(Endpoint::from(store::endpoint(conn, id)?))
        })
    }

    /// Deletes an endpoint: it receives nothing more, its secret is destroyed, and its delivery
    /// history is kept for the audit trail. Deleting twice is not found the second time.
    pub fn delete(
        &self,
        principal: &Principal,
        id: i64,
        request_id: Option<&str>,
    ) -> Result<(), WebhookError> {
        principal.require(Permission::ManageWebhooks, "delete webhooks")?;
        forbidden_without_person(principal)?;
        let now = self.now();
        self.inner.db.write_blocking(|conn| {
            let before = store::visible_endpoint(conn, principal, id)?;
            store::delete_endpoint(conn, id, timestamp(now))?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(before.organisation_id),
                    action: "webhook.deleted",
                    entity_type: ENTITY,
                    entity_id: id.to_string(),
                    changes: Changes::new()
                        .field("status", before.status.as_str(), store::DELETED)
                        .field("url", before.url.as_str(), serde_json::Value::Null),
                    request_id,
                },
            )?;
            Ok(())
        })
    }

    /// Replaces an endpoint's signing secret at once; deliveries from now on (retries included)
    /// are signed with the new one. Returns the new secret, which is never shown again.
    pub fn rotate_secret(
        &self,
        principal: &Principal,
        id: i64,
        request_id: Option<&str>,
    ) -> Result<(Endpoint, String), WebhookError> {
        principal.require(Permission::ManageWebhooks, "rotate webhook secrets")?;
        forbidden_without_person(principal)?;
        let secret = random_token(SECRET_PREFIX);
        let now = self.now();
        let endpoint = self.inner.db.write_blocking(|conn| {
            let before = store::visible_endpoint(conn, principal, id)?;
            store::rotate_secret(conn, id, &self.seal(&secret, id), timestamp(now))?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor: &principal.actor,
                    organisation_id: Some(before.organisation_id),
                    action: "webhook.secret_rotated",
                    entity_type: ENTITY,
                    entity_id: id.to_string(),
                    changes: Changes::new().field("version", before.version, before.version + 1),
                    request_id,
                },
            )?;
            Ok::<_, WebhookError>(Endpoint::from(store::endpoint(conn, id)?))
        })?;
        Ok((endpoint, secret))
    }

    /// One page of an endpoint's delivery attempts, newest first.
    pub fn deliveries(
        &self,
        principal: &Principal,
        id: i64,
        page: PageRequest,
    ) -> Result<Page<Delivery>, WebhookError> {
        principal.require(Permission::ManageWebhooks, "see webhook deliveries")?;
        let rows = self.inner.db.read_blocking(|conn| {
            store::visible_endpoint(conn, principal, id)?;
            store::deliveries_page(conn, id, page)
        })?;
        Ok(Page::from_rows(rows, page, |d| d.id).map(Delivery::from))
    }
}
