use std::io::{Cursor, Read, Write};

use rand::rngs::OsRng;
use sha2::{Digest, Sha512};

use super::*;

/// An "RNG" that hands out a fixed salt, so encryption can be checked byte
/// for byte against an external vector.
struct FixedSalt(Vec<u8>);

impl RngCore for FixedSalt {
    fn next_u32(&mut self) -> u32 {
        unimplemented!("only fill_bytes is used")
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!("only fill_bytes is used")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert_eq!(dest.len(), self.0.len(), "salt length");
        dest.copy_from_slice(&self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for FixedSalt {}

fn encrypt_with<C: ChunkCipher>(key: &[u8; 32], ctx: &[u8], msg: &[u8], step: usize) -> Vec<u8> {
    let mut w = EncryptWriter::<_, C>::new(Vec::new(), key, ctx, &mut OsRng).unwrap();
    for piece in msg.chunks(step.max(1)) {
        w.write_all(piece).unwrap();
    }
    w.finish().unwrap()
}

fn encrypt(key: &[u8; 32], ctx: &[u8], msg: &[u8]) -> Vec<u8> {
    encrypt_with::<DefaultCipher>(key, ctx, msg, 8192)
}

/// Reads a stream to its end; returns the plaintext released before the
/// first error (if any) and that error.
fn drain<R: Read>(mut r: R, step: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (out, None),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Some(e)),
        }
    }
}

fn decrypt(key: &[u8; 32], ctx: &[u8], ct: &[u8]) -> Result<Vec<u8>, io::Error> {
    let r = DecryptReader::<_, DefaultCipher>::new(ct, key, ctx)?;
    match drain(r, 10_000) {
        (out, None) => Ok(out),
        (_, Some(e)) => Err(e),
    }
}

fn stream_error(e: &io::Error) -> StreamError {
    *e.get_ref()
        .and_then(|inner| inner.downcast_ref::<StreamError>())
        .unwrap_or_else(|| panic!("not a StreamError: {e}"))
}

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 7) as u8).collect()
}

// ---------------------------------------------------------------------------
// Project Wycheproof c2sp_chunked_encryption_aes_256_gcm_test.json, in full.
// ---------------------------------------------------------------------------

mod wycheproof_vectors {
    use super::*;
    use wycheproof::chunked_encryption::{TestFlag, TestName, TestSet};
    use wycheproof::TestResult;

    fn inflate(zlib: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(zlib)
            .read_to_end(&mut out)
            .expect("vector ciphertext is zlib-compressed");
        out
    }

    fn check_vector<C: ChunkCipher>() -> usize {
        let set = TestSet::load(TestName::Cobblestone256).expect("vectors load");
        let mut checked = 0;
        for group in &set.test_groups {
            for t in &group.tests {
                let id = t.tc_id;
                let ct = inflate(&t.ct);
                let ctx: &[u8] = &t.ctx;
                let key: [u8; 32] = match t.key.as_slice().try_into() {
                    Ok(k) => k,
                    Err(_) => {
                        // InvalidKeySize: the type system refuses the key.
                        assert_eq!(t.result, TestResult::Invalid, "tc {id}");
                        assert!(t.flags.contains(&TestFlag::InvalidKeySize), "tc {id}");
                        checked += 1;
                        continue;
                    }
                };

                // Raw-mode values, where given, must equal our derivation.
                if let (Some(aead_key), Some(base_nonce)) = (&t.aead_key, &t.base_nonce) {
                    let salt: [u8; SALT_LEN] = ct[..SALT_LEN].try_into().unwrap();
                    let d = derive(&key, &salt, ctx);
                    assert_eq!(
                        d.key.expose().as_slice(),
                        aead_key.as_slice(),
                        "tc {id} key"
                    );
                    assert_eq!(
                        d.base_nonce.as_slice(),
                        base_nonce.as_slice(),
                        "tc {id} nonce"
                    );
                }

                let opened = DecryptReader::<_, C>::new(ct.as_slice(), &key, ctx);
                let streamed = opened.map(|r| drain(r, 4096));
                let seekable = SeekableDecryptor::<_, C>::new(Cursor::new(&ct), &key, ctx);

                match t.result {
                    TestResult::Valid => {
                        let (pt, err) = streamed.unwrap_or_else(|e| panic!("tc {id}: {e}"));
                        assert!(err.is_none(), "tc {id}: {err:?}");
                        assert_eq!(Some(pt.len()), t.msg_length, "tc {id} length");
                        let digest = Sha512::digest(&pt);
                        assert_eq!(
                            Some(digest.as_slice()),
                            t.msg_sha512.as_deref().map(|v| v.as_slice()),
                            "tc {id} digest"
                        );
                        // Random access agrees and authenticates every chunk.
                        let mut s = seekable.unwrap_or_else(|e| panic!("tc {id}: {e}"));
                        assert_eq!(s.plaintext_len(), pt.len() as u64, "tc {id}");
                        let mut all = vec![0u8; pt.len()];
                        assert_eq!(s.read_at(0, &mut all).unwrap(), pt.len());
                        assert_eq!(all, pt, "tc {id} random access");
                        // Encrypting the plaintext with the vector's salt
                        // reproduces the vector byte for byte.
                        let mut rng = FixedSalt(ct[..SALT_LEN].to_vec());
                        let mut w =
                            EncryptWriter::<_, C>::new(Vec::new(), &key, ctx, &mut rng).unwrap();
                        w.write_all(&pt).unwrap();
                        assert_eq!(w.finish().unwrap(), ct, "tc {id} re-encryption");
                    }
                    _ => {
                        if t.flags.contains(&TestFlag::HeaderFailure) {
                            assert!(streamed.is_err(), "tc {id}: header must be rejected");
                            assert!(seekable.is_err(), "tc {id}: header must be rejected");
                            checked += 1;
                            continue;
                        }
                        let (pt, err) = streamed.unwrap_or_else(|e| panic!("tc {id}: {e}"));
                        assert!(err.is_some(), "tc {id}: invalid vector decrypted");
                        if t.flags.contains(&TestFlag::PartialPlaintext) {
                            // Whatever was released is the authentic prefix.
                            assert_eq!(Some(pt.len()), t.msg_length, "tc {id} prefix length");
                            let digest = Sha512::digest(&pt);
                            assert_eq!(
                                Some(digest.as_slice()),
                                t.msg_sha512.as_deref().map(|v| v.as_slice()),
                                "tc {id} prefix digest"
                            );
                        } else {
                            assert!(pt.is_empty(), "tc {id}: released plaintext");
                        }
                        match seekable {
                            Err(_) => {}
                            Ok(mut s) => {
                                // Only a message whose final chunk is genuine
                                // may get this far; reading it all must fail.
                                assert!(t.flags.contains(&TestFlag::ValidFinalChunk), "tc {id}");
                                let mut all = vec![0u8; s.plaintext_len() as usize];
                                assert!(s.read_at(0, &mut all).is_err(), "tc {id}");
                            }
                        }
                    }
                }
                checked += 1;
            }
        }
        assert_eq!(checked, set.number_of_tests, "every vector was checked");
        checked
    }

    #[test]
    fn all_wycheproof_vectors_pass_with_ring() {
        assert_eq!(check_vector::<RingAes256Gcm>(), 35);
    }

    #[test]
    fn all_wycheproof_vectors_pass_with_rustcrypto() {
        assert_eq!(check_vector::<RustCryptoAes256Gcm>(), 35);
    }
}

// ---------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------

const EDGE_LENGTHS: &[usize] = &[0, 1, 16383, 16384, 16385, 32768, 32769, 3 * 1024 * 1024 + 5];
const WRITE_STEPS: &[usize] = &[1, 7, 4096, 16384, 16385, 100_000, usize::MAX];

#[test]
fn round_trips_edge_lengths_with_every_write_step() {
    let key = [7u8; 32];
    for &len in EDGE_LENGTHS {
        let msg = message(len);
        let mut reference: Option<usize> = None;
        for &step in WRITE_STEPS {
            if step == 1 && len > 40_000 {
                continue; // byte-at-a-time over MiBs adds time, not coverage
            }
            let ct = encrypt_with::<DefaultCipher>(&key, b"ctx", &msg, step);
            assert_eq!(ct.len() as u64, encrypted_len(len as u64), "len {len}");
            assert_eq!(plaintext_len(ct.len() as u64).unwrap().0, len as u64);
            reference.get_or_insert(ct.len());
            for read_step in [1usize, 1000, 16384, 16399, 16400, 16401, 65536, 1 << 20] {
                if read_step == 1 && len > 40_000 {
                    continue;
                }
                let r =
                    DecryptReader::<_, DefaultCipher>::new(ct.as_slice(), &key, b"ctx").unwrap();
                let (pt, err) = drain(r, read_step);
                assert!(err.is_none(), "len {len} step {step}: {err:?}");
                assert_eq!(pt, msg, "len {len} write step {step} read step {read_step}");
            }
        }
    }
}

#[test]
fn encrypt_reader_matches_the_writer_format_for_every_read_size() {
    let key = [21u8; 32];
    for &len in EDGE_LENGTHS {
        let msg = message(len);
        for step in [1usize, 100, 16400, 16401, 40_000, 1 << 20] {
            if step == 1 && len > 40_000 {
                continue;
            }
            let r =
                EncryptReader::<_, DefaultCipher>::new(msg.as_slice(), &key, b"ctx", &mut OsRng);
            let (ct, err) = drain(r, step);
            assert!(err.is_none());
            assert_eq!(
                ct.len() as u64,
                encrypted_len(len as u64),
                "len {len} step {step}"
            );
            assert_eq!(
                decrypt(&key, b"ctx", &ct).unwrap(),
                msg,
                "len {len} step {step}"
            );
        }
    }
}

#[test]
fn encrypt_reader_and_writer_produce_identical_bytes_for_the_same_salt() {
    let key = [22u8; 32];
    let msg = message(2 * CHUNK_SIZE + 77);
    let salt = vec![9u8; SALT_LEN];
    let mut w =
        EncryptWriter::<_, DefaultCipher>::new(Vec::new(), &key, b"", &mut FixedSalt(salt.clone()))
            .unwrap();
    w.write_all(&msg).unwrap();
    let from_writer = w.finish().unwrap();
    let mut from_reader = Vec::new();
    EncryptReader::<_, DefaultCipher>::new(msg.as_slice(), &key, b"", &mut FixedSalt(salt))
        .read_to_end(&mut from_reader)
        .unwrap();
    assert_eq!(from_reader, from_writer);
}

#[test]
fn fast_path_failure_hands_out_only_authenticated_chunks() {
    let key = [23u8; 32];
    let msg = message(4 * CHUNK_SIZE);
    let mut ct = encrypt(&key, b"", &msg);
    ct[PREFIX_LEN + 2 * ENCRYPTED_CHUNK_SIZE + 3] ^= 4; // chunk 2
    let mut r = DecryptReader::<_, DefaultCipher>::new(ct.as_slice(), &key, b"").unwrap();
    let mut out = vec![0u8; 1 << 20];
    let n = r.read(&mut out).unwrap();
    assert_eq!(n, 2 * CHUNK_SIZE, "chunks 0 and 1 only");
    assert_eq!(&out[..n], &msg[..n]);
    assert!(
        out[n..].iter().all(|&b| b == 0),
        "no bytes of the bad chunk remain"
    );
    let e = r.read(&mut out).unwrap_err();
    assert_eq!(stream_error(&e), StreamError::ChunkCorrupt(2));
}

#[test]
fn backends_are_interchangeable() {
    let key = [9u8; 32];
    let msg = message(50_000);
    let ct = encrypt_with::<RustCryptoAes256Gcm>(&key, b"", &msg, 3000);
    let r = DecryptReader::<_, RingAes256Gcm>::new(ct.as_slice(), &key, b"").unwrap();
    assert_eq!(drain(r, 5000).0, msg);
}

#[test]
fn chunk_count_matches_the_spec_examples() {
    // "An empty message is encrypted as a single empty chunk", 16 KiB as a
    // full chunk plus an empty one, 20 KiB as 16 KiB + 4 KiB.
    for (len, chunks) in [(0u64, 1u64), (1024, 1), (16384, 2), (20 * 1024, 2)] {
        assert_eq!(plaintext_len(encrypted_len(len)).unwrap(), (len, chunks));
    }
}

#[test]
fn impossible_ciphertext_lengths_are_rejected() {
    for len in [0u64, 55, 56, 56 + 15, 56 + 16400, 56 + 16400 + 15] {
        assert!(plaintext_len(len).is_err(), "{len}");
    }
    assert_eq!(plaintext_len(56 + 16).unwrap(), (0, 1));
}

#[test]
fn stream_key_parallel_chunks_match_the_streaming_writer() {
    // Chunks sealed independently (as parallel workers do) form the same
    // message a sequential reader accepts.
    let key = [3u8; 32];
    let msg = message(3 * CHUNK_SIZE + 100);
    let (sk, prefix) = StreamKey::<DefaultCipher>::new_message(&key, b"c", &mut OsRng);
    let mut ct = prefix.to_vec();
    for (i, piece) in msg.chunks(CHUNK_SIZE).enumerate() {
        let mut buf = piece.to_vec();
        buf.extend_from_slice(&[0; TAG_LEN]);
        sk.seal_chunk(i as u64, &mut buf).unwrap();
        ct.extend_from_slice(&buf);
    }
    assert_eq!(decrypt(&key, b"c", &ct).unwrap(), msg);
}

#[test]
fn chunk_counter_limit_is_enforced() {
    let (sk, _) = StreamKey::<DefaultCipher>::new_message(&[1; 32], b"", &mut OsRng);
    let mut buf = vec![0u8; TAG_LEN + 1];
    assert!(sk.seal_chunk(MAX_CHUNKS - 1, &mut buf).is_ok());
    assert_eq!(
        sk.seal_chunk(MAX_CHUNKS, &mut buf),
        Err(StreamError::TooLong)
    );
    assert_eq!(
        sk.open_chunk(MAX_CHUNKS, &mut buf),
        Err(StreamError::TooLong)
    );
}

// ---------------------------------------------------------------------------
// Tampering: every one of these must be rejected.
// ---------------------------------------------------------------------------

fn assert_rejected(key: &[u8; 32], ctx: &[u8], ct: &[u8], what: &str) {
    match DecryptReader::<_, DefaultCipher>::new(ct, key, ctx) {
        Err(_) => {}
        Ok(r) => {
            let (_, err) = drain(r, 7000);
            assert!(err.is_some(), "{what}: accepted");
        }
    }
    if let Ok(mut s) = SeekableDecryptor::<_, DefaultCipher>::new(Cursor::new(ct), key, ctx) {
        let mut all = vec![0u8; s.plaintext_len() as usize];
        assert!(
            s.read_at(0, &mut all).is_err(),
            "{what}: random access accepted"
        );
    }
}

#[test]
fn truncation_at_every_chunk_boundary_is_rejected() {
    let key = [5u8; 32];
    for len in [0usize, 1, 16384, 16385, 40_000] {
        let ct = encrypt(&key, b"", &message(len));
        let mut cuts: Vec<usize> = (0..=ct.len() / ENCRYPTED_CHUNK_SIZE + 1)
            .flat_map(|k| {
                let b = PREFIX_LEN + k * ENCRYPTED_CHUNK_SIZE;
                [b.saturating_sub(1), b, b + 1, b + TAG_LEN - 1, b + TAG_LEN]
            })
            .filter(|&c| c < ct.len())
            .collect();
        cuts.extend([0, 10, ct.len() - 1]);
        for cut in cuts {
            assert_rejected(&key, b"", &ct[..cut], &format!("len {len} cut at {cut}"));
        }
    }
}

#[test]
fn reordered_and_duplicated_chunks_are_rejected() {
    let key = [6u8; 32];
    let ct = encrypt(&key, b"", &message(3 * CHUNK_SIZE + 10));
    let chunk = |k: usize| {
        let s = PREFIX_LEN + k * ENCRYPTED_CHUNK_SIZE;
        ct[s..(s + ENCRYPTED_CHUNK_SIZE).min(ct.len())].to_vec()
    };
    let rebuild = |order: &[usize]| {
        let mut v = ct[..PREFIX_LEN].to_vec();
        for &k in order {
            v.extend(chunk(k));
        }
        v
    };
    assert_eq!(
        decrypt(&key, b"", &rebuild(&[0, 1, 2, 3])).unwrap().len(),
        3 * CHUNK_SIZE + 10
    );
    for order in [
        &[1, 0, 2, 3][..],
        &[0, 2, 1, 3],
        &[0, 0, 2, 3],
        &[0, 1, 1, 2, 3],
        &[0, 1, 3],
    ] {
        assert_rejected(&key, b"", &rebuild(order), &format!("order {order:?}"));
    }
}

#[test]
fn trailing_data_is_rejected() {
    let key = [8u8; 32];
    for len in [0usize, 100, 16384] {
        let ct = encrypt(&key, b"", &message(len));
        for extra in [&[0u8][..], &[0; 16], &[0xff; 16400], &ct[PREFIX_LEN..]] {
            let mut bad = ct.clone();
            bad.extend_from_slice(extra);
            assert_rejected(
                &key,
                b"",
                &bad,
                &format!("len {len} + {} bytes", extra.len()),
            );
        }
    }
}

#[test]
fn a_flipped_bit_in_any_region_is_rejected() {
    let key = [4u8; 32];
    let ct = encrypt(&key, b"", &message(2 * CHUNK_SIZE + 500));
    let last = PREFIX_LEN + 2 * ENCRYPTED_CHUNK_SIZE;
    let regions = [
        ("salt", 0),
        ("salt end", SALT_LEN - 1),
        ("commitment", SALT_LEN),
        ("commitment end", PREFIX_LEN - 1),
        ("first chunk body", PREFIX_LEN),
        ("first chunk tag", PREFIX_LEN + ENCRYPTED_CHUNK_SIZE - 1),
        ("middle chunk", PREFIX_LEN + ENCRYPTED_CHUNK_SIZE + 777),
        ("final chunk body", last),
        ("final chunk tag", ct.len() - 1),
    ];
    for (what, at) in regions {
        for bit in [0u8, 7] {
            let mut bad = ct.clone();
            bad[at] ^= 1 << bit;
            assert_rejected(&key, b"", &bad, what);
        }
    }
}

#[test]
fn wrong_key_and_wrong_context_fail_before_any_chunk() {
    let ct = encrypt(&[1u8; 32], b"right", &message(100));
    let e =
        DecryptReader::<_, DefaultCipher>::new(ct.as_slice(), &[2u8; 32], b"right").unwrap_err();
    assert_eq!(stream_error(&e), StreamError::WrongKey);
    let e =
        DecryptReader::<_, DefaultCipher>::new(ct.as_slice(), &[1u8; 32], b"wrong").unwrap_err();
    assert_eq!(stream_error(&e), StreamError::WrongKey);
    let e =
        SeekableDecryptor::<_, DefaultCipher>::new(Cursor::new(&ct), &[1u8; 32], b"").unwrap_err();
    assert_eq!(stream_error(&e), StreamError::WrongKey);
}

#[test]
fn a_failed_chunk_releases_nothing_and_the_reader_stays_failed() {
    let key = [2u8; 32];
    let msg = message(3 * CHUNK_SIZE);
    let mut ct = encrypt(&key, b"", &msg);
    ct[PREFIX_LEN + ENCRYPTED_CHUNK_SIZE + 5] ^= 1; // corrupt chunk 1
    let mut r = DecryptReader::<_, DefaultCipher>::new(ct.as_slice(), &key, b"").unwrap();
    let mut buf = vec![0u8; 100_000];
    let mut released = Vec::new();
    let first_error = loop {
        match r.read(&mut buf) {
            Ok(0) => panic!("corrupt stream read to the end"),
            Ok(n) => released.extend_from_slice(&buf[..n]),
            Err(e) => break stream_error(&e),
        }
    };
    assert_eq!(first_error, StreamError::ChunkCorrupt(1));
    assert_eq!(released, msg[..CHUNK_SIZE], "only chunk 0 was released");
    for _ in 0..3 {
        let e = r.read(&mut buf).unwrap_err();
        assert_eq!(stream_error(&e), StreamError::ChunkCorrupt(1));
    }
    assert!(!r.is_complete());
}

#[test]
fn truncated_stream_reports_truncation_and_keeps_failing() {
    let key = [2u8; 32];
    let ct = encrypt(&key, b"", &message(CHUNK_SIZE));
    let cut = &ct[..PREFIX_LEN + ENCRYPTED_CHUNK_SIZE]; // drop the empty final chunk
    let mut r = DecryptReader::<_, DefaultCipher>::new(cut, &key, b"").unwrap();
    let (pt, err) = drain(&mut r, 4096);
    assert_eq!(pt.len(), CHUNK_SIZE);
    assert_eq!(stream_error(&err.unwrap()), StreamError::Truncated(1));
    assert!(r.read(&mut [0u8; 10]).is_err());
}

// ---------------------------------------------------------------------------
// Random access.
// ---------------------------------------------------------------------------

#[test]
fn random_access_reads_any_chunk_and_range() {
    let key = [11u8; 32];
    let msg = message(5 * CHUNK_SIZE + 1234);
    let ct = encrypt(&key, b"ctx", &msg);
    let mut s = SeekableDecryptor::<_, DefaultCipher>::new(Cursor::new(&ct), &key, b"ctx").unwrap();
    assert_eq!(s.plaintext_len(), msg.len() as u64);
    assert_eq!(s.chunk_count(), 6);
    for k in [5u64, 0, 3] {
        let start = k as usize * CHUNK_SIZE;
        let end = (start + CHUNK_SIZE).min(msg.len());
        assert_eq!(s.read_chunk(k).unwrap(), &msg[start..end]);
    }
    assert!(s.read_chunk(6).is_err());
    for (off, len) in [
        (0usize, 10usize),
        (16380, 10),
        (16384, 16384),
        (70_000, 20_000),
        (msg.len() - 3, 3),
    ] {
        let mut out = vec![0u8; len];
        let n = s.read_at(off as u64, &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &msg[off..(off + len).min(msg.len())],
            "offset {off}"
        );
    }
    let mut out = [0u8; 8];
    assert_eq!(s.read_at(msg.len() as u64, &mut out).unwrap(), 0);
    assert!(s.read_at(msg.len() as u64 + 1, &mut out).is_err());
}

#[test]
fn random_access_works_after_a_leading_header() {
    let key = [12u8; 32];
    let msg = message(20_000);
    let mut file = b"HEADER-BYTES".to_vec();
    file.extend(encrypt(&key, b"", &msg));
    let mut cursor = Cursor::new(&file);
    cursor.set_position(12);
    let mut s = SeekableDecryptor::<_, DefaultCipher>::new(cursor, &key, b"").unwrap();
    let mut all = vec![0u8; msg.len()];
    s.read_at(0, &mut all).unwrap();
    assert_eq!(all, msg);
}

#[test]
fn random_access_rejects_a_forged_length() {
    // Chopping whole chunks off the end leaves a length whose "final" chunk
    // is a full one at the wrong index: the final-chunk check catches it.
    let key = [13u8; 32];
    let ct = encrypt(&key, b"", &message(3 * CHUNK_SIZE + 10));
    let cut = &ct[..PREFIX_LEN + 2 * ENCRYPTED_CHUNK_SIZE + 16];
    assert!(SeekableDecryptor::<_, DefaultCipher>::new(Cursor::new(cut), &key, b"").is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn any_message_round_trips(len in 0usize..70_000, step in 1usize..40_000, ctx in proptest::collection::vec(any::<u8>(), 0..40)) {
            let key = [42u8; 32];
            let msg = message(len);
            let ct = encrypt_with::<DefaultCipher>(&key, &ctx, &msg, step);
            prop_assert_eq!(decrypt(&key, &ctx, &ct).unwrap(), msg);
        }

        #[test]
        fn any_single_byte_change_is_rejected(len in 0usize..40_000, at in any::<prop::sample::Index>(), xor in 1u8..=255) {
            let key = [43u8; 32];
            let mut ct = encrypt(&key, b"", &message(len));
            let i = at.index(ct.len());
            ct[i] ^= xor;
            prop_assert!(decrypt(&key, b"", &ct).is_err());
        }
    }
}
