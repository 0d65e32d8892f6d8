//! Generated files must match the clap definitions they come from.

use std::fs;
use std::path::Path;
use std::process::Command;

const GENERATED: &[&str] = &[
    "completions/shardlock.bash",
    "completions/_shardlock",
    "completions/shardlock.fish",
    "completions/_shardlock.ps1",
    "man/shardlock.1",
];

#[test]
fn committed_completions_and_man_page_are_not_stale() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let status = Command::new(env!("CARGO_BIN_EXE_shardlock"))
        .args(["generate-docs", "--out"])
        .arg(tmp.path())
        .status()
        .expect("run generate-docs");
    assert!(status.success());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in GENERATED {
        let fresh = fs::read(tmp.path().join(file)).expect("generated file");
        let committed = fs::read(root.join(file)).unwrap_or_default();
        assert!(
            fresh == committed,
            "{file} is stale: regenerate with `cargo run -- generate-docs --out .` and commit it"
        );
    }
}
