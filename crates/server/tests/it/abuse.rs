//! Clients that misbehave cannot tie the server up: a request head that never finishes gets 408
//! and the connection closed, an idle keep-alive connection is closed, and a body over the limit
//! is refused with 413 — all with the configured limits, on the real binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::Env;

const LIMITS: &[(&str, &str)] = &[
    ("DSMS_HTTP_CLIENT_REQUEST_TIMEOUT_MS", "500"),
    ("DSMS_HTTP_KEEP_ALIVE_SECS", "1"),
    ("DSMS_HTTP_BODY_LIMIT_BYTES", "2048"),
];

/// Reads until the server closes the connection, failing if it keeps it open past `within`.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(within)).expect("read timeout");
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the connection stayed open for {:?}: {e}",
                started.elapsed()
            ),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_request_head_that_never_finishes_gets_408_and_is_disconnected() {
    let env = Env::new();
    let mut server = env.serve_with(LIMITS);
    server.wait_ready().await;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    // A slowloris client: part of a request line, then nothing.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127")
        .expect("write");
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(after < Duration::from_secs(3), "{after:?}");
    // The server is unharmed.
    let res = reqwest::get(server.url("/healthz")).await.expect("healthz");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let env = Env::new();
    let mut server = env.serve_with(LIMITS);
    server.wait_ready().await;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("write");
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(6));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(after < Duration::from_secs(4), "{after:?}");
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_413_problem_json() {
    let env = Env::new();
    let mut server = env.serve_with(LIMITS);
    server.wait_ready().await;
    let res = reqwest::Client::new()
        .post(server.url("/api/v1/auth/login"))
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{"email": "a@example.com", "password": "{}"}}"#,
            "x".repeat(4096)
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = res.json().await.expect("problem");
    assert_eq!(
        body["type"],
        "https://dsms.example/problems/payload-too-large"
    );
}
