//! `shardlock demo`: the main job once, end to end, on an embedded default
//! with no set-up: a throwaway 2-of-3 cluster of real TLS servers, a
//! keyset, a folder of sample files encrypted offline, one server stopped,
//! everything restored with the remaining two, and the bytes compared.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::rngs::OsRng;
use rand::RngCore;

use super::args::DemoArgs;
use super::dev_cluster::{DevCluster, KEYSET_NAME};
use super::Settings;
use crate::client::config::Config;
use crate::client::http::{HttpKeyService, HttpOptions};
use crate::envelope;
use crate::threshold::kem::decapsulate_batch;

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
        println!("kept the demo directory: {}", kept.display());
    }
    result?;
    println!(
        "demo finished in {:.1} s; everything it made has been removed",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn demo(settings: &Settings, root: &Path) -> Result<()> {
    let quiet = |_: String| {};
    let mut cluster = DevCluster::start(&root.join("cluster"), 3, 2, quiet)?;
    println!(
        "1. started 3 key-share servers (TLS, pinned certificates): {}",
        cluster.urls().join(", ")
    );

    let config = Config::load(&cluster.config_path())?;
    let keyset = config.keyset(Some(KEYSET_NAME))?;
    println!(
        "2. dealt a 2-of-3 keyset; the secret key was zeroized once its shares were installed"
    );

    let data = root.join("data");
    let files = write_sample_tree(&data)?;
    let total: u64 = files.iter().map(|(_, len)| len).sum();
    let encrypted = root.join("encrypted");
    let mut sealed = Vec::new();
    for (rel, _) in &files {
        let out = encrypted.join(format!("{}.slock", rel.display()));
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent)?;
        }
        let meta = super::encrypt::metadata_from(
            super::encrypt::os_bytes(rel.as_os_str()),
            &fs::metadata(data.join(rel))?,
        );
        let input = BufReader::new(File::open(data.join(rel))?);
        envelope::encrypt(
            input,
            File::create(&out)?,
            &keyset.public,
            Some(&meta),
            &mut OsRng,
        )?;
        sealed.push(out);
    }
    println!(
        "3. encrypted {} files ({} bytes) offline: no server was asked",
        files.len(),
        total
    );

    cluster.stop_node(1);
    println!("4. stopped server 1 of 3");

    let service = HttpKeyService::new(
        keyset.endpoints.clone(),
        HttpOptions {
            allow_http: settings.allow_http,
            ..HttpOptions::default()
        },
    )?;
    let headers = sealed
        .iter()
        .map(|path| {
            let mut file = File::open(path)?;
            Ok(envelope::read_header(&mut file)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let stanzas = headers
        .iter()
        .map(|h| {
            h.stanza_for(keyset.public.id())
                .context("missing key stanza")
        })
        .collect::<Result<Vec<_>>>()?;
    let unwrap_started = Instant::now();
    let keys = decapsulate_batch(&keyset.public, &service, &stanzas, &mut OsRng)?;
    let unwrap_ms = unwrap_started.elapsed().as_secs_f64() * 1e3;

    let restored = root.join("restored");
    for ((path, header), key) in sealed.iter().zip(&headers).zip(keys.keys) {
        let dek = key?;
        let meta = header
            .metadata(&dek)?
            .context("sample files carry metadata")?;
        let rel = meta.relative_path()?;
        let out = restored.join(&rel);
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut input = File::open(path)?;
        envelope::read_header(&mut input)?;
        let mut output = File::create(&out)?;
        envelope::decrypt_body(header, &dek, input, &mut output)?;
    }
    println!(
        "5. restored every file with the 2 remaining servers ({} file keys unwrapped in one batch, {unwrap_ms:.0} ms)",
        headers.len()
    );

    for (rel, _) in &files {
        let original = fs::read(data.join(rel))?;
        let back = fs::read(restored.join(rel))
            .with_context(|| format!("{} was not restored", rel.display()))?;
        if original != back {
            bail!("{} differs after the round trip", rel.display());
        }
    }
    println!(
        "6. compared all {} files byte for byte: identical",
        files.len()
    );
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
