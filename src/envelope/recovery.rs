//! The offline break-glass recovery key of a keyset (docs/FORMAT.md
//! section 2.3): an X25519 key pair whose public half encrypting machines
//! add to every file (the data key sealed to it with RFC 9180 HPKE, in a
//! non-critical stanza) and whose secret half, kept offline, decrypts with
//! every key-share server gone. It is a single point of trust: whoever
//! holds it (and its passphrase) reads every file made while it was set.

use std::fmt;

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::encoding::{b64, unb64};
use crate::format::{RecoveryStanza, RECOVERY_ID_LEN, RECOVERY_SEALED_LEN};
use crate::hpke;
use crate::passphrase::{aead_open, aead_seal, argon2id, Argon2Cost};
use crate::secret::DataKey;

const ID_LABEL: &[u8] = b"shardlock/v1 recovery key id";
const INFO_LABEL: &[u8] = b"shardlock/v1 recovery stanza";
const FILE_AAD: &[u8] = b"shardlock/v1 recovery key file";
/// Prefix of a paper key (the secret in clear).
const PAPER_PREFIX: &str = "shardlock-recovery-v1:";

/// Why a recovery key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// Not a recovery key file, paper key or public key.
    #[error("not a shardlock recovery key ({0})")]
    Malformed(&'static str),
    /// The passphrase does not open the key file.
    #[error("wrong passphrase: it does not open this recovery key")]
    WrongPassphrase,
    /// The file has no stanza for this recovery key.
    #[error("the file has no stanza for this recovery key (it was encrypted before the key was set, or for another one)")]
    NoStanza,
    /// The stanza does not open: altered, or for another key.
    #[error("the recovery stanza does not open with this key (the file was altered)")]
    Open,
}

/// The public half, as the keyset config holds it (`recovery = "..."`).
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryPublic(PublicKey);

impl fmt::Debug for RecoveryPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryPublic({})", crate::encoding::hex(&self.id()))
    }
}

impl RecoveryPublic {
    /// `SHA-256("shardlock/v1 recovery key id" || public)[..8]`.
    pub fn id(&self) -> [u8; RECOVERY_ID_LEN] {
        key_id(&self.0)
    }

    /// base64url of the 32 bytes.
    pub fn to_text(&self) -> String {
        b64(self.0.as_bytes())
    }

    /// Parses [`RecoveryPublic::to_text`]; refuses keys of small order.
    pub fn parse(text: &str) -> Result<Self, RecoveryError> {
        let bytes: [u8; 32] = unb64(text.trim())
            .and_then(|b| b.try_into().ok())
            .ok_or(RecoveryError::Malformed("public key"))?;
        let key = PublicKey::from(bytes);
        // Sealing to a small-order key fails: try once, on a throwaway.
        hpke::seal(&key, b"", b"", b"", &mut rand::rngs::OsRng)
            .map_err(|_| RecoveryError::Malformed("public key of small order"))?;
        Ok(Self(key))
    }

    /// The recovery stanza for `dek`.
    pub fn wrap<R: RngCore + CryptoRng>(&self, dek: &DataKey, rng: &mut R) -> RecoveryStanza {
        let id = self.id();
        let sealed = hpke::seal(&self.0, &info(&id), b"", dek.expose(), rng)
            .expect("a parsed recovery key is not of small order");
        let mut stanza = RecoveryStanza {
            key_id: id,
            sealed: [0; RECOVERY_SEALED_LEN],
        };
        stanza.sealed.copy_from_slice(&sealed);
        stanza
    }
}

fn key_id(key: &PublicKey) -> [u8; RECOVERY_ID_LEN] {
    let digest = Sha256::new()
        .chain_update(ID_LABEL)
        .chain_update(key.as_bytes())
        .finalize();
    let mut id = [0u8; RECOVERY_ID_LEN];
    id.copy_from_slice(&digest[..RECOVERY_ID_LEN]);
    id
}

fn info(id: &[u8; RECOVERY_ID_LEN]) -> Vec<u8> {
    [INFO_LABEL, id.as_slice()].concat()
}

/// The secret half. Zeroized on drop; never printed.
pub struct RecoverySecret(StaticSecret);

impl fmt::Debug for RecoverySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoverySecret([redacted])")
    }
}

/// The key file: the secret wrapped under argon2id(passphrase).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    kind: String,
    public: String,
    argon2: Argon2Cost,
    salt: String,
    wrapped: String,
}

impl RecoverySecret {
    /// A fresh key pair.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(StaticSecret::random_from_rng(rng))
    }

    /// The public half.
    pub fn public(&self) -> RecoveryPublic {
        RecoveryPublic(PublicKey::from(&self.0))
    }

    /// The data key of a file from its recovery stanzas.
    pub fn unwrap<'a>(
        &self,
        stanzas: impl IntoIterator<Item = &'a RecoveryStanza>,
    ) -> Result<DataKey, RecoveryError> {
        let id = self.public().id();
        let stanza = stanzas
            .into_iter()
            .find(|s| s.key_id == id)
            .ok_or(RecoveryError::NoStanza)?;
        let plain = hpke::open(&self.0, &info(&id), b"", &stanza.sealed)
            .map_err(|_| RecoveryError::Open)?;
        DataKey::from_slice(&plain).ok_or(RecoveryError::Open)
    }

    /// The paper key: the secret in clear, one line.
    pub fn to_paper(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PAPER_PREFIX}{}", b64(self.0.as_bytes())))
    }

    /// The key file (JSON) protecting the secret with `passphrase`.
    pub fn to_file(&self, passphrase: &str) -> Zeroizing<String> {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let kek = argon2id(passphrase.as_bytes(), &salt, Argon2Cost::DEFAULT, &[], &[])
            .expect("fixed argon2id parameters are valid");
        let file = KeyFile {
            version: 1,
            kind: "argon2id".into(),
            public: self.public().to_text(),
            argon2: Argon2Cost::DEFAULT,
            salt: b64(&salt),
            wrapped: b64(&aead_seal(kek.expose(), FILE_AAD, self.0.as_bytes())),
        };
        Zeroizing::new(serde_json::to_string_pretty(&file).expect("plain JSON") + "\n")
    }

    /// Whether `text` is a paper key (no passphrase needed).
    pub fn is_paper(text: &str) -> bool {
        text.trim().starts_with(PAPER_PREFIX)
    }

    /// Opens a paper key, or a key file with `passphrase` (argon2id runs
    /// here: about a quarter second).
    pub fn open(text: &str, passphrase: Option<&str>) -> Result<Self, RecoveryError> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix(PAPER_PREFIX) {
            let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
                unb64(rest)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(RecoveryError::Malformed("paper key"))?,
            );
            return Ok(Self(StaticSecret::from(*bytes)));
        }
        let file: KeyFile =
            serde_json::from_str(text).map_err(|_| RecoveryError::Malformed("key file"))?;
        if file.version != 1 || file.kind != "argon2id" {
            return Err(RecoveryError::Malformed("unknown key file version"));
        }
        let salt = unb64(&file.salt).ok_or(RecoveryError::Malformed("key file salt"))?;
        let wrapped = unb64(&file.wrapped).ok_or(RecoveryError::Malformed("key file"))?;
        let passphrase = passphrase.ok_or(RecoveryError::WrongPassphrase)?;
        let kek = argon2id(passphrase.as_bytes(), &salt, file.argon2, &[], &[])
            .ok_or(RecoveryError::Malformed("key file cost"))?;
        let plain =
            aead_open(kek.expose(), FILE_AAD, &wrapped).ok_or(RecoveryError::WrongPassphrase)?;
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
            plain
                .as_slice()
                .try_into()
                .map_err(|_| RecoveryError::Malformed("key file"))?,
        );
        let secret = Self(StaticSecret::from(*bytes));
        if secret.public().to_text() != file.public {
            return Err(RecoveryError::Malformed("key file halves differ"));
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn a_data_key_sealed_to_the_recovery_key_opens_only_with_it() {
        let secret = RecoverySecret::generate(&mut OsRng);
        let public = RecoveryPublic::parse(&secret.public().to_text()).unwrap();
        let dek = DataKey::random(&mut OsRng);
        let stanza = public.wrap(&dek, &mut OsRng);
        assert_eq!(secret.unwrap([&stanza]).unwrap(), dek);
        let other = RecoverySecret::generate(&mut OsRng);
        assert_eq!(other.unwrap([&stanza]).err(), Some(RecoveryError::NoStanza));
        let mut altered = stanza.clone();
        altered.sealed[40] ^= 1;
        assert_eq!(secret.unwrap([&altered]).err(), Some(RecoveryError::Open));
        assert!(RecoveryPublic::parse(&b64(&[0u8; 32])).is_err());
        assert!(!format!("{secret:?}").contains(&secret.to_paper()[PAPER_PREFIX.len()..]));
    }

    #[test]
    fn key_files_open_with_their_passphrase_and_paper_keys_without() {
        let secret = RecoverySecret::generate(&mut OsRng);
        let file = secret.to_file("a long enough passphrase");
        let opened = RecoverySecret::open(&file, Some("a long enough passphrase")).unwrap();
        assert_eq!(opened.public(), secret.public());
        assert_eq!(
            RecoverySecret::open(&file, Some("wrong")).err(),
            Some(RecoveryError::WrongPassphrase)
        );
        let paper = secret.to_paper();
        assert!(RecoverySecret::is_paper(&paper));
        assert_eq!(
            RecoverySecret::open(&paper, None).unwrap().public(),
            secret.public()
        );
        assert!(RecoverySecret::open("garbage", None).is_err());
    }
}
