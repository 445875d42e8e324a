//! Who is calling: the `Authorization: Bearer` credential checked once per request, and the
//! client facts (address, user agent, request id) recorded with sign-ins and audit rows.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use dsms_auth::{Authenticated, Client, Identity};
use dsms_core::Principal;
use dsms_store::Db;

use crate::extract::RequestId;
use crate::problem::ApiError;
use crate::state::ApiState;

/// Runs blocking work (database, password hashing) off the async threads.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    web::block(work)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}

fn state(req: &HttpRequest) -> Result<web::Data<ApiState>, ApiError> {
    req.app_data::<web::Data<ApiState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("API state missing".into()))
}

/// The facts about the calling client.
pub fn client_of(req: &HttpRequest) -> Client {
    let trust_forwarded = state(req).is_ok_and(|s| s.trust_forwarded_for);
    Client {
        ip: crate::rate_limit::caller_address(req, trust_forwarded).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(300).collect()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
    }
}

/// The caller's client facts, as an extractor.
#[derive(Debug, Clone)]
pub struct ClientInfo(pub Client);

impl FromRequest for ClientInfo {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self(client_of(req))))
    }
}

/// A bearer credential taken from the request but not yet checked, with the client facts.
/// A route that checks it inside the task doing its own work saves a hand-off to a blocking
/// thread and back (two thread wake-ups) per request; [`Bearer::read`] lets a short read skip
/// the hand-off altogether.
pub struct Bearer {
    identity: Identity,
    db: Db,
    token: String,
    client: Client,
}

impl Bearer {
    fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        let state = state(req)?;
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "send Authorization: Bearer with an access token or API token".into(),
                )
            })?;
        Ok(Self {
            identity: state.identity.clone(),
            db: state.db.clone(),
            token,
            client: client_of(req),
        })
    }

    /// Checks the credential, on the calling thread: call it from blocking work.
    fn authenticate(self) -> Result<(Authenticated, Client), ApiError> {
        let authenticated = self.identity.authenticate_bearer(&self.token)?;
        Ok((authenticated, self.client))
    }

    /// The caller, as [`Caller`] would extract it; call it from blocking work.
    pub fn caller(self) -> Result<Caller, ApiError> {
        let (authenticated, client) = self.authenticate()?;
        Self::free_to_act(authenticated, client)
    }

    fn free_to_act(authenticated: Authenticated, client: Client) -> Result<Caller, ApiError> {
        if authenticated.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(Caller {
            principal: authenticated.principal,
            client,
        })
    }

    /// Runs `read`, a short read by key, as the caller: on this thread where the database
    /// allows it ([`Db::reads_inline`]), otherwise as blocking work. Nothing here waits for a
    /// write: an API token's last use, when due, is recorded afterwards as blocking work, even
    /// when `read` fails.
    pub async fn read<T, F>(self, read: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Caller) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let identity = self.identity.clone();
        let inline = self.db.reads_inline();
        let work = move || -> Result<_, ApiError> {
            let (authenticated, used) = self.identity.check_bearer(&self.token)?;
            let caller = Self::free_to_act(authenticated, self.client)?;
            Ok((read(&caller), used))
        };
        let (result, used) = if inline {
            work()?
        } else {
            blocking(work).await?
        };
        if let Some(used) = used {
            blocking(move || identity.record_use(used).map_err(ApiError::from)).await?;
        }
        result
    }
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::of(req))
    }
}

/// An authenticated caller who is free to act: a person who has not been told to change
/// their password first, or an API token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who, for which organisation, allowed to do what.
    pub principal: Principal,
    /// Where the request came from.
    pub client: Client,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bearer = Bearer::of(req);
        Box::pin(async move {
            let bearer = bearer?;
            blocking(move || bearer.caller()).await
        })
    }
}

/// Any authenticated caller, including a person who must change their password: for the few
/// routes they may still use (who am I, change password, sign out).
#[derive(Debug, Clone)]
pub struct AnyCaller {
    /// The authentication, with its session.
    pub authenticated: Authenticated,
    /// Where the request came from.
    pub client: Client,
}

impl FromRequest for AnyCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bearer = Bearer::of(req);
        Box::pin(async move {
            let bearer = bearer?;
            let (authenticated, client) = blocking(move || bearer.authenticate()).await?;
            Ok(Self {
                authenticated,
                client,
            })
        })
    }
}
