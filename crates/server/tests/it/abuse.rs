//! Clients that misbehave cannot tie the server up: a request head that never finishes, or
//! arrives a byte at a time, gets 408 and the connection closed while other clients are served,
//! an idle keep-alive connection is closed, a body over the limit is refused with 413, and a
//! client over its route class's rate limit gets 429 — all with the configured limits, on the
//! real binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixtures;
use crate::support::Env;

const LIMITS: &[(&str, &str)] = &[
    ("DSMS_HTTP_CLIENT_REQUEST_TIMEOUT_MS", "500"),
    ("DSMS_HTTP_KEEP_ALIVE_SECS", "1"),
    ("DSMS_HTTP_BODY_LIMIT_BYTES", "2048"),
    ("DSMS_HTTP_CLIENT_BODY_TIMEOUT_MS", "500"),
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

/// Checks that another client is served. The test's head timeout (500 ms) is a hundredth of the
/// default, so on a loaded machine a well-behaved client's own head can now and then miss it
/// and get 408 too; that is the limit working, so such an answer is asked again, twice at most.
/// When the 408 goes out before the client has even written its request, hyper reports it as an
/// unexpected message rather than a response, so that error is asked again too; a refused
/// connection (the server gone) is not.
async fn another_client_is_served(url: String) {
    let mut refusals = Vec::new();
    for _ in 0..3 {
        match reqwest::get(&url).await {
            Ok(res) if res.status() == 200 => return,
            Ok(res) => {
                assert_eq!(res.status(), 408, "only the head timeout may refuse it");
                refusals.push("408".to_owned());
            }
            Err(e) if !e.is_connect() => refusals.push(format!("{e:?}")),
            Err(e) => panic!("the server no longer accepts connections: {e:?}"),
        }
    }
    panic!("another client was refused three times in a row: {refusals:?}");
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
    another_client_is_served(server.url("/healthz")).await;
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

#[tokio::test]
async fn a_head_sent_byte_by_byte_slower_than_the_timeout_is_cut_off_and_others_are_served() {
    let env = Env::new();
    let mut server = env.serve_with(LIMITS);
    server.wait_ready().await;
    let port = server.port;
    // The whole head would take about 4 s at one byte per 100 ms; the limit is 500 ms.
    let trickle = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        let started = Instant::now();
        let mut sent = 0;
        for byte in head {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(100));
            // Stop once the server has answered or closed; the read below collects it.
            stream.set_nonblocking(true).expect("nonblocking");
            let mut peek = [0; 1];
            let answered = !matches!(
                stream.peek(&mut peek),
                Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock
            );
            stream.set_nonblocking(false).expect("blocking");
            if answered {
                break;
            }
        }
        let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5));
        (answer, sent, head.len(), started.elapsed())
    });
    // Meanwhile other clients are served promptly.
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let started = Instant::now();
        let res = client
            .get(server.url("/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(res.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (answer, sent, total, after) = trickle.join().expect("trickling client");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        sent < total,
        "the server waited for the whole head ({sent} bytes)"
    );
    assert!(after < Duration::from_secs(3), "{after:?}");
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_problem_and_is_disconnected() {
    let env = Env::new();
    let mut server = env.serve_with(LIMITS);
    server.wait_ready().await;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    // The head is whole; of the 100 bytes of body it promises, ten arrive, then nothing.
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\": ",
        )
        .expect("write");
    let started = Instant::now();
    // Meanwhile another client is served.
    another_client_is_served(server.url("/healthz")).await;
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5));
    let after = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    assert!(after < Duration::from_secs(3), "{after:?}");
}

#[tokio::test]
async fn a_body_trickled_in_below_the_minimum_rate_gets_408_and_others_are_served() {
    let env = Env::new();
    let mut server = env.serve_with(LIMITS);
    server.wait_ready().await;
    let port = server.port;
    // A byte every 100 ms never pauses past the 500 ms timeout, but 10 bytes a second is far
    // below the minimum rate: the whole 200-byte body would take 20 s.
    let trickle = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .write_all(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  Content-Type: application/json\r\nContent-Length: 200\r\n\r\n",
            )
            .expect("head");
        stream
            .set_read_timeout(Some(Duration::from_millis(1)))
            .expect("timeout");
        let started = Instant::now();
        let mut sent = 0;
        let mut peek = [0; 1];
        while sent < 200 && started.elapsed() < Duration::from_secs(10) {
            if stream.write_all(b" ").is_err() || stream.peek(&mut peek).is_ok() {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5));
        (answer, sent, started.elapsed())
    });
    for _ in 0..5 {
        another_client_is_served(server.url("/healthz")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (answer, sent, after) = trickle.join().expect("trickling client");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    assert!(sent < 50, "the server let {sent} bytes trickle in");
    assert!(after < Duration::from_secs(4), "{after:?}");
}

/// Small allowances, so the tests reach them in a few requests.
const RATE_LIMITS: &[(&str, &str)] = &[
    ("DSMS_RATE_LIMIT_ENABLED", "true"),
    ("DSMS_RATE_LIMIT_WRITE_PER_TOKEN", "3"),
    ("DSMS_RATE_LIMIT_AUTH_PER_ADDRESS", "2"),
];

#[tokio::test]
async fn a_token_over_its_write_limit_gets_429_and_another_token_is_unaffected() {
    let env = Env::new();
    let mut server = env.serve_with(RATE_LIMITS);
    server.wait_ready().await;
    let first = fixtures::api_token(env.test_db.url(), "Busy Supplier");
    let second = fixtures::api_token(env.test_db.url(), "Quiet Supplier");
    let client = reqwest::Client::new();
    let raise = |token: &str, n: usize| {
        client
            .post(server.url("/api/v1/incidents"))
            .bearer_auth(token)
            .json(&fixtures::incident(&format!("rate {n}")))
            .send()
    };
    for n in 0..3 {
        let res = raise(&first, n).await.expect("raise");
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        assert_eq!(
            res.headers()["ratelimit-remaining"],
            (2 - n).to_string().as_str()
        );
    }
    let res = raise(&first, 3).await.expect("raise");
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers().contains_key("x-request-id"));
    assert!(res.headers().contains_key("x-content-type-options"));
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = res.json().await.expect("problem");
    assert_eq!(body["type"], "https://dsms.example/problems/rate-limited");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));

    assert_eq!(raise(&second, 0).await.expect("raise").status(), 201);
    // Reads are another class: the first token still reads.
    let res = client
        .get(server.url("/api/v1/incidents"))
        .bearer_auth(&first)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 200);

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"dsms_rate_limited_requests_total{class="write",by="token"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_address_over_its_sign_in_limit_gets_429_from_the_api_and_the_web_form() {
    let env = Env::new();
    let mut server = env.serve_with(RATE_LIMITS);
    server.wait_ready().await;
    let client = reqwest::Client::new();
    let login = || {
        client
            .post(server.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "nobody@example.com", "password": "wrong password"}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(login().await.expect("login").status(), 401);
    }
    let res = login().await.expect("login");
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.expect("problem");
    assert_eq!(body["type"], "https://dsms.example/problems/rate-limited");
    // The web sign-in form is the same class from the same address: a page, not JSON.
    let res = client
        .post(server.url("/sign-in"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("email=nobody%40example.com&password=wrong+password")
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(
        res.headers()["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/html"))
    );
    // Probes are never limited.
    let res = client
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(res.status(), 200);
}
