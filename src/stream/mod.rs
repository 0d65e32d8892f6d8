//! The file body: C2SP chunked encryption ("Cobblestone-256",
//! <https://c2sp.org/chunked-encryption>) with AEAD_AES_256_GCM and
//! HKDF-Expand-SHA-512, as pinned by Project Wycheproof's
//! `c2sp_chunked_encryption_aes_256_gcm_test.json`.
//!
//! Ciphertext layout (spec "Key derivation" and "AEAD usage"):
//!
//! ```text
//! salt (24) || commitment (32) || chunk_0 || chunk_1 || ... || chunk_last
//! chunk_i    = AES-256-GCM(key, base_nonce XOR be96(i), aad = "", plaintext_i)
//! plaintext_i is exactly 16 KiB for every chunk but the last, which is
//! always shorter (possibly empty): the short chunk is the end-of-message
//! signal, so truncation and extension are detected without a flag.
//! ```
//!
//! This module does no I/O beyond the `Read`/`Write`/`Seek` it is handed.
//! The ways in:
//! - [`EncryptReader`] / [`DecryptReader`]: streaming, bounded memory (and,
//!   for tests and the `testkit` feature, `EncryptWriter`).
//! - `SeekableDecryptor` (tests and `testkit`): random access by chunk
//!   index or byte range; the message length is authenticated (final chunk
//!   decrypted) before any read.
//! - [`StreamKey`]: per-chunk seal/open for callers that parallelise chunks.
//! - `pipeline` (crate-internal): one stream sealed or opened on every core.

use std::fmt;
use std::io::{self, Read};
#[cfg(any(test, feature = "testkit"))]
use std::io::{Seek, SeekFrom, Write};

use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use sha2::Sha512;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::secret::SecretBytes;

pub(crate) mod pipeline;

/// Plaintext bytes per chunk (spec "Message chunking").
pub const CHUNK_SIZE: usize = 16 * 1024;
/// AES-GCM authentication tag length.
pub const TAG_LEN: usize = 16;
/// Bytes of one full encrypted chunk.
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;
/// Random salt prepended to the ciphertext.
pub const SALT_LEN: usize = 24;
/// Key commitment that follows the salt.
pub const COMMITMENT_LEN: usize = 32;
/// salt || commitment: the fixed prefix before the first chunk.
pub const PREFIX_LEN: usize = SALT_LEN + COMMITMENT_LEN;
/// AES-256 key length, also the required input key length.
pub const KEY_LEN: usize = 32;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// The spec's hard limit: the chunk counter must stay below 2^38.
pub const MAX_CHUNKS: u64 = 1 << 38;

/// The IANA AEAD name that goes into the HKDF info string.
const AEAD_NAME: &[u8] = b"AEAD_AES_256_GCM";
const INFO_PREFIX: &[u8] = b"c2sp.org/chunked-encryption@v1+";

/// Why a chunked ciphertext was rejected. Deliberately coarse: an attacker
/// learns nothing from which check failed, and the user is told what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Fewer than 56 bytes: not even a salt and commitment.
    #[error("the encrypted body is truncated before its first chunk")]
    TruncatedHeader,
    /// The commitment does not match: wrong key, wrong context, or a modified
    /// salt/commitment. Checked before any chunk is decrypted.
    #[error("the key does not open this file (wrong key, or the file header was altered)")]
    WrongKey,
    /// A chunk failed authentication: modified, reordered, or trailing data.
    #[error("chunk {0} failed authentication: the file is corrupted or was tampered with")]
    ChunkCorrupt(u64),
    /// The ciphertext ended where no valid message can end.
    #[error("the encrypted body is truncated (it ends after chunk {0})")]
    Truncated(u64),
    /// The chunk counter would reach 2^38.
    #[error("message too long for chunked encryption (2^38 chunks at most)")]
    TooLong,
    /// A random-access read asked for data past the end of the message.
    #[error("read past the end of the message")]
    OutOfRange,
}

impl From<StreamError> for io::Error {
    fn from(e: StreamError) -> Self {
        let kind = match e {
            StreamError::TruncatedHeader | StreamError::Truncated(_) => {
                io::ErrorKind::UnexpectedEof
            }
            StreamError::OutOfRange => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// The AES-256-GCM primitive the stream is built on, kept behind a small
/// interface so the backend can be swapped (see `benches/stream.rs`).
pub trait ChunkCipher: Send + Sync + Sized {
    /// Short name for benchmarks and diagnostics.
    const NAME: &'static str;
    /// A cipher keyed with `key`.
    fn new(key: &[u8; KEY_LEN]) -> Self;
    /// Encrypts `buf` in place with an empty AAD and returns the tag.
    fn seal(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) -> [u8; TAG_LEN];
    /// Decrypts `buf` in place if `tag` authenticates it; on failure the
    /// contents of `buf` are unspecified and must not be used.
    fn open(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool;
}

/// AES-256-GCM from `ring` (hardware AES and carry-less multiply where the
/// CPU has them). The default backend: several times faster than the
/// pure-Rust crate on x86_64 and aarch64.
pub struct RingAes256Gcm(ring::aead::LessSafeKey);

impl fmt::Debug for RingAes256Gcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RingAes256Gcm([redacted])")
    }
}

impl ChunkCipher for RingAes256Gcm {
    const NAME: &'static str = "ring";

    fn new(key: &[u8; KEY_LEN]) -> Self {
        // AES_256_GCM takes any 32-byte key; the length is fixed by the type.
        let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is valid for AES-256-GCM"));
        Self(ring::aead::LessSafeKey::new(unbound))
    }

    fn seal(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        // ring only fails if the input exceeds GCM's 64 GiB per-nonce limit;
        // a chunk is 16 KiB.
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::empty(), buf)
            .unwrap_or_else(|_| unreachable!("a chunk is far below the GCM length limit"));
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    fn open(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        let tag = ring::aead::Tag::from(*tag);
        self.0
            .open_in_place_separate_tag(nonce, ring::aead::Aad::empty(), tag, buf, 0..)
            .is_ok()
    }
}

/// AES-256-GCM from RustCrypto's pure-Rust `aes-gcm` crate, kept for the
/// benchmark comparison and as a portable fallback.
pub struct RustCryptoAes256Gcm(aes_gcm::Aes256Gcm);

impl fmt::Debug for RustCryptoAes256Gcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RustCryptoAes256Gcm([redacted])")
    }
}

impl ChunkCipher for RustCryptoAes256Gcm {
    const NAME: &'static str = "aes-gcm";

    fn new(key: &[u8; KEY_LEN]) -> Self {
        use aes_gcm::KeyInit;
        Self(aes_gcm::Aes256Gcm::new(&(*key).into()))
    }

    fn seal(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) -> [u8; TAG_LEN] {
        use aes_gcm::AeadInOut;
        let tag = self
            .0
            .encrypt_inout_detached(&(*nonce).into(), b"", buf.into())
            .unwrap_or_else(|_| unreachable!("a chunk is far below the GCM length limit"));
        tag.into()
    }

    fn open(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        use aes_gcm::AeadInOut;
        self.0
            .decrypt_inout_detached(&(*nonce).into(), b"", buf.into(), &(*tag).into())
            .is_ok()
    }
}

/// The backend used unless a caller picks another.
pub type DefaultCipher = RingAes256Gcm;

/// HKDF-Expand (RFC 5869 section 2.3) with SHA-512. Written out because the
/// spec uses Expand alone with a 32-byte PRK, shorter than the hash output,
/// which the `hkdf` crate's `from_prk` refuses.
fn hkdf_expand_sha512(prk: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let mut previous: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    for (counter, block) in out.chunks_mut(64).enumerate() {
        let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(prk)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(&previous);
        for part in info {
            mac.update(part);
        }
        // At most 2 blocks are ever needed here (76 bytes), so the counter
        // never comes near the 255 limit.
        mac.update(&[(counter + 1) as u8]);
        let t = mac.finalize().into_bytes();
        block.copy_from_slice(&t[..block.len()]);
        *previous = t.to_vec();
    }
}

/// Per-message key material derived from the input key, salt and context.
struct Derived {
    key: SecretBytes<KEY_LEN>,
    base_nonce: [u8; NONCE_LEN],
    commitment: [u8; COMMITMENT_LEN],
}

/// key || base nonce || commitment = HKDF-Expand(input key,
///   "c2sp.org/chunked-encryption@v1+" || aead || 0x00 || salt || context)
fn derive(input_key: &[u8; KEY_LEN], salt: &[u8; SALT_LEN], context: &[u8]) -> Derived {
    let mut okm = Zeroizing::new([0u8; KEY_LEN + NONCE_LEN + COMMITMENT_LEN]);
    hkdf_expand_sha512(
        input_key,
        &[INFO_PREFIX, AEAD_NAME, &[0u8], salt, context],
        &mut okm[..],
    );
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&okm[..KEY_LEN]);
    let mut base_nonce = [0u8; NONCE_LEN];
    base_nonce.copy_from_slice(&okm[KEY_LEN..KEY_LEN + NONCE_LEN]);
    let mut commitment = [0u8; COMMITMENT_LEN];
    commitment.copy_from_slice(&okm[KEY_LEN + NONCE_LEN..]);
    let derived = Derived {
        key: SecretBytes::new(key),
        base_nonce,
        commitment,
    };
    zeroize::Zeroize::zeroize(&mut key);
    derived
}

/// A keyed chunk cipher for one message: seals and opens individual chunks
/// by index. Safe to share between threads, which is how large files are
/// split across workers.
pub struct StreamKey<C: ChunkCipher = DefaultCipher> {
    cipher: C,
    base_nonce: [u8; NONCE_LEN],
}

impl<C: ChunkCipher> fmt::Debug for StreamKey<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamKey")
            .field("backend", &C::NAME)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl<C: ChunkCipher> StreamKey<C> {
    /// Starts a new message: draws a fresh salt and returns the key and the
    /// 56-byte prefix (salt || commitment) that must precede the chunks.
    pub fn new_message<R: RngCore + CryptoRng>(
        input_key: &[u8; KEY_LEN],
        context: &[u8],
        rng: &mut R,
    ) -> (Self, [u8; PREFIX_LEN]) {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let derived = derive(input_key, &salt, context);
        let mut prefix = [0u8; PREFIX_LEN];
        prefix[..SALT_LEN].copy_from_slice(&salt);
        prefix[SALT_LEN..].copy_from_slice(&derived.commitment);
        (Self::from_derived(&derived), prefix)
    }

    /// Opens an existing message from its prefix. The commitment is checked
    /// (in constant time) before anything else, as the spec requires.
    pub fn open_message(
        input_key: &[u8; KEY_LEN],
        context: &[u8],
        prefix: &[u8],
    ) -> Result<Self, StreamError> {
        if prefix.len() < PREFIX_LEN {
            return Err(StreamError::TruncatedHeader);
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&prefix[..SALT_LEN]);
        let derived = derive(input_key, &salt, context);
        let stored = &prefix[SALT_LEN..PREFIX_LEN];
        if !bool::from(derived.commitment.ct_eq(stored)) {
            return Err(StreamError::WrongKey);
        }
        Ok(Self::from_derived(&derived))
    }

    fn from_derived(derived: &Derived) -> Self {
        Self {
            cipher: C::new(derived.key.expose()),
            base_nonce: derived.base_nonce,
        }
    }

    /// base nonce XOR the chunk index as a big-endian integer as wide as the
    /// nonce (spec "AEAD usage"); only the low 38 bits can ever be set.
    fn nonce(&self, index: u64) -> Result<[u8; NONCE_LEN], StreamError> {
        if index >= MAX_CHUNKS {
            return Err(StreamError::TooLong);
        }
        let mut nonce = self.base_nonce;
        for (n, c) in nonce[NONCE_LEN - 8..].iter_mut().zip(index.to_be_bytes()) {
            *n ^= c;
        }
        Ok(nonce)
    }

    /// Encrypts chunk `index` in place. `buf` holds the plaintext followed by
    /// `TAG_LEN` spare bytes that receive the tag. The caller is responsible
    /// for the chunking rule: every chunk but the last is exactly
    /// `CHUNK_SIZE`, the last is shorter.
    pub fn seal_chunk(&self, index: u64, buf: &mut [u8]) -> Result<(), StreamError> {
        let nonce = self.nonce(index)?;
        let split = buf.len().saturating_sub(TAG_LEN);
        let (data, tag_out) = buf.split_at_mut(split);
        if tag_out.len() != TAG_LEN || data.len() > CHUNK_SIZE {
            return Err(StreamError::OutOfRange);
        }
        let tag = self.cipher.seal(&nonce, data);
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Decrypts and authenticates chunk `index` in place, returning the
    /// plaintext length (`buf.len() - TAG_LEN`). On failure the buffer is
    /// wiped so no unauthenticated plaintext survives.
    pub fn open_chunk(&self, index: u64, buf: &mut [u8]) -> Result<usize, StreamError> {
        let nonce = self.nonce(index)?;
        if buf.len() < TAG_LEN || buf.len() > ENCRYPTED_CHUNK_SIZE {
            return Err(StreamError::Truncated(index));
        }
        let split = buf.len() - TAG_LEN;
        let (data, tag) = buf.split_at_mut(split);
        let mut tag_bytes = [0u8; TAG_LEN];
        tag_bytes.copy_from_slice(tag);
        if self.cipher.open(&nonce, data, &tag_bytes) {
            Ok(split)
        } else {
            data.fill(0);
            Err(StreamError::ChunkCorrupt(index))
        }
    }
}

/// Length of the ciphertext (prefix included) for a plaintext of `len` bytes.
pub fn encrypted_len(len: u64) -> u64 {
    let full = len / CHUNK_SIZE as u64;
    PREFIX_LEN as u64 + len + (full + 1) * TAG_LEN as u64
}

/// Plaintext length and chunk count for a ciphertext of `len` bytes (prefix
/// included), or the error a decryptor must report for an impossible length
/// (spec "Implementation notes"). The length is only a claim until the final
/// chunk authenticates.
pub fn plaintext_len(len: u64) -> Result<(u64, u64), StreamError> {
    let body = len
        .checked_sub(PREFIX_LEN as u64)
        .ok_or(StreamError::TruncatedHeader)?;
    let full = body / ENCRYPTED_CHUNK_SIZE as u64;
    let last = body % ENCRYPTED_CHUNK_SIZE as u64;
    if last < TAG_LEN as u64 {
        // Either no short final chunk at all, or one shorter than a tag.
        return Err(StreamError::Truncated(full));
    }
    let chunks = full + 1;
    if chunks > MAX_CHUNKS {
        return Err(StreamError::TooLong);
    }
    Ok((full * CHUNK_SIZE as u64 + last - TAG_LEN as u64, chunks))
}

#[cfg(any(test, feature = "testkit"))]
/// Streaming encryptor. Call [`EncryptWriter::finish`] to write the final
/// short chunk; dropping it without `finish` leaves a truncated (and
/// therefore rejected) ciphertext, never a silently shortened one.
pub struct EncryptWriter<W: Write, C: ChunkCipher = DefaultCipher> {
    inner: W,
    key: StreamKey<C>,
    /// Plaintext of the current chunk plus room for its tag.
    buf: Zeroizing<Vec<u8>>,
    filled: usize,
    index: u64,
}

#[cfg(any(test, feature = "testkit"))]
impl<W: Write, C: ChunkCipher> fmt::Debug for EncryptWriter<W, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptWriter")
            .field("chunk", &self.index)
            .finish_non_exhaustive()
    }
}

#[cfg(any(test, feature = "testkit"))]
impl<W: Write, C: ChunkCipher> EncryptWriter<W, C> {
    /// Writes the salt and commitment to `inner` and returns a writer for the
    /// plaintext.
    pub fn new<R: RngCore + CryptoRng>(
        mut inner: W,
        input_key: &[u8; KEY_LEN],
        context: &[u8],
        rng: &mut R,
    ) -> io::Result<Self> {
        let (key, prefix) = StreamKey::new_message(input_key, context, rng);
        inner.write_all(&prefix)?;
        Ok(Self {
            inner,
            key,
            buf: Zeroizing::new(vec![0u8; ENCRYPTED_CHUNK_SIZE]),
            filled: 0,
            index: 0,
        })
    }

    fn flush_chunk(&mut self) -> io::Result<()> {
        let end = self.filled + TAG_LEN;
        self.key.seal_chunk(self.index, &mut self.buf[..end])?;
        self.inner.write_all(&self.buf[..end])?;
        self.index += 1;
        self.filled = 0;
        Ok(())
    }

    /// Writes the final (short, possibly empty) chunk and returns the inner
    /// writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        // `filled < CHUNK_SIZE` always holds here: a full buffer is sealed as
        // soon as it fills, which is correct because the last chunk must be
        // short, so a full chunk is never the last.
        self.flush_chunk()?;
        self.inner.flush()?;
        let Self { inner, .. } = self;
        Ok(inner)
    }
}

#[cfg(any(test, feature = "testkit"))]
impl<W: Write, C: ChunkCipher> Write for EncryptWriter<W, C> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(CHUNK_SIZE - self.filled);
        self.buf[self.filled..self.filled + take].copy_from_slice(&data[..take]);
        self.filled += take;
        if self.filled == CHUNK_SIZE {
            self.flush_chunk()?;
        }
        Ok(take)
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.write(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Flushes the inner writer. Buffered plaintext of the current chunk
    /// stays buffered: sealing it early would make it the final chunk.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Streaming encryptor in pull form: wraps a plaintext reader and reads as
/// the ciphertext (prefix and chunks). With a caller buffer of at least one
/// encrypted chunk it encrypts in place in that buffer, so `io::copy` from
/// a file costs no copy beyond the read and write system calls.
pub struct EncryptReader<R: Read, C: ChunkCipher = DefaultCipher> {
    inner: R,
    key: StreamKey<C>,
    /// Encrypted bytes not yet handed out are `buf[pos..end]` (the prefix
    /// at first, later a chunk for callers with small buffers).
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    end: usize,
    index: u64,
    done: bool,
}

impl<R: Read, C: ChunkCipher> fmt::Debug for EncryptReader<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptReader")
            .field("chunk", &self.index)
            .finish_non_exhaustive()
    }
}

impl<R: Read, C: ChunkCipher> EncryptReader<R, C> {
    /// Starts a message whose plaintext is read from `inner`.
    pub fn new<G: RngCore + CryptoRng>(
        inner: R,
        input_key: &[u8; KEY_LEN],
        context: &[u8],
        rng: &mut G,
    ) -> Self {
        let (key, prefix) = StreamKey::new_message(input_key, context, rng);
        // Holds the prefix until it is read; grows to a chunk only if the
        // caller reads in pieces smaller than a chunk (small files stay
        // cheap).
        let buf = Zeroizing::new(prefix.to_vec());
        Self {
            inner,
            key,
            buf,
            pos: 0,
            end: PREFIX_LEN,
            index: 0,
            done: false,
        }
    }

    /// Reads the next plaintext chunk into `buf` and seals it there;
    /// returns the encrypted length. A short read marks the final chunk.
    fn seal_next(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = read_full(&mut self.inner, &mut buf[..CHUNK_SIZE])?;
        let end = got + TAG_LEN;
        self.key.seal_chunk(self.index, &mut buf[..end])?;
        self.index += 1;
        // Only a full chunk can be followed by more; a short one (even
        // empty) is the end of the message.
        self.done = got < CHUNK_SIZE;
        Ok(end)
    }
}

impl<R: Read, C: ChunkCipher> Read for EncryptReader<R, C> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.end {
            let n = out.len().min(self.end - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        if self.done || out.is_empty() {
            return Ok(0);
        }
        if out.len() < ENCRYPTED_CHUNK_SIZE {
            let mut buf = std::mem::take(&mut *self.buf);
            buf.resize(ENCRYPTED_CHUNK_SIZE, 0);
            let sealed = self.seal_next(&mut buf);
            *self.buf = buf;
            self.pos = 0;
            self.end = sealed?;
            return self.read(out);
        }
        let mut filled = 0;
        while !self.done && out.len() - filled >= ENCRYPTED_CHUNK_SIZE {
            filled += self.seal_next(&mut out[filled..])?;
        }
        Ok(filled)
    }
}

/// Reads into `buf` until it is full or the input ends; returns the count.
pub(crate) fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

enum ReaderState {
    /// More chunks to come.
    Reading,
    /// The final chunk authenticated; the message is complete.
    Done,
    /// A check failed; every later read fails the same way.
    Failed(StreamError),
}

/// Streaming decryptor. Hands out plaintext one authenticated chunk at a
/// time and reports truncation, trailing data, reordering or corruption as
/// an error that repeats on every later call. Callers that must not expose
/// any plaintext of a bad message (the CLI) write to a temporary file and
/// keep it only once `read` has returned `Ok(0)`.
pub struct DecryptReader<R: Read, C: ChunkCipher = DefaultCipher> {
    inner: R,
    key: StreamKey<C>,
    buf: Zeroizing<Vec<u8>>,
    /// Plaintext of the current chunk is `buf[pos..end]`.
    pos: usize,
    end: usize,
    index: u64,
    state: ReaderState,
}

impl<R: Read, C: ChunkCipher> fmt::Debug for DecryptReader<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptReader")
            .field("chunk", &self.index)
            .finish_non_exhaustive()
    }
}

impl<R: Read, C: ChunkCipher> DecryptReader<R, C> {
    /// Reads the salt and commitment and checks the commitment before any
    /// chunk is touched.
    pub fn new(mut inner: R, input_key: &[u8; KEY_LEN], context: &[u8]) -> io::Result<Self> {
        let mut prefix = [0u8; PREFIX_LEN];
        let got = read_full(&mut inner, &mut prefix)?;
        let key = StreamKey::open_message(input_key, context, &prefix[..got])?;
        Ok(Self {
            inner,
            key,
            // Allocated on the first read smaller than a chunk.
            buf: Zeroizing::new(Vec::new()),
            pos: 0,
            end: 0,
            index: 0,
            state: ReaderState::Reading,
        })
    }

    /// Whether the final chunk has been read and authenticated.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, ReaderState::Done) && self.pos == self.end
    }

    /// Reads and authenticates the next chunk into `buf` (at least
    /// `ENCRYPTED_CHUNK_SIZE` long); returns its plaintext length. Updates
    /// the state: a short chunk ends the message, a failure is sticky.
    fn open_next(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let buf = &mut buf[..ENCRYPTED_CHUNK_SIZE];
        let got = read_full(&mut self.inner, buf)?;
        // A full-size encrypted chunk is never the last one (the last is
        // short); anything shorter must be the final chunk because the input
        // ended while filling it.
        let result = if got < TAG_LEN {
            Err(StreamError::Truncated(self.index))
        } else {
            self.key.open_chunk(self.index, &mut buf[..got])
        };
        match result {
            Ok(len) => {
                self.index += 1;
                if got < ENCRYPTED_CHUNK_SIZE {
                    self.state = ReaderState::Done;
                }
                Ok(len)
            }
            Err(e) => {
                self.state = ReaderState::Failed(e);
                Err(e.into())
            }
        }
    }
}

impl<R: Read, C: ChunkCipher> Read for DecryptReader<R, C> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let ReaderState::Failed(e) = self.state {
            return Err(e.into());
        }
        if self.pos < self.end {
            let n = out.len().min(self.end - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        if matches!(self.state, ReaderState::Done) || out.is_empty() {
            return Ok(0);
        }
        if out.len() < ENCRYPTED_CHUNK_SIZE {
            // Small reads go through the internal buffer.
            let mut buf = std::mem::take(&mut *self.buf);
            buf.resize(ENCRYPTED_CHUNK_SIZE, 0);
            let opened = self.open_next(&mut buf);
            *self.buf = buf;
            self.pos = 0;
            self.end = opened?;
            return self.read(out);
        }
        // Fast path, no copy: decrypt chunks in place in the caller's buffer
        // (Read lets an implementation use all of `out` as scratch). Each
        // chunk's ciphertext lands where its plaintext belongs; its tag
        // spills into space the next chunk overwrites.
        let mut filled = 0;
        while out.len() - filled >= ENCRYPTED_CHUNK_SIZE
            && matches!(self.state, ReaderState::Reading)
        {
            match self.open_next(&mut out[filled..]) {
                Ok(len) => filled += len,
                // Hand out what already authenticated; the sticky failure
                // is reported by the next call.
                Err(_) if filled > 0 => break,
                Err(e) => return Err(e),
            }
        }
        // Wipe the scratch area: it may hold the failed chunk's bytes.
        let scratch_end = (filled + ENCRYPTED_CHUNK_SIZE).min(out.len());
        out[filled..scratch_end].fill(0);
        Ok(filled)
    }
}

#[cfg(any(test, feature = "testkit"))]
/// Random-access decryptor over a seekable ciphertext. Construction checks
/// the commitment and authenticates the final chunk, so the plaintext length
/// it reports is authentic (spec "Implementation notes": required before
/// seeking relative to the end).
pub struct SeekableDecryptor<R: Read + Seek, C: ChunkCipher = DefaultCipher> {
    inner: R,
    key: StreamKey<C>,
    /// Offset of salt in `inner` (lets the body follow a file header).
    start: u64,
    plaintext_len: u64,
    chunks: u64,
    buf: Zeroizing<Vec<u8>>,
}

#[cfg(any(test, feature = "testkit"))]
impl<R: Read + Seek, C: ChunkCipher> fmt::Debug for SeekableDecryptor<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeekableDecryptor")
            .field("plaintext_len", &self.plaintext_len)
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

#[cfg(any(test, feature = "testkit"))]
impl<R: Read + Seek, C: ChunkCipher> SeekableDecryptor<R, C> {
    /// Opens the body that starts at the current position of `inner` and
    /// runs to its end.
    pub fn new(mut inner: R, input_key: &[u8; KEY_LEN], context: &[u8]) -> io::Result<Self> {
        let start = inner.stream_position()?;
        let end = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(start))?;
        let mut prefix = [0u8; PREFIX_LEN];
        let got = read_full(&mut inner, &mut prefix)?;
        let key = StreamKey::open_message(input_key, context, &prefix[..got])?;
        let (plaintext_len, chunks) = plaintext_len(end - start)?;
        let mut this = Self {
            inner,
            key,
            start,
            plaintext_len,
            chunks,
            buf: Zeroizing::new(vec![0u8; ENCRYPTED_CHUNK_SIZE]),
        };
        this.load_chunk(chunks - 1)?;
        Ok(this)
    }

    /// Authenticated plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Number of chunks, the final short one included.
    pub fn chunk_count(&self) -> u64 {
        self.chunks
    }

    /// Reads, authenticates and returns chunk `index`.
    pub fn read_chunk(&mut self, index: u64) -> io::Result<&[u8]> {
        let len = self.load_chunk(index)?;
        Ok(&self.buf[..len])
    }

    fn load_chunk(&mut self, index: u64) -> io::Result<usize> {
        if index >= self.chunks {
            return Err(StreamError::OutOfRange.into());
        }
        let offset = self.start + PREFIX_LEN as u64 + index * ENCRYPTED_CHUNK_SIZE as u64;
        let size = if index + 1 == self.chunks {
            (self.plaintext_len % CHUNK_SIZE as u64) as usize + TAG_LEN
        } else {
            ENCRYPTED_CHUNK_SIZE
        };
        self.inner.seek(SeekFrom::Start(offset))?;
        let got = read_full(&mut self.inner, &mut self.buf[..size])?;
        if got != size {
            // The file shrank under us since the length was authenticated.
            return Err(StreamError::Truncated(index).into());
        }
        Ok(self.key.open_chunk(index, &mut self.buf[..size])?)
    }

    /// Fills `out` with plaintext starting at `offset`; returns how many
    /// bytes were read (fewer only at the end of the message).
    pub fn read_at(&mut self, offset: u64, out: &mut [u8]) -> io::Result<usize> {
        if offset > self.plaintext_len {
            return Err(StreamError::OutOfRange.into());
        }
        let mut done = 0;
        let mut position = offset;
        while done < out.len() && position < self.plaintext_len {
            let index = position / CHUNK_SIZE as u64;
            let within = (position % CHUNK_SIZE as u64) as usize;
            let len = self.load_chunk(index)?;
            let n = (len - within).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[within..within + n]);
            done += n;
            position += n as u64;
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests;
