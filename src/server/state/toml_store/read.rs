//! Loading the state directory: reads every file and validates it, so a
//! damaged file stops the server at start, naming the file, instead of
//! producing wrong answers later.

use std::fs;
use std::path::Path;

use zeroize::Zeroizing;

use super::schema::{ClientsFile, KeyFile, ServerFile};
use super::{TomlStore, CERT_FILE, CLIENTS_FILE, KEYS_DIR, KEY_FILE, SERVER_FILE, TLS_DIR};
use crate::server::state::{ClientRecord, InstalledKey, Settings, TlsMaterial};
use crate::server::{io_error, tls, ServerError};

impl TomlStore {
    /// Reads and validates `server.toml` and the TLS pair, in that order,
    /// so the first problem reported is the first one found.
    pub(crate) fn load_files(&self) -> Result<(Settings, TlsMaterial), ServerError> {
        let settings = read_settings(&self.dir)?;
        let tls = read_tls(&self.dir)?;
        Ok((settings, tls))
    }

    /// Whether keys or clients still sit in the version 1 file layout
    /// (`keys/<id>.toml`, `clients.toml`), waiting to be migrated.
    pub(crate) fn has_legacy_state(&self) -> bool {
        self.dir.join(KEYS_DIR).is_dir() || self.dir.join(CLIENTS_FILE).is_file()
    }

    /// Reads and validates the version 1 key files and client list.
    pub(crate) fn load_legacy_state(
        &self,
    ) -> Result<(Vec<InstalledKey>, Vec<ClientRecord>), ServerError> {
        let keys_dir = self.dir.join(KEYS_DIR);
        let keys = if keys_dir.is_dir() {
            read_keys(&keys_dir)?
        } else {
            Vec::new()
        };
        let clients = read_clients(&self.dir.join(CLIENTS_FILE))?;
        Ok((keys, clients))
    }
}

/// `server.toml`; its absence means `dir` is not a server directory at all.
fn read_settings(dir: &Path) -> Result<Settings, ServerError> {
    let path = dir.join(SERVER_FILE);
    if !path.is_file() {
        return Err(ServerError::NotInitialised {
            path: dir.to_path_buf(),
        });
    }
    let file: ServerFile = parse_toml(&path, &read_file(&path)?)?;
    file.into_settings()
        .map_err(|reason| corrupt(&path, reason))
}

/// The certificate and its key, checked to fit each other.
fn read_tls(dir: &Path) -> Result<TlsMaterial, ServerError> {
    let cert_path = dir.join(TLS_DIR).join(CERT_FILE);
    let key_path = dir.join(TLS_DIR).join(KEY_FILE);
    let cert_pem = read_file(&cert_path)?;
    let key_pem = Zeroizing::new(read_file(&key_path)?);
    let (_, fingerprint) =
        tls::parse_certificate(&cert_pem).map_err(|reason| corrupt(&cert_path, reason))?;
    // Fail now rather than at the first connection if they do not fit.
    tls::server_config(&cert_pem, &key_pem)?;
    Ok(TlsMaterial {
        cert_pem,
        key_pem,
        fingerprint,
    })
}

/// Every `keys/<id>.toml`, in directory order.
fn read_keys(keys_dir: &Path) -> Result<Vec<InstalledKey>, ServerError> {
    let cannot_list = || io_error(format!("cannot list {}", keys_dir.display()));
    let mut keys = Vec::new();
    for entry in fs::read_dir(keys_dir).map_err(cannot_list())? {
        let entry = entry.map_err(cannot_list())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".toml") else {
            continue; // temp files and anything else are not keys
        };
        if name.starts_with('.') {
            continue;
        }
        keys.push(read_key(&entry.path(), stem)?);
    }
    Ok(keys)
}

/// One key file, validated as an install of keyset `stem` (its file name).
fn read_key(path: &Path, stem: &str) -> Result<InstalledKey, ServerError> {
    let bytes = Zeroizing::new(read_file(path)?);
    let file: KeyFile = parse_toml(path, &bytes)?;
    let key = file
        .validate(stem)
        .map_err(|e| corrupt(path, e.to_string()))?;
    if key.id_hex() != file.keyset_id.to_ascii_lowercase() {
        return Err(corrupt(path, "keyset_id does not match the file name"));
    }
    Ok(key)
}

/// `clients.toml`; a missing file is an empty client list.
fn read_clients(path: &Path) -> Result<Vec<ClientRecord>, ServerError> {
    let file: ClientsFile = if path.exists() {
        parse_toml(path, &read_file(path)?)?
    } else {
        ClientsFile::default()
    };
    file.clients
        .into_iter()
        .map(|entry| entry.into_record().map_err(|reason| corrupt(path, reason)))
        .collect()
}

fn read_file(path: &Path) -> Result<Vec<u8>, ServerError> {
    fs::read(path).map_err(io_error(format!("cannot read {}", path.display())))
}

fn corrupt(path: &Path, reason: impl Into<String>) -> ServerError {
    ServerError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, ServerError> {
    let text = std::str::from_utf8(bytes).map_err(|_| corrupt(path, "not UTF-8"))?;
    // toml's message names the offending line and key, never secret values
    // other than what the operator wrote; it stays in the operator's log.
    toml::from_str(text).map_err(|e| corrupt(path, e.message().to_string()))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use rand::rngs::OsRng;

    use crate::encoding::{b64, hex};
    use crate::server::auth::hash_token;
    use crate::server::state::test_support::{fresh_dir, request_for};
    use crate::server::state::{validate_install, ClientRecord, Principal, State, TomlStore};
    use crate::server::ServerError;
    use crate::threshold::kem::deal;

    /// A state directory as version 1 left it: keys in `keys/<id>.toml`,
    /// clients in `clients.toml`, no database.
    fn legacy_dir() -> (tempfile::TempDir, std::path::PathBuf, String, String) {
        let (tmp, dir, _) = fresh_dir();
        fs::remove_file(dir.join("state.db")).unwrap();
        let store = TomlStore::open(&dir);
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let id = hex(keyset.id());
        store
            .write_key(&validate_install(&id, &request_for(&keyset, &shares[0])).unwrap())
            .unwrap();
        let token = "slk_legacy-client-token".to_string();
        store
            .write_clients(&[ClientRecord {
                name: "old-laptop".into(),
                token_sha256: hash_token(&token),
                keysets: vec![id.clone()],
                revoked: false,
                created: "2026-11-01T00:00:00Z".into(),
            }])
            .unwrap();
        (tmp, dir, id, token)
    }

    #[test]
    fn a_version_1_directory_is_migrated_once_and_its_files_kept_aside() {
        let (_tmp, dir, id, token) = legacy_dir();
        let state = State::load(&dir).unwrap();
        assert_eq!(state.keyset_ids(), vec![id.clone()]);
        assert_eq!(
            state.authenticate(&token),
            Some(Principal::Client {
                name: "old-laptop".into(),
                keysets: vec![id.clone()],
            })
        );
        assert!(dir.join("state.db").is_file());
        assert!(!dir.join("keys").exists() && !dir.join("clients.toml").exists());
        assert!(dir
            .join("legacy-v1/keys")
            .join(format!("{id}.toml"))
            .is_file());
        assert!(dir.join("legacy-v1/clients.toml").is_file());
        assert!(!dir.join("state.db.migrating").exists());
        drop(state);
        // The next start reads the database; the backup is never read again.
        fs::write(dir.join("legacy-v1/clients.toml"), "garbage").unwrap();
        let again = State::load(&dir).unwrap();
        assert!(again.authenticate(&token).is_some());
    }

    #[test]
    fn an_interrupted_migration_is_redone_from_the_files() {
        let (_tmp, dir, id, token) = legacy_dir();
        // A crash mid-import leaves a half-written staging database.
        fs::write(dir.join("state.db.migrating"), b"half a database").unwrap();
        let state = State::load(&dir).unwrap();
        assert_eq!(state.keyset_ids(), vec![id]);
        assert!(state.authenticate(&token).is_some());
    }

    #[test]
    fn a_tampered_legacy_key_file_stops_the_migration_and_names_the_file() {
        let (_tmp, dir, id, _) = legacy_dir();
        let path = dir.join("keys").join(format!("{id}.toml"));
        let text = fs::read_to_string(&path).unwrap();
        let share_line = text.lines().find(|l| l.starts_with("share")).unwrap();
        let other = b64(&[7u8; 32]);
        fs::write(
            &path,
            text.replace(share_line, &format!("share = \"{other}\"")),
        )
        .unwrap();
        let err = State::load(&dir).unwrap_err();
        assert!(matches!(err, ServerError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&format!("{id}.toml")), "{err}");
        // Nothing was migrated or moved: the operator fixes the file and retries.
        assert!(!dir.join("state.db").exists());
        assert!(path.exists());
    }
}
