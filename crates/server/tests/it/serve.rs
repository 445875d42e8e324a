use std::time::Duration;

use crate::support::{Env, printed_password};

#[tokio::test]
async fn serve_prints_the_first_administrator_once_and_becomes_ready() {
    let env = Env::new();
    let mut server = env.serve();
    server.wait_ready().await;
    let out = server.stdout_lines();
    let text = out.join("\n");
    assert!(text.contains("first administrator created"), "{text}");
    assert!(text.contains("email:    admin@dsms.localhost"), "{text}");
    let password = printed_password(&out).expect("a password is printed");
    assert!(password.len() >= 20);
    assert!(
        !server.stderr_text().contains(&password),
        "the password never reaches the logs"
    );

    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(20)).success());

    let mut again = env.serve();
    again.wait_ready().await;
    again.terminate();
    assert!(again.wait_exit(Duration::from_secs(20)).success());
    assert!(
        printed_password(&again.stdout_lines()).is_none(),
        "credentials are shown only on the first start"
    );
}

#[tokio::test]
async fn sigterm_and_sigint_stop_the_server_cleanly() {
    for signal in ["-TERM", "-INT"] {
        let env = Env::new();
        let mut server = env.serve();
        server.wait_ready().await;
        std::process::Command::new("kill")
            .args([signal, &server.child.id().to_string()])
            .status()
            .expect("kill");
        let status = server.wait_exit(Duration::from_secs(20));
        assert!(status.success(), "{signal}: {status}");
        let logs = server.stderr_text();
        assert!(logs.contains("outbox worker stopped"), "{signal}: {logs}");
        assert!(logs.contains("\"stopped\""), "{signal}: {logs}");
    }
}

#[tokio::test]
async fn logs_are_json_lines_carrying_the_request_id() {
    let env = Env::new();
    let mut server = env.serve();
    server.wait_ready().await;
    reqwest::Client::new()
        .get(server.url("/healthz"))
        .header("X-Request-Id", "trace-me-123")
        .send()
        .await
        .expect("request");
    server.terminate();
    server.wait_exit(Duration::from_secs(20));
    let logs = server.stderr_text();
    let line = logs
        .lines()
        .find(|l| l.contains("trace-me-123"))
        .unwrap_or_else(|| panic!("no log line carries the request id: {logs}"));
    let parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(parsed["span"]["request_id"], "trace-me-123", "{line}");
    assert_eq!(parsed["status"], 200, "{line}");
}
