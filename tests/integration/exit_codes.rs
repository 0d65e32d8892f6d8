//! Exit statuses a script can rely on (issue #11, item 2): a closed output
//! pipe ends quietly, `status -q` says nothing when all is well, and a
//! tree run stopped by SIGINT exits 130 (not-enough-servers = 3 and
//! integrity = 4 are pinned by the decrypt tests in `cli` and `tree`).

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cli;
use crate::lifecycle::created;

#[test]
fn a_closed_output_pipe_ends_quietly_with_141() {
    let fleet = created(3, "2");
    let data = cli::random_bytes(4 << 20);
    let sealed = fleet.encrypt("big", &data);
    let config = fleet.config();
    let mut cmd = cli::shardlock([
        "--config",
        config.to_str().unwrap(),
        "decrypt",
        sealed.to_str().unwrap(),
    ]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // Read a little, then close the pipe, as `| head -c 100` does.
    let mut first = [0u8; 100];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("some output");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("wait");
    assert_eq!(first, data[..100]);
    assert_eq!(status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn status_is_silent_with_q_when_healthy_and_exits_3_below_the_threshold() {
    let mut fleet = created(3, "2");
    let quiet = fleet.shardlock(&["-q", "status"]);
    quiet.expect_code(0);
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{}",
        quiet.stderr
    );
    fleet.stop(0);
    fleet.stop(1);
    let out = fleet.shardlock(&["-q", "status"]);
    assert_eq!(out.code(), Some(3), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("only 1 of 3"), "{}", out.stderr);
}

#[test]
fn a_tree_run_stopped_by_sigint_exits_130() {
    let fleet = created(3, "2");
    let src = fleet.tmp.path().join("many");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..4000 {
        std::fs::write(src.join(format!("f{i}")), vec![i as u8; 2048]).unwrap();
    }
    let config = fleet.config();
    let out_dir = fleet.tmp.path().join("many.enc");
    let mut cmd = cli::shardlock([
        "--config",
        config.to_str().unwrap(),
        "encrypt",
        "-r",
        src.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "-j",
        "1",
    ]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // Wait until it has written something, then interrupt it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&out_dir).map_or(0, |d| d.count()) == 0 {
        assert!(Instant::now() < deadline, "no output appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .unwrap();
    // A run fast enough to finish before the signal landed exits 0.
    assert!(
        matches!(status.code(), Some(130) | Some(0)),
        "{status:?}: {stderr}"
    );
    if status.code() == Some(130) {
        assert!(stderr.contains("interrupted"), "{stderr}");
    }
}

#[test]
fn a_single_file_decrypt_stopped_by_sigint_leaves_no_partial_plaintext() {
    let fleet = created(3, "2");
    let data = cli::random_bytes(4 << 20);
    let sealed = std::fs::read(fleet.encrypt("big", &data)).unwrap();
    let config = fleet.config();
    let dir = fleet.tmp.path().join("restore");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("big.bin");
    // Ciphertext on stdin, half of it: the run is mid-way, its temporary
    // output open beside the target, when the signal comes.
    let mut cmd = cli::shardlock([
        "--config",
        config.to_str().unwrap(),
        "decrypt",
        "-o",
        target.to_str().unwrap(),
        "-",
    ]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&sealed[..sealed.len() / 2]).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&dir).unwrap().count() == 0 {
        assert!(Instant::now() < deadline, "no temporary output appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("partial output was removed"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn json_summaries_carry_a_timestamp_and_the_exit_code_for_files_and_trees() {
    let mut fleet = created(3, "2");
    let sealed = fleet.encrypt("one", b"one file");
    let out_file = fleet.tmp.path().join("one.out");
    let ok = fleet.shardlock(&[
        "decrypt",
        "--json",
        "-o",
        out_file.to_str().unwrap(),
        sealed.to_str().unwrap(),
    ]);
    ok.expect_code(0);
    let value: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(value["exit_code"], 0, "{value}");
    assert_eq!(value["bytes"], 8, "{value}");
    assert!(
        value["timestamp"].as_str().unwrap().ends_with('Z'),
        "{value}"
    );
    // Refused on stdout, where the data goes.
    let refused = fleet.shardlock(&["decrypt", "--json", sealed.to_str().unwrap()]);
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
    // A failure still prints its line, with the status the process exits with.
    fleet.stop(0);
    fleet.stop(1);
    let again = fleet.tmp.path().join("again.out");
    let failed = fleet.shardlock(&[
        "decrypt",
        "--json",
        "-o",
        again.to_str().unwrap(),
        sealed.to_str().unwrap(),
    ]);
    assert_eq!(failed.code(), Some(3), "{}", failed.stderr);
    let value: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(value["exit_code"], 3, "{value}");
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .contains("key-share servers"),
        "{value}"
    );
    // A tree run's summary too.
    let src = fleet.tmp.path().join("t");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), b"a").unwrap();
    let enc = fleet.tmp.path().join("t.enc");
    let tree = fleet.shardlock(&[
        "encrypt",
        "-r",
        "--json",
        src.to_str().unwrap(),
        "-o",
        enc.to_str().unwrap(),
    ]);
    tree.expect_code(0);
    let value: serde_json::Value = serde_json::from_slice(&tree.stdout).unwrap();
    assert_eq!(
        (value["exit_code"].clone(), value["files"].clone()),
        (0.into(), 1.into()),
        "{value}"
    );
    assert!(value["timestamp"].is_string(), "{value}");
}
