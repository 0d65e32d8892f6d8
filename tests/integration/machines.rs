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
    // A tree the same way: once, exit 2, nothing created.
    let restored = fleet.tmp.path().join("restored");
    let tree_out = cli::run([
        "--config",
        export.to_str().unwrap(),
        "decrypt",
        "-r",
        enc.to_str().unwrap(),
        "-o",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(tree_out.code(), Some(2), "{}", tree_out.stderr);
    assert_eq!(tree_out.stderr.lines().count(), 1, "{}", tree_out.stderr);
    assert!(!restored.exists());
    // status says what it is, and succeeds.
    let status = cli::run(["--config", export.to_str().unwrap(), "status"]);
    assert_eq!(status.code(), Some(0), "{}", status.stderr);
    assert!(
        status.stderr.contains("can only encrypt"),
        "{}",
        status.stderr
    );
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

#[test]
fn a_recovery_key_decrypts_with_every_server_dead_and_a_wrong_passphrase_is_one_line() {
    let mut fleet = created(3, "2");
    let owner = fleet.config();
    let before = fleet.encrypt("before", b"made before the recovery key");
    let key = fleet.tmp.path().join("recovery.key");
    let pass = fleet.tmp.path().join("recovery.pass");
    std::fs::write(&pass, "a long recovery passphrase\n").unwrap();
    cli::run([
        "--config",
        owner.to_str().unwrap(),
        "keyset",
        "recovery-key",
        "main",
        "--out",
        key.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ])
    .expect_code(0);
    let after = fleet.encrypt("after", b"made after the recovery key");
    // An encrypt-only export made now adds the stanza too.
    let export = fleet.tmp.path().join("host.toml");
    cli::run([
        "--config",
        owner.to_str().unwrap(),
        "keyset",
        "export",
        "main",
        "--public",
        "--out",
        export.to_str().unwrap(),
    ])
    .expect_code(0);
    let plain = fleet.tmp.path().join("host.txt");
    std::fs::write(&plain, b"from the backup host").unwrap();
    let hosted = fleet.tmp.path().join("host.slock");
    cli::run([
        "--config",
        export.to_str().unwrap(),
        "encrypt",
        "-o",
        hosted.to_str().unwrap(),
        plain.to_str().unwrap(),
    ])
    .expect_code(0);
    // Files with the stanza still decrypt through the servers.
    fleet.decrypt(&after).expect_code(0);
    for i in 0..3 {
        fleet.stop(i);
    }
    let nowhere = fleet.tmp.path().join("no-config.toml");
    for (sealed, expected) in [
        (&after, &b"made after the recovery key"[..]),
        (&hosted, &b"from the backup host"[..]),
    ] {
        let out = sealed.with_extension("recovered");
        cli::run([
            "--config",
            nowhere.to_str().unwrap(),
            "decrypt",
            "--recovery-key",
            key.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            sealed.to_str().unwrap(),
        ])
        .expect_code(0);
        assert_eq!(std::fs::read(&out).unwrap(), expected);
    }
    // A file from before the key has no stanza for it.
    let out = cli::run([
        "decrypt",
        "--recovery-key",
        key.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
        "-o",
        fleet.tmp.path().join("x").to_str().unwrap(),
        before.to_str().unwrap(),
    ]);
    assert_ne!(out.code(), Some(0));
    assert!(
        out.stderr.contains("no stanza for this recovery key"),
        "{}",
        out.stderr
    );
    // A wrong passphrase: one line, nothing written.
    let wrong = fleet.tmp.path().join("wrong.pass");
    std::fs::write(&wrong, "not the passphrase").unwrap();
    let target = fleet.tmp.path().join("y");
    let out = cli::run([
        "decrypt",
        "--recovery-key",
        key.to_str().unwrap(),
        "--passphrase-file",
        wrong.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
        after.to_str().unwrap(),
    ]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(lines[0].contains("wrong passphrase"), "{}", lines[0]);
    assert!(!target.exists());
    // A tree with the stanza restores too.
    let tree = fleet.tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.txt"), b"a").unwrap();
    let enc = fleet.tmp.path().join("tree.enc");
    cli::run([
        "--config",
        owner.to_str().unwrap(),
        "encrypt",
        "-r",
        tree.to_str().unwrap(),
        "-o",
        enc.to_str().unwrap(),
    ])
    .expect_code(0);
    // --skip-unchanged knows the longer header.
    let again = cli::run([
        "--config",
        owner.to_str().unwrap(),
        "encrypt",
        "-r",
        tree.to_str().unwrap(),
        "-o",
        enc.to_str().unwrap(),
        "--skip-unchanged",
        "--json",
    ]);
    again.expect_code(0);
    assert!(
        again.stdout_text().contains("\"unchanged\":1"),
        "{}",
        again.stdout_text()
    );
    let restored = fleet.tmp.path().join("restored");
    cli::run([
        "decrypt",
        "-r",
        "--recovery-key",
        key.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
        enc.to_str().unwrap(),
        "-o",
        restored.to_str().unwrap(),
    ])
    .expect_code(0);
    assert_eq!(std::fs::read(restored.join("a.txt")).unwrap(), b"a");
}
