//! `shardlock demo`: the main job once, end to end, on an embedded default
//! with no set-up: a throwaway 2-of-3 cluster of real TLS servers, a
//! keyset, a folder of sample files encrypted offline, one server stopped,
//! everything restored with the remaining two, and the bytes compared.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::rngs::OsRng;
use rand::RngCore;

use std::sync::atomic::AtomicBool;

use super::args::DemoArgs;
use super::dev_cluster::{DevCluster, KEYSET_NAME};
use super::settings::Settings;
use shardlock::client::tree::{DecryptTree, EncryptTree, TreeOutcome};
use shardlock::client::{QuietReporter, Session};

pub fn run(settings: &Settings, args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    let temp = tempfile::Builder::new()
        .prefix("shardlock-demo-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let root = temp.path().to_path_buf();
    let result = demo(settings, &root);
    if args.keep {
        let kept = temp.keep();
        outln!("kept the demo directory: {}", kept.display());
    }
    result?;
    outln!(
        "demo finished in {:.1} s; everything it made has been removed",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn demo(settings: &Settings, root: &Path) -> Result<()> {
    let mut cluster = DevCluster::start(&root.join("cluster"), 3, 2, &QuietReporter)?;
    outln!(
        "1. started 3 key-share servers (TLS, pinned certificates): {}",
        cluster.urls().join(", ")
    );

    outln!("2. dealt a 2-of-3 keyset; the secret key was zeroized once its shares were installed");

    let data = root.join("data");
    let files = write_sample_tree(&data)?;
    let total: u64 = files.iter().map(|(_, len)| len).sum();
    // The real folder use cases, quietly, against the cluster's config.
    let session = Session::new(
        Some(cluster.config_path()),
        settings.session.options().clone(),
    );
    let never = AtomicBool::new(false);
    let encrypted = root.join("encrypted");
    let outcome = session.encrypt_tree(
        &EncryptTree {
            keyset: Some(KEYSET_NAME.into()),
            source: Some(data.clone()),
            output: Some(encrypted.clone()),
            ..EncryptTree::default()
        },
        &QuietReporter,
        &never,
    )?;
    complete(outcome)?;
    outln!(
        "3. encrypted a folder of {} files ({} bytes) offline into {}: no server was asked",
        files.len(),
        total,
        encrypted.strip_prefix(root).unwrap_or(&encrypted).display()
    );

    cluster.stop_node(1);
    outln!("4. stopped server 1 of 3");

    let restored = root.join("restored");
    let started = Instant::now();
    let outcome = session.decrypt_tree(
        &DecryptTree {
            source: Some(encrypted.clone()),
            output: Some(restored.clone()),
            ..DecryptTree::default()
        },
        &QuietReporter,
        &never,
    )?;
    complete(outcome)?;
    outln!(
        "5. restored the folder with the 2 remaining servers ({} file keys unwrapped in one batch, {:.0} ms in all)",
        files.len(),
        started.elapsed().as_secs_f64() * 1e3
    );

    for (rel, _) in &files {
        let original = fs::read(data.join(rel))?;
        let back = fs::read(restored.join(rel))
            .with_context(|| format!("{} was not restored", rel.display()))?;
        if original != back {
            bail!("{} differs after the round trip", rel.display());
        }
    }
    outln!(
        "6. compared all {} files byte for byte: identical",
        files.len()
    );
    Ok(())
}

/// A tree run that did everything, or why it did not.
fn complete(outcome: TreeOutcome) -> Result<()> {
    if let Some(fatal) = outcome.fatal {
        return Err(fatal.into());
    }
    if let Some(failed) = outcome.summary.failed.first() {
        bail!("{}: {}", failed.path, failed.reason);
    }
    Ok(())
}

/// A small but varied tree: text, an empty file, a multi-chunk binary file,
/// nested directories and a name with spaces and non-ASCII.
fn write_sample_tree(dir: &Path) -> Result<Vec<(PathBuf, u64)>> {
    let mut random = vec![0u8; 3 * 1024 * 1024 + 123];
    OsRng.fill_bytes(&mut random);
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "README.txt",
            b"shardlock demo: these files never reach a server.\n".to_vec(),
        ),
        ("empty.dat", Vec::new()),
        ("photos/raw image.bin", random),
        (
            "reports/2026/q3 résumé.csv",
            b"quarter,revenue\nq3,42\n".repeat(500),
        ),
    ];
    let mut out = Vec::new();
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &bytes)?;
        out.push((PathBuf::from(rel), bytes.len() as u64));
    }
    Ok(out)
}
