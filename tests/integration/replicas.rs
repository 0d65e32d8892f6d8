//! Two replicas of one participant over one PostgreSQL database, each
//! serving real HTTPS on loopback: what is changed through one is honoured
//! by the other on its next request, with no restart.

use std::sync::Arc;

use rand::rngs::OsRng;

use shardlock::client::http::{AdminClient, HttpKeyService, HttpOptions};
use shardlock::client::ServerEndpoint;
use shardlock::protocol::{CreateClientRequest, InstallShareRequest, Token};
use shardlock::server::seal::{SealChoice, UnsealSecret};
use shardlock::server::{self, test_postgres, State};
use shardlock::threshold::kem::{deal, KeyService, ServiceError};

use crate::support::{runtime, start_https};

#[test]
fn a_client_made_and_revoked_through_one_replica_is_honoured_by_the_other() {
    let Some(url) = test_postgres::fresh_database() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    // One participant: one state directory (certificate, admin token),
    // copied to a second replica; both point at the same database.
    let dir_a = tmp.path().join("a");
    // Sealed under a passphrase: the SQLite file init makes holds a seal,
    // the PostgreSQL database gets its own from the first replica to
    // start, and the second opens that one.
    let passphrase =
        || SealChoice::Secret(UnsealSecret::passphrase("replicas share one seal".into()).unwrap());
    let report = server::init(&dir_a, &[], &passphrase()).expect("init");
    let server_toml = dir_a.join("server.toml");
    let text = std::fs::read_to_string(&server_toml).expect("server.toml");
    let text = text.replace("stderr = true", "stderr = false");
    std::fs::write(
        &server_toml,
        format!("{text}\n[database]\nurl = \"{url}\"\n"),
    )
    .expect("server.toml");
    let dir_b = tmp.path().join("b");
    copy_dir(&dir_a, &dir_b);
    // Without a secret, a fresh database cannot be sealed.
    let err = State::load(&dir_a).unwrap_err();
    assert!(err.to_string().contains("no seal yet"), "{err}");
    let a = Arc::new(State::open(&dir_a, Some(&passphrase())).expect("load A"));
    let b = Arc::new(State::open(&dir_b, Some(&passphrase())).expect("load B"));
    // A replica started without the passphrase runs sealed.
    assert!(State::load(&dir_b).expect("sealed C").is_sealed());
    assert_eq!(a.fingerprint(), b.fingerprint());

    let rt = runtime();
    let mut serve_a = start_https(&rt, Arc::clone(&a));
    let mut serve_b = start_https(&rt, Arc::clone(&b));
    let admin_a = AdminClient::new(
        &serve_a.url,
        Some(report.fingerprint),
        report.admin_token.clone(),
        &HttpOptions::default(),
    )
    .expect("admin client");

    // Key and client made through A only (B already running).
    let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
    let keyset_id = shardlock::encoding::hex(keyset.id());
    admin_a
        .install_share(&keyset_id, &InstallShareRequest::new(&keyset, &shares[0]))
        .expect("install through A");
    let created = admin_a
        .create_client(&CreateClientRequest {
            name: "backup".into(),
            keysets: vec![keyset_id.clone()],
        })
        .expect("create through A");

    // B evaluates for it.
    let via_b = HttpKeyService::new(
        vec![ServerEndpoint {
            participant: 1,
            url: serve_b.url.clone(),
            fingerprint: Some(report.fingerprint),
            token: Some(Token::new(created.token)),
        }],
        HttpOptions::default(),
    )
    .expect("service");
    let blinded = [curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT];
    let ask = || {
        via_b
            .evaluate(&keyset, &[1], &blinded)
            .pop()
            .expect("one answer")
            .map(drop)
    };
    ask().expect("B evaluates for a client made through A");

    // Revoked through A: B refuses its very next request.
    assert!(admin_a.revoke_client("backup").expect("revoke").revoked);
    let err = ask().expect_err("B must refuse a client revoked through A");
    assert!(
        matches!(&err, ServiceError::Refused(m) if m.contains("revoked")),
        "{err:?}"
    );
    serve_a.stop(&rt);
    serve_b.stop(&rt);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
