//! Test-only: a fresh, empty PostgreSQL database per test, on the server
//! named by `SHARDLOCK_TEST_POSTGRES` (`postgres://user@host:port/db`,
//! which `.ci/run` starts). Each test gets its own database, so tests run
//! in parallel without seeing each other's rows.

use std::str::FromStr;

/// The variable naming the test server.
pub const TEST_POSTGRES_VAR: &str = "SHARDLOCK_TEST_POSTGRES";

/// The URL of a new empty database, or `None` (with a note on stderr) when
/// no test server is configured. Under CI (`CI` set) a missing server is a
/// failure: the PostgreSQL tests must never be skipped there.
///
/// # Panics
///
/// When the server cannot be reached or the database cannot be created,
/// or when `CI` is set and no server is configured.
pub fn fresh_database() -> Option<String> {
    let Ok(base) = std::env::var(TEST_POSTGRES_VAR) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{TEST_POSTGRES_VAR} is not set under CI: the PostgreSQL tests must run there"
        );
        eprintln!("note: {TEST_POSTGRES_VAR} not set; skipping a PostgreSQL test");
        return None;
    };
    let config = postgres::Config::from_str(&base).expect("SHARDLOCK_TEST_POSTGRES parses");
    let mut client = config
        .connect(postgres::NoTls)
        .expect("connect to the test PostgreSQL server");
    let mut suffix = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut suffix);
    let name = format!("shardlock_test_{}", crate::encoding::hex(&suffix));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a test database");
    Some(with_dbname(&base, &name))
}

/// `url` naming database `name` instead of its own.
fn with_dbname(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((main, query)) => (main, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let authority = match main[scheme_end..].find('/') {
        Some(i) => &main[..scheme_end + i],
        None => main,
    };
    format!("{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced_or_added() {
        use super::with_dbname;
        assert_eq!(
            with_dbname("postgres://u@h:1/db", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(with_dbname("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(
            with_dbname("postgres://u@h:1/db?connect_timeout=3", "x"),
            "postgres://u@h:1/x?connect_timeout=3"
        );
    }
}
