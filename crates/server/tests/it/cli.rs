use crate::support::{Env, printed_password};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn migrate_applies_once_bootstraps_and_is_idempotent() {
    let env = Env::new();
    let first = env.run(&["migrate"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert!(out.contains("applied 20261129000001"), "{out}");
    assert!(out.contains("first administrator created"), "{out}");

    let second = env.run(&["migrate"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let out = stdout(&second);
    assert!(out.contains("database is up to date"), "{out}");
    assert!(!out.contains("password:"), "{out}");
}

#[test]
fn config_show_prints_the_effective_configuration_with_secrets_redacted() {
    let env = Env::new();
    let output = env
        .command(&["config", "show"])
        .env("DSMS_SMTP_PASSWORD", "smtp-very-secret")
        .env("DSMS_LISTEN", "127.0.0.1:9999")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = stdout(&output);
    assert!(shown.contains("listen = \"127.0.0.1:9999\""), "{shown}");
    assert!(!shown.contains("smtp-very-secret"), "{shown}");
    assert!(shown.contains("password = \"***\""), "{shown}");
    let parsed: toml::Table = shown.parse().expect("valid TOML");
    assert!(parsed.contains_key("outbox"));
}

#[test]
fn a_bad_setting_stops_start_up_with_one_message_naming_it() {
    let env = Env::new();
    for (var, value, key) in [
        ("DSMS_SMTP_PORT", "not-a-port", "smtp.port"),
        ("DSMS_LISTEN", "nowhere", "listen"),
        ("DSMS_OUTBOX_MAXATTEMPTS", "3", "DSMS_OUTBOX_MAXATTEMPTS"),
    ] {
        let output = env
            .command(&["serve"])
            .env(var, value)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{var}");
        let err = stderr(&output);
        assert_eq!(err.trim().lines().count(), 1, "one message: {err}");
        assert!(err.contains(key), "{var}: {err}");
    }
}

#[test]
fn admin_creates_organisations_and_people_with_random_initial_passwords() {
    let env = Env::new();
    assert!(env.run(&["migrate"]).status.success());

    let org = env.run(&[
        "admin",
        "create-org",
        "--name",
        "Northern Power",
        "--sec-role",
        "import_supplier",
        "--sec-role",
        "electricity_distributor",
    ]);
    assert!(org.status.success(), "{}", stderr(&org));
    let org_id = stdout(&org).trim().to_owned();
    assert!(org_id.parse::<i64>().is_ok(), "prints the id: {org_id}");

    let user = env.run(&[
        "admin",
        "create-user",
        "--email",
        "Ops@Northern.example",
        "--name",
        "Ops Lead",
        "--org",
        &org_id,
        "--role",
        "org_admin",
    ]);
    assert!(user.status.success(), "{}", stderr(&user));
    let lines: Vec<String> = stdout(&user).lines().map(str::to_owned).collect();
    let password = printed_password(&lines).expect("a password");
    assert_eq!(password.len(), 20);
    assert!(stdout(&user).contains("ops@northern.example"));

    let agent = env.run(&[
        "admin",
        "create-user",
        "--email",
        "agent@dcc.example",
        "--name",
        "Agent",
        "--role",
        "service_desk_agent",
    ]);
    assert!(
        agent.status.success(),
        "operator staff by default: {}",
        stderr(&agent)
    );
    assert_ne!(
        printed_password(
            &stdout(&agent)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        ),
        Some(password)
    );

    let duplicate = env.run(&[
        "admin",
        "create-user",
        "--email",
        "ops@northern.example",
        "--name",
        "Again",
        "--org",
        &org_id,
        "--role",
        "org_user",
    ]);
    assert!(!duplicate.status.success());
    assert!(
        stderr(&duplicate).contains("already registered"),
        "{}",
        stderr(&duplicate)
    );

    let operator_role_elsewhere = env.run(&[
        "admin",
        "create-user",
        "--email",
        "x@northern.example",
        "--name",
        "X",
        "--org",
        &org_id,
        "--role",
        "dcc_admin",
    ]);
    assert!(!operator_role_elsewhere.status.success());
    assert!(stderr(&operator_role_elsewhere).contains("reserved for the operator"));

    let bad_role = env.run(&[
        "admin",
        "create-org",
        "--name",
        "Y",
        "--sec-role",
        "supplier",
    ]);
    assert!(!bad_role.status.success());
    assert!(
        stderr(&bad_role).contains("import_supplier"),
        "lists the valid roles"
    );
}
