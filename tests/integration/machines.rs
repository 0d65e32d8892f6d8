//! Machines and people (issue #9): a second machine's config, an
//! encrypt-only host, listing and revoking clients safely; real TLS servers
//! on 127.0.0.1 and the real binary.

use std::path::Path;

use crate::cli;
use crate::lifecycle::{created, Fleet};

fn with(config: &Path, fleet: &Fleet, args: &[&str]) -> cli::Out {
    let tokens = fleet.tokens();
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    if matches!(args.first(), Some(&"keyset")) {
        all.extend(["--admin-token-file", tokens.to_str().unwrap()]);
    }
    cli::run(all)
}

fn decrypt_with(config: &Path, sealed: &Path) -> cli::Out {
    let out = sealed.with_extension(format!(
        "by-{}",
        config.file_stem().unwrap().to_str().unwrap()
    ));
    let _ = std::fs::remove_file(&out);
    cli::run([
        "--config",
        config.to_str().unwrap(),
        "decrypt",
        "-o",
        out.to_str().unwrap(),
        sealed.to_str().unwrap(),
    ])
}

#[test]
fn a_second_laptop_decrypts_and_once_revoked_is_cut_off_while_the_owner_is_not() {
    let fleet = created(3, "2");
    let file = fleet.encrypt("f", b"family photos");
    let laptop = fleet.tmp.path().join("laptop.toml");
    let owner = fleet.config();
    let out = with(
        &owner,
        &fleet,
        &[
            "keyset",
            "add-client",
            "main",
            "laptop",
            "--out",
            laptop.to_str().unwrap(),
        ],
    );
    out.expect_code(0);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("slk_"),
        "a token reached stdout"
    );
    assert!(!out.stderr.contains("slk_"), "a token reached stderr");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&laptop).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    decrypt_with(&laptop, &file).expect_code(0);
    // Never replaces a file.
    let again = with(
        &owner,
        &fleet,
        &[
            "keyset",
            "add-client",
            "main",
            "laptop2",
            "--out",
            laptop.to_str().unwrap(),
        ],
    );
    assert_eq!(again.code(), Some(2), "{}", again.stderr);

    // The owner's own client cannot be revoked by mistake.
    let own = with(
        &owner,
        &fleet,
        &["keyset", "revoke-client", "main-client", "-k", "main"],
    );
    assert_eq!(own.code(), Some(2), "{}", own.stderr);
    assert!(
        own.stderr.contains("--force") && own.stderr.contains("add-client"),
        "{}",
        own.stderr
    );

    // Revoked at n - t + 1 = 2 servers (the third is down): cut off.
    let mut fleet = fleet;
    fleet.stop(2);
    let revoke = with(
        &owner,
        &fleet,
        &["keyset", "revoke-client", "laptop", "-k", "main"],
    );
    revoke.expect_code(0);
    assert!(
        revoke.stderr.contains("revoked at 2 of 3"),
        "{}",
        revoke.stderr
    );
    assert_ne!(decrypt_with(&laptop, &file).code(), Some(0));
    decrypt_with(&owner, &file).expect_code(0);
}

#[test]
fn a_public_export_encrypts_offline_and_refuses_to_decrypt_in_one_line() {
    let mut fleet = created(3, "2");
    let owner = fleet.config();
    let export = fleet.tmp.path().join("backup-host.toml");
    let out = cli::run([
        "--config",
        owner.to_str().unwrap(),
        "keyset",
        "export",
        "main",
        "--public",
        "--out",
        export.to_str().unwrap(),
    ]);
    out.expect_code(0);
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(
        !text.contains("slk_") && !text.contains("token ="),
        "{text}"
    );
    // Every server stopped: encryption still works, files and trees.
    for i in 0..3 {
        fleet.stop(i);
    }
    let plain = fleet.tmp.path().join("p.txt");
    std::fs::write(&plain, b"nightly").unwrap();
    let sealed = fleet.tmp.path().join("p.slock");
    cli::run([
        "--config",
        export.to_str().unwrap(),
        "encrypt",
        "-o",
        sealed.to_str().unwrap(),
        plain.to_str().unwrap(),
    ])
    .expect_code(0);
    let tree = fleet.tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/a"), b"a").unwrap();
    let enc = fleet.tmp.path().join("tree.enc");
    cli::run([
        "--config",
        export.to_str().unwrap(),
        "encrypt",
        "-r",
        tree.to_str().unwrap(),
        "-o",
        enc.to_str().unwrap(),
    ])
    .expect_code(0);
    cli::run([
        "--config",
        export.to_str().unwrap(),
        "encrypt",
        "-r",
        tree.to_str().unwrap(),
        "-o",
        enc.to_str().unwrap(),
        "--skip-unchanged",
    ])
    .expect_code(0);
    let refused = decrypt_with(&export, &sealed);
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
    let lines: Vec<&str> = refused
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{}", refused.stderr);
    assert!(lines[0].contains("can only encrypt"), "{}", lines[0]);
    // Imported into a fresh config it is the same encrypt-only keyset.
    let fresh = fleet.tmp.path().join("fresh.toml");
    cli::run([
        "--config",
        fresh.to_str().unwrap(),
        "keyset",
        "import",
        export.to_str().unwrap(),
    ])
    .expect_code(0);
    let list = cli::run(["--config", fresh.to_str().unwrap(), "keyset", "list"]);
    assert!(
        list.stdout_text().contains("encrypt only"),
        "{}",
        list.stdout_text()
    );
    // The owner decrypts what the backup host wrote.
    for i in 0..3 {
        fleet.restart(i);
    }
    decrypt_with(&owner, &sealed).expect_code(0);
}

#[test]
fn add_client_with_a_server_down_needs_min_and_clients_lists_every_server() {
    let mut fleet = created(3, "2");
    let owner = fleet.config();
    fleet.stop(1);
    let partial = fleet.tmp.path().join("partial.toml");
    let out = with(
        &owner,
        &fleet,
        &[
            "keyset",
            "add-client",
            "main",
            "tablet",
            "--out",
            partial.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("only 2 of 3") && out.stderr.contains("revoked again"),
        "{}",
        out.stderr
    );
    assert!(!partial.exists());
    // Below the threshold is refused; at it, accepted.
    let out = with(
        &owner,
        &fleet,
        &[
            "keyset",
            "add-client",
            "main",
            "tablet2",
            "--out",
            partial.to_str().unwrap(),
            "--min",
            "1",
        ],
    );
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    with(
        &owner,
        &fleet,
        &[
            "keyset",
            "add-client",
            "main",
            "tablet2",
            "--out",
            partial.to_str().unwrap(),
            "--min",
            "2",
        ],
    )
    .expect_code(0);
    let file = fleet.encrypt("f", b"x");
    decrypt_with(&partial, &file).expect_code(0);
    fleet.restart(1);
    let list = with(&owner, &fleet, &["keyset", "clients", "-k", "main"]);
    list.expect_code(0);
    let text = list.stdout_text();
    assert!(text.contains("main-client (this machine)"), "{text}");
    assert!(
        text.contains("tablet2  at 2 of 3") && text.contains("SERVERS DISAGREE"),
        "{text}"
    );
    assert!(
        text.contains("tablet  at 2 of 3 servers  cut off"),
        "{text}"
    );
    let json = with(
        &owner,
        &fleet,
        &["keyset", "clients", "-k", "main", "--json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["clients"].as_array().unwrap().len(), 3);
}
