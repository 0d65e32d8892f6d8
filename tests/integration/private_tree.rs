//! Folder mode in the private layout (the default of `encrypt -r`),
//! whole-binary against a real `dev-cluster`: what the storage provider
//! can see, round trips, offline `--skip-unchanged`, `--delete`, `ls`,
//! `--include`/`--exclude`, restore safety (special bits, symlinks swapped
//! in mid-restore, conflicting index entries) and SIGKILL mid-run.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::OsRng;
use serde_json::Value;

use crate::cli::{offline_config, random_bytes, run, shardlock, ChildGuard, Cluster, Out};
use crate::tree::{
    assert_no_temp_files, assert_same_tree, entries, final_files, kill_when_ready, paths, put,
    stamps, summary, temp_files,
};
use shardlock::client::config::Config;
use shardlock::envelope::{self, Source};
use shardlock::format::metadata::FileMetadata;
use shardlock::format::tree_index::{EntryKind, TreeIndex};

fn tree_cmd(config: &Path, op: &str, input: &Path, output: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--config".into(),
        config.into(),
        op.into(),
        "-r".into(),
        input.into(),
        "-o".into(),
        output.into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    args
}

fn encrypt(config: &Path, src: &Path, out: &Path, extra: &[&str]) -> Out {
    run(tree_cmd(config, "encrypt", src, out, extra))
}

fn decrypt(config: &Path, enc: &Path, dest: &Path, extra: &[&str]) -> Out {
    run(tree_cmd(config, "decrypt", enc, dest, extra))
}

fn ls(config: &Path, enc: &Path, extra: &[&str]) -> Out {
    let mut args: Vec<OsString> = vec!["--config".into(), config.into(), "ls".into(), enc.into()];
    args.extend(extra.iter().map(OsString::from));
    run(args)
}

/// `ls --json` entries as (path, type, size, mode).
fn listed(config: &Path, enc: &Path) -> Vec<(String, String, u64, String)> {
    let out = ls(config, enc, &["--json"]);
    out.expect_code(0);
    let json: Value = serde_json::from_str(out.stdout_text().trim()).expect("ls json");
    assert_eq!(json["layout"], "private", "{json}");
    json["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().expect("path").to_string(),
                e["type"].as_str().expect("type").to_string(),
                e["size"].as_u64().expect("size"),
                e["mode"].as_str().expect("mode").to_string(),
            )
        })
        .collect()
}

/// The local state file (the encrypting machine's copy of the index).
fn state_file(config: &Path) -> PathBuf {
    let dir = config.parent().expect("config dir").join("trees");
    let states: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("trees dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "state"))
        .collect();
    assert_eq!(states.len(), 1, "{states:?}");
    states[0].clone()
}

fn read_state(config: &Path) -> TreeIndex {
    let bytes = fs::read(state_file(config)).expect("state");
    TreeIndex::decode(&bytes[40..]).expect("state index")
}

/// Replaces the tree's index by `index`, encrypted for the config's keyset
/// (what anyone holding the public keyset could do).
fn plant_index(config: &Path, enc: &Path, index: &TreeIndex) {
    let keyset = Config::load(config)
        .expect("config")
        .keyset(None)
        .expect("keyset")
        .public;
    let plain = index.encode().expect("encode");
    let meta = FileMetadata {
        size: plain.len() as u64,
        padded: true,
        ..FileMetadata::default()
    };
    let (sealed, _) = envelope::encrypt(
        Source::Stream(plain.as_slice()),
        Vec::new(),
        (&keyset).into(),
        Some(&meta),
        1,
        &mut OsRng,
    )
    .expect("encrypt index");
    fs::write(enc.join("index.slock"), sealed).expect("plant index");
}

/// Names in the output that are not part of the fixed layout.
fn foreign_names(enc: &Path) -> Vec<String> {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    entries(enc)
        .into_iter()
        .map(|(rel, _)| rel)
        .filter(|rel| {
            let parts: Vec<&str> = rel.split('/').collect();
            !match parts.as_slice() {
                ["shardlock-tree"] | ["index.slock"] | ["objects"] => true,
                ["objects", fan] => hex(fan, 2),
                ["objects", fan, name] => name
                    .strip_suffix(".slock")
                    .is_some_and(|id| hex(id, 32) && id.starts_with(fan)),
                _ => false,
            }
        })
        .collect()
}

#[test]
fn the_storage_sees_no_name_structure_exact_size_or_mtime_and_the_tree_round_trips() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));
    let old = (1_000_000_000u64, 123u32); // 2001: far from "now"
    let names = [
        "Quarterly Salaries 2026.xlsx",
        "medical/diagnosis-secret.pdf",
        "deep/a/b/c/d/e/leaf-marker.txt",
        "ünïcødé 日本語/naïve.md",
    ];
    for (i, rel) in names.iter().enumerate() {
        put(&src, rel, &random_bytes(1000 + i), 0o640, old);
    }
    // 24 files of 1000..1023 bytes: Padmé makes their objects one size.
    for i in 0..24 {
        put(
            &src,
            &format!("sizes/s{i:02}.bin"),
            &random_bytes(1000 + i),
            0o600,
            old,
        );
    }
    put(&src, "big/payload.bin", &random_bytes(9 << 20), 0o644, old);
    put(&src, "empty.txt", b"", 0o444, old);
    fs::create_dir_all(src.join("empty dir/inner empty")).expect("empty dirs");
    fs::set_permissions(src.join("medical"), fs::Permissions::from_mode(0o750)).expect("chmod");
    let started = SystemTime::now() - Duration::from_secs(5);

    let out = encrypt(&config, &src, &enc, &["--json", "-j", "2"]);
    out.expect_code(0);
    let json = summary(&out);
    assert_eq!(json["files"], 30, "{json}");

    // Only the fixed layout's names; no source name, component or
    // extension anywhere in a name or in any file's bytes.
    assert_eq!(foreign_names(&enc), Vec::<String>::new());
    let mut needles: BTreeSet<String> = BTreeSet::new();
    for rel in names
        .iter()
        .chain(["sizes/s00.bin", "empty dir/inner empty"].iter())
    {
        for part in rel.split('/') {
            needles.insert(part.to_string());
            if let Some((stem, ext)) = part.rsplit_once('.') {
                needles.insert(stem.to_string());
                needles.insert(format!(".{ext}"));
            }
        }
    }
    // Needles of 5 bytes or more: shorter ones turn up in random bytes.
    needles.retain(|n| n.len() >= 5);
    assert!(needles.len() >= 10, "{needles:?}");
    for (rel, meta) in entries(&enc) {
        if meta.is_file() {
            let bytes = fs::read(enc.join(&rel)).expect("read");
            for needle in &needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{rel} contains {needle:?}"
                );
            }
            // Output mtimes are the write time, not the sources'.
            assert!(meta.modified().expect("mtime") >= started, "{rel}: mtime");
        }
    }
    // No empty-directory markers: objects only, one per file.
    let objects: Vec<_> = final_files(&enc)
        .into_iter()
        .filter(|r| r.starts_with("objects/"))
        .collect();
    assert_eq!(objects.len(), 30);
    let size_classes: BTreeSet<u64> = read_state(&config)
        .entries
        .iter()
        .filter(|e| e.path.starts_with(b"sizes/"))
        .map(|e| match e.kind {
            EntryKind::File { object, .. } => {
                let name = shardlock::encoding::hex(&object);
                fs::metadata(
                    enc.join("objects")
                        .join(&name[..2])
                        .join(format!("{name}.slock")),
                )
                .expect("object")
                .len()
            }
            EntryKind::Dir => unreachable!(),
        })
        .collect();
    assert_eq!(
        size_classes.len(),
        1,
        "24 sizes, one padded length: {size_classes:?}"
    );

    // The tree comes back byte for byte, with modes and mtimes, empty
    // directories included.
    let out = decrypt(&config, &enc, &dest, &["--json"]);
    out.expect_code(0);
    assert_eq!(summary(&out)["files"], 30);
    assert_same_tree(&src, &dest);
    assert_eq!(
        fs::metadata(dest.join("medical"))
            .expect("dir")
            .permissions()
            .mode()
            & 0o777,
        0o750
    );
    assert_eq!(
        fs::metadata(dest.join("medical"))
            .expect("dir")
            .modified()
            .expect("mtime"),
        fs::metadata(src.join("medical"))
            .expect("dir")
            .modified()
            .expect("mtime"),
        "directory mtimes restored"
    );
    assert!(dest.join("empty dir/inner empty").is_dir());
    assert_no_temp_files(&dest);

    // ls lists paths, sizes and modes; a pattern narrows it.
    let all = listed(&config, &enc);
    assert!(all.contains(&(
        "medical/diagnosis-secret.pdf".into(),
        "file".into(),
        1001,
        "0640".into()
    )));
    assert!(
        all.contains(&("empty dir".into(), "dir".into(), 0, "0755".into())),
        "{all:?}"
    );
    assert_eq!(
        all.len(),
        entries(&src).len(),
        "every file and directory: {all:?}"
    );
    let out = ls(&config, &enc, &["*.pdf"]);
    out.expect_code(0);
    let lines: Vec<String> = out.stdout_text().lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("-rw-r----- ") && lines[0].ends_with(" medical/diagnosis-secret.pdf"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(" 2001-09-09T01:46:40Z "), "{}", lines[0]);
    cluster.stop();
}

#[test]
fn skip_unchanged_runs_offline_rewrites_only_changes_and_a_quiet_run_writes_nothing() {
    let work = tempfile::tempdir().expect("tmp");
    let config = work.path().join("config.toml");
    offline_config(&config); // its servers do not exist: nothing may ask them
    let (src, enc) = (work.path().join("src"), work.path().join("enc"));
    for i in 0..20 {
        put(
            &src,
            &format!("d{}/f{i}.txt", i % 3),
            &random_bytes(100 + i),
            0o644,
            (1_600_000_000, 0),
        );
    }
    encrypt(&config, &src, &enc, &["--quiet"]).expect_code(0);
    let before = stamps(&enc);
    let state_before = fs::read(state_file(&config)).expect("state");

    // Nothing changed: nothing written, not even the index.
    let out = encrypt(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    assert_eq!(summary(&out)["unchanged"], 20);
    assert_eq!(summary(&out)["files"], 0);
    assert_eq!(stamps(&enc), before, "a run with no changes writes nothing");
    assert_eq!(fs::read(state_file(&config)).expect("state"), state_before);

    // One file changed: one new object, the old one gone, a new index.
    put(
        &src,
        "d1/f4.txt",
        b"changed contents",
        0o644,
        (1_600_000_100, 0),
    );
    let out = encrypt(&config, &src, &enc, &["--skip-unchanged", "--json"]);
    out.expect_code(0);
    assert_eq!(summary(&out)["files"], 1);
    assert_eq!(summary(&out)["unchanged"], 19);
    let after = stamps(&enc);
    let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let new: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(gone.len(), 1, "the superseded object is removed: {gone:?}");
    assert_eq!(new.len(), 1, "one new object: {new:?}");
    assert_ne!(before["index.slock"], after["index.slock"], "a new index");
    assert_no_temp_files(&enc);

    // A second machine (no local state) is refused rather than guessing.
    fs::remove_file(state_file(&config)).expect("rm state");
    let out = encrypt(&config, &src, &enc, &["--skip-unchanged"]);
    out.expect_code(2);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    // A non-empty directory that is not a private tree is refused too.
    let other = work.path().join("other");
    put(&other, "unrelated.txt", b"x", 0o644, (1, 0));
    let out = encrypt(&config, &src, &other, &[]);
    out.expect_code(2);
    assert!(out.stderr.contains("not empty"), "{}", out.stderr);
}

#[test]
fn delete_removes_objects_of_deleted_sources_and_without_it_nothing_is_lost() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc) = (work.join("src"), work.join("enc"));
    for name in ["keep.txt", "old/doomed.txt", "old/also.txt"] {
        put(&src, name, name.as_bytes(), 0o644, (1_600_000_000, 0));
    }
    encrypt(&config, &src, &enc, &["--quiet"]).expect_code(0);
    fs::remove_dir_all(src.join("old")).expect("rm");
    // Without --delete the deleted files stay listed and restorable.
    encrypt(&config, &src, &enc, &["--quiet", "--skip-unchanged"]).expect_code(0);
    let names: Vec<String> = listed(&config, &enc).into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["keep.txt", "old", "old/also.txt", "old/doomed.txt"]);
    assert_eq!(
        final_files(&enc)
            .iter()
            .filter(|f| f.starts_with("objects/"))
            .count(),
        3
    );
    // With --delete they go, objects included.
    encrypt(
        &config,
        &src,
        &enc,
        &["--quiet", "--skip-unchanged", "--delete"],
    )
    .expect_code(0);
    let names: Vec<String> = listed(&config, &enc).into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["keep.txt"]);
    assert_eq!(
        final_files(&enc)
            .iter()
            .filter(|f| f.starts_with("objects/"))
            .count(),
        1
    );
    let dest = work.join("dest");
    decrypt(&config, &enc, &dest, &["--quiet"]).expect_code(0);
    assert_eq!(final_files(&dest), ["keep.txt"]);
    cluster.stop();
}

#[test]
fn include_and_exclude_restore_exactly_the_subset_with_only_the_directories_it_needs() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc) = (work.join("src"), work.join("enc"));
    for name in [
        "docs/a.md",
        "docs/sub/b.md",
        "docs/sub/c.log",
        "photos/x.jpg",
        "top.md",
    ] {
        put(&src, name, name.as_bytes(), 0o644, (1_600_000_000, 0));
    }
    fs::create_dir_all(src.join("unrelated/empty")).expect("dir");
    encrypt(&config, &src, &enc, &["--quiet"]).expect_code(0);

    let dest = work.join("subset");
    let out = decrypt(
        &config,
        &enc,
        &dest,
        &["--include", "docs/**", "--exclude", "*.log", "--json"],
    );
    out.expect_code(0);
    assert_eq!(summary(&out)["files"], 2);
    assert_eq!(final_files(&dest), ["docs/a.md", "docs/sub/b.md"]);
    let dirs: Vec<String> = entries(&dest)
        .into_iter()
        .filter(|(_, m)| m.is_dir())
        .map(|(r, _)| r)
        .collect();
    assert_eq!(
        dirs,
        ["docs", "docs/sub"],
        "only the directories the subset needs"
    );

    let dest = work.join("md");
    decrypt(&config, &enc, &dest, &["--include", "*.md", "--quiet"]).expect_code(0);
    assert_eq!(final_files(&dest), ["docs/a.md", "docs/sub/b.md", "top.md"]);
    cluster.stop();
}

#[test]
fn special_bits_conflicting_entries_and_swapped_objects_are_refused_on_restore() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc) = (work.join("src"), work.join("enc"));
    put(
        &src,
        "tool",
        b"#!/bin/sh\necho hi\n",
        0o755,
        (1_600_000_000, 0),
    );
    put(&src, "a", b"file a", 0o644, (1_600_000_000, 0));
    put(&src, "b", b"file b", 0o644, (1_600_000_000, 0));
    encrypt(&config, &src, &enc, &["--quiet"]).expect_code(0);

    // Someone holding the public keyset plants an index claiming 04755
    // and a file "a/evil" beneath the file "a".
    let mut index = read_state(&config);
    let tool = index
        .entries
        .iter_mut()
        .find(|e| e.path == b"tool")
        .expect("tool");
    tool.mode = 0o4755;
    let mut evil = index
        .entries
        .iter()
        .find(|e| e.path == b"b")
        .expect("b")
        .clone();
    evil.path = b"a/evil".to_vec();
    index.entries.push(evil);
    index.entries.sort_by(|x, y| x.path.cmp(&y.path));
    plant_index(&config, &enc, &index);

    let dest = work.join("dest");
    let out = decrypt(&config, &enc, &dest, &["--json"]);
    out.expect_code(1);
    let json = summary(&out);
    assert_eq!(paths(&json, "failed"), ["a/evil"], "{json}");
    let mode = fs::metadata(dest.join("tool"))
        .expect("tool")
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o755, "setuid bit dropped");
    assert!(out.stderr.contains("setuid"), "{}", out.stderr);
    assert_eq!(fs::read(dest.join("a")).expect("a"), b"file a");

    let dest2 = work.join("dest2");
    decrypt(
        &config,
        &enc,
        &dest2,
        &["--preserve-special-bits", "--quiet"],
    )
    .expect_code(1);
    let mode = fs::metadata(dest2.join("tool"))
        .expect("tool")
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o4755, "kept when asked for");

    // Swapping two objects (the storage provider's move) is caught by the
    // header hashes in the index.
    let state = read_state(&config);
    let object = |name: &[u8]| match state
        .entries
        .iter()
        .find(|e| e.path == name)
        .expect("entry")
        .kind
    {
        EntryKind::File { object, .. } => {
            let hex = shardlock::encoding::hex(&object);
            enc.join("objects")
                .join(&hex[..2])
                .join(format!("{hex}.slock"))
        }
        EntryKind::Dir => unreachable!(),
    };
    plant_index(&config, &enc, &state);
    let (oa, ob) = (object(b"a"), object(b"b"));
    let tmp = work.join("swap");
    fs::rename(&oa, &tmp).expect("swap");
    fs::rename(&ob, &oa).expect("swap");
    fs::rename(&tmp, &ob).expect("swap");
    let dest3 = work.join("dest3");
    let out = decrypt(&config, &enc, &dest3, &["--json"]);
    out.expect_code(1);
    let json = summary(&out);
    assert_eq!(paths(&json, "failed"), ["a", "b"], "{json}");
    assert!(
        out.stderr.contains("does not match the index"),
        "{}",
        out.stderr
    );
    assert!(!dest3.join("a").exists() && !dest3.join("b").exists());
    cluster.stop();
}

#[test]
fn a_symlink_swapped_into_dest_mid_restore_is_never_followed() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc) = (work.join("src"), work.join("enc"));
    for i in 0..400 {
        put(
            &src,
            &format!("d/f{i:03}"),
            &random_bytes(2000),
            0o644,
            (1_600_000_000, 0),
        );
    }
    encrypt(&config, &src, &enc, &["--quiet"]).expect_code(0);
    let dest = work.join("dest");
    let outside = work.join("outside");
    fs::create_dir_all(&outside).expect("outside");
    let mut child = ChildGuard(Some(
        shardlock(tree_cmd(
            &config,
            "decrypt",
            &enc,
            &dest,
            &["--quiet", "-j", "1"],
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn"),
    ));
    // As soon as DEST/d exists, replace it with a link to `outside`.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if dest.join("d").is_dir() {
            fs::rename(dest.join("d"), work.join("moved-away")).expect("move");
            symlink(&outside, dest.join("d")).expect("symlink");
            break;
        }
        assert!(Instant::now() < deadline, "restore never created d");
        std::thread::sleep(Duration::from_micros(200));
    }
    let status = child.0.as_mut().expect("child").wait().expect("wait");
    child.0 = None;
    assert_eq!(status.code(), Some(1), "the files after the swap fail");
    assert_eq!(
        fs::read_dir(&outside).expect("outside").count(),
        0,
        "nothing written through the link"
    );
    assert_no_temp_files(&dest);
    // Files staged in the real directory before the swap were never given
    // a final name there either: the rename goes through the new link no
    // more than the writes did.
    assert_eq!(final_files(&work.join("moved-away")), Vec::<String>::new());
    cluster.stop();
}

#[test]
fn sigkill_midway_leaves_nothing_partial_and_a_rerun_finishes() {
    const FILES: usize = 3000;
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let (src, enc, dest) = (work.join("src"), work.join("enc"), work.join("dest"));
    for i in 0..FILES {
        put(
            &src,
            &format!("d{}/f{i:04}", i % 7),
            &random_bytes(3000 + i % 100),
            0o644,
            (1_600_000_000, 0),
        );
    }
    // Kill the encryption once it is writing objects.
    kill_when(
        tree_cmd(&config, "encrypt", &src, &enc, &["-j", "1"]),
        &enc.join("objects"),
        50,
    );
    for rel in final_files(&enc) {
        assert!(
            rel == "shardlock-tree" || rel == "index.slock" || rel.starts_with("objects/"),
            "{rel}"
        );
    }
    assert!(
        !enc.join("index.slock").exists(),
        "no index before every object is in place"
    );
    encrypt(&config, &src, &enc, &["--quiet", "--skip-unchanged"]).expect_code(0);
    assert_no_temp_files(&enc);
    assert_eq!(
        final_files(&enc)
            .iter()
            .filter(|f| f.starts_with("objects/"))
            .count(),
        FILES
    );

    // Kill the restore midway: every file under a final name is complete.
    kill_when(
        tree_cmd(&config, "decrypt", &enc, &dest, &["-j", "1"]),
        &dest,
        50,
    );
    for rel in final_files(&dest) {
        assert_eq!(
            fs::read(dest.join(&rel)).expect("restored"),
            fs::read(src.join(&rel)).expect("src"),
            "{rel}"
        );
    }
    decrypt(&config, &enc, &dest, &["--quiet", "--skip-unchanged"]).expect_code(0);
    assert_same_tree(&src, &dest);
    assert_no_temp_files(&dest);
    cluster.stop();
}

/// Starts `shardlock ARGS` and SIGKILLs it once `dir` holds at least
/// `at_least` temporary files (it is writing).
fn kill_when(args: Vec<OsString>, dir: &Path, at_least: usize) {
    let what = format!("{at_least} files were in progress");
    kill_when_ready(args, &what, || {
        dir.exists() && temp_files(dir).len() >= at_least
    });
}
