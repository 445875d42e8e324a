//! Signing in (password, then TOTP), signing out, and a person's own account.

use actix_web::{HttpResponse, web};
use dsms_auth::{SecondFactor, SessionKind, SignedIn};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AnyCaller, ClientInfo, blocking};
use crate::extract::Json;
use crate::problem::{ApiError, Problem};
use crate::routes::dto::{OrganisationRef, time_opt};
use crate::state::ApiState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/login").post(login))
        .service(web::resource("/auth/totp/enrol").post(enrol))
        .service(web::resource("/auth/totp/confirm").post(confirm))
        .service(web::resource("/auth/totp/verify").post(verify))
        .service(web::resource("/auth/logout").post(logout))
        .service(web::resource("/auth/password-reset").post(request_reset))
        .service(web::resource("/auth/password-reset/confirm").post(confirm_reset))
        .service(web::resource("/auth/invitations/accept").post(accept_invitation))
        .service(web::resource("/me").get(me))
        .service(web::resource("/me/password").post(change_password));
}

/// An email address and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// The account's email address.
    email: String,
    /// The password.
    password: String,
}

/// The step after a correct password.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginResponse {
    /// A single-use token for the MFA step, valid for a few minutes.
    mfa_token: String,
    /// `totp` to verify a code, or `enrol` to enrol an authenticator first.
    mfa: &'static str,
}

/// Step 1: email and password. Wrong credentials get the same 401, after the same work,
/// whether or not the account exists; repeated failures get 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "sign-in", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn login(
    state: web::Data<ApiState>,
    ClientInfo(client): ClientInfo,
    Json(body): Json<LoginRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let identity = state.identity.clone();
    let challenge = blocking(move || {
        identity
            .login(&body.email, &body.password, &client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(LoginResponse {
        mfa_token: challenge.mfa_token,
        mfa: challenge.mfa.as_str(),
    }))
}

/// An MFA-step token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrolRequest {
    /// From the login step, when it said `enrol`.
    mfa_token: String,
}

/// What an authenticator app needs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EnrolResponse {
    /// The TOTP secret, base32.
    secret: String,
    /// The `otpauth://` URI.
    otpauth_uri: String,
    /// The QR code of the URI, PNG, base64.
    qr_png_base64: String,
}

/// Step 2a (first sign-in or after an MFA reset): a new TOTP secret to add to an authenticator
/// app (RFC 6238, SHA-1, 6 digits, 30 s).
#[utoipa::path(post, path = "/api/v1/auth/totp/enrol", tag = "sign-in", request_body = EnrolRequest,
    responses((status = 200, body = EnrolResponse),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn enrol(
    state: web::Data<ApiState>,
    ClientInfo(client): ClientInfo,
    Json(body): Json<EnrolRequest>,
) -> Result<web::Json<EnrolResponse>, ApiError> {
    let identity = state.identity.clone();
    let enrolment = blocking(move || {
        identity
            .enrol(&body.mfa_token, &client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(EnrolResponse {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
        qr_png_base64: enrolment.qr_png_base64,
    }))
}

/// A code for the MFA step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfirmRequest {
    /// From the login step.
    mfa_token: String,
    /// The six-digit code the authenticator shows.
    code: String,
}

/// A signed-in session after enrolment.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConfirmResponse {
    /// Ten single-use recovery codes, shown only now.
    recovery_codes: Vec<String>,
    /// The bearer access token.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The person must choose a new password before anything else.
    must_change_password: bool,
}

fn access(signed_in: &SignedIn) -> Result<String, ApiError> {
    signed_in
        .access_token
        .clone()
        .ok_or_else(|| ApiError::Internal("API sign-in issued no access token".into()))
}

/// Step 2b: confirm enrolment with a code from the authenticator; returns recovery codes and an
/// access token.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "sign-in", request_body = ConfirmRequest,
    responses((status = 200, body = ConfirmResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn confirm(
    state: web::Data<ApiState>,
    ClientInfo(client): ClientInfo,
    Json(body): Json<ConfirmRequest>,
) -> Result<web::Json<ConfirmResponse>, ApiError> {
    let identity = state.identity.clone();
    let signed_in = blocking(move || {
        identity
            .confirm_enrolment(&body.mfa_token, &body.code, SessionKind::Api, &client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(ConfirmResponse {
        access_token: access(&signed_in)?,
        recovery_codes: signed_in.recovery_codes,
        token_type: "Bearer",
        expires_in: signed_in.expires_in,
        must_change_password: signed_in.must_change_password,
    }))
}

/// A TOTP code or a recovery code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    /// From the login step.
    mfa_token: String,
    /// The six-digit code the authenticator shows.
    code: Option<String>,
    /// Or one of the recovery codes.
    recovery_code: Option<String>,
}

/// A signed-in session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// The bearer access token.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The person must choose a new password before anything else.
    must_change_password: bool,
}

/// Step 2: a TOTP code (each accepted once) or a recovery code (each usable once).
#[utoipa::path(post, path = "/api/v1/auth/totp/verify", tag = "sign-in", request_body = VerifyRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn verify(
    state: web::Data<ApiState>,
    ClientInfo(client): ClientInfo,
    Json(body): Json<VerifyRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let factor = match (body.code, body.recovery_code) {
        (Some(code), None) => SecondFactor::Code(code),
        (None, Some(code)) => SecondFactor::RecoveryCode(code),
        _ => {
            return Err(ApiError::invalid(
                "code",
                "give exactly one of code and recovery_code",
            ));
        }
    };
    let identity = state.identity.clone();
    let token = body.mfa_token;
    let signed_in = blocking(move || {
        identity
            .verify_second_factor(&token, &factor, SessionKind::Api, &client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(web::Json(TokenResponse {
        access_token: access(&signed_in)?,
        token_type: "Bearer",
        expires_in: signed_in.expires_in,
        must_change_password: signed_in.must_change_password,
    }))
}

/// Ends the caller's session at once; its access token stops working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "sign-in", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn logout(
    state: web::Data<ApiState>,
    caller: AnyCaller,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    blocking(move || {
        identity
            .logout(&caller.authenticated, &caller.client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    /// Their id (a person's, or an API token's).
    id: String,
    /// `person` or `api_token`.
    kind: &'static str,
    /// Their email address (people).
    email: Option<String>,
    /// Their name, or the API token's name.
    name: String,
    /// The organisation they act for.
    organisation: OrganisationRef,
    /// Their roles (people).
    roles: Vec<String>,
    /// What they may do.
    permissions: Vec<String>,
    /// Whether an authenticator is enrolled (people).
    mfa_enrolled: bool,
    /// They must choose a new password before anything else.
    must_change_password: bool,
    /// When they last signed in.
    last_sign_in_at: Option<String>,
}

/// Who the caller is: their organisation, roles and permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn me(
    state: web::Data<ApiState>,
    caller: AnyCaller,
) -> Result<web::Json<Me>, ApiError> {
    let identity = state.identity.clone();
    let principal = caller.authenticated.principal.clone();
    let must_change_password = caller.authenticated.must_change_password;
    blocking(move || {
        let organisation = identity.organisation(&principal, principal.organisation_id)?;
        let permissions = principal
            .permissions
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        let organisation = OrganisationRef {
            id: organisation.id.to_string(),
            name: organisation.name,
        };
        match principal.person_id() {
            Some(id) => {
                let person = identity.person(&principal, id)?;
                Ok(web::Json(Me {
                    id: id.to_string(),
                    kind: "person",
                    email: Some(person.email),
                    name: person.name,
                    organisation,
                    roles: person.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                    permissions,
                    mfa_enrolled: person.mfa_enrolled,
                    must_change_password,
                    last_sign_in_at: time_opt(person.last_sign_in_at),
                }))
            }
            None => Ok(web::Json(Me {
                id: principal.actor.identifier(),
                kind: "api_token",
                email: None,
                name: principal.display_name.clone(),
                organisation,
                roles: Vec::new(),
                permissions,
                mfa_enrolled: false,
                must_change_password: false,
                last_sign_in_at: None,
            })),
        }
    })
    .await
}

/// The current password and a new one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePasswordRequest {
    /// The current password.
    current_password: String,
    /// At least 12 characters, not a common password.
    new_password: String,
}

/// Changes the caller's password; their other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "account", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn change_password(
    state: web::Data<ApiState>,
    caller: AnyCaller,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    blocking(move || {
        identity
            .change_password(
                &caller.authenticated,
                &body.current_password,
                &body.new_password,
                &caller.client,
            )
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An email address to send a reset link to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetRequest {
    /// The account's email address.
    email: String,
}

/// Emails a single-use password-reset link if the address has an active account. Always 202,
/// so the answer reveals nothing.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "account", request_body = ResetRequest,
    responses((status = 202, description = "A link is on its way if the account exists")))]
pub(crate) async fn request_reset(
    state: web::Data<ApiState>,
    ClientInfo(client): ClientInfo,
    Json(body): Json<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    blocking(move || {
        identity
            .request_password_reset(&body.email, &client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// A reset link's token and the new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetConfirm {
    /// The token from the emailed link.
    token: String,
    /// At least 12 characters, not a common password.
    new_password: String,
}

/// Sets a new password through a reset link; every session of the person ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "account", request_body = ResetConfirm,
    responses((status = 204, description = "Changed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn confirm_reset(
    state: web::Data<ApiState>,
    ClientInfo(client): ClientInfo,
    Json(body): Json<ResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    blocking(move || {
        identity
            .reset_password(&body.token, &body.new_password, &client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An invitation link's token and the chosen password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptInvitation {
    /// The token from the emailed link.
    token: String,
    /// At least 12 characters, not a common password.
    password: String,
}

/// Chooses the first password of an invited person; then they sign in and enrol TOTP.
#[utoipa::path(post, path = "/api/v1/auth/invitations/accept", tag = "account", request_body = AcceptInvitation,
    responses((status = 204, description = "Password set"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn accept_invitation(
    state: web::Data<ApiState>,
    ClientInfo(client): ClientInfo,
    Json(body): Json<AcceptInvitation>,
) -> Result<HttpResponse, ApiError> {
    let identity = state.identity.clone();
    blocking(move || {
        identity
            .accept_invitation(&body.token, &body.password, &client)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
