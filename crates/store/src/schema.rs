//! The one diesel schema both backends share. Kept by hand to match `migrations/`; the
//! store tests prove every table round-trips on SQLite and PostgreSQL.

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Text,
        organisation_id -> Nullable<BigInt>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        changes -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    organisations (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        sec_party_id -> Nullable<Text>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    organisation_sec_roles (organisation_id, sec_role) {
        organisation_id -> BigInt,
        sec_role -> Text,
    }
}

diesel::table! {
    people (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        password_changed_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Text>,
        totp_confirmed_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
        last_sign_in_at -> Nullable<Timestamp>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_roles (person_id, role) {
        person_id -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        person_id -> BigInt,
        code_digest -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> BigInt,
        token_digest -> Text,
        person_id -> BigInt,
        purpose -> Text,
        pending_secret -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        person_id -> BigInt,
        kind -> Text,
        token_digest -> Nullable<Text>,
        csrf_token -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        organisation_id -> BigInt,
        name -> Text,
        token_digest -> Text,
        token_prefix -> Text,
        scopes -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> BigInt,
        person_id -> BigInt,
        purpose -> Text,
        token_digest -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_throttles (key) {
        key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(organisation_sec_roles -> organisations (organisation_id));
diesel::joinable!(people -> organisations (organisation_id));
diesel::joinable!(person_roles -> people (person_id));
diesel::joinable!(recovery_codes -> people (person_id));
diesel::joinable!(mfa_challenges -> people (person_id));
diesel::joinable!(sessions -> people (person_id));
diesel::joinable!(api_tokens -> organisations (organisation_id));
diesel::joinable!(account_tokens -> people (person_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    outbox,
    organisations,
    organisation_sec_roles,
    people,
    person_roles,
    recovery_codes,
    mfa_challenges,
    sessions,
    api_tokens,
    account_tokens,
    sign_in_throttles,
);
