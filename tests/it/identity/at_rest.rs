//! What the database holds: passwords only as argon2id hashes, TOTP secrets only sealed, and
//! recovery codes, API tokens and emailed links only as digests.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use diesel::prelude::*;
use dsms_store::StoreError;
use dsms_store::schema::{account_tokens, api_tokens, people, recovery_codes};
use dsms_tests::base32_decode;

use super::{app, org_with_admin};

/// Stored rows of one person, and every stored token digest.
struct Stored {
    password_hash: String,
    totp_secret: Option<String>,
    recovery_digests: Vec<String>,
    api_token_digests: Vec<String>,
    link_digests: Vec<String>,
}

async fn stored(app: &dsms_tests::TestApp, person_id: &str) -> Stored {
    let id: i64 = person_id.parse().expect("numeric id");
    app.db
        .read(move |conn| {
            let (password_hash, totp_secret) = people::table
                .find(id)
                .select((people::password_hash, people::totp_secret))
                .first::<(String, Option<String>)>(conn)?;
            Ok::<_, StoreError>(Stored {
                password_hash,
                totp_secret,
                recovery_digests: recovery_codes::table
                    .filter(recovery_codes::person_id.eq(id))
                    .select(recovery_codes::code_digest)
                    .load(conn)?,
                api_token_digests: api_tokens::table
                    .select(api_tokens::token_digest)
                    .load(conn)?,
                link_digests: account_tokens::table
                    .select(account_tokens::token_digest)
                    .load(conn)?,
            })
        })
        .await
        .expect("stored rows")
}

#[tokio::test]
async fn secrets_are_stored_only_hashed_sealed_or_digested() {
    let app = app().await;
    let dcc = app.sign_in_admin().await;
    let (org, admin) = org_with_admin(&app, &dcc, "Plover Power", "plover.example").await;
    let (_, token) = app.issue_api_token(&admin, &["incidents:read"]).await;
    app.invite(&admin, &org, "pending@plover.example", &["org_user"])
        .await;
    let link = app
        .wait_for_email("pending@plover.example", "invited")
        .await
        .link_token("/invitations/accept");

    let rows = stored(&app, &admin.person_id).await;
    assert!(
        rows.password_hash.starts_with("$argon2id$"),
        "{}",
        rows.password_hash
    );
    assert!(!rows.password_hash.contains(&admin.password));

    let sealed = rows.totp_secret.expect("an enrolled secret");
    let raw = base32_decode(&admin.totp_secret);
    for form in [
        admin.totp_secret.clone(),
        admin.totp_secret.to_lowercase(),
        STANDARD.encode(&raw),
        URL_SAFE_NO_PAD.encode(&raw),
        raw.iter().map(|b| format!("{b:02x}")).collect(),
    ] {
        assert!(
            !sealed.contains(&form),
            "the TOTP secret is sealed: {sealed}"
        );
    }

    assert_eq!(rows.recovery_digests.len(), 10);
    for code in &admin.recovery_codes {
        let plain = code.replace('-', "");
        assert!(
            rows.recovery_digests
                .iter()
                .all(|d| !d.contains(code.as_str()) && !d.contains(&plain)),
            "recovery codes are stored as digests"
        );
    }

    let secret_body = token.token.trim_start_matches("dsms_");
    assert!(!rows.api_token_digests.is_empty());
    assert!(
        rows.api_token_digests
            .iter()
            .all(|d| !d.contains(secret_body)),
        "API tokens are stored as digests"
    );
    let link_body = link.trim_start_matches("invite_");
    assert!(!rows.link_digests.is_empty());
    assert!(
        rows.link_digests.iter().all(|d| !d.contains(link_body)),
        "emailed links are stored as digests"
    );
}
