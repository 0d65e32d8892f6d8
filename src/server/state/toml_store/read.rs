//! Loading the state directory: reads every file and validates it, so a
//! damaged file stops the server at start, naming the file, instead of
//! producing wrong answers later.

use std::fs;
use std::path::Path;

use zeroize::Zeroizing;

use super::schema::{ClientsFile, KeyFile, ServerFile};
use super::{TomlStore, CERT_FILE, CLIENTS_FILE, KEYS_DIR, KEY_FILE, SERVER_FILE, TLS_DIR};
use crate::server::state::{ClientRecord, InstalledKey, Settings, StoredState, TlsMaterial};
use crate::server::{io_error, tls, ServerError};

impl TomlStore {
    /// Reads and validates the whole directory. Files are checked in this
    /// order, so the first problem reported is the first one found:
    /// `server.toml`, the TLS pair, each key file, `clients.toml`.
    pub(crate) fn load(&self) -> Result<StoredState, ServerError> {
        let settings = read_settings(&self.dir)?;
        let tls = read_tls(&self.dir)?;
        let keys = read_keys(&self.dir.join(KEYS_DIR))?;
        let clients = read_clients(&self.dir.join(CLIENTS_FILE))?;
        Ok(StoredState {
            settings,
            tls,
            keys,
            clients,
        })
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
    use crate::server::state::test_support::{fresh_dir, request_for};
    use crate::server::state::{validate_install, State};
    use crate::server::ServerError;
    use crate::threshold::kem::deal;

    #[test]
    fn tampered_key_file_is_refused_at_load() {
        let (_tmp, dir, _) = fresh_dir();
        let state = State::load(&dir).unwrap();
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let id = hex(keyset.id());
        state
            .install(validate_install(&id, &request_for(&keyset, &shares[0])).unwrap())
            .unwrap();
        let path = dir.join("keys").join(format!("{id}.toml"));
        let text = fs::read_to_string(&path).unwrap();
        let other = b64(shares[1].value().to_bytes().expose());
        let own = b64(shares[0].value().to_bytes().expose());
        fs::write(&path, text.replace(&own, &other)).unwrap();
        let err = State::load(&dir).unwrap_err();
        assert!(matches!(err, ServerError::Corrupt { .. }), "{err}");
        assert!(!err.to_string().contains(&other));
    }
}
