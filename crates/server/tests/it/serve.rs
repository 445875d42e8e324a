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

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_before_exiting() {
    use std::io::{Read, Write};

    let env = Env::new();
    let mut server = env.serve();
    server.wait_ready().await;

    // A sign-in whose body is still arriving when the signal comes: the server must read the
    // rest, answer, and only then exit.
    let body = br#"{"email": "nobody@example.com", "password": "not the password"}"#;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("headers");
    stream.write_all(&body[..10]).expect("first part");
    stream.flush().expect("flush");
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.child.try_wait().expect("wait").is_none(),
        "the server waits for the request in flight"
    );
    let refused = std::net::TcpStream::connect(("127.0.0.1", server.port));
    assert!(refused.is_err(), "no new connections once stopping");

    stream.write_all(&body[10..]).expect("rest of the body");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    assert!(
        response.starts_with("HTTP/1.1 401"),
        "the request in flight was answered: {response}"
    );
    assert!(response.contains("application/problem+json"), "{response}");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
}
