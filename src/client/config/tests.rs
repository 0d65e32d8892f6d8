//! Unit tests of the configuration: location, loading and resolving,
//! located error messages, several keysets, building and writing.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::SeedableRng;

use std::time::Duration;

use super::{
    resolve_path_with, Config, ConfigError, KeysetEntry, Network, ServerEntry, TokenSource,
};
use crate::encoding::{b64, hex};
use crate::protocol::{b64_element, Token};
use crate::threshold::kem::{deal, PublicKeyset};

fn public(seed: u64) -> PublicKeyset {
    deal(2, &[1, 2, 3], &mut StdRng::seed_from_u64(seed))
        .expect("deal")
        .0
}

fn share(ks: &PublicKeyset, i: u16) -> String {
    b64_element(ks.public_share(i).expect("participant"))
}

const FP: &str = "sha256:abababababababababababababababababababababababababababababababab";

/// A valid config; the comments give the line numbers tests rely on.
fn sample(ks: &PublicKeyset) -> String {
    [
        r#"default_keyset = "main""#.to_string(), // 1
        String::new(),                            // 2
        "[keysets.main]".into(),                  // 3
        format!("id = \"{}\"", hex(ks.id())),     // 4
        "threshold = 2".into(),                   // 5
        format!("group_key = \"{}\"", b64_element(ks.group_key())), // 6
        String::new(),                            // 7
        "[[keysets.main.servers]]".into(),        // 8
        r#"url = "https://127.0.0.1:8443""#.into(), // 9
        "participant = 1".into(),                 // 10
        format!("public_share = \"{}\"", share(ks, 1)), // 11
        r#"token = "slk_inline""#.into(),         // 12
        String::new(),                            // 13
        "[[keysets.main.servers]]".into(),        // 14
        r#"url = "https://127.0.0.1:8444""#.into(), // 15
        "participant = 2".into(),                 // 16
        format!("public_share = \"{}\"", share(ks, 2)), // 17
        format!("fingerprint = \"{FP}\""),        // 18
        r#"token_env = "TOK2""#.into(),           // 19
        String::new(),                            // 20
        "[[keysets.main.servers]]".into(),        // 21
        r#"url = "https://127.0.0.1:8445""#.into(), // 22
        "participant = 3".into(),                 // 23
        format!("public_share = \"{}\"", share(ks, 3)), // 24
        r#"token_file = "tok3""#.into(),          // 25
        String::new(),
    ]
    .join("\n")
}

/// Replaces line `n` (1-based) of `text`.
fn with_line(text: &str, n: usize, line: &str) -> String {
    let mut lines: Vec<&str> = text.split('\n').collect();
    lines[n - 1] = line;
    lines.join("\n")
}

fn parse_err(text: &str) -> String {
    Config::parse(text.as_bytes(), Some(Path::new("dir/config.toml")))
        .expect_err("config should be rejected")
        .to_string()
}

fn assert_err(text: &str, line: usize, field: &str, needle: &str) {
    let msg = parse_err(text);
    assert!(
        msg.starts_with(&format!("dir/config.toml:{line}:")),
        "wrong file/line in {msg:?} (want line {line})"
    );
    assert!(
        msg.contains(&format!(": {field}: ")),
        "field {field} missing in {msg:?}"
    );
    assert!(msg.contains(needle), "{needle:?} missing in {msg:?}");
}

fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(v))
    }
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Writes the sample config and its token file into a fresh directory.
fn sample_on_disk(ks: &PublicKeyset) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    fs::write(&path, sample(ks)).expect("write");
    fs::write(dir.path().join("tok3"), "slk_from_file\n").expect("write");
    #[cfg(unix)]
    {
        chmod(&path, 0o600);
        chmod(&dir.path().join("tok3"), 0o600);
    }
    (dir, path)
}

// --- location -------------------------------------------------------

#[test]
fn explicit_path_beats_everything() {
    let e = env(&[("SHARDLOCK_CONFIG", "/env/c.toml"), ("HOME", "/home/u")]);
    let p = resolve_path_with(Some(Path::new("/x/my.toml")), &e).expect("path");
    assert_eq!(p, PathBuf::from("/x/my.toml"));
}

#[test]
fn shardlock_config_env_beats_xdg_and_home() {
    let e = env(&[
        ("SHARDLOCK_CONFIG", "/env/c.toml"),
        ("XDG_CONFIG_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ]);
    assert_eq!(
        resolve_path_with(None, &e).expect("path"),
        PathBuf::from("/env/c.toml")
    );
}

#[test]
fn xdg_config_home_beats_home() {
    let e = env(&[("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/home/u")]);
    assert_eq!(
        resolve_path_with(None, &e).expect("path"),
        PathBuf::from("/xdg/shardlock/config.toml")
    );
}

#[test]
fn home_is_the_fallback_and_empty_or_relative_vars_are_ignored() {
    let e = env(&[
        ("SHARDLOCK_CONFIG", ""),
        ("XDG_CONFIG_HOME", "relative/dir"),
        ("HOME", "/home/u"),
    ]);
    assert_eq!(
        resolve_path_with(None, &e).expect("path"),
        PathBuf::from("/home/u/.config/shardlock/config.toml")
    );
}

#[test]
fn no_location_at_all_is_an_error() {
    let e = env(&[]);
    let err = resolve_path_with(None, &e).expect_err("no location");
    assert!(matches!(err, ConfigError::NoLocation));
    assert!(err.to_string().contains("--config"));
}

#[test]
fn missing_file_says_where_and_how_to_create_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope").join("config.toml");
    let msg = Config::load(&path).expect_err("missing").to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("shardlock keyset create"), "{msg}");
    assert!(msg.contains("shardlock dev-cluster"), "{msg}");
}

// --- loading and resolving ------------------------------------------

#[test]
fn sample_loads_and_resolves_tokens_from_inline_file_and_env() {
    let ks = public(1);
    let (_dir, path) = sample_on_disk(&ks);
    let config = Config::load(&path).expect("load");
    assert_eq!(config.keyset_names(), vec!["main"]);
    assert_eq!(config.default_keyset(), Some("main"));
    let resolved = config
        .keyset_with_env(None, &env(&[("TOK2", "slk_from_env\n")]))
        .expect("resolve");
    assert_eq!(resolved.name, "main");
    assert_eq!(resolved.public, ks);
    let e = &resolved.endpoints;
    assert_eq!(
        e.iter().map(|e| e.participant).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(e[0].url, "https://127.0.0.1:8443");
    assert_eq!(e[0].fingerprint, None);
    assert_eq!(e[1].fingerprint, Some([0xab; 32]));
    let tokens: Vec<&str> = e
        .iter()
        .map(|e| e.token.as_ref().map(Token::expose).unwrap_or(""))
        .collect();
    assert_eq!(tokens, vec!["slk_inline", "slk_from_env", "slk_from_file"]);
    // Debug output never shows a token.
    let debug = format!("{config:?} {resolved:?}");
    assert!(!debug.contains("slk_"), "{debug}");
}

#[test]
fn unset_token_env_names_the_variable_field_and_line() {
    let ks = public(1);
    let (_dir, path) = sample_on_disk(&ks);
    let config = Config::load(&path).expect("load");
    let msg = config
        .keyset_with_env(Some("main"), &env(&[]))
        .expect_err("unset")
        .to_string();
    assert!(msg.contains("config.toml:19:"), "{msg}");
    assert!(msg.contains("keysets.main.servers[1].token_env"), "{msg}");
    assert!(msg.contains("TOK2"), "{msg}");
}

#[cfg(unix)]
#[test]
fn world_readable_token_file_is_refused() {
    let ks = public(1);
    let (dir, path) = sample_on_disk(&ks);
    chmod(&dir.path().join("tok3"), 0o644);
    let config = Config::load(&path).expect("load");
    let msg = config
        .keyset_with_env(None, &env(&[("TOK2", "slk_x")]))
        .expect_err("readable")
        .to_string();
    assert!(msg.contains("chmod 600"), "{msg}");
    assert!(msg.contains("config.toml:25:"), "{msg}");
    assert!(msg.contains("keysets.main.servers[2].token_file"), "{msg}");
    assert!(!msg.contains("slk_from_file"), "{msg}");
}

#[cfg(unix)]
#[test]
fn world_readable_config_with_inline_token_is_refused() {
    let ks = public(1);
    let (_dir, path) = sample_on_disk(&ks);
    chmod(&path, 0o644);
    let config = Config::load(&path).expect("load");
    let msg = config
        .keyset_with_env(None, &env(&[("TOK2", "slk_x")]))
        .expect_err("readable")
        .to_string();
    assert!(msg.contains("chmod 600"), "{msg}");
    assert!(msg.contains("keysets.main.servers[0].token"), "{msg}");
    assert!(!msg.contains("slk_inline"), "{msg}");
}

#[test]
fn missing_token_file_is_reported_with_its_path() {
    let ks = public(1);
    let (dir, path) = sample_on_disk(&ks);
    fs::remove_file(dir.path().join("tok3")).expect("rm");
    let config = Config::load(&path).expect("load");
    let msg = config
        .keyset_with_env(None, &env(&[("TOK2", "slk_x")]))
        .expect_err("missing")
        .to_string();
    assert!(msg.contains("tok3"), "{msg}");
    assert!(msg.contains("servers[2].token_file"), "{msg}");
}

#[test]
fn server_without_token_is_status_only() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 25, "");
    let text = with_line(&text, 19, "");
    let config = Config::parse(text.as_bytes(), None).expect("parse");
    let resolved = config.keyset_with_env(None, &env(&[])).expect("resolve");
    assert!(resolved.endpoints[1].token.is_none());
    assert!(resolved.endpoints[2].token.is_none());
}

// --- errors with file, line and field --------------------------------

#[test]
fn toml_syntax_error_has_line_and_column() {
    let ks = public(1);
    let msg = parse_err(&with_line(&sample(&ks), 5, "threshold = "));
    assert!(msg.starts_with("dir/config.toml:5:"), "{msg}");
}

#[test]
fn unknown_field_is_an_error_naming_it() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 18, &format!("fingerprnt = \"{FP}\""));
    assert_err(
        &text,
        18,
        "keysets.main.servers[1].fingerprnt",
        "unknown field",
    );
    let text = with_line(&sample(&ks), 2, "defualt = 1");
    assert_err(&text, 2, "defualt", "unknown field");
}

#[test]
fn wrong_type_names_the_field() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 16, r#"participant = "two""#);
    assert_err(
        &text,
        16,
        "keysets.main.servers[1].participant",
        "invalid type",
    );
    let text = with_line(&sample(&ks), 5, "threshold = -1");
    assert_err(&text, 5, "keysets.main.threshold", "u16");
}

#[test]
fn missing_field_names_the_table() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 17, "");
    assert_err(
        &text,
        14,
        "keysets.main.servers[1]",
        "missing field `public_share`",
    );
}

#[test]
fn bad_fingerprint() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 18, r#"fingerprint = "sha256:1234""#);
    assert_err(
        &text,
        18,
        "keysets.main.servers[1].fingerprint",
        "expected \"sha256:\" followed by 64 hex digits",
    );
}

#[test]
fn bad_base64_and_non_canonical_elements() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 6, r#"group_key = "not base64!""#);
    assert_err(&text, 6, "keysets.main.group_key", "base64url");
    let text = with_line(
        &sample(&ks),
        17,
        &format!("public_share = \"{}\"", b64(&[0xff; 32])),
    );
    assert_err(
        &text,
        17,
        "keysets.main.servers[1].public_share",
        "canonical",
    );
    let text = with_line(
        &sample(&ks),
        11,
        &format!("public_share = \"{}\"", b64(&[0; 32])),
    );
    assert_err(
        &text,
        11,
        "keysets.main.servers[0].public_share",
        "canonical",
    );
}

#[test]
fn duplicate_participant_and_url() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 16, "participant = 1");
    assert_err(
        &text,
        16,
        "keysets.main.servers[1].participant",
        "already used by servers[0]",
    );
    let text = with_line(&sample(&ks), 15, r#"url = "https://127.0.0.1:8443/""#);
    assert_err(
        &text,
        15,
        "keysets.main.servers[1].url",
        "same server URL as servers[0]",
    );
    let text = with_line(&sample(&ks), 15, r#"url = "ftp://x""#);
    assert_err(&text, 15, "keysets.main.servers[1].url", "https://");
}

#[test]
fn threshold_out_of_range() {
    let ks = public(1);
    assert_err(
        &with_line(&sample(&ks), 5, "threshold = 4"),
        5,
        "keysets.main.threshold",
        "threshold 4",
    );
    assert_err(
        &with_line(&sample(&ks), 5, "threshold = 0"),
        5,
        "keysets.main.threshold",
        "threshold 0",
    );
}

#[test]
fn id_mismatch_is_detected() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 4, &format!("id = \"{}\"", "00".repeat(32)));
    assert_err(&text, 4, "keysets.main.id", &hex(ks.id()));
    let text = with_line(&sample(&ks), 4, r#"id = "xyz""#);
    assert_err(&text, 4, "keysets.main.id", "64 hex digits");
}

#[test]
fn inconsistent_public_shares_are_detected() {
    let ks = public(1);
    let other = public(2);
    let text = with_line(
        &sample(&ks),
        17,
        &format!("public_share = \"{}\"", share(&other, 2)),
    );
    assert_err(&text, 3, "keysets.main", "do not match group_key");
}

#[test]
fn two_token_sources_are_refused() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 20, r#"token = "slk_also""#);
    let msg = parse_err(&text);
    assert!(msg.contains("keysets.main.servers[1].token_env"), "{msg}");
    assert!(msg.contains("token and token_env are both set"), "{msg}");
    assert!(msg.starts_with("dir/config.toml:19:"), "{msg}");
    assert!(!msg.contains("slk_also"), "{msg}");
}

#[test]
fn unknown_default_keyset() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 1, r#"default_keyset = "mian""#);
    assert_err(&text, 1, "default_keyset", "available: main");
}

#[test]
fn bad_keyset_name_and_empty_server_list() {
    let ks = public(1);
    let text = sample(&ks).replace("keysets.main", "keysets.\"ma in\"");
    let text = with_line(&text, 1, "");
    assert_err(&text, 3, "keysets.\"ma in\"", "invalid keyset name");
    let text = format!(
        "[keysets.main]\nid = \"{}\"\nthreshold = 1\ngroup_key = \"{}\"\n",
        hex(ks.id()),
        b64_element(ks.group_key())
    );
    assert_err(&text, 1, "keysets.main", "no servers");
}

#[test]
fn garbage_bytes_give_a_clear_error() {
    let mut bytes: Vec<u8> = b"threshold = 2\n".to_vec();
    bytes.extend((0..=255u8).rev());
    let err = Config::parse(&bytes, Some(Path::new("dir/config.toml"))).expect_err("binary");
    let msg = err.to_string();
    assert!(msg.starts_with("dir/config.toml:2:1:"), "{msg}");
    assert!(msg.contains("not UTF-8"), "{msg}");
    for junk in [
        &b"\0\0\x01\x02{{{["[..],
        b"[[[",
        b"keysets = 5",
        b"= = =",
        b"\xef\xbb\xbf[x",
    ] {
        let err = Config::parse(junk, Some(Path::new("c.toml"))).expect_err("junk");
        assert!(err.to_string().starts_with("c.toml"), "{err}");
    }
    // A datetime where a string is expected.
    let msg = parse_err("default_keyset = 1979-05-27T07:32:00Z\n");
    assert!(msg.starts_with("dir/config.toml:1:"), "{msg}");
    // Empty file: valid, just no keysets.
    let config = Config::parse(b"", None).expect("empty");
    assert!(matches!(
        config.keyset(None),
        Err(ConfigError::NoKeysets { .. })
    ));
}

#[test]
fn checks_after_parsing_point_at_the_offending_value() {
    let ks = public(1);
    let text = with_line(&sample(&ks), 18, r#"fingerprint = "sha256:1234""#);
    let msg = parse_err(&text);
    // Column 15 is where the value starts, after `fingerprint = `.
    assert!(
        msg.starts_with("dir/config.toml:18:15: keysets.main.servers[1].fingerprint: "),
        "{msg}"
    );
}

#[test]
fn serde_errors_inside_a_quoted_keyset_name_keep_the_quotes_in_the_path() {
    let ks = public(1);
    let text = with_line(
        &sample(&ks).replace("keysets.main", "keysets.\"ma in\""),
        1,
        "",
    );
    let text = with_line(&text, 16, "participant = true");
    assert_err(
        &text,
        16,
        "keysets.\"ma in\".servers[1].participant",
        "invalid type",
    );
    let text = with_line(&text, 16, "partic = 2");
    assert_err(
        &text,
        16,
        "keysets.\"ma in\".servers[1].partic",
        "unknown field",
    );
}

#[test]
fn an_empty_server_table_is_named_by_its_index() {
    let ks = public(1);
    let text = format!("{}\n[[keysets.main.servers]]\n", sample(&ks));
    assert_err(&text, 27, "keysets.main.servers[3]", "missing field `url`");
}

#[test]
fn keysets_written_with_dotted_keys_load_and_are_located() {
    // No [keysets.main] header: the keyset table has no span of its own,
    // only its keys do.
    let ks = public(1);
    let dotted = with_line(&sample(&ks), 1, "")
        .replace("[keysets.main]\n", "")
        .replace("id = \"", "keysets.main.id = \"")
        .replace("threshold = 2", "keysets.main.threshold = 2")
        .replace("group_key = ", "keysets.main.group_key = ");
    let config = Config::parse(dotted.as_bytes(), None).expect("dotted keys");
    assert_eq!(config.keyset_names(), vec!["main"]);
    let text = dotted.replace(&share(&ks, 2), &share(&public(2), 2));
    assert_err(&text, 3, "keysets.main", "do not match group_key");
    let text = dotted.replace("keysets.main.threshold = 2", "keysets.main.threshold = 9");
    assert_err(&text, 4, "keysets.main.threshold", "threshold 9");
}

// --- several keysets ------------------------------------------------

fn two_keysets(default: Option<&str>) -> (Config, PublicKeyset, PublicKeyset) {
    let (a, b) = (public(1), public(2));
    let mut text = sample(&a)
        .replace("token_env = \"TOK2\"", "")
        .replace("token_file = \"tok3\"", "");
    text = with_line(
        &text,
        1,
        &default
            .map(|d| format!("default_keyset = \"{d}\""))
            .unwrap_or_default(),
    );
    let second = with_line(&sample(&b), 1, "")
        .replace("keysets.main", "keysets.backup")
        .replace("token_file = \"tok3\"", "");
    let text = format!("{text}\n{second}");
    let config = Config::parse(text.as_bytes(), Some(Path::new("c.toml"))).expect("parse");
    (config, a, b)
}

#[test]
fn two_keysets_with_a_default() {
    let (config, a, b) = two_keysets(Some("backup"));
    assert_eq!(config.keyset_names(), vec!["backup", "main"]);
    let e = env(&[("TOK2", "slk_2")]);
    assert_eq!(config.keyset_with_env(None, &e).expect("default").public, b);
    assert_eq!(
        config
            .keyset_with_env(Some("main"), &e)
            .expect("main")
            .public,
        a
    );
    let by_id = config.keyset_by_id_with_env(a.id(), &e).expect("by id");
    assert_eq!(by_id.name, "main");
    let msg = config
        .keyset_by_id(&[7; 32])
        .expect_err("unknown id")
        .to_string();
    assert!(
        msg.contains(&"07".repeat(32)) && msg.contains("main") && msg.contains("backup"),
        "{msg}"
    );
    let msg = config
        .keyset(Some("nope"))
        .expect_err("unknown")
        .to_string();
    assert!(
        msg.contains("nope") && msg.contains("backup, main"),
        "{msg}"
    );
}

#[test]
fn two_keysets_without_default_are_ambiguous() {
    let (config, _, _) = two_keysets(None);
    let err = config.keyset(None).expect_err("ambiguous");
    assert!(matches!(err, ConfigError::AmbiguousKeyset { .. }));
    assert!(err.to_string().contains("backup, main"), "{err}");
}

#[test]
fn duplicate_keyset_ids_are_refused() {
    let a = public(1);
    let second = with_line(&sample(&a), 1, "").replace("keysets.main", "keysets.again");
    let text = format!("{}\n{second}", with_line(&sample(&a), 1, ""));
    let msg = parse_err(&text);
    assert!(
        msg.contains("keysets.main.id") && msg.contains("same keyset id as keysets.again"),
        "{msg}"
    );
}

// --- building and writing -------------------------------------------

fn entry(ks: &PublicKeyset, port: u16) -> KeysetEntry {
    let servers = vec![
        ServerEntry {
            participant: 3,
            url: format!("https://127.0.0.1:{}", port + 2),
            fingerprint: None,
            identity: None,
            token: TokenSource::File(PathBuf::from("tokens/n3")),
        },
        ServerEntry {
            participant: 1,
            url: format!("https://127.0.0.1:{port}"),
            fingerprint: Some([0x11; 32]),
            identity: None,
            token: TokenSource::Inline(Token::new("slk_one".into())),
        },
        ServerEntry {
            participant: 2,
            url: format!("https://127.0.0.1:{}", port + 1),
            fingerprint: None,
            identity: None,
            token: TokenSource::Env("SHARDLOCK_TOKEN_NODE2".into()),
        },
    ];
    KeysetEntry::new(ks.clone(), servers).expect("entry")
}

#[test]
fn save_then_load_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new").join("shardlock").join("config.toml");
    let (a, b) = (public(1), public(2));
    let mut config = Config::new();
    config.add_keyset("main", entry(&a, 8443)).expect("add");
    assert_eq!(config.default_keyset(), None);
    config.add_keyset("backup", entry(&b, 9443)).expect("add");
    // The first keyset stays the default once there are two.
    assert_eq!(config.default_keyset(), Some("main"));
    config.save(&path).expect("save");
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("parent")), 0o700);
    }
    let loaded = Config::load(&path).expect("load");
    assert_eq!(loaded.keyset_names(), vec!["backup", "main"]);
    assert_eq!(loaded.default_keyset(), Some("main"));
    assert_eq!(loaded.entry("main").expect("main").public(), &a);
    let servers = loaded.entry("main").expect("main").servers();
    assert_eq!(servers[0].fingerprint, Some([0x11; 32]));
    assert!(matches!(&servers[0].token, TokenSource::Inline(t) if t.expose() == "slk_one"));
    assert!(matches!(&servers[1].token, TokenSource::Env(v) if v == "SHARDLOCK_TOKEN_NODE2"));
    assert!(matches!(&servers[2].token, TokenSource::File(p) if p == Path::new("tokens/n3")));
    assert_eq!(
        *loaded.to_toml().expect("toml"),
        *config.to_toml().expect("toml")
    );
    // Saving over an existing file replaces it and leaves no temp files.
    loaded.save(&path).expect("save again");
    let names: Vec<_> = fs::read_dir(path.parent().expect("parent"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![OsString::from("config.toml")]);
}

#[test]
fn add_keyset_refuses_duplicates_unless_replacing() {
    let (a, b) = (public(1), public(2));
    let mut config = Config::new();
    config.add_keyset("main", entry(&a, 8443)).expect("add");
    assert!(matches!(
        config.add_keyset("main", entry(&b, 8443)),
        Err(ConfigError::Duplicate(_))
    ));
    // Same keyset under another name.
    assert!(matches!(
        config.add_keyset("other", entry(&a, 8443)),
        Err(ConfigError::Duplicate(_))
    ));
    let old = config
        .replace_keyset("main", entry(&b, 8443))
        .expect("replace");
    assert_eq!(old.expect("old").public(), &a);
    assert_eq!(config.entry("main").expect("main").public(), &b);
    assert!(config.add_keyset("bad name", entry(&a, 1)).is_err());
}

#[test]
fn entry_must_cover_the_keyset_participants() {
    let a = public(1);
    let server = |participant: u16, url: &str| ServerEntry {
        participant,
        url: url.into(),
        fingerprint: None,
        identity: None,
        token: TokenSource::None,
    };
    let err = |servers| {
        KeysetEntry::new(a.clone(), servers)
            .expect_err("bad")
            .to_string()
    };
    assert!(err(vec![server(1, "https://a"), server(2, "https://b")]).contains("3 participants"));
    assert!(err(vec![
        server(1, "https://a"),
        server(2, "https://b"),
        server(4, "https://c")
    ])
    .contains("not part of the keyset"));
    assert!(err(vec![
        server(1, "https://a"),
        server(2, "https://a"),
        server(3, "https://c")
    ])
    .contains("same server URL"));
    assert!(err(vec![
        server(1, "https://a"),
        server(2, "https://b"),
        server(3, "c")
    ])
    .contains("https://"));
}

#[test]
fn relative_token_file_is_relative_to_the_config_directory() {
    let ks = public(1);
    let (dir, path) = sample_on_disk(&ks);
    fs::create_dir(dir.path().join("tokens")).expect("mkdir");
    let token_path = dir.path().join("tokens").join("n3");
    fs::write(&token_path, "slk_nested\r\n").expect("write");
    #[cfg(unix)]
    chmod(&token_path, 0o600);
    fs::write(&path, sample(&ks).replace("\"tok3\"", "\"tokens/n3\"")).expect("write");
    #[cfg(unix)]
    chmod(&path, 0o600);
    let resolved = Config::load(&path)
        .expect("load")
        .keyset_with_env(None, &env(&[("TOK2", "slk_2")]))
        .expect("resolve");
    let token = resolved.endpoints[2].token.as_ref().expect("token");
    assert_eq!(token.expose(), "slk_nested");
}

#[test]
fn network_timeouts_load_are_checked_and_survive_a_save() {
    let ks = public(1);
    let text = format!(
        "{}[network]\nconnect_timeout = \"500ms\"\nrequest_timeout = \"3s\"\n",
        sample(&ks)
    );
    let config = Config::parse(text.as_bytes(), None).expect("valid");
    let network = config.network();
    assert_eq!(network.connect_timeout, Some(Duration::from_millis(500)));
    assert_eq!(network.request_timeout, Some(Duration::from_secs(3)));
    let written = config.to_toml().expect("toml");
    let again = Config::parse(written.as_bytes(), None).expect("reloads");
    assert_eq!(again.network(), network);
    // Unset: no section is written.
    let plain = Config::parse(sample(&ks).as_bytes(), None).expect("valid");
    assert_eq!(plain.network(), Network::default());
    assert!(!plain.to_toml().expect("toml").contains("[network]"));
    // A bad value is located; an unknown key is named.
    // The sample ends with line 26, empty.
    let bad = format!("{}[network]\nrequest_timeout = \"10\"\n", sample(&ks));
    let message = parse_err(&bad);
    assert!(
        message.contains(":27:19: network.request_timeout:"),
        "{message}"
    );
    assert!(message.contains("no unit"), "{message}");
    let unknown = format!("{}[network]\ntimeout = \"1s\"\n", sample(&ks));
    assert!(parse_err(&unknown).contains("timeout"));
}
