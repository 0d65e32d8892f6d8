//! A whole shardlock file: the header ([`crate::format`]) followed by the
//! chunked-encryption body ([`crate::stream`]) whose context is the exact
//! header bytes. This is where a data key is born (encrypt), wrapped for a
//! keyset ([`keywrap`]) beside its sealed metadata ([`metadata`]), and
//! where a recovered one is used (decrypt); recovering it is the caller's
//! business ([`keywrap::unwrap_batch`]), so folders can batch it.
//!
//! Only `Read`/`Write` here: temp files, fsync and renames belong to the
//! client's use cases and the crate's durable-write module.

use std::io::{self, BufWriter, Read, Write};

use rand::{CryptoRng, RngCore};

pub mod keywrap;
pub mod metadata;
pub mod recovery;

use crate::format::metadata::FileMetadata;
use crate::format::{header_len, FormatError, Header, Stanza, ThresholdStanza, PREAMBLE_LEN};
use crate::secret::DataKey;
pub use crate::stream::pipeline::Source;
use crate::stream::pipeline::{self, PipelineError};
use crate::stream::StreamError;
use crate::threshold::kem::PublicKeyset;

/// Why encrypting or decrypting a file failed. Reading and writing errors
/// are kept apart so the CLI can say which side (e.g. a full disk) failed.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The header is malformed, foreign or from a future version.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The body failed authentication or is truncated.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// Reading the input failed.
    #[error("reading the input failed: {0}")]
    Read(#[source] io::Error),
    /// Writing the output failed.
    #[error("writing the output failed: {0}")]
    Write(#[source] io::Error),
    /// The source changed size while it was being encrypted.
    #[error("the file changed while it was being encrypted (expected {expected} bytes, read {read}); retry")]
    SourceChanged {
        /// Size recorded in the metadata.
        expected: u64,
        /// Bytes actually read.
        read: u64,
    },
    /// The header holds no key stanza for this keyset.
    #[error("the file was not encrypted for keyset {0}")]
    NoStanzaForKeyset(String),
}

/// Encrypts `input` for `keyset` into `output` with `threads` workers: a
/// fresh data key, its threshold wrap, optional sealed metadata, then the
/// body. Returns the output writer and the number of plaintext bytes. No
/// server is involved.
///
/// When `metadata` is given, its `size` must match what `input` yields;
/// a mismatch (the file changed underneath) is an error, not a silently
/// inconsistent archive.
pub fn encrypt<R: Read + Send, W: Write, G: RngCore + CryptoRng>(
    input: Source<'_, R>,
    output: W,
    to: Recipients<'_>,
    metadata: Option<&FileMetadata>,
    threads: usize,
    rng: &mut G,
) -> Result<(W, u64), EnvelopeError> {
    encrypt_with_header(input, output, to, metadata, threads, rng)
        .map(|(output, total, _)| (output, total))
}

/// [`encrypt`], also returning the exact header bytes written (a private
/// tree's index records their SHA-256, docs/FORMAT.md section 9.2).
pub fn encrypt_with_header<R: Read + Send, W: Write, G: RngCore + CryptoRng>(
    input: Source<'_, R>,
    output: W,
    to: Recipients<'_>,
    metadata: Option<&FileMetadata>,
    threads: usize,
    rng: &mut G,
) -> Result<(W, u64, Vec<u8>), EnvelopeError> {
    let dek = DataKey::random(rng);
    let header = build_header(to, &dek, metadata, rng)?;
    let header_bytes = header.to_bytes()?;
    // Header, salt and commitment, and a small file's only chunk leave in
    // one write; large writes pass straight through.
    let mut output = BufWriter::with_capacity(64 * 1024, output);
    output
        .write_all(&header_bytes)
        .map_err(EnvelopeError::Write)?;
    let shrank = |e: PipelineError| match e {
        // A positional read past the end: the file shrank after stat.
        PipelineError::Read(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            EnvelopeError::SourceChanged {
                expected: metadata.map_or(0, |m| m.size),
                read: 0,
            }
        }
        e => e.into(),
    };
    let total = match metadata.filter(|m| m.padded) {
        // Zeros after the data, up to the Padmé length (FORMAT.md 2.2).
        Some(meta) => pipeline::encrypt_padded(
            input,
            meta.body_len() - meta.size,
            &mut output,
            &dek,
            &header_bytes,
            threads,
            rng,
        )
        .map_err(shrank)?,
        None => pipeline::encrypt(input, &mut output, &dek, &header_bytes, threads, rng)
            .map_err(shrank)?,
    };
    if let Some(meta) = metadata {
        if meta.body_len() != total {
            return Err(EnvelopeError::SourceChanged {
                expected: meta.size,
                read: total.saturating_sub(meta.body_len() - meta.size),
            });
        }
    }
    let total = metadata.map_or(total, |m| m.size);
    let output = output
        .into_inner()
        .map_err(|e| EnvelopeError::Write(e.into_error()))?;
    Ok((output, total, header_bytes))
}

/// The header of a new file: one threshold stanza and, if given, sealed
/// metadata. Exposed for callers that write bodies themselves (parallel
/// chunk workers).
fn build_header<G: RngCore + CryptoRng>(
    to: Recipients<'_>,
    dek: &DataKey,
    metadata: Option<&FileMetadata>,
    rng: &mut G,
) -> Result<Header, EnvelopeError> {
    let mut stanzas = vec![Stanza::Threshold(keywrap::wrap(to.keyset, dek, rng))];
    if let Some(recovery) = to.recovery {
        stanzas.push(Stanza::Recovery(recovery.wrap(dek, rng)));
    }
    if let Some(meta) = metadata {
        stanzas.push(Stanza::Metadata(metadata::seal(meta, dek)?));
    }
    Ok(Header { stanzas })
}

/// Whom a new file is for: a keyset, and optionally the keyset's offline
/// recovery key.
#[derive(Debug, Clone, Copy)]
pub struct Recipients<'a> {
    /// The keyset (always).
    pub keyset: &'a PublicKeyset,
    /// Its recovery key, if one is set.
    pub recovery: Option<&'a recovery::RecoveryPublic>,
}

impl<'a> From<&'a PublicKeyset> for Recipients<'a> {
    fn from(keyset: &'a PublicKeyset) -> Self {
        Self {
            keyset,
            recovery: None,
        }
    }
}

/// The exact length of the file [`encrypt`] writes for `plaintext_len`
/// bytes with this metadata (and a recovery stanza if `recovery`): lets
/// `--skip-unchanged` compare an existing output against its source
/// without decrypting anything.
pub fn sealed_len(metadata: Option<&FileMetadata>, recovery: bool, plaintext_len: u64) -> u64 {
    use crate::format::{metadata::MIN_SEALED_LEN, RECOVERY_STANZA_LEN, THRESHOLD_STANZA_LEN};
    let stanza_header = 3; // type (u8) + body length (u16)
    let mut header = PREAMBLE_LEN + stanza_header + THRESHOLD_STANZA_LEN;
    if recovery {
        header += stanza_header + RECOVERY_STANZA_LEN;
    }
    if let Some(meta) = metadata {
        header += stanza_header + MIN_SEALED_LEN + meta.path.len();
    }
    let body = match metadata {
        Some(meta) if meta.padded => crate::format::padding::padme(plaintext_len),
        _ => plaintext_len,
    };
    header as u64 + crate::stream::encrypted_len(body)
}

/// A parsed header together with its exact bytes (the body's context).
#[derive(Debug, Clone)]
pub struct SealedHeader {
    /// The parsed header.
    pub header: Header,
    /// The bytes it was parsed from.
    pub bytes: Vec<u8>,
}

impl SealedHeader {
    /// The threshold stanza for `keyset_id`, if the file has one.
    pub fn stanza_for(&self, keyset_id: &[u8; 32]) -> Option<&ThresholdStanza> {
        self.header
            .threshold_stanzas()
            .find(|s| &s.keyset_id == keyset_id)
    }

    /// Keyset ids this file can be opened with.
    pub fn keyset_ids(&self) -> Vec<[u8; 32]> {
        self.header
            .threshold_stanzas()
            .map(|s| s.keyset_id)
            .collect()
    }

    /// Opens the sealed metadata, if any.
    pub fn metadata(&self, dek: &DataKey) -> Result<Option<FileMetadata>, EnvelopeError> {
        match self.header.sealed_metadata() {
            None => Ok(None),
            Some(sealed) => Ok(Some(metadata::open(sealed, dek)?)),
        }
    }
}

/// Reads and parses the header from the start of `input`, leaving `input`
/// positioned at the first body byte. Reads exactly the header's bytes.
pub fn read_header<R: Read + ?Sized>(input: &mut R) -> Result<SealedHeader, EnvelopeError> {
    // As much of the preamble as there is: a short input is judged by
    // what it holds ("not a shardlock file" unless it starts like one).
    let mut bytes = vec![0u8; PREAMBLE_LEN];
    let mut filled = 0;
    while filled < PREAMBLE_LEN {
        match input.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(EnvelopeError::Read(e)),
        }
    }
    let len = header_len(&bytes[..filled])?;
    bytes.resize(len, 0);
    read_exact_or_truncated(input, &mut bytes[PREAMBLE_LEN..])?;
    let (header, _) = Header::parse(&bytes)?;
    Ok(SealedHeader { header, bytes })
}

fn read_exact_or_truncated<R: Read + ?Sized>(
    input: &mut R,
    buf: &mut [u8],
) -> Result<(), EnvelopeError> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            EnvelopeError::Format(FormatError::Truncated)
        } else {
            EnvelopeError::Read(e)
        }
    })
}

/// Decrypts the body that follows `header` in `input` into `output` with
/// `threads` workers; returns the plaintext length. Plaintext is written as
/// it authenticates: callers that must not leave partial output behind
/// write to a temporary file and keep it only when this returns `Ok`.
pub fn decrypt_body<R: Read + Send, W: Write>(
    header: &SealedHeader,
    dek: &DataKey,
    input: Source<'_, R>,
    output: &mut W,
    threads: usize,
) -> Result<u64, EnvelopeError> {
    let padded = header.metadata(dek)?.filter(|m| m.padded);
    let Some(meta) = padded else {
        let total = pipeline::decrypt(input, &mut *output, dek, &header.bytes, threads)?;
        output.flush().map_err(EnvelopeError::Write)?;
        return Ok(total);
    };
    // A padded body: the first `size` bytes are the file, the rest must be
    // zeros up to exactly the Padmé length (FORMAT.md 2.2).
    let mut unpad = Unpad {
        inner: &mut *output,
        keep: meta.size,
        seen: 0,
        bad: false,
    };
    let result = pipeline::decrypt(input, &mut unpad, dek, &header.bytes, threads);
    if unpad.bad {
        return Err(bad_padding());
    }
    let total = result?;
    if total != meta.body_len() {
        return Err(bad_padding());
    }
    output.flush().map_err(EnvelopeError::Write)?;
    Ok(meta.size)
}

fn bad_padding() -> EnvelopeError {
    EnvelopeError::Format(FormatError::BadStanza {
        kind: "metadata".into(),
        reason: "the body's padding does not match the recorded size",
    })
}

/// Passes the first `keep` bytes on and checks that every later byte is
/// zero (a padded body's padding).
struct Unpad<'w, W: Write> {
    inner: &'w mut W,
    keep: u64,
    seen: u64,
    bad: bool,
}

impl<W: Write> Write for Unpad<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = usize::try_from(self.keep.saturating_sub(self.seen)).unwrap_or(usize::MAX);
        let (data, padding) = buf.split_at(room.min(buf.len()));
        if padding.iter().any(|&b| b != 0) {
            self.bad = true;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the body's padding is not zero",
            ));
        }
        self.inner.write_all(data)?;
        self.seen += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl From<PipelineError> for EnvelopeError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Read(e) => EnvelopeError::Read(e),
            PipelineError::Write(e) => EnvelopeError::Write(e),
            PipelineError::Stream(e) => EnvelopeError::Stream(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;
    use crate::threshold::kem::deal;
    use crate::threshold::local::LocalKeyService;

    fn sample_metadata(size: u64) -> FileMetadata {
        FileMetadata {
            path: b"dir/file name.txt".to_vec(),
            size,
            mode: Some(0o600),
            mtime: Some((1_600_000_000, 5)),
            padded: false,
        }
    }

    fn open(
        file: &[u8],
        keyset: &PublicKeyset,
        service: &LocalKeyService,
    ) -> Result<(Vec<u8>, Option<FileMetadata>), EnvelopeError> {
        let mut input = file;
        let header = read_header(&mut input)?;
        let stanza = header
            .stanza_for(keyset.id())
            .ok_or_else(|| EnvelopeError::NoStanzaForKeyset("x".into()))?;
        let (dek, _) = keywrap::unwrap(keyset, service, stanza, &mut OsRng).expect("unwrap");
        let meta = header.metadata(&dek)?;
        let mut out = Vec::new();
        decrypt_body(&header, &dek, Source::Stream(input), &mut out, 2)?;
        Ok((out, meta))
    }

    #[test]
    fn file_round_trip_with_and_without_metadata() {
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let service = LocalKeyService::new(shares);
        for len in [0usize, 5, 100_000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let meta = sample_metadata(len as u64);
            for with_meta in [true, false] {
                let m = with_meta.then_some(&meta);
                let (file, n) = encrypt(
                    Source::Stream(data.as_slice()),
                    Vec::new(),
                    (&keyset).into(),
                    m,
                    2,
                    &mut OsRng,
                )
                .unwrap();
                assert_eq!(n, len as u64);
                assert_eq!(file.len() as u64, sealed_len(m, false, len as u64));
                // With a recovery stanza the length still matches, and the
                // recovery key opens the file.
                let secret = recovery::RecoverySecret::generate(&mut OsRng);
                let public = secret.public();
                let (with, _) = encrypt(
                    Source::Stream(data.as_slice()),
                    Vec::new(),
                    Recipients {
                        keyset: &keyset,
                        recovery: Some(&public),
                    },
                    m,
                    2,
                    &mut OsRng,
                )
                .unwrap();
                assert_eq!(with.len() as u64, sealed_len(m, true, len as u64));
                let header = read_header(&mut with.as_slice()).unwrap();
                let dek = secret.unwrap(header.header.recovery_stanzas()).unwrap();
                let mut plain = Vec::new();
                decrypt_body(
                    &header,
                    &dek,
                    Source::Stream(&with[header.bytes.len()..]),
                    &mut plain,
                    1,
                )
                .unwrap();
                assert_eq!(plain, data);
                let (plain, got_meta) = open(&file, &keyset, &service).unwrap();
                assert_eq!(plain, data);
                assert_eq!(got_meta.as_ref(), m);
            }
        }
    }

    #[test]
    fn a_padded_file_hides_its_exact_size_and_decrypts_to_the_original() {
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let service = LocalKeyService::new(shares);
        for len in [0usize, 9, 4097, 100_001, 300_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
            let meta = FileMetadata {
                path: Vec::new(),
                size: len as u64,
                mode: None,
                mtime: None,
                padded: true,
            };
            for threads in [1, 3] {
                let (file, n) = encrypt(
                    Source::Stream(data.as_slice()),
                    Vec::new(),
                    (&keyset).into(),
                    Some(&meta),
                    threads,
                    &mut OsRng,
                )
                .unwrap();
                assert_eq!(n, len as u64);
                assert_eq!(
                    file.len() as u64,
                    sealed_len(Some(&meta), false, len as u64)
                );
                let unpadded = FileMetadata {
                    padded: false,
                    ..meta.clone()
                };
                assert_eq!(
                    file.len() as u64 - sealed_len(Some(&unpadded), false, len as u64),
                    crate::stream::encrypted_len(crate::format::padding::padme(len as u64))
                        - crate::stream::encrypted_len(len as u64)
                );
                let (plain, got) = open(&file, &keyset, &service).unwrap();
                assert_eq!(plain, data, "{len} bytes, {threads} threads");
                assert_eq!(got, Some(meta.clone()));
            }
        }
    }

    #[test]
    fn a_padded_file_whose_size_does_not_fit_its_body_is_refused() {
        // Encrypt 5000 bytes of which the last are not zero, but claim a
        // size of 4097: the body's padding is not zeros.
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let service = LocalKeyService::new(shares);
        let data = vec![1u8; 5000];
        let meta = FileMetadata {
            size: 5000,
            padded: false,
            ..FileMetadata::default()
        };
        // Build by hand: a header whose sealed metadata claims padding.
        let dek = DataKey::random(&mut OsRng);
        let lying = FileMetadata {
            size: 4097,
            padded: true,
            ..meta
        };
        let header = build_header((&keyset).into(), &dek, Some(&lying), &mut OsRng).unwrap();
        let mut file = header.to_bytes().unwrap();
        let ctx = file.clone();
        pipeline::encrypt(
            Source::Stream(data.as_slice()),
            &mut file,
            &dek,
            &ctx,
            1,
            &mut OsRng,
        )
        .unwrap();
        let err = open(&file, &keyset, &service).unwrap_err();
        assert!(err.to_string().contains("padding"), "{err}");
    }

    #[test]
    fn any_header_change_breaks_the_body() {
        // The header is the body's context: altering an unknown, ignored
        // stanza must still make decryption fail.
        let (keyset, shares) = deal(1, &[1], &mut OsRng).unwrap();
        let service = LocalKeyService::new(shares);
        let (file, _) = encrypt(
            Source::Stream(&b"secret"[..]),
            Vec::new(),
            (&keyset).into(),
            None,
            1,
            &mut OsRng,
        )
        .unwrap();
        let mut input = file.as_slice();
        let mut header = read_header(&mut input).unwrap();
        let body = input.to_vec();
        header.header.stanzas.push(Stanza::Unknown {
            kind: 0x40,
            body: vec![1],
        });
        let mut forged = header.header.to_bytes().unwrap();
        forged.extend_from_slice(&body);
        assert!(matches!(
            open(&forged, &keyset, &service),
            Err(EnvelopeError::Stream(StreamError::WrongKey))
        ));
    }

    #[test]
    fn a_source_that_changes_size_is_reported() {
        let (keyset, _) = deal(1, &[1], &mut OsRng).unwrap();
        let meta = sample_metadata(10);
        let err = encrypt(
            Source::Stream(&b"only five"[..]),
            Vec::new(),
            (&keyset).into(),
            Some(&meta),
            1,
            &mut OsRng,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::SourceChanged {
                expected: 10,
                read: 9
            }
        ));
    }

    #[test]
    fn truncated_and_foreign_files_are_rejected_with_format_errors() {
        let (keyset, shares) = deal(1, &[1], &mut OsRng).unwrap();
        let service = LocalKeyService::new(shares);
        let (file, _) = encrypt(
            Source::Stream(&[7u8; 40_000][..]),
            Vec::new(),
            (&keyset).into(),
            None,
            1,
            &mut OsRng,
        )
        .unwrap();
        assert!(matches!(
            open(&file[..5], &keyset, &service),
            Err(EnvelopeError::Format(FormatError::Truncated))
        ));
        assert!(matches!(
            open(b"PK\x03\x04 zip file......", &keyset, &service),
            Err(EnvelopeError::Format(FormatError::NotShardlock))
        ));
        assert!(matches!(
            open(&file[..file.len() - 1], &keyset, &service),
            Err(EnvelopeError::Stream(_))
        ));
    }

    #[test]
    fn output_errors_are_reported_as_write_errors() {
        #[derive(Debug)]
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on device",
                ))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (keyset, _) = deal(1, &[1], &mut OsRng).unwrap();
        let err = encrypt(
            Source::Stream(&b"data"[..]),
            Full,
            (&keyset).into(),
            None,
            1,
            &mut OsRng,
        )
        .unwrap_err();
        assert!(matches!(err, EnvelopeError::Write(_)), "{err:?}");
        assert!(err.to_string().contains("no space left"));
    }
}
