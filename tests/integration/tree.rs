//! Folder mode in the mirrored layout (`--layout mirror`), whole-binary:
//! `shardlock encrypt -r SRC -o OUT` and
//! `shardlock decrypt -r ENC -o DEST` with `--skip-unchanged`, `--exclude`,
//! `--json`, `-j` and `--quiet`, run as real processes on real trees
//! against a real `dev-cluster` on 127.0.0.1. Encrypt-only tests use an
//! offline config (encrypting needs no server).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::OsRng;
use serde_json::Value;

use crate::cli::{
    exec, header_len, offline_config, random_bytes, run, shardlock, write_sample, ChildGuard,
    Cluster, Out, BIN,
};
use shardlock::client::config::Config;
use shardlock::envelope::{self, sealed_len, Source};
use shardlock::format::metadata::FileMetadata;

const SUFFIX: &str = ".slock";
const TEMP_MARKER: &str = ".shardlock-tmp-";
const MIB: usize = 1 << 20;
/// The unprivileged user the unreadable-file test runs as under root.
const NOBODY: u32 = 65534;

// ---------------------------------------------------------------------------
// Commands.

/// `shardlock --config CONFIG OP -r INPUT -o OUTPUT EXTRA...`
fn tree_args(
    config: &Path,
    op: &str,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--config".into(),
        config.into(),
        op.into(),
        "-r".into(),
        input.into(),
        "-o".into(),
        output.into(),
    ];
    // These tests pin the mirrored layout (one NAME.slock per file);
    // private_tree.rs covers the default private layout.
    if op == "encrypt" {
        args.extend(["--layout".into(), "mirror".into()]);
    }
    args.extend(extra.iter().map(OsString::from));
    args
}

fn encrypt_tree(config: &Path, src: &Path, out: &Path, extra: &[&str]) -> Out {
    run(tree_args(config, "encrypt", src, out, extra))
}

fn decrypt_tree(config: &Path, enc: &Path, dest: &Path, extra: &[&str]) -> Out {
    run(tree_args(config, "decrypt", enc, dest, extra))
}

/// The `--json` summary: exactly one line on stdout, with the documented
/// fields and types.
#[track_caller]
pub(crate) fn summary(out: &Out) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "want one JSON line on stdout, got {text:?}; stderr:\n{}",
        out.stderr
    );
    let json: Value = serde_json::from_str(lines[0]).expect("the --json summary parses");
    for key in ["files", "bytes", "unchanged"] {
        assert!(json[key].is_u64(), "{key} is a count: {json}");
    }
    assert!(
        json["seconds"].as_f64().is_some_and(|s| s >= 0.0),
        "seconds: {json}"
    );
    for key in ["skipped", "failed"] {
        let list = json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {json}"));
        for item in list {
            assert!(item["path"].is_string(), "{key} path: {item}");
            assert!(
                item["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{key} reason: {item}"
            );
        }
    }
    json
}

/// The sorted `path`s of a summary's `skipped` or `failed` list.
pub(crate) fn paths(json: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = json[key]
        .as_array()
        .expect("list")
        .iter()
        .map(|item| item["path"].as_str().expect("path").to_string())
        .collect();
    out.sort();
    out
}

/// The reason recorded for `path` in a summary's `failed` list.
#[track_caller]
pub(crate) fn failure_reason(json: &Value, path: &str) -> String {
    json["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .find(|item| item["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in failed: {json}"))["reason"]
        .as_str()
        .expect("reason")
        .to_string()
}

// ---------------------------------------------------------------------------
// Trees on disk.

/// Writes `data` at `root/rel` (creating directories) with a mode and an
/// mtime (seconds, nanoseconds).
pub(crate) fn put(root: &Path, rel: &str, data: &[u8], mode: u32, mtime: (u64, u32)) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    write_sample(&path, data, mode, mtime);
}

/// Every entry under `root` except `root` itself, relative, `/`-separated.
/// Entries that vanish while being listed (a running command's temporary
/// files) are left out.
pub(crate) fn entries(root: &Path) -> Vec<(String, fs::Metadata)> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter()
        .filter_map(|e| {
            let e = match e {
                Ok(e) => e,
                Err(e) if e.io_error().map(|e| e.kind()) == Some(ErrorKind::NotFound) => {
                    return None
                }
                Err(e) => panic!("walk {}: {e}", root.display()),
            };
            let rel = e.path().strip_prefix(root).expect("inside");
            let meta = match fs::symlink_metadata(e.path()) {
                Ok(meta) => meta,
                Err(e) if e.kind() == ErrorKind::NotFound => return None,
                Err(e) => panic!("lstat {}: {e}", rel.display()),
            };
            Some((rel.to_string_lossy().into_owned(), meta))
        })
        .collect()
}

/// Regular files under `root` under their final names (temporary files
/// left out), relative.
pub(crate) fn final_files(root: &Path) -> Vec<String> {
    entries(root)
        .into_iter()
        .filter(|(rel, meta)| meta.is_file() && !rel.contains(TEMP_MARKER))
        .map(|(rel, _)| rel)
        .collect()
}

/// Directories under `root`, relative.
pub(crate) fn dirs(root: &Path) -> Vec<String> {
    entries(root)
        .into_iter()
        .filter(|(_, meta)| meta.is_dir())
        .map(|(rel, _)| rel)
        .collect()
}

/// In-progress output files anywhere under `root`.
pub(crate) fn temp_files(root: &Path) -> Vec<String> {
    entries(root)
        .into_iter()
        .filter(|(rel, _)| rel.contains(TEMP_MARKER))
        .map(|(rel, _)| rel)
        .collect()
}

#[track_caller]
pub(crate) fn assert_no_temp_files(root: &Path) {
    let temps = temp_files(root);
    assert!(temps.is_empty(), "temporary files left behind: {temps:?}");
}

/// (inode, mtime, length) of every regular file: what changes when a file
/// is rewritten (a rewrite renames a new inode into place).
pub(crate) fn stamps(root: &Path) -> BTreeMap<String, (u64, SystemTime, u64)> {
    entries(root)
        .into_iter()
        .filter(|(_, meta)| meta.is_file())
        .map(|(rel, meta)| {
            let stamp = (meta.ino(), meta.modified().expect("mtime"), meta.len());
            (rel, stamp)
        })
        .collect()
}

/// Names whose stamps differ between two snapshots (or exist in one only).
pub(crate) fn changed(
    before: &BTreeMap<String, (u64, SystemTime, u64)>,
    after: &BTreeMap<String, (u64, SystemTime, u64)>,
) -> Vec<String> {
    let names: BTreeSet<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    names.into_iter().cloned().collect()
}

/// `restored` holds exactly the directories and regular files of `source`
/// with the same bytes, permission bits and modification times.
#[track_caller]
pub(crate) fn assert_same_tree(source: &Path, restored: &Path) {
    let want = entries(source);
    let got = entries(restored);
    let names = |list: &[(String, fs::Metadata)]| -> Vec<(String, bool)> {
        list.iter()
            .map(|(rel, meta)| (rel.clone(), meta.is_dir()))
            .collect()
    };
    assert_eq!(names(&got), names(&want), "the restored tree's entries");
    for (rel, meta) in want.iter().filter(|(_, meta)| meta.is_file()) {
        let back = fs::symlink_metadata(restored.join(rel)).expect("restored");
        assert!(
            fs::read(source.join(rel)).expect("source")
                == fs::read(restored.join(rel)).expect("restored"),
            "{rel}: restored bytes differ"
        );
        assert_eq!(
            back.permissions().mode() & 0o7777,
            meta.permissions().mode() & 0o7777,
            "{rel}: mode"
        );
        assert_eq!(
            back.modified().expect("mtime"),
            meta.modified().expect("mtime"),
            "{rel}: mtime"
        );
    }
}

/// The exact length `encrypt -r` gives the output for the file at `rel`.
fn expected_sealed_len(rel: &str, size: u64) -> u64 {
    let meta = FileMetadata {
        path: rel.as_bytes().to_vec(),
        size,
        mode: Some(0o600),
        mtime: Some((0, 0)),
        padded: false,
    };
    sealed_len(Some(&meta), false, size)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

// ---------------------------------------------------------------------------
// 1. Round trip.

#[test]
fn tree_round_trip_restores_contents_modes_and_mtimes_and_seals_names() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));

    let mut files: Vec<(String, usize, u32, (u64, u32))> = vec![
        (
            "docs/report final.txt".into(),
            3000,
            0o640,
            (1_600_000_000, 123_456_789),
        ),
        (
            "docs/résumé ünïcødé 日本語.md".into(),
            5000,
            0o600,
            (1_500_000_001, 999_999_999),
        ),
        ("bin/run me.sh".into(), 100, 0o755, (1_400_000_000, 1)),
        ("empty.bin".into(), 0, 0o644, (1_300_000_000, 0)),
        (
            "deep/a/b/c/d/leaf.dat".into(),
            16384,
            0o600,
            (1_200_000_000, 42),
        ),
        (
            "deep/a/one chunk plus one.dat".into(),
            16385,
            0o640,
            (1_100_000_000, 7),
        ),
        // At least 8 MiB: split across workers by chunk.
        (
            "big/large payload.bin".into(),
            9 * MIB + 4321,
            0o640,
            (1_650_000_000, 500_000_000),
        ),
    ];
    for i in 0..150u32 {
        let mode = [0o600, 0o640, 0o644, 0o755, 0o400][i as usize % 5];
        let name = format!("many/sub {}/f-{i:03}.txt", i % 4);
        files.push((
            name,
            (i as usize * 37) % 3000,
            mode,
            (1_700_000_000 + u64::from(i), i * 1000 + 7),
        ));
    }
    for (rel, size, mode, mtime) in &files {
        put(&src, rel, &random_bytes(*size), *mode, *mtime);
    }
    for empty in ["empty dir", "deep/empty inner", "many/ünïcode émpty"] {
        fs::create_dir_all(src.join(empty)).expect("empty dir");
    }
    let total: usize = files.iter().map(|f| f.1).sum();

    let out = encrypt_tree(&config, &src, &enc, &["-j", "4", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(json["operation"], "encrypt", "{json}");
    assert_eq!(json["files"], files.len(), "{json}");
    assert_eq!(json["bytes"], total, "{json}");
    assert_eq!(json["unchanged"], 0, "{json}");
    assert_eq!(paths(&json, "skipped"), Vec::<String>::new());
    assert_eq!(paths(&json, "failed"), Vec::<String>::new());
    assert_eq!(
        out.stderr_lines(),
        Vec::<&str>::new(),
        "--json: nothing on stderr"
    );

    // One NAME.slock per file, the same directories (empty ones too), and
    // each output exactly as long as the format says.
    let mut want: Vec<String> = files.iter().map(|f| format!("{}{SUFFIX}", f.0)).collect();
    want.sort();
    let mut got = final_files(&enc);
    got.sort();
    assert_eq!(got, want, "one .slock per source file");
    assert_eq!(dirs(&enc), dirs(&src), "directories mirrored");
    assert_no_temp_files(&enc);

    // No plaintext inside the encrypted files: neither their names (the
    // path is sealed) nor their contents.
    for (rel, size, _, _) in &files {
        let sealed = fs::read(enc.join(format!("{rel}{SUFFIX}"))).expect("sealed");
        assert_eq!(
            sealed.len() as u64,
            expected_sealed_len(rel, *size as u64),
            "{rel}: sealed length"
        );
        let mut needles: Vec<&[u8]> = vec![rel.as_bytes()];
        needles.extend(rel.split('/').filter(|c| c.len() >= 4).map(str::as_bytes));
        for needle in needles {
            assert!(
                !contains(&sealed, needle),
                "{rel}: the encrypted file contains the plaintext name {:?}",
                String::from_utf8_lossy(needle)
            );
        }
        if *size >= 64 {
            let plain = fs::read(src.join(rel)).expect("plain");
            let middle = &plain[size / 2 - 32..size / 2 + 32];
            assert!(!contains(&sealed, middle), "{rel}: plaintext in the output");
        }
    }

    // Restore: --quiet prints nothing at all on success.
    let out = decrypt_tree(&config, &enc, &dest, &["-j", "3", "--quiet"]);
    out.expect_code(0);
    assert_eq!(out.stderr_lines(), Vec::<&str>::new(), "--quiet");
    assert!(out.stdout.is_empty());
    assert_same_tree(&src, &dest);
    assert_no_temp_files(&dest);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 2. Symlinks and fifos.

#[test]
fn symlinks_and_fifos_are_skipped_with_one_warning_each_and_listed_in_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("config.toml");
    offline_config(&config);
    let src = tmp.path().join("src");
    put(&src, "a.txt", b"alpha", 0o600, (1_600_000_000, 0));
    put(&src, "sub/b.txt", b"bravo", 0o600, (1_600_000_000, 0));
    put(
        &src,
        "real dir/c.txt",
        b"charlie",
        0o600,
        (1_600_000_000, 0),
    );
    put(
        tmp.path(),
        "outside/secret.txt",
        b"outside",
        0o600,
        (1_600_000_000, 0),
    );
    symlink("a.txt", src.join("link to file")).expect("symlink");
    symlink("missing", src.join("dangling")).expect("symlink");
    symlink("real dir", src.join("link to dir")).expect("symlink");
    symlink(tmp.path().join("outside"), src.join("sub/outside")).expect("symlink");
    mkfifo(&src.join("sub/pipe"));
    let skipped = [
        "dangling",
        "link to dir",
        "link to file",
        "sub/outside",
        "sub/pipe",
    ];
    let encrypted = ["a.txt.slock", "real dir/c.txt.slock", "sub/b.txt.slock"];

    // Text mode: one warning per skipped entry, and success.
    let out_text = tmp.path().join("out-text");
    let out = encrypt_tree(&config, &src, &out_text, &[]);
    out.expect_code(0);
    let warnings: Vec<&str> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), skipped.len(), "{}", out.stderr);
    for path in skipped {
        let prefix = format!("shardlock: warning: skipped {path}: ");
        assert_eq!(
            warnings.iter().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "one warning for {path}:\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
    assert_eq!(final_files(&out_text), encrypted);
    assert!(
        fs::symlink_metadata(out_text.join("link to dir")).is_err(),
        "a symlinked directory is not followed"
    );
    assert!(fs::symlink_metadata(out_text.join("sub/outside")).is_err());

    // --json: listed under skipped, with reasons.
    let out_json = tmp.path().join("out-json");
    let out = encrypt_tree(&config, &src, &out_json, &["--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(paths(&json, "skipped"), skipped, "{json}");
    assert_eq!(paths(&json, "failed"), Vec::<String>::new(), "{json}");
    assert_eq!(json["files"], encrypted.len(), "{json}");
    assert_eq!(final_files(&out_json), encrypted);

    // --quiet: nothing but errors, and there are none.
    let out_quiet = tmp.path().join("out-quiet");
    let out = encrypt_tree(&config, &src, &out_quiet, &["--quiet"]);
    out.expect_code(0);
    assert_eq!(out.stderr_lines(), Vec::<&str>::new(), "--quiet");
    assert_eq!(final_files(&out_quiet), encrypted);
}

// ---------------------------------------------------------------------------
// 3. --exclude.

#[test]
fn exclude_globs_keep_matching_files_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("config.toml");
    offline_config(&config);
    let src = tmp.path().join("src");
    for rel in [
        "keep.txt",
        "app.log",
        "logbook.txt",
        "notes.log.txt",
        "sub/deep/trace.log",
        "cache/blob.bin",
        "cache/nested/x.bin",
        "sub/cache/kept.bin",
        "build/out.o",
    ] {
        put(&src, rel, &random_bytes(100), 0o600, (1_600_000_000, 0));
    }
    let out_dir = tmp.path().join("out");
    let out = encrypt_tree(
        &config,
        &src,
        &out_dir,
        &[
            "--exclude",
            "*.log",
            "--exclude",
            "cache/**",
            "--exclude",
            "build",
            "--json",
        ],
    );
    out.expect_code(0);
    let json = summary(&out);
    let kept = [
        "keep.txt.slock",
        "logbook.txt.slock",
        "notes.log.txt.slock",
        "sub/cache/kept.bin.slock",
    ];
    assert_eq!(final_files(&out_dir), kept);
    assert_eq!(json["files"], kept.len(), "{json}");
    assert_eq!(paths(&json, "failed"), Vec::<String>::new(), "{json}");
    assert!(
        !out_dir.join("build").exists(),
        "an excluded directory is pruned"
    );

    // A bad glob is a usage error, before anything is created.
    let bad_out = tmp.path().join("never");
    let out = encrypt_tree(&config, &src, &bad_out, &["--exclude", "a["]);
    out.expect_code(2);
    assert!(out.stderr.contains("--exclude"), "{}", out.stderr);
    assert!(!bad_out.exists());
    // --exclude needs -r.
    let out = run([
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("encrypt"),
        OsStr::new("--exclude"),
        OsStr::new("*.log"),
        src.join("keep.txt").as_os_str(),
    ]);
    out.expect_code(2);
}

// ---------------------------------------------------------------------------
// 4. --skip-unchanged.

#[test]
fn skip_unchanged_rewrites_exactly_the_changed_files_both_ways() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));
    let mut rels = Vec::new();
    for i in 0..30u32 {
        let rel = format!("d{}/file {i}.bin", i % 3);
        let size = (i as usize * 977) % 20_000;
        put(
            &src,
            &rel,
            &random_bytes(size),
            0o640,
            (1_600_000_000 + u64::from(i), i),
        );
        rels.push(rel);
    }
    put(
        &src,
        "big.bin",
        &random_bytes(300_000),
        0o600,
        (1_600_000_100, 5),
    );
    rels.push("big.bin".into());
    let n = rels.len();
    let total = |root: &Path| -> u64 {
        rels.iter()
            .map(|r| fs::metadata(root.join(r)).expect("size").len())
            .sum()
    };

    let out = encrypt_tree(&config, &src, &enc, &["--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(
        (json["files"].as_u64(), json["unchanged"].as_u64()),
        (Some(n as u64), Some(0))
    );

    // Nothing changed: nothing written.
    let before = stamps(&enc);
    let out = encrypt_tree(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(json["files"], 0, "{json}");
    assert_eq!(json["bytes"], 0, "{json}");
    assert_eq!(json["unchanged"], n, "{json}");
    assert_eq!(changed(&before, &stamps(&enc)), Vec::<String>::new());
    assert_no_temp_files(&enc);

    // Same size, new content and mtime: exactly that file.
    let rel0 = &rels[0];
    let size0 = fs::metadata(src.join(rel0)).expect("meta").len() as usize;
    put(
        &src,
        rel0,
        &random_bytes(size0),
        0o640,
        (1_700_000_000, 999),
    );
    let out = encrypt_tree(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(json["files"], 1, "{json}");
    assert_eq!(json["bytes"], size0, "{json}");
    assert_eq!(json["unchanged"], n - 1, "{json}");
    let after = stamps(&enc);
    assert_eq!(changed(&before, &after), [format!("{rel0}{SUFFIX}")]);

    // New size, mtime put back to what it was: exactly that file.
    let rel1 = &rels[1];
    let old_mtime = fs::metadata(src.join(rel1))
        .expect("meta")
        .modified()
        .expect("mtime");
    let old = old_mtime.duration_since(UNIX_EPOCH).expect("after 1970");
    put(
        &src,
        rel1,
        &random_bytes(12_345),
        0o640,
        (old.as_secs(), old.subsec_nanos()),
    );
    let out = encrypt_tree(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(
        (json["files"].as_u64(), json["unchanged"].as_u64()),
        (Some(1), Some(n as u64 - 1))
    );
    assert_eq!(changed(&after, &stamps(&enc)), [format!("{rel1}{SUFFIX}")]);

    // Restore, then restore again over it: the second does nothing.
    let out = decrypt_tree(&config, &enc, &dest, &["--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(json["operation"], "decrypt", "{json}");
    assert_eq!(json["files"], n, "{json}");
    assert_eq!(json["bytes"], total(&src), "{json}");
    assert_same_tree(&src, &dest);
    let restored = stamps(&dest);
    let out = decrypt_tree(&config, &enc, &dest, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(json["files"], 0, "{json}");
    assert_eq!(json["unchanged"], n, "{json}");
    assert_eq!(changed(&restored, &stamps(&dest)), Vec::<String>::new());

    // One source file changes: one file re-encrypted, one restored.
    let rel2 = &rels[2];
    put(
        &src,
        rel2,
        b"changed after the first restore",
        0o600,
        (1_750_000_000, 1),
    );
    let out = encrypt_tree(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    assert_eq!(summary(&out)["files"], 1);
    let out = decrypt_tree(&config, &enc, &dest, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(
        (json["files"].as_u64(), json["unchanged"].as_u64()),
        (Some(1), Some(n as u64 - 1))
    );
    assert_eq!(changed(&restored, &stamps(&dest)), [rel2.as_str()]);
    assert_same_tree(&src, &dest);
    assert_no_temp_files(&dest);

    // "No work" means no server either: with too few servers left, an
    // up-to-date restore still succeeds.
    cluster.kill_node(2);
    cluster.kill_node(3);
    let out = decrypt_tree(&config, &enc, &dest, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(
        (json["files"].as_u64(), json["unchanged"].as_u64()),
        (Some(0), Some(n as u64))
    );
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 6. An unreadable source file.

/// `shardlock ARGS` as uid/gid 65534 (root can read mode-000 files).
pub(crate) fn as_nobody(args: Vec<OsString>) -> Command {
    let mut cmd = Command::new("/usr/bin/setpriv");
    cmd.arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(BIN)
        .args(args)
        .env_remove("SHARDLOCK_CONFIG")
        .env_remove("SHARDLOCK_ADMIN_TOKEN")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", "/nonexistent-shardlock-test-home");
    cmd
}

pub(crate) fn chown_tree(root: &Path, uid: u32) {
    std::os::unix::fs::chown(root, Some(uid), Some(uid)).expect("chown");
    for (rel, _) in entries(root) {
        std::os::unix::fs::chown(root.join(rel), Some(uid), Some(uid)).expect("chown");
    }
}

#[test]
fn an_unreadable_source_file_fails_alone_and_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let as_root = fs::metadata(root).expect("meta").uid() == 0;
    // uid 65534 must be able to reach everything below.
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = root.join("config.toml");
    offline_config(&config);
    let (src, out_dir) = (root.join("src"), root.join("out"));
    let readable = ["a.txt", "sub/b.txt", "sub/deeper/c.txt"];
    for rel in readable {
        put(&src, rel, &random_bytes(2000), 0o644, (1_600_000_000, 0));
    }
    put(
        &src,
        "sub/secret.txt",
        b"you cannot read me",
        0o644,
        (1_600_000_000, 0),
    );
    fs::create_dir(&out_dir).expect("out dir");
    let args = tree_args(&config, "encrypt", &src, &out_dir, &["--json"]);
    let out = if as_root {
        chown_tree(&src, NOBODY);
        chown_tree(&out_dir, NOBODY);
        std::os::unix::fs::chown(&config, Some(NOBODY), Some(NOBODY)).expect("chown");
        assert_eq!(fs::metadata(&config).expect("meta").mode() & 0o777, 0o600);
        fs::set_permissions(
            src.join("sub/secret.txt"),
            fs::Permissions::from_mode(0o000),
        )
        .expect("chmod");
        exec(as_nobody(args), None)
    } else {
        fs::set_permissions(
            src.join("sub/secret.txt"),
            fs::Permissions::from_mode(0o000),
        )
        .expect("chmod");
        run(args)
    };
    out.expect_code(1);
    let json = summary(&out);
    assert_eq!(paths(&json, "failed"), ["sub/secret.txt"], "{json}");
    let reason = failure_reason(&json, "sub/secret.txt").to_lowercase();
    assert!(reason.contains("permission denied"), "{reason}");
    assert_eq!(json["files"], readable.len(), "{json}");
    assert!(
        out.stderr_lines()
            .iter()
            .any(|l| l.starts_with("shardlock: error: sub/secret.txt: ")),
        "the file is named on stderr:\n{}",
        out.stderr
    );
    let mut want: Vec<String> = readable.iter().map(|r| format!("{r}{SUFFIX}")).collect();
    want.sort();
    assert_eq!(final_files(&out_dir), want);
    for rel in readable {
        let len = fs::metadata(out_dir.join(format!("{rel}{SUFFIX}")))
            .expect("out")
            .len();
        assert_eq!(len, expected_sealed_len(rel, 2000), "{rel}");
    }
    assert_no_temp_files(&out_dir);
}

// ---------------------------------------------------------------------------
// 7. A tampered file in an encrypted tree.

#[test]
fn a_tampered_file_fails_alone_and_leaves_nothing_under_dest() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));
    let good = ["a.txt", "sub/b.bin", "sub/c.bin", "z.bin"];
    for (i, rel) in good.iter().enumerate() {
        put(
            &src,
            rel,
            &random_bytes(10_000 * (i + 1)),
            0o640,
            (1_600_000_000, 1),
        );
    }
    // A multi-chunk file (the flipped byte is in its last chunk, so earlier
    // chunks are written first) and one on the chunk-parallel path.
    put(
        &src,
        "sub/tampered.bin",
        &random_bytes(200_000),
        0o600,
        (1_600_000_000, 2),
    );
    put(
        &src,
        "big tampered.bin",
        &random_bytes(9 * MIB),
        0o600,
        (1_600_000_000, 3),
    );
    encrypt_tree(&config, &src, &enc, &["--quiet"]).expect_code(0);
    for (rel, at) in [("sub/tampered.bin", 0.95), ("big tampered.bin", 0.5)] {
        let path = enc.join(format!("{rel}{SUFFIX}"));
        let mut bytes = fs::read(&path).expect("read");
        let body = header_len(&bytes);
        let index = body + ((bytes.len() - body) as f64 * at) as usize;
        bytes[index] ^= 0x01;
        fs::write(&path, &bytes).expect("write");
    }

    let out = decrypt_tree(&config, &enc, &dest, &["-j", "2", "--json"]);
    out.expect_code(1);
    let json = summary(&out);
    assert_eq!(
        paths(&json, "failed"),
        ["big tampered.bin", "sub/tampered.bin"],
        "{json}"
    );
    assert_eq!(json["files"], good.len(), "{json}");
    for rel in ["big tampered.bin", "sub/tampered.bin"] {
        assert!(
            out.stderr_lines()
                .iter()
                .any(|l| l.starts_with(&format!("shardlock: error: {rel}: "))),
            "{rel} named on stderr:\n{}",
            out.stderr
        );
    }
    let mut want: Vec<String> = good.iter().map(|r| r.to_string()).collect();
    want.sort();
    assert_eq!(
        final_files(&dest),
        want,
        "only the intact files are restored"
    );
    for rel in good {
        assert!(fs::read(src.join(rel)).expect("src") == fs::read(dest.join(rel)).expect("dest"));
    }
    assert_no_temp_files(&dest);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 8. Paths that would escape DEST.

/// An encrypted file whose sealed metadata says `path`.
fn craft(config: &Path, path: &[u8], data: &[u8]) -> Vec<u8> {
    craft_with_mode(config, path, data, 0o644)
}

/// An encrypted file whose sealed metadata says `path` and `mode`.
fn craft_with_mode(config: &Path, path: &[u8], data: &[u8], mode: u32) -> Vec<u8> {
    let keyset = Config::load(config)
        .expect("config")
        .keyset(None)
        .expect("keyset")
        .public;
    let metadata = FileMetadata {
        path: path.to_vec(),
        size: data.len() as u64,
        mode: Some(mode),
        mtime: Some((1_600_000_000, 0)),
        padded: false,
    };
    let (sealed, _) = envelope::encrypt(
        Source::Stream(data),
        Vec::new(),
        (&keyset).into(),
        Some(&metadata),
        1,
        &mut OsRng,
    )
    .expect("encrypt");
    sealed
}

#[test]
fn restore_refuses_paths_and_symlinks_that_lead_outside_dest() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc) = (work.join("src"), work.join("enc"));
    put(&src, "good.txt", b"good", 0o644, (1_600_000_000, 0));
    put(&src, "sub/other.txt", b"other", 0o644, (1_600_000_000, 0));
    encrypt_tree(&config, &src, &enc, &["--quiet"]).expect_code(0);

    // A symlinked directory planted in DEST is not followed; a symlink
    // under a file's own name is replaced (--force), not written through.
    let outside = work.join("outside-link-target");
    put(&outside, "victim.txt", b"victim", 0o644, (1_600_000_000, 0));
    let dest = work.join("planted").join("dest");
    fs::create_dir_all(&dest).expect("dest");
    symlink(&outside, dest.join("sub")).expect("symlink");
    symlink(outside.join("victim.txt"), dest.join("good.txt")).expect("symlink");
    let out = decrypt_tree(&config, &enc, &dest, &["--force", "--json"]);
    out.expect_code(1);
    let json = summary(&out);
    assert!(
        paths(&json, "failed").contains(&"sub/other.txt".to_string()),
        "{json}"
    );
    assert!(
        failure_reason(&json, "sub/other.txt").contains("symlink"),
        "{json}"
    );
    assert_eq!(
        listing_names(&outside),
        ["victim.txt"],
        "nothing written through the link"
    );
    assert_eq!(
        fs::read(outside.join("victim.txt")).expect("victim"),
        b"victim"
    );
    let restored = fs::symlink_metadata(dest.join("good.txt")).expect("good.txt");
    assert!(
        restored.is_file(),
        "the planted link was replaced, not followed"
    );
    assert_eq!(fs::read(dest.join("good.txt")).expect("good"), b"good");
    assert_no_temp_files(&dest);

    // Sealed paths that climb out or are absolute are refused by name.
    let parent = work.join("restore-parent");
    let dest = parent.join("dest");
    let abs_target = work.join("absolute").join("escape");
    fs::write(
        enc.join(format!("evil{SUFFIX}")),
        craft(&config, b"../escape", b"up"),
    )
    .expect("evil");
    fs::write(
        enc.join("sub").join(format!("abs{SUFFIX}")),
        craft(&config, abs_target.as_os_str().as_encoded_bytes(), b"abs"),
    )
    .expect("abs");
    fs::write(
        enc.join(format!("sneaky{SUFFIX}")),
        craft(&config, b"sub/../../escape2", b"sneaky"),
    )
    .expect("sneaky");
    let out = decrypt_tree(&config, &enc, &dest, &["--json"]);
    out.expect_code(1);
    let json = summary(&out);
    assert_eq!(
        paths(&json, "failed"),
        ["evil", "sneaky", "sub/abs"],
        "{json}"
    );
    for (rel, stored) in [
        ("evil", "../escape".to_string()),
        ("sneaky", "sub/../../escape2".to_string()),
        ("sub/abs", abs_target.display().to_string()),
    ] {
        let reason = failure_reason(&json, rel);
        assert!(
            reason.contains("refus")
                || reason.contains("unsafe")
                || reason.contains("not a plain relative path"),
            "{rel}: {reason}"
        );
        assert!(
            reason.contains(&stored),
            "{rel}: the stored path is shown: {reason}"
        );
        assert!(
            out.stderr_lines()
                .iter()
                .any(|l| l.starts_with(&format!("shardlock: error: {rel}: "))),
            "{rel} named on stderr:\n{}",
            out.stderr
        );
    }
    assert_eq!(json["files"], 2, "{json}");
    assert_eq!(listing_names(&parent), ["dest"], "nothing next to DEST");
    assert!(!work.join("escape2").exists() && !work.join("absolute").exists());
    assert_eq!(final_files(&dest), ["good.txt", "sub/other.txt"]);
    assert_eq!(
        fs::read(dest.join("sub/other.txt")).expect("other"),
        b"other"
    );
    assert_no_temp_files(&dest);
    cluster.stop();
}

pub(crate) fn listing_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------
// 9. SIGKILL mid-way, then --skip-unchanged finishes the job.

/// Starts `shardlock ARGS` and SIGKILLs it as soon as `ready()` holds;
/// panics if it finishes first (`what` names the awaited state).
pub(crate) fn kill_when_ready(args: Vec<OsString>, what: &str, ready: impl Fn() -> bool) {
    let mut cmd = shardlock(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut guard = ChildGuard(Some(cmd.spawn().expect("spawn")));
    let child = guard.0.as_mut().expect("child");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("finished ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "no progress towards {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    guard.0 = None;
    assert_eq!(status.signal(), Some(9), "killed, not finished: {status}");
}

/// Starts `shardlock ARGS` and SIGKILLs it once `dir` holds at least
/// `at_least` files under final names; returns how many there were.
fn kill_midway(args: Vec<OsString>, dir: &Path, at_least: usize, total: usize) -> usize {
    let what = format!("{at_least} outputs appeared");
    kill_when_ready(args, &what, || {
        dir.exists() && final_files(dir).len() >= at_least
    });
    let done = final_files(dir).len();
    assert!(
        done < total,
        "killed after all {total} outputs were written; use a bigger tree"
    );
    done
}

#[test]
fn sigkill_midway_leaves_only_complete_files_and_a_skip_unchanged_rerun_finishes() {
    const FILES: usize = 300;
    const SIZE: usize = 256 * 1024;
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));
    let rels: Vec<String> = (0..FILES)
        .map(|i| format!("part {}/f{i:03}.bin", i % 3))
        .collect();
    for rel in &rels {
        put(&src, rel, &random_bytes(SIZE), 0o640, (1_600_000_000, 17));
    }

    // Encrypt, killed.
    let args = tree_args(&config, "encrypt", &src, &enc, &["-j", "1"]);
    let done = kill_midway(args, &enc, 5, FILES);
    for rel in final_files(&enc) {
        let plain = rel.strip_suffix(SUFFIX).expect("a .slock name");
        let len = fs::metadata(enc.join(&rel)).expect("meta").len();
        assert_eq!(
            len,
            expected_sealed_len(plain, SIZE as u64),
            "{rel} is incomplete"
        );
    }
    for temp in temp_files(&enc) {
        let name = Path::new(&temp)
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with('.'), "temporary file {temp} is hidden");
    }
    let kept = stamps(&enc);
    let out = encrypt_tree(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(
        json["files"].as_u64().unwrap() + json["unchanged"].as_u64().unwrap(),
        FILES as u64,
        "{json}"
    );
    assert!(
        json["unchanged"].as_u64().unwrap() >= done as u64,
        "complete outputs are kept: {json}"
    );
    let now = stamps(&enc);
    for (rel, stamp) in &kept {
        if !rel.contains(TEMP_MARKER) {
            assert_eq!(now.get(rel), Some(stamp), "{rel} was rewritten");
        }
    }
    assert_no_temp_files(&enc);
    assert_eq!(final_files(&enc).len(), FILES);

    // Restore, killed while it writes: restores place files in batches
    // (one sync, then the renames), so what shows first is temporary files.
    let args = tree_args(&config, "decrypt", &enc, &dest, &["-j", "1"]);
    kill_when_ready(args, "the restore was writing", || {
        dest.exists() && temp_files(&dest).len() + final_files(&dest).len() >= 5
    });
    let done = final_files(&dest).len();
    assert!(
        done < FILES,
        "killed after the restore finished; use a bigger tree"
    );
    for rel in final_files(&dest) {
        assert!(
            fs::read(src.join(&rel)).expect("src") == fs::read(dest.join(&rel)).expect("dest"),
            "{rel} under its final name is not the complete plaintext"
        );
    }
    let out = decrypt_tree(&config, &enc, &dest, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(
        json["files"].as_u64().unwrap() + json["unchanged"].as_u64().unwrap(),
        FILES as u64,
        "{json}"
    );
    assert!(json["unchanged"].as_u64().unwrap() >= done as u64, "{json}");
    assert_no_temp_files(&dest);
    assert_same_tree(&src, &dest);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 10. Too few servers.

#[test]
fn two_nodes_down_fails_the_restore_once_listing_the_servers_and_writes_no_file() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));
    for rel in ["a.txt", "b/c.txt", "b/d/e.txt", "f.bin"] {
        put(&src, rel, &random_bytes(5000), 0o644, (1_600_000_000, 0));
    }
    encrypt_tree(&config, &src, &enc, &[]).expect_code(0);
    let down = [cluster.url(2), cluster.url(3)];
    let up = cluster.url(1);
    cluster.kill_node(2);
    cluster.kill_node(3);

    let out = decrypt_tree(&config, &enc, &dest, &["--quiet"]);
    out.expect_code(3);
    let lines = out.stderr_lines();
    let errors: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("shardlock: error: "))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "one error, not one per file:\n{}",
        out.stderr
    );
    assert!(errors[0].contains("fewer than 2"), "{}", out.stderr);
    for url in &down {
        assert!(
            lines.iter().any(|l| l.contains(url.as_str())),
            "{url} is listed:\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains(&up), "{}", out.stderr);
    assert_eq!(final_files(&dest), Vec::<String>::new(), "no file restored");
    assert_no_temp_files(&dest);

    // The same with --json: the summary still comes out, and says so.
    let out = decrypt_tree(&config, &enc, &dest, &["--json"]);
    out.expect_code(3);
    let json = summary(&out);
    assert_eq!(json["files"], 0, "{json}");
    assert_eq!(final_files(&dest), Vec::<String>::new(), "no file restored");
    cluster.stop();
}

// ---------------------------------------------------------------------------
// Regressions: bugs found by these tests, fixed in src/.

#[test]
fn a_source_file_named_like_a_temp_file_is_restored_not_silently_dropped() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));
    // A leftover of an interrupted `shardlock decrypt -o notes.txt` inside
    // the tree being backed up: an ordinary file as far as the user knows.
    let odd = ".notes.txt.shardlock-tmp-0123456789ab";
    put(&src, "keep.txt", b"keep", 0o644, (1_600_000_000, 0));
    put(&src, odd, b"half a note", 0o600, (1_600_000_000, 0));
    let out = encrypt_tree(&config, &src, &enc, &["--json"]);
    out.expect_code(0);
    assert_eq!(summary(&out)["files"], 2, "both files are encrypted");

    let out = decrypt_tree(&config, &enc, &dest, &["--json"]);
    let json = summary(&out);
    let reported = paths(&json, "skipped")
        .into_iter()
        .chain(paths(&json, "failed"))
        .any(|p| p == odd);
    assert!(
        dest.join(odd).is_file() || (reported && out.code() == Some(1)),
        "{odd} was encrypted but the restore neither restored nor reported it \
         (exit {:?}): {json}",
        out.code()
    );

    // An unchanged tree must not be rewritten either.
    let before = stamps(&enc);
    let out = encrypt_tree(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    assert_eq!(summary(&out)["files"], 0);
    assert_eq!(changed(&before, &stamps(&enc)), Vec::<String>::new());
    cluster.stop();
}

#[test]
fn a_dest_inside_the_encrypted_tree_gets_exactly_the_source_tree() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc) = (work.join("src"), work.join("enc"));
    put(&src, "a.txt", b"a", 0o644, (1_600_000_000, 0));
    put(&src, "cache/n/x.txt", b"x", 0o644, (1_600_000_000, 0));
    encrypt_tree(&config, &src, &enc, &["--quiet"]).expect_code(0);
    let dest = enc.join("restored");
    let out = decrypt_tree(&config, &enc, &dest, &["--json"]);
    out.expect_code(0);
    assert_eq!(paths(&summary(&out), "skipped"), Vec::<String>::new());
    assert_same_tree(&src, &dest);
    cluster.stop();
}

#[test]
fn two_files_claiming_one_path_are_reported_and_special_bits_are_dropped() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let enc = work.join("enc");
    fs::create_dir_all(&enc).expect("enc");
    fs::write(
        enc.join(format!("one{SUFFIX}")),
        craft(&config, b"same.txt", b"first"),
    )
    .expect("one");
    fs::write(
        enc.join(format!("two{SUFFIX}")),
        craft(&config, b"same.txt", b"second"),
    )
    .expect("two");
    fs::write(
        enc.join(format!("tool{SUFFIX}")),
        craft_with_mode(&config, b"tool", b"#!/bin/sh\n", 0o4755),
    )
    .expect("tool");
    let dest = work.join("dest");
    // Even --force does not let the second claim replace the first.
    let out = decrypt_tree(&config, &enc, &dest, &["--force", "--json", "-j", "1"]);
    out.expect_code(1);
    let json = summary(&out);
    assert_eq!(paths(&json, "failed"), ["two"], "{json}");
    assert!(
        failure_reason(&json, "two").contains("also claims"),
        "{json}"
    );
    assert_eq!(fs::read(dest.join("same.txt")).expect("same"), b"first");
    let mode = |p: &Path| fs::metadata(p).expect("mode").permissions().mode() & 0o7777;
    assert_eq!(
        mode(&dest.join("tool")),
        0o755,
        "setuid dropped in a tree restore"
    );
    // A single file too, unless asked.
    let single = work.join("single");
    let out = run([
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("decrypt"),
        enc.join(format!("tool{SUFFIX}")).as_os_str(),
        OsStr::new("-o"),
        single.as_os_str(),
    ]);
    out.expect_code(0);
    assert!(out.stderr.contains("setuid"), "{}", out.stderr);
    assert_eq!(mode(&single), 0o755);
    let kept = work.join("kept");
    run([
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("decrypt"),
        OsStr::new("--preserve-special-bits"),
        enc.join(format!("tool{SUFFIX}")).as_os_str(),
        OsStr::new("-o"),
        kept.as_os_str(),
    ])
    .expect_code(0);
    assert_eq!(mode(&kept), 0o4755);
    cluster.stop();
}
