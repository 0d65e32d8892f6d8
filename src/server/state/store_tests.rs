//! The storage test suite, written once over `&dyn Store` and run for
//! every backend: SQLite always, PostgreSQL on the server `.ci/run` starts
//! (`SHARDLOCK_TEST_POSTGRES`; a failure under CI when it is missing).

use zeroize::Zeroizing;

use super::postgres_store::PostgresStore;
use super::sqlite_store::{SqliteStore, DB_FILE};
use super::store::{IdentityRow, InsertClient, KeyRow, LifecycleChange, LifecycleRow, Store};
use super::test_postgres::fresh_database;
use super::ClientRecord;

fn client(name: &str, seed: u8) -> ClientRecord {
    ClientRecord {
        name: name.into(),
        token_sha256: [seed; 32],
        keysets: vec!["ab".repeat(32), "cd".repeat(32)],
        revoked: false,
        created: "2026-12-01T00:00:00Z".into(),
    }
}

/// Clients: token-hash and name lookups, unique names and hashes,
/// idempotent revocation, creation order; then a second handle on the same
/// storage (a reopened file, another replica) sees all of it.
fn clients_roundtrip(store: &dyn Store, reopen: &dyn Fn() -> Box<dyn Store>) {
    for i in 0..50u8 {
        store.insert_client(&client(&format!("c{i}"), i)).unwrap();
    }
    let found = store.client_by_token(&[7; 32]).unwrap().unwrap();
    assert_eq!(found.name, "c7");
    assert_eq!(found.keysets, vec!["ab".repeat(32), "cd".repeat(32)]);
    assert!(store.client_by_token(&[99; 32]).unwrap().is_none());
    assert!(store.client_by_name("c9").unwrap().is_some());
    assert!(store.client_by_name("nobody").unwrap().is_none());
    assert!(matches!(
        store.insert_client(&client("c3", 200)),
        Err(InsertClient::Exists)
    ));
    assert!(matches!(
        store.insert_client(&client("fresh", 3)),
        Err(InsertClient::Exists)
    ));
    assert_eq!(store.revoke_client("c1").unwrap(), Some(true));
    assert_eq!(store.revoke_client("c1").unwrap(), Some(false));
    assert_eq!(store.revoke_client("nobody").unwrap(), None);
    let other = reopen();
    let all = other.clients().unwrap();
    assert_eq!(all.len(), 50);
    assert_eq!(all[0].name, "c0");
    assert!(all[1].revoked && !all[2].revoked);
    assert!(other.client_by_token(&[1; 32]).unwrap().unwrap().revoked);
    // A change through the second handle is seen through the first.
    other.insert_client(&client("late", 77)).unwrap();
    assert_eq!(
        store.client_by_token(&[77; 32]).unwrap().unwrap().name,
        "late"
    );
}

fn row(id: &str, record: &str) -> KeyRow {
    KeyRow {
        id: id.into(),
        record: Zeroizing::new(record.into()),
    }
}

/// Keys and the seal: a key is stored only under the seal key the database
/// holds; rows are listed and found by id; a second key under the same id
/// is refused; a seal change is conditional on the seal it replaces and
/// rewrites rows in the same transaction.
fn keys_and_seal_roundtrip(store: &dyn Store, reopen: &dyn Fn() -> Box<dyn Store>) {
    assert!(store.key_rows().unwrap().is_empty());
    assert!(store.seal().unwrap().is_none());
    let a = "ab".repeat(32);
    // No seal yet: nothing can be stored.
    assert!(!store.insert_key(&row(&a, "sealed-a"), "k1").unwrap());
    assert!(store
        .write_seal(None, "k1", "{\"seal\":1}", &[], None)
        .unwrap());
    // A second first seal (another replica) loses.
    assert!(!store.write_seal(None, "k9", "{}", &[], None).unwrap());
    assert!(!store.insert_key(&row(&a, "sealed-a"), "k0").unwrap());
    assert!(store.insert_key(&row(&a, "sealed-a"), "k1").unwrap());
    assert!(store.insert_key(&row(&a, "other"), "k1").is_err());
    let other = reopen();
    assert_eq!(other.seal().unwrap().as_deref(), Some("{\"seal\":1}"));
    let rows = other.key_rows().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, a);
    assert_eq!(rows[0].record.as_str(), "sealed-a");
    assert_eq!(
        other.key_row(&a).unwrap().unwrap().record.as_str(),
        "sealed-a"
    );
    assert!(other.key_row(&"00".repeat(32)).unwrap().is_none());
    // A stale expectation changes nothing; the right one rewrites rows.
    assert!(!other
        .write_seal(Some("k0"), "k2", "{}", &[row(&a, "x")], None)
        .unwrap());
    assert!(other
        .write_seal(
            Some("k1"),
            "k2",
            "{\"seal\":2}",
            &[row(&a, "resealed-a")],
            None
        )
        .unwrap());
    assert_eq!(
        store.key_row(&a).unwrap().unwrap().record.as_str(),
        "resealed-a"
    );
    assert_eq!(store.seal().unwrap().as_deref(), Some("{\"seal\":2}"));
    // The old seal key can no longer store keys.
    assert!(!store.insert_key(&row(&"cd".repeat(32), "c"), "k1").unwrap());
    assert!(store.insert_key(&row(&"cd".repeat(32), "c"), "k2").unwrap());
}

/// Bulk import is one transaction: a duplicate inside it stores nothing.
fn import_is_all_or_nothing(store: &dyn Store) {
    let batch: Vec<_> = (0..100u8).map(|i| client(&format!("b{i}"), i)).collect();
    store.import_clients(&batch).unwrap();
    assert_eq!(store.clients().unwrap().len(), 100);
    let clash = vec![client("new1", 150), client("b5", 151)];
    assert!(store.import_clients(&clash).is_err());
    assert!(store.client_by_name("new1").unwrap().is_none());
}

/// A bulk key import is one transaction too, and its rows read back as
/// they were given.
fn key_import_is_all_or_nothing(store: &dyn Store) {
    let rows: Vec<_> = (0..100u8)
        .map(|i| row(&format!("{i:02x}").repeat(32), &format!("sealed-{i}")))
        .collect();
    store.import_key_rows(&rows).unwrap();
    let stored = store.key_rows().unwrap();
    assert_eq!(stored.len(), 100);
    assert_eq!(stored[7].id, "07".repeat(32));
    assert_eq!(stored[7].record.as_str(), "sealed-7");
    let clash = vec![row(&"ff".repeat(32), "new"), row(&"05".repeat(32), "again")];
    assert!(store.import_key_rows(&clash).is_err());
    assert!(store.key_row(&"ff".repeat(32)).unwrap().is_none());
    assert_eq!(
        store
            .key_row(&"05".repeat(32))
            .unwrap()
            .unwrap()
            .record
            .as_str(),
        "sealed-5"
    );
}

fn staged(session: &str, keyset: &str, transcript: &str) -> LifecycleRow {
    LifecycleRow {
        session: session.into(),
        keyset_id: keyset.into(),
        state: "staged".into(),
        to_epoch: 1,
        transcript: transcript.into(),
        record: Some(Zeroizing::new(format!("staged-{session}"))),
    }
}

/// The identity and lifecycle rounds: every change is conditional on the
/// seal key; staging happens once per session; commit replaces the key
/// and clears the staged record; abort only drops what is still staged;
/// leaving deletes the key; a second handle sees all of it.
fn lifecycle_roundtrip(store: &dyn Store, reopen: &dyn Fn() -> Box<dyn Store>) {
    let a = "ab".repeat(32);
    let b = "cd".repeat(32);
    assert!(store.write_seal(None, "k1", "{}", &[], None).unwrap());
    let identity = IdentityRow {
        public: "pub".into(),
        record: Zeroizing::new("sealed-identity".into()),
    };
    assert!(store.identity().unwrap().is_none());
    assert!(!store.insert_identity(&identity, "k9").unwrap());
    assert!(store.insert_identity(&identity, "k1").unwrap());
    let other = IdentityRow {
        public: "other".into(),
        record: Zeroizing::new("x".into()),
    };
    assert!(!store.insert_identity(&other, "k1").unwrap());
    assert_eq!(store.identity().unwrap().unwrap().public, "pub");

    assert!(store.insert_key(&row(&a, "epoch-0"), "k1").unwrap());
    let round = staged("s1", &a, "t1");
    assert!(!store
        .apply_lifecycle(&LifecycleChange::Stage(&round), "k9")
        .unwrap());
    assert!(store
        .apply_lifecycle(&LifecycleChange::Stage(&round), "k1")
        .unwrap());
    assert!(!store
        .apply_lifecycle(&LifecycleChange::Stage(&staged("s1", &a, "t2")), "k1")
        .unwrap());
    assert_eq!(store.staged_rows().unwrap().len(), 1);
    let new_key = row(&a, "epoch-1");
    let commit = LifecycleChange::Commit {
        session: "s1",
        key: &new_key,
    };
    assert!(store.apply_lifecycle(&commit, "k1").unwrap());
    assert!(!store.apply_lifecycle(&commit, "k1").unwrap());
    assert!(!store
        .apply_lifecycle(&LifecycleChange::Abort { session: "s1" }, "k1")
        .unwrap());
    let done = store.lifecycle_row("s1").unwrap().unwrap();
    assert_eq!(done.state, "committed");
    assert!(done.record.is_none());
    assert_eq!(
        store.key_row(&a).unwrap().unwrap().record.as_str(),
        "epoch-1"
    );
    assert!(store.staged_rows().unwrap().is_empty());

    // A round that is aborted, and one that leaves.
    assert!(store
        .apply_lifecycle(&LifecycleChange::Stage(&staged("s2", &a, "t3")), "k1")
        .unwrap());
    assert!(store
        .apply_lifecycle(&LifecycleChange::Abort { session: "s2" }, "k1")
        .unwrap());
    assert_eq!(store.lifecycle_row("s2").unwrap().unwrap().state, "aborted");
    assert!(store.insert_key(&row(&b, "b"), "k1").unwrap());
    let mut leave = staged("s3", &b, "t4");
    leave.state = "left".into();
    leave.record = None;
    assert!(store
        .apply_lifecycle(&LifecycleChange::Leave(&leave), "k1")
        .unwrap());
    assert!(store.key_row(&b).unwrap().is_none());
    let second = reopen();
    assert_eq!(second.lifecycle_row("s3").unwrap().unwrap().state, "left");
    assert_eq!(second.key_rows().unwrap().len(), 1);

    // A seal change rewrites the identity record in the same transaction.
    assert!(second
        .write_seal(Some("k1"), "k2", "{}", &[], Some("resealed"))
        .unwrap());
    assert_eq!(
        store.identity().unwrap().unwrap().record.as_str(),
        "resealed"
    );
}

fn sqlite() -> (tempfile::TempDir, Box<dyn Fn() -> Box<dyn Store>>) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(DB_FILE);
    let open = move || -> Box<dyn Store> { Box::new(SqliteStore::open(&path).unwrap()) };
    (tmp, Box::new(open))
}

fn postgres() -> Option<Box<dyn Fn() -> Box<dyn Store>>> {
    let url = fresh_database()?;
    Some(Box::new(move || -> Box<dyn Store> {
        Box::new(PostgresStore::open(&url).unwrap())
    }))
}

/// One test per suite function and backend.
macro_rules! suite {
    ($($name:ident: $body:expr;)*) => {
        mod sqlite_suite {
            use super::*;
            $(#[test] fn $name() {
                let (_tmp, open) = sqlite();
                let store = open();
                let run: &dyn Fn(&dyn Store, &dyn Fn() -> Box<dyn Store>) = &$body;
                run(&*store, &*open);
            })*
        }
        mod postgres_suite {
            use super::*;
            $(#[test] fn $name() {
                let Some(open) = postgres() else { return };
                let store = open();
                let run: &dyn Fn(&dyn Store, &dyn Fn() -> Box<dyn Store>) = &$body;
                run(&*store, &*open);
            })*
        }
    };
}

suite! {
    clients_are_found_by_token_hash_and_name_and_names_stay_unique: clients_roundtrip;
    keys_are_stored_only_under_the_current_seal: keys_and_seal_roundtrip;
    a_bulk_import_is_one_transaction: |store, _| import_is_all_or_nothing(store);
    a_bulk_key_import_is_one_transaction: |store, _| key_import_is_all_or_nothing(store);
    lifecycle_rounds_stage_once_commit_once_and_are_sealed: lifecycle_roundtrip;
}

#[test]
fn postgres_migrations_are_idempotent_and_a_newer_schema_is_refused() {
    let Some(url) = fresh_database() else { return };
    // Two replicas starting at once: both succeed, the schema is made once.
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::open(&url).map(drop))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .execute("UPDATE shardlock_schema SET version = version + 1", &[])
        .unwrap();
    let err = PostgresStore::open(&url).unwrap_err();
    assert!(err.to_string().contains("upgrade shardlock"), "{err}");
}

#[test]
fn postgres_errors_never_show_the_password() {
    // Nothing listens on port 1: the connection fails, naming host and
    // database but not the credentials.
    let err = PostgresStore::open("postgres://user:s3cret-pw@127.0.0.1:1/db?connect_timeout=2")
        .unwrap_err();
    let text = crate::error_chain::one_line(&err);
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    let err = PostgresStore::open("postgres://user:s3cret-pw@[bad").unwrap_err();
    assert!(!crate::error_chain::one_line(&err).contains("s3cret-pw"));
}
