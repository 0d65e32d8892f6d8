//! Shares sealed at rest (docs/OPERATIONS.md, "Sealed shares"): the seal key
//! that encrypts every stored key record, the operator's unseal secret (a
//! passphrase through argon2id, or a key file) that wraps it, and the seal
//! record kept beside the keys in the database.
//!
//! Two layers, as in Vault's barrier: one random 256-bit seal key encrypts
//! each key record (AES-256-GCM, the keyset id bound as associated data, so
//! a record cannot be moved to another keyset); the seal key itself is
//! stored only wrapped under a key derived from the unseal secret. Changing
//! the passphrase rewraps one record and touches no share.
//!
//! `none` (`--insecure-no-seal`) keeps the same layers with the seal key in
//! clear, so every code path is the same and the insecurity is one visible
//! word in the record.

use std::io::Read as _;
use std::path::Path;

use rand::rngs::OsRng;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::encoding::{b64, hex, unb64};
use crate::secret::SecretBytes;

use crate::passphrase::{aead_open, aead_seal, argon2id, Argon2Cost};
pub use crate::passphrase::{ARGON2_LANES, ARGON2_MEMORY_KIB, ARGON2_PASSES};
/// Shortest passphrase accepted for a new seal.
pub const MIN_PASSPHRASE_LEN: usize = 12;
/// Environment variable holding the unseal passphrase.
pub const PASSPHRASE_ENV: &str = "SHARDLOCK_SERVER_PASSPHRASE";
/// First line of a key file, before the base64url key.
const KEY_FILE_PREFIX: &str = "shardlock-seal-key-v1:";
/// Prefix of a sealed key record in the database.
const SEALED_PREFIX: &str = "sealed-v1:";
/// Largest passphrase or key file read.
const MAX_SECRET_FILE_LEN: u64 = 4096;

const WRAP_AAD: &[u8] = b"shardlock/v1 seal key";
const RECORD_AAD: &[u8] = b"shardlock/v1 sealed key record ";
const KEY_FILE_INFO: &[u8] = b"shardlock/v1 seal key-file";
const KEY_ID_LABEL: &[u8] = b"shardlock/v1 seal key id";

/// Why sealing or unsealing failed. Shown to the operator; never a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The passphrase or key file does not open the seal.
    #[error("wrong {0}: it does not open this server's seal")]
    WrongSecret(&'static str),
    /// A passphrase was given for a key-file seal or the other way round.
    #[error("this server is sealed with a {sealed}, not a {given}")]
    WrongKind {
        /// What the seal wants.
        sealed: &'static str,
        /// What was given.
        given: &'static str,
    },
    /// `--insecure-no-seal` against a sealed database.
    #[error(
        "this server's shares are sealed with a {0}; --insecure-no-seal cannot open them \
         (give the {0})"
    )]
    InsecureAgainstSealed(&'static str),
    /// A new passphrase that is too short.
    #[error("the passphrase is shorter than {MIN_PASSPHRASE_LEN} characters")]
    WeakPassphrase,
    /// A database with no seal record and no secret to make one.
    #[error(
        "this database has no seal yet; start the server once with --passphrase-file, \
         --key-file or {PASSPHRASE_ENV} to seal it (or --insecure-no-seal, for tests only)"
    )]
    NoSeal,
    /// The seal record changed under a running server.
    #[error(
        "the seal was changed since this server was unsealed (`server seal` elsewhere); \
         restart it"
    )]
    Changed,
    /// An operation that needs the seal key on a sealed server.
    #[error("the server is sealed; unseal it first (`shardlock server unseal`)")]
    Sealed,
    /// A new seal key while a key lifecycle round is staged.
    #[error(
        "a key lifecycle round is staged on this server; finish it (`shardlock keyset ... \
         --resume`) or roll it back (`--abort`) before changing the seal"
    )]
    Staged,
    /// A damaged seal record or sealed key record.
    #[error("{0}")]
    Corrupt(String),
}

/// The key that encrypts every stored key record.
pub struct SealKey {
    key: SecretBytes<32>,
    id: String,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SealKey {
    /// A fresh random seal key.
    pub fn generate() -> Self {
        Self::from_secret(SecretBytes::random(&mut OsRng))
    }

    fn from_secret(key: SecretBytes<32>) -> Self {
        // Not secret: 64 bits of a hash of the key, to tell seal keys apart
        // (records name the key that sealed them; inserts check it).
        let digest = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(key.expose())
            .finalize();
        Self {
            id: hex(&digest[..8]),
            key,
        }
    }

    /// Public identifier of this key: 16 hex digits.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals the key record of keyset `id_hex`:
    /// `sealed-v1:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>`.
    pub fn seal_record(&self, id_hex: &str, plaintext: &[u8]) -> String {
        let sealed = aead_seal(self.key.expose(), &record_aad(id_hex), plaintext);
        format!("{SEALED_PREFIX}{}:{}", self.id, b64(&sealed))
    }

    /// Opens a record sealed by [`Self::seal_record`] for keyset `id_hex`.
    pub fn open_record(&self, id_hex: &str, text: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let corrupt = |reason: &str| SealError::Corrupt(format!("key {id_hex}: {reason}"));
        let rest = text
            .strip_prefix(SEALED_PREFIX)
            .ok_or_else(|| corrupt("the record is not sealed"))?;
        let (key_id, body) = rest
            .split_once(':')
            .ok_or_else(|| corrupt("malformed sealed record"))?;
        if key_id != self.id {
            return Err(corrupt(&format!(
                "sealed under seal key {key_id}, not this server's {}",
                self.id
            )));
        }
        let bytes = unb64(body).ok_or_else(|| corrupt("malformed sealed record"))?;
        aead_open(self.key.expose(), &record_aad(id_hex), &bytes).ok_or_else(|| {
            corrupt(
                "the sealed record fails authentication (altered, or moved from another keyset)",
            )
        })
    }
}

fn record_aad(id_hex: &str) -> Vec<u8> {
    [RECORD_AAD, id_hex.as_bytes()].concat()
}

/// What unseals a server: the operator's passphrase or key file.
pub enum UnsealSecret {
    /// A passphrase, stretched with argon2id.
    Passphrase(Zeroizing<String>),
    /// The 32 random bytes of a key file.
    KeyFile(SecretBytes<32>),
}

impl std::fmt::Debug for UnsealSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnsealSecret::{}([redacted])", self.kind_name())
    }
}

impl UnsealSecret {
    fn kind_name(&self) -> &'static str {
        match self {
            UnsealSecret::Passphrase(_) => "passphrase",
            UnsealSecret::KeyFile(_) => "key file",
        }
    }

    /// A passphrase, refused when empty.
    pub fn passphrase(text: String) -> Result<Self, String> {
        let text = Zeroizing::new(text);
        if text.is_empty() {
            return Err("the passphrase is empty".into());
        }
        Ok(UnsealSecret::Passphrase(text))
    }

    /// Refuses a passphrase too short to protect a new seal.
    pub fn check_strength(&self) -> Result<(), SealError> {
        match self {
            UnsealSecret::Passphrase(p) if p.chars().count() < MIN_PASSPHRASE_LEN => {
                Err(SealError::WeakPassphrase)
            }
            _ => Ok(()),
        }
    }

    /// The wire form `POST /v1/admin/unseal` carries.
    pub fn to_request(&self) -> crate::protocol::UnsealRequest {
        match self {
            UnsealSecret::Passphrase(p) => crate::protocol::UnsealRequest {
                passphrase: Some(p.as_str().to_owned()),
                key_file: None,
            },
            UnsealSecret::KeyFile(key) => crate::protocol::UnsealRequest {
                passphrase: None,
                key_file: Some(key_file_text(key)),
            },
        }
    }

    /// Reads [`Self::to_request`]'s form back.
    pub fn from_request(request: &crate::protocol::UnsealRequest) -> Result<Self, String> {
        match (&request.passphrase, &request.key_file) {
            (Some(p), None) => Self::passphrase(p.clone()),
            (None, Some(text)) => parse_key_file(text).map(UnsealSecret::KeyFile),
            _ => Err("give exactly one of passphrase and key_file".into()),
        }
    }
}

/// How a new seal is made: under a secret, or in clear (tests, dev cluster).
#[derive(Debug)]
pub enum SealChoice {
    /// Wrap the seal key under this secret.
    Secret(UnsealSecret),
    /// Store the seal key in clear: `--insecure-no-seal`.
    Insecure,
}

/// How the seal key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SealKind {
    /// Wrapped under argon2id(passphrase).
    Argon2id,
    /// Wrapped under HKDF(key file).
    KeyFile,
    /// In clear.
    None,
}

impl SealKind {
    /// How the operator calls the secret this kind needs.
    pub fn secret_name(self) -> &'static str {
        match self {
            SealKind::Argon2id => "passphrase",
            SealKind::KeyFile => "key file",
            SealKind::None => "nothing",
        }
    }
}

/// The seal record: one row in the database (JSON), docs/FORMAT.md
/// section 7.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealRecord {
    version: u32,
    kind: SealKind,
    /// The seal key's id (not secret).
    key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    argon2: Option<Argon2Cost>,
    /// 16 random bytes, base64url (argon2id salt or HKDF salt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    /// nonce ‖ AES-256-GCM(seal key) ‖ tag, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wrapped: Option<String>,
    /// The seal key in clear, only for kind `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl std::fmt::Debug for SealRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealRecord")
            .field("kind", &self.kind)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SealRecord {
    /// Keeps `key` as `choice` says: wrapped under a secret (running
    /// argon2id for a passphrase: about a quarter second) or in clear.
    pub fn new(key: &SealKey, choice: &SealChoice) -> Self {
        let mut record = SealRecord {
            version: 1,
            kind: SealKind::None,
            key_id: key.id.clone(),
            argon2: None,
            salt: None,
            wrapped: None,
            key: None,
        };
        let secret = match choice {
            SealChoice::Insecure => {
                record.key = Some(b64(key.key.expose()));
                return record;
            }
            SealChoice::Secret(secret) => secret,
        };
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let (kind, cost) = match secret {
            UnsealSecret::Passphrase(_) => (
                SealKind::Argon2id,
                Some(Argon2Cost {
                    memory_kib: ARGON2_MEMORY_KIB,
                    passes: ARGON2_PASSES,
                    lanes: ARGON2_LANES,
                }),
            ),
            UnsealSecret::KeyFile(_) => (SealKind::KeyFile, None),
        };
        record.kind = kind;
        record.argon2 = cost;
        record.salt = Some(b64(&salt));
        // Both inputs are ours and valid, so derivation cannot fail here.
        let kek = derive_kek(secret, &salt, cost).expect("fixed argon2id parameters are valid");
        record.wrapped = Some(b64(&aead_seal(
            kek.expose(),
            &wrap_aad(kind),
            key.key.expose(),
        )));
        record
    }

    /// How this seal is kept.
    pub fn kind(&self) -> SealKind {
        self.kind
    }

    /// The id of the seal key it holds.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The seal key of a `none` record, which needs no secret.
    pub fn open_insecure(&self) -> Result<SealKey, SealError> {
        match self.kind {
            SealKind::None => {
                let key = self
                    .key
                    .as_deref()
                    .and_then(unb64)
                    .and_then(|bytes| SecretBytes::from_slice(&bytes))
                    .ok_or_else(|| SealError::Corrupt("the seal record has no valid key".into()))?;
                self.checked(SealKey::from_secret(key))
            }
            kind => Err(SealError::InsecureAgainstSealed(kind.secret_name())),
        }
    }

    /// Unwraps the seal key with `secret` (argon2id runs here for a
    /// passphrase; call it off the async threads).
    pub fn open(&self, secret: &UnsealSecret) -> Result<SealKey, SealError> {
        let given = secret.kind_name();
        match (self.kind, secret) {
            (SealKind::None, _) => return self.open_insecure(),
            (SealKind::Argon2id, UnsealSecret::Passphrase(_))
            | (SealKind::KeyFile, UnsealSecret::KeyFile(_)) => {}
            (kind, _) => {
                return Err(SealError::WrongKind {
                    sealed: kind.secret_name(),
                    given,
                })
            }
        }
        let corrupt = || SealError::Corrupt("the seal record is damaged".into());
        let salt = self.salt.as_deref().and_then(unb64).ok_or_else(corrupt)?;
        let wrapped = self
            .wrapped
            .as_deref()
            .and_then(unb64)
            .ok_or_else(corrupt)?;
        let kek = derive_kek(secret, &salt, self.argon2).ok_or_else(corrupt)?;
        let bytes = aead_open(kek.expose(), &wrap_aad(self.kind), &wrapped)
            .ok_or(SealError::WrongSecret(given))?;
        let key = SecretBytes::from_slice(&bytes).ok_or_else(corrupt)?;
        self.checked(SealKey::from_secret(key))
    }

    fn checked(&self, key: SealKey) -> Result<SealKey, SealError> {
        if key.id != self.key_id {
            return Err(SealError::Corrupt(
                "the seal record's key does not match its key id".into(),
            ));
        }
        Ok(key)
    }

    /// The record as stored (JSON).
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("a seal record always serialises")
    }

    /// Parses a stored record.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let record: SealRecord = serde_json::from_str(text)
            .map_err(|e| SealError::Corrupt(format!("unreadable seal record: {e}")))?;
        if record.version != 1 {
            return Err(SealError::Corrupt(format!(
                "seal record version {} is newer than this shardlock knows; upgrade shardlock",
                record.version
            )));
        }
        Ok(record)
    }
}

fn wrap_aad(kind: SealKind) -> Vec<u8> {
    let kind = match kind {
        SealKind::Argon2id => "argon2id",
        SealKind::KeyFile => "key-file",
        SealKind::None => "none",
    };
    [WRAP_AAD, b" ", kind.as_bytes()].concat()
}

/// The key-encryption key: argon2id(passphrase, salt) or
/// HKDF-SHA-256(salt, key file, "shardlock/v1 seal key-file").
fn derive_kek(
    secret: &UnsealSecret,
    salt: &[u8],
    cost: Option<Argon2Cost>,
) -> Option<SecretBytes<32>> {
    match secret {
        UnsealSecret::Passphrase(passphrase) => {
            let cost = cost?;
            argon2id(passphrase.as_bytes(), salt, cost, &[], &[])
        }
        UnsealSecret::KeyFile(key) => {
            let mut out = [0u8; 32];
            hkdf::Hkdf::<Sha256>::new(Some(salt), key.expose())
                .expand(KEY_FILE_INFO, &mut out)
                .ok()?;
            Some(SecretBytes::new(out))
        }
    }
}

/// The text of a key file holding `key`.
fn key_file_text(key: &SecretBytes<32>) -> String {
    format!("{KEY_FILE_PREFIX}{}\n", b64(key.expose()))
}

/// Parses a key file's text: one line, `shardlock-seal-key-v1:` and the
/// base64url of 32 bytes.
fn parse_key_file(text: &str) -> Result<SecretBytes<32>, String> {
    text.trim()
        .strip_prefix(KEY_FILE_PREFIX)
        .and_then(unb64)
        .map(Zeroizing::new)
        .and_then(|bytes| SecretBytes::from_slice(&bytes))
        .ok_or_else(|| {
            format!("not a shardlock seal key file (expected one line {KEY_FILE_PREFIX}…)")
        })
}

/// Writes a new random key file at `path` (0600, never over an existing
/// file) and returns its key.
pub fn create_key_file(path: &Path) -> std::io::Result<SecretBytes<32>> {
    let key = SecretBytes::random(&mut OsRng);
    let text = Zeroizing::new(key_file_text(&key));
    crate::durable::write_file(path, text.as_bytes(), crate::durable::Replace::Refuse)?;
    Ok(key)
}

/// Reads a key file.
pub fn read_key_file(path: &Path) -> Result<SecretBytes<32>, String> {
    let text = read_private(path, "key file")?;
    parse_key_file(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a passphrase file: its whole content but one trailing newline.
pub fn read_passphrase_file(path: &Path) -> Result<UnsealSecret, String> {
    let mut text = read_private(path, "passphrase file")?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    UnsealSecret::passphrase(std::mem::take(&mut *text))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a small private text file (no group or other access bits).
fn read_private(path: &Path, what: &str) -> Result<Zeroizing<String>, String> {
    let shown = path.display();
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if let Some(mode) = crate::durable::mode_of(&meta).filter(|m| m & 0o077 != 0) {
        return Err(format!(
            "{what} {shown} is readable by group or others (mode {:04o}); run `chmod 600 {shown}`",
            mode & 0o7777
        ));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    (&mut file)
        .take(MAX_SECRET_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_LEN {
        return Err(format!(
            "{what} {shown} is larger than {MAX_SECRET_FILE_LEN} bytes"
        ));
    }
    let text = String::from_utf8(std::mem::take(&mut *bytes))
        .map_err(|_| format!("{what} {shown} is not UTF-8 text"))?;
    Ok(Zeroizing::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase(text: &str) -> UnsealSecret {
        UnsealSecret::passphrase(text.into()).unwrap()
    }

    #[test]
    fn a_passphrase_seal_opens_with_the_passphrase_only() {
        let key = SealKey::generate();
        let record = SealRecord::new(
            &key,
            &SealChoice::Secret(passphrase("correct horse battery")),
        );
        let text = record.to_text();
        assert!(!text.contains(&b64(key.key.expose())));
        let parsed = SealRecord::parse(&text).unwrap();
        assert_eq!(parsed.kind(), SealKind::Argon2id);
        let opened = parsed.open(&passphrase("correct horse battery")).unwrap();
        assert_eq!(opened.id(), key.id());
        assert_eq!(
            parsed.open(&passphrase("wrong horse battery")).unwrap_err(),
            SealError::WrongSecret("passphrase")
        );
        assert!(matches!(
            parsed.open(&UnsealSecret::KeyFile(SecretBytes::new([7; 32]))),
            Err(SealError::WrongKind { .. })
        ));
        assert_eq!(
            parsed.open_insecure().unwrap_err(),
            SealError::InsecureAgainstSealed("passphrase")
        );
    }

    #[test]
    fn a_key_file_seal_round_trips_through_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("seal.key");
        let key_bytes = create_key_file(&path).unwrap();
        assert!(create_key_file(&path).is_err(), "never overwrites");
        let read = read_key_file(&path).unwrap();
        assert_eq!(read, key_bytes);
        let key = SealKey::generate();
        let record = SealRecord::new(&key, &SealChoice::Secret(UnsealSecret::KeyFile(read)));
        let opened = record.open(&UnsealSecret::KeyFile(key_bytes)).unwrap();
        assert_eq!(opened.id(), key.id());
        assert_eq!(
            record
                .open(&UnsealSecret::KeyFile(SecretBytes::new([9; 32])))
                .unwrap_err(),
            SealError::WrongSecret("key file")
        );
        std::fs::write(tmp.path().join("junk"), "hello\n").unwrap();
        assert!(read_key_file(&tmp.path().join("junk")).is_err());
    }

    #[test]
    fn sealed_records_are_bound_to_their_keyset_and_seal_key() {
        let key = SealKey::generate();
        let a = "ab".repeat(32);
        let b = "cd".repeat(32);
        let sealed = key.seal_record(&a, b"share record");
        assert!(!sealed.contains("share record"));
        assert_eq!(&*key.open_record(&a, &sealed).unwrap(), b"share record");
        let moved = key.open_record(&b, &sealed).unwrap_err();
        assert!(
            moved.to_string().contains("moved from another keyset"),
            "{moved}"
        );
        let other = SealKey::generate();
        assert!(other.open_record(&a, &sealed).is_err());
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(key.open_record(&a, &flipped).is_err());
    }

    #[test]
    fn an_insecure_seal_needs_no_secret_and_says_so() {
        let key = SealKey::generate();
        let record = SealRecord::new(&key, &SealChoice::Insecure);
        assert_eq!(record.kind(), SealKind::None);
        assert_eq!(record.open_insecure().unwrap().id(), key.id());
        assert!(record.to_text().contains("\"none\""));
    }

    #[test]
    fn passphrase_files_must_be_private_and_lose_one_newline() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pass");
        crate::durable::write_file(
            &path,
            b"a long passphrase\n",
            crate::durable::Replace::Refuse,
        )
        .unwrap();
        match read_passphrase_file(&path).unwrap() {
            UnsealSecret::Passphrase(p) => assert_eq!(p.as_str(), "a long passphrase"),
            other => panic!("{other:?}"),
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_passphrase_file(&path).unwrap_err();
        assert!(err.contains("chmod 600"), "{err}");
        assert_eq!(
            passphrase("short").check_strength().unwrap_err(),
            SealError::WeakPassphrase
        );
    }
}
