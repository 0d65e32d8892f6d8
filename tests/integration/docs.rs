//! Generated files must match the clap definitions they come from.

use std::fs;
use std::path::Path;
use std::process::Command;

const COMPLETIONS: &[&str] = &[
    "completions/shardlock.bash",
    "completions/_shardlock",
    "completions/shardlock.fish",
    "completions/_shardlock.ps1",
];

fn man_pages(dir: &Path) -> Vec<String> {
    let mut pages: Vec<String> = fs::read_dir(dir.join("man"))
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    pages.sort();
    pages
}

#[test]
fn committed_completions_and_man_pages_are_not_stale() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let status = Command::new(env!("CARGO_BIN_EXE_shardlock"))
        .args(["generate-docs", "--out"])
        .arg(tmp.path())
        .status()
        .expect("run generate-docs");
    assert!(status.success());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pages = man_pages(tmp.path());
    assert!(pages.len() > 20, "a page per subcommand: {pages:?}");
    assert_eq!(
        man_pages(root),
        pages,
        "man/ holds exactly the generated pages: regenerate with `cargo run -- generate-docs --out .`"
    );
    let files = COMPLETIONS
        .iter()
        .map(|f| f.to_string())
        .chain(pages.iter().map(|p| format!("man/{p}")));
    for file in files {
        let fresh = fs::read(tmp.path().join(&file)).expect("generated file");
        let committed = fs::read(root.join(&file)).unwrap_or_default();
        assert!(
            fresh == committed,
            "{file} is stale: regenerate with `cargo run -- generate-docs --out .` and commit it"
        );
    }
}

#[test]
fn every_subcommand_page_has_examples_or_options_and_the_shared_sections() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let status = Command::new(env!("CARGO_BIN_EXE_shardlock"))
        .args(["generate-docs", "--out"])
        .arg(tmp.path())
        .status()
        .expect("run generate-docs");
    assert!(status.success());
    for page in man_pages(tmp.path()) {
        let text = fs::read_to_string(tmp.path().join("man").join(&page)).expect("page");
        for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"] {
            assert!(text.contains(section), "{page} lacks {section}");
        }
    }
    for page in [
        "shardlock-encrypt.1",
        "shardlock-decrypt.1",
        "shardlock-ls.1",
        "shardlock-keyset-create.1",
    ] {
        let text = fs::read_to_string(tmp.path().join("man").join(page)).expect("page");
        assert!(text.contains(".SH EXAMPLES"), "{page} lacks EXAMPLES");
    }
}
