//! The people of the scenario as a real operator sets them up: `dsms admin create-user`, then a
//! first sign-in through the API (password, TOTP enrolment, the required password change).

use chrono::Utc;
use dsms_auth::credentials::{TotpSecret, totp};
use serde_json::{Value, json};

use crate::support::{Env, printed_password};

/// A person of the operator, signed in.
pub struct Person {
    pub id: String,
    pub email: String,
    pub access_token: String,
}

/// Creates an operator person holding `roles` with the real binary and signs them in through
/// the server at `base`.
pub async fn create_and_sign_in(env: &Env, base: &str, email: &str, roles: &[&str]) -> Person {
    let mut args = vec![
        "admin",
        "create-user",
        "--email",
        email,
        "--name",
        "Desk Lead",
    ];
    for role in roles {
        args.extend(["--role", role]);
    }
    let out = env.run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let password = printed_password(&lines).expect("an initial password");

    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut request = http.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let res = request.send().await.expect("request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, login) = post(
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["mfa"], "enrol", "{login}");
    let mfa_token = login["mfa_token"].clone();
    let (status, enrolment) = post(
        "/api/v1/auth/totp/enrol",
        None,
        json!({"mfa_token": mfa_token}),
    )
    .await;
    assert_eq!(status, 200, "{enrolment}");
    let secret = enrolment["secret"].as_str().expect("secret");
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.trim_end_matches('=').as_bytes())
        .expect("base32 secret");
    let code = totp::code_at(
        &TotpSecret::from_bytes(key),
        u64::try_from(Utc::now().timestamp()).expect("after 1970"),
    );
    let (status, signed_in) = post(
        "/api/v1/auth/totp/confirm",
        None,
        json!({"mfa_token": mfa_token, "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{signed_in}");
    let access_token = signed_in["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    if signed_in["must_change_password"] == true {
        let res = http
            .post(format!("{base}/api/v1/me/password"))
            .bearer_auth(&access_token)
            .json(&json!({
                "current_password": password,
                "new_password": "several instances, one database",
            }))
            .send()
            .await
            .expect("change password");
        assert_eq!(res.status(), 204, "{:?}", res.text().await);
    }
    let me: Value = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&access_token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    Person {
        id: me["id"].as_str().expect("id").to_owned(),
        email: email.to_owned(),
        access_token,
    }
}
