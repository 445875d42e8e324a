//! Webhooks for organisations' systems: an organisation admin registers HTTPS endpoints and
//! chooses the events they receive; dsms POSTs each event to each subscribed endpoint, signed,
//! retried with back-off, every attempt recorded; an endpoint failing for a long time is
//! disabled and its organisation's administrators are emailed.
//!
//! Domain events are outbox rows of kind `event` written by the context crates in the same
//! transaction as the change. The [`EventDispatcher`] — their only consumer — fans each out,
//! exactly once, into one outbox row of kind `webhook` per subscribed endpoint and, in the same
//! transaction, into the emails the [`notifications`] rules call for (outbox rows of kind
//! `email`, sent by `dsms-notify`'s worker); the [`DeliveryWorker`] sends the webhooks,
//! outside any transaction, and records outcomes in short ones. Both lease rows the way the
//! email worker does, so several server instances share the work without duplicating it.
//!
//! Depends on `dsms-core`, `dsms-store`, `dsms-auth` (for sealing secrets) and `dsms-notify`
//! (to queue emails) only; knows nothing of HTTP routing, nor of the contexts that emit events.
//!
//! # What a receiver gets
//!
//! `POST <url>` with the event as a JSON body (`Content-Type: application/json`), e.g.
//! `{"type": "incident.created", "occurred_at": "…", "organisation_id": "12", "incident": {…}}`,
//! and these headers:
//!
//! | header | value |
//! | --- | --- |
//! | `Dsms-Event` | the event type, e.g. `incident.resolved` |
//! | `Dsms-Delivery` | the delivery id: the same on every retry of one event to one endpoint |
//! | `Dsms-Timestamp` | when this attempt was signed, in Unix seconds |
//! | `Dsms-Signature` | `v1=<hex>`: see below |
//!
//! Any 2xx answer within the timeout (`webhooks.timeout_secs`, 10 s by default) counts as
//! delivered; anything else — another status, a redirect, a timeout, a refused connection — is
//! retried with exponential back-off and jitter (the `[outbox]` settings) and, after
//! `outbox.max_attempts`, given up. Delivery is at least once, and in order only as far as
//! retries allow (a retried event arrives after later ones): **de-duplicate on
//! `Dsms-Delivery`** and use the event's `incident.version` to ignore stale news.
//!
//! # The signature
//!
//! `Dsms-Signature: v1=<hex>`, where `<hex>` is the lowercase hexadecimal HMAC-SHA256 keyed with
//! the endpoint's signing secret (the whole `whsec_…` text, as UTF-8 bytes, exactly as shown
//! when the endpoint was created or its secret rotated) of the message
//!
//! ```text
//! <Dsms-Timestamp value> "." <raw request body bytes>
//! ```
//!
//! To verify, a receiver:
//!
//! 1. takes the raw body bytes as received (before any JSON parsing, which may reorder keys);
//! 2. refuses the request if `Dsms-Timestamp` is more than 5 minutes from its own clock
//!    (replay protection; [`signature::RECOMMENDED_TOLERANCE_SECS`]);
//! 3. computes `hex(HMAC-SHA256(secret, timestamp + "." + body))`;
//! 4. accepts if it equals, compared in constant time, any `v1=` entry of the comma-separated
//!    `Dsms-Signature` header (today there is exactly one; several may be sent in future, e.g.
//!    while a rotated secret is phased in), and ignores entries of other versions.
//!
//! In Python:
//!
//! ```text
//! expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
//! ok = abs(time.time() - int(ts)) <= 300 and any(
//!     hmac.compare_digest(expected, s.strip()[3:])
//!     for s in header.split(",") if s.strip().startswith("v1="))
//! ```
//!
//! [`signature::verify`] does the same for receivers written in Rust.
//!
//! # Secrets and safety
//!
//! The signing secret is shown once (on create and on rotation) and stored only sealed
//! (XChaCha20-Poly1305 under a key derived from the server's master key, bound to the endpoint's
//! row). Endpoints must be `https://`, without credentials in the URL, and may not point at
//! private, link-local, loopback or reserved addresses — not as an IP literal, nor through a host
//! name resolving to one at delivery time; redirects are not followed. `webhooks.
//! allow_insecure_localhost` admits loopback (over `http://` too) for development and tests.
//! Bodies and secrets are never logged.

mod address;
mod client;
mod delivery;
mod dispatcher;
mod error;
pub mod events;
mod model;
pub mod notifications;
mod recipients;
mod request_notifications;
mod runner;
mod service;
mod settings;
pub mod signature;
mod store;

pub use address::EndpointUrl;
pub use delivery::DeliveryWorker;
pub use dispatcher::{EVENT_KIND, EventDispatcher, WEBHOOK_KIND};
pub use error::WebhookError;
pub use model::{Delivery, Endpoint, EndpointChanges, EndpointStatus, NewEndpoint};
pub use request_notifications::render_request_email;
pub use service::{MAX_ENDPOINTS_PER_ORGANISATION, SECRET_PREFIX, Webhooks};
pub use settings::{NotificationSettings, WebhookSettings};
