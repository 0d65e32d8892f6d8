//! Stream throughput against the raw AEAD it is built on, measured in the
//! same run on one core (issue #2, item 8). Run with `cargo bench --bench
//! stream`; `SHARDLOCK_BENCH_MIB` changes the message size (default 256).
//!
//! "raw" seals/opens 16 KiB chunks in place with the backend directly: the
//! ceiling for any chunked AES-256-GCM. "copy+seal" copies each chunk from
//! one buffer to another and seals it there: the floor for any
//! buffer-to-buffer encryption with an in-place AEAD such as ring's.
//! "stream enc" is `EncryptReader` (what the CLI uses), "writer enc" is
//! `EncryptWriter`, "stream dec" is `DecryptReader`, each from one
//! in-memory buffer to another, key derivation, commitment and chunk
//! framing included.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use shardlock::stream::{
    ChunkCipher, DecryptReader, EncryptReader, EncryptWriter, RingAes256Gcm, RustCryptoAes256Gcm,
    CHUNK_SIZE, TAG_LEN,
};

const RUNS: usize = 3;

fn best_of<F: FnMut()>(mut f: F) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn gbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}

struct Row {
    backend: &'static str,
    raw_seal: f64,
    raw_copy_seal: f64,
    raw_open: f64,
    writer_enc: f64,
    stream_enc: f64,
    stream_dec: f64,
}

fn measure<C: ChunkCipher>(size: usize) -> Row {
    let key = [0x42u8; 32];
    let cipher = C::new(&key);
    let nonce = [7u8; 12];

    // Raw AEAD: 16 KiB chunks sealed in place, tags kept aside.
    let mut data = vec![0x5au8; size];
    let mut tags = vec![[0u8; TAG_LEN]; size.div_ceil(CHUNK_SIZE)];
    let raw_seal = best_of(|| {
        for (chunk, tag) in data.chunks_mut(CHUNK_SIZE).zip(tags.iter_mut()) {
            *tag = cipher.seal(&nonce, chunk);
        }
    });
    // The floor for buffer-to-buffer encryption with an in-place AEAD: copy
    // each chunk to the output, then seal it there.
    let source = vec![0x5au8; size];
    let mut dest = vec![0u8; size + tags.len() * TAG_LEN];
    let raw_copy_seal = best_of(|| {
        for (i, chunk) in source.chunks(CHUNK_SIZE).enumerate() {
            let start = i * (CHUNK_SIZE + TAG_LEN);
            let slot = &mut dest[start..start + chunk.len()];
            slot.copy_from_slice(chunk);
            let tag = cipher.seal(&nonce, slot);
            dest[start + chunk.len()..start + chunk.len() + TAG_LEN].copy_from_slice(&tag);
        }
    });
    drop((source, dest));
    // Open what the last seal run produced... but each run re-encrypted the
    // previous ciphertext, so re-seal once from a known state first.
    data.fill(0x5a);
    for (chunk, tag) in data.chunks_mut(CHUNK_SIZE).zip(tags.iter_mut()) {
        *tag = cipher.seal(&nonce, chunk);
    }
    // Opening works in place, so every run gets its own sealed copy.
    let mut copies: Vec<Vec<u8>> = (0..RUNS).map(|_| data.clone()).collect();
    drop(data);
    let raw_open = copies
        .iter_mut()
        .map(|copy| {
            let start = Instant::now();
            for (chunk, tag) in copy.chunks_mut(CHUNK_SIZE).zip(tags.iter()) {
                assert!(cipher.open(&nonce, chunk, tag));
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default();
    drop(copies);

    // Stream: plaintext buffer -> ciphertext buffer -> plaintext buffer.
    let plaintext = vec![0x5au8; size];
    let mut ciphertext = Vec::with_capacity(size + size / 1000 + 1024);
    // Push form: plaintext is written in, ciphertext comes out the inner
    // writer (two copies: into the chunk buffer and out of it).
    let writer_enc = best_of(|| {
        ciphertext.clear();
        let mut w =
            EncryptWriter::<_, C>::new(&mut ciphertext, &key, b"bench", &mut OsRng).unwrap();
        for piece in plaintext.chunks(256 * 1024) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap();
    });
    // Pull form (what the CLI uses): plaintext is read straight into the
    // output buffer and sealed there (one copy, the "read").
    ciphertext.resize(size + size / 1000 + 1024, 0);
    let mut produced = 0;
    let stream_enc = best_of(|| {
        let mut r = EncryptReader::<_, C>::new(plaintext.as_slice(), &key, b"bench", &mut OsRng);
        produced = 0;
        loop {
            let end = (produced + 256 * 1024).min(ciphertext.len());
            let n = r.read(&mut ciphertext[produced..end]).unwrap();
            if n == 0 {
                break;
            }
            produced += n;
        }
    });
    ciphertext.truncate(produced);
    // Spare room at the end: a zero-length read means "end of message" only
    // when the buffer offered was not empty.
    let mut output = vec![0u8; size + CHUNK_SIZE];
    let stream_dec = best_of(|| {
        let mut r = DecryptReader::<_, C>::new(ciphertext.as_slice(), &key, b"bench").unwrap();
        let mut filled = 0;
        loop {
            let end = (filled + 256 * 1024).min(output.len());
            let n = r.read(&mut output[filled..end]).unwrap();
            if n == 0 {
                break;
            }
            filled += n;
        }
        assert_eq!(filled, size);
        assert!(r.is_complete());
    });
    assert_eq!(&output[..size], plaintext.as_slice());

    Row {
        backend: C::NAME,
        raw_seal: gbps(size, raw_seal),
        raw_copy_seal: gbps(size, raw_copy_seal),
        raw_open: gbps(size, raw_open),
        writer_enc: gbps(size, writer_enc),
        stream_enc: gbps(size, stream_enc),
        stream_dec: gbps(size, stream_dec),
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries with --test-ish flags;
    // only measure when invoked by `cargo bench`.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let mib: usize = std::env::var("SHARDLOCK_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let size = mib * 1024 * 1024;
    println!("shardlock stream benchmark: {mib} MiB in memory, one core, best of {RUNS}");
    println!(
        "{:<8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>8} {:>9} {:>8}",
        "backend",
        "raw seal",
        "copy+seal",
        "stream enc",
        "writer enc",
        "raw open",
        "stream dec",
        "enc/raw",
        "enc/copy",
        "dec/raw"
    );
    let mut rows = vec![
        measure::<RingAes256Gcm>(size),
        measure::<RustCryptoAes256Gcm>(size),
    ];
    for r in &rows {
        println!(
            "{:<8} {:>7.2} GB/s {:>7.2} GB/s {:>7.2} GB/s {:>7.2} GB/s {:>7.2} GB/s {:>7.2} GB/s {:>7.1}% {:>8.1}% {:>7.1}%",
            r.backend,
            r.raw_seal,
            r.raw_copy_seal,
            r.stream_enc,
            r.writer_enc,
            r.raw_open,
            r.stream_dec,
            100.0 * r.stream_enc / r.raw_seal,
            100.0 * r.stream_enc / r.raw_copy_seal,
            100.0 * r.stream_dec / r.raw_open,
        );
    }
    rows.sort_by(|a, b| b.stream_enc.total_cmp(&a.stream_enc));
    println!(
        "fastest stream backend: {} ({:.2}x the other's encrypt throughput)",
        rows[0].backend,
        rows[0].stream_enc / rows[1].stream_enc
    );
}
