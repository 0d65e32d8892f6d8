//! Server limits over real TLS on loopback (issue #7 item 3, docs/OPERATIONS.md
//! section 5): timeouts that close stalled connections, 413 before reading,
//! authentication before the body, per-element and per-address rate limits,
//! and the connection cap. Timeouts are set to a second or two so the waits
//! stay short; every wait is bounded and none asserts on speed.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use curve25519_dalek::ristretto::RistrettoPoint;
use rand::rngs::OsRng;

use crate::support::{raw_tls, wrap_keys, Cluster, Node, RawTls};
use shardlock::client::http::{HttpError, HttpKeyService, HttpOptions};
use shardlock::envelope::keywrap::unwrap_batch;
use shardlock::protocol::{CreateClientRequest, Token, MAX_BATCH};
use shardlock::threshold::group::{mul_base, random_nonzero_scalar};
use shardlock::threshold::kem::{KeyService, ServiceError};

/// How long a test waits for the server to close a connection: well above
/// the one- and two-second timeouts configured here, so a loaded machine
/// does not make the test flaky.
const BOUND: Duration = Duration::from_secs(8);

fn float(value: f64) -> toml::Value {
    toml::Value::Float(value)
}

fn int(value: i64) -> toml::Value {
    toml::Value::Integer(value)
}

fn random_elements(count: usize) -> Vec<RistrettoPoint> {
    (0..count)
        .map(|_| mul_base(&random_nonzero_scalar(&mut OsRng)))
        .collect()
}

/// Decrypts `count` fresh file keys through `service` and checks them.
fn decrypt(cluster: &Cluster, service: &dyn KeyService, count: usize) {
    let (deks, stanzas) = wrap_keys(&cluster.keyset, count);
    let refs: Vec<_> = stanzas.iter().collect();
    let result = unwrap_batch(&cluster.keyset, service, &refs, &mut OsRng).expect("unwrap");
    for (got, want) in result.keys.into_iter().zip(&deks) {
        assert_eq!(&got.expect("key unwraps"), want);
    }
}

/// Reads until the server closes the connection; returns what it sent.
/// Panics if the connection is still open after the read timeout.
fn read_until_closed(tls: &mut RawTls) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // Bounded: each read either returns data, the end, or times out.
    for _ in 0..64 {
        match tls.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "connection still open after {BOUND:?}; got {:?}",
                    String::from_utf8_lossy(&seen)
                )
            }
            // A close without close_notify, or a reset: closed all the same.
            Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
        }
    }
    panic!("server kept sending");
}

fn evaluate_head(cluster: &Cluster, token: Option<&Token>, content_length: &str) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {}\r\n", t.expose()))
        .unwrap_or_default();
    format!(
        "POST /v1/keys/{}/evaluate HTTP/1.1\r\nHost: localhost\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n",
        cluster.keyset_id
    )
}

fn send(tls: &mut RawTls, bytes: &str) {
    tls.write_all(bytes.as_bytes()).expect("write");
    tls.flush().expect("flush");
}

#[test]
fn stalled_and_oversize_requests_are_cut_off_while_a_real_decrypt_succeeds() {
    let cluster = Cluster::with_settings(
        2,
        3,
        &[
            ("header_timeout_seconds", float(1.0)),
            ("body_timeout_seconds", float(1.0)),
            ("idle_timeout_seconds", float(2.0)),
        ],
    );
    let node = cluster.node(1);
    let token = &node.client_token;

    // Half a header, never finished.
    let mut slow_header = raw_tls(node, BOUND);
    send(
        &mut slow_header,
        &format!(
            "POST /v1/keys/{}/evaluate HTTP/1.1\r\nHost: localhost\r\n",
            cluster.keyset_id
        ),
    );
    // A complete header, then 20 of the 200 body bytes it declares.
    let mut slow_body = raw_tls(node, BOUND);
    send(
        &mut slow_body,
        &format!(
            "{}{{\"blinded\":[\"",
            evaluate_head(&cluster, Some(token), "200")
        ),
    );
    // A declared body of 10^12 bytes: answered at once, never read.
    let mut oversize = raw_tls(node, BOUND);
    send(
        &mut oversize,
        &evaluate_head(&cluster, Some(token), "1000000000000"),
    );
    // The same without a token: authentication comes first, so 401.
    let mut oversize_anonymous = raw_tls(node, BOUND);
    send(
        &mut oversize_anonymous,
        &evaluate_head(&cluster, None, "1000000000000"),
    );
    // A connection that completes TLS and then says nothing.
    let mut silent = raw_tls(node, BOUND);

    // Meanwhile real decryptions through every server still work.
    decrypt(&cluster, &cluster.service(), 50);

    let answer = read_until_closed(&mut oversize);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let answer = read_until_closed(&mut oversize_anonymous);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let answer = read_until_closed(&mut slow_body);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("request body not received in time"),
        "{answer}"
    );
    // hyper closes a connection whose header is late without an answer.
    let answer = read_until_closed(&mut slow_header);
    assert!(!answer.contains(" 200 "), "{answer}");
    let answer = read_until_closed(&mut silent);
    assert!(answer.is_empty(), "{answer}");

    // And the server is still serving.
    decrypt(&cluster, &cluster.service(), 5);
    let metrics = node.admin().metrics().unwrap();
    assert!(
        metrics.contains("shardlock_limit_refusals_total{limit=\"body_size\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shardlock_limit_refusals_total{limit=\"body_timeout\"} 1\n"),
        "{metrics}"
    );
}

#[test]
fn one_clients_full_batches_hit_429_while_another_client_is_served() {
    let cluster = Cluster::with_settings(
        2,
        3,
        &[
            ("evaluate_elements_per_second", float(1.0)),
            // Two and a half full batches.
            ("evaluate_elements_burst", int(2 * MAX_BATCH as i64 + 512)),
        ],
    );
    let node = cluster.node(1);
    let other = node
        .admin()
        .create_client(&CreateClientRequest {
            name: "other".into(),
            keysets: vec![cluster.keyset_id.clone()],
        })
        .unwrap();
    let service_with = |token: &Token, options: HttpOptions| {
        let endpoint = shardlock::client::ServerEndpoint {
            token: Some(token.clone()),
            ..node.endpoint()
        };
        HttpKeyService::new(vec![endpoint], options).unwrap()
    };
    let service_for = |token: &Token| service_with(token, HttpOptions::default());
    let ask = |service: &HttpKeyService, count: usize| {
        service
            .evaluate(&cluster.keyset, &[1], &random_elements(count))
            .pop()
            .expect("one answer")
            .map(drop)
    };
    let first = service_for(&node.client_token);
    // Two full batches fit; the third costs more than the 512 left, and a
    // refused batch takes nothing, so 512 elements still pass after it.
    ask(&first, MAX_BATCH).unwrap();
    ask(&first, MAX_BATCH).unwrap();
    let err = ask(&first, MAX_BATCH).unwrap_err();
    assert!(
        matches!(&err, ServiceError::Refused(m) if m.contains("429")),
        "{err:?}"
    );
    ask(&first, 512).unwrap();
    // Now even one element is refused, before its body is read. Its
    // Retry-After (1 s) does not fit in a 1 s deadline, so the client
    // does not wait for it...
    let hurried = service_with(
        &node.client_token,
        HttpOptions {
            timeout: Duration::from_secs(1),
            ..HttpOptions::default()
        },
    );
    let err = ask(&hurried, 1).unwrap_err();
    assert!(
        matches!(&err, ServiceError::Refused(m) if m.contains("429")),
        "{err:?}"
    );
    // ...but within the default deadline it waits once and is served.
    ask(&first, 1).unwrap();
    // Another client has its own bucket.
    let second = service_for(&Token::new(other.token));
    ask(&second, MAX_BATCH).unwrap();

    // The refused full batch is audited with its size; the request refused
    // before its body was read has none.
    let refused: Vec<_> = node
        .audit_lines()
        .into_iter()
        .filter(|l| l["status"] == 429)
        .collect();
    assert_eq!(refused.len(), 3, "{refused:#?}");
    assert_eq!(refused[0]["elements"], MAX_BATCH);
    assert_eq!(refused[0]["client"], crate::support::CLIENT);
    assert!(refused[1]["elements"].is_null());
    assert!(refused[2]["elements"].is_null());
    let metrics = node.admin().metrics().unwrap();
    assert!(
        metrics.contains("shardlock_limit_refusals_total{limit=\"client_elements\"} 3\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shardlock_evaluated_elements_total 3585\n"),
        "{metrics}"
    );
}

#[test]
fn unauthenticated_requests_are_limited_per_address_and_audited_in_aggregate() {
    let mut cluster = Cluster::with_settings(
        2,
        3,
        &[
            ("unauthenticated_per_second", float(0.01)),
            ("unauthenticated_burst", int(3)),
        ],
    );
    let node = cluster.node(1);
    let wrong = HttpKeyService::new(
        vec![shardlock::client::ServerEndpoint {
            token: Some(Token::new("slk_wrong".into())),
            ..node.endpoint()
        }],
        HttpOptions::default(),
    )
    .unwrap();
    let ask = |service: &HttpKeyService| {
        service
            .evaluate(&cluster.keyset, &[1], &random_elements(1))
            .pop()
            .expect("one answer")
            .map(drop)
    };
    for _ in 0..3 {
        let err = ask(&wrong).unwrap_err();
        assert!(
            matches!(&err, ServiceError::Refused(m) if m.contains("401")),
            "{err:?}"
        );
    }
    let err = ask(&wrong).unwrap_err();
    assert!(
        matches!(&err, ServiceError::Refused(m) if m.contains("429")),
        "{err:?}"
    );
    // Health from the same address is refused too...
    let err = node.admin().health().unwrap_err();
    assert!(matches!(err, HttpError::RateLimited { .. }), "{err:?}");
    // ...but a valid client token from it is still served.
    let good = HttpKeyService::new(vec![node.endpoint()], HttpOptions::default()).unwrap();
    ask(&good).unwrap();

    // Only authenticated requests have lines of their own.
    let lines = node.audit_lines();
    let endpoints: Vec<&str> = lines
        .iter()
        .map(|l| l["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(endpoints, ["install_share", "create_client", "evaluate"]);
    cluster.stop(1);
    let lines = cluster.node(1).audit_lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let summary = &lines[3];
    assert_eq!(summary["summary"], "unauthenticated");
    assert_eq!(summary["requests"], 5);
    assert_eq!(summary["outcomes"]["unauthorized"], 3);
    assert_eq!(summary["outcomes"]["rate_limited"], 2);
    assert_eq!(summary["endpoints"]["evaluate"], 3);
    assert_eq!(summary["endpoints"]["limited"], 2);
    assert_eq!(summary["peers"]["127.0.0.1"], 5);
}

/// Whether the server closed `stream` (EOF or reset) within its timeout.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

#[test]
fn connections_over_the_cap_are_closed_at_accept() {
    let cluster = Cluster::with_settings(2, 3, &[("max_connections", int(2))]);
    let node: &Node = cluster.node(1);
    let addr = node.url().strip_prefix("https://").unwrap().to_string();
    assert!(addr.starts_with("127.0.0.1:"));
    // Four plain TCP connections that never start TLS: at most two are
    // admitted (they wait in the handshake), the rest are closed at once.
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let stream = TcpStream::connect(&addr).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(1)))
                .expect("timeout");
            stream
        })
        .collect();
    let closed = held.iter_mut().map(closed_by_server).filter(|c| *c).count();
    assert!(closed >= 2, "only {closed} of 4 connections were refused");
    drop(held);

    // Once they are gone the server serves again; it notices the closes
    // asynchronously, so allow a bounded number of attempts.
    let service = cluster.service();
    let mut served = false;
    for _ in 0..50 {
        if node.admin().health().is_ok() {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        served,
        "server did not recover after the connections closed"
    );
    decrypt(&cluster, &service, 5);
    let metrics = node.admin().metrics().unwrap();
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("shardlock_limit_refusals_total{limit=\"connections\"} "))
        .and_then(|v| v.parse().ok())
        .expect("connections refusal counter");
    assert!(refused >= 2, "{metrics}");
}
