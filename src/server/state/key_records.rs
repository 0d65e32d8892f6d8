//! Installed keys as the store keeps them: the install request they came
//! from (JSON), sealed under the seal key (docs/FORMAT.md section 7), and
//! opened and re-validated exactly as an install on the way back, so a
//! damaged or tampered row stops the server instead of giving wrong
//! answers.

use std::path::Path;

use zeroize::{Zeroize, Zeroizing};

use super::store::KeyRow;
use super::InstalledKey;
use crate::protocol::InstallShareRequest;
use crate::server::seal::SealKey;
use crate::server::ServerError;

/// The row that stores `key`, sealed under `seal`.
pub(super) fn seal_row(seal: &SealKey, key: &InstalledKey) -> Result<KeyRow, ServerError> {
    let json = install_json(key)?;
    Ok(KeyRow {
        id: key.id_hex().to_string(),
        record: Zeroizing::new(seal.seal_record(key.id_hex(), json.as_bytes())),
    })
}

/// The key a sealed row holds, validated. `place` names the database in
/// errors.
pub(super) fn open_row(
    seal: &SealKey,
    row: &KeyRow,
    place: &Path,
) -> Result<InstalledKey, ServerError> {
    let json = seal
        .open_record(&row.id, &row.record)
        .map_err(|e| corrupt(place, e.to_string()))?;
    validate_json(&row.id, &json, place)
}

/// Seals a row written before sealing existed (its record is the install
/// JSON in clear), validating it first.
pub(super) fn seal_plain_row(
    seal: &SealKey,
    row: &KeyRow,
    place: &Path,
) -> Result<KeyRow, ServerError> {
    validate_json(&row.id, row.record.as_bytes(), place)?;
    Ok(KeyRow {
        id: row.id.clone(),
        record: Zeroizing::new(seal.seal_record(&row.id, row.record.as_bytes())),
    })
}

/// Re-seals a row under another seal key.
pub(super) fn reseal_row(
    old: &SealKey,
    new: &SealKey,
    row: &KeyRow,
    place: &Path,
) -> Result<KeyRow, ServerError> {
    let key = open_row(old, row, place)?;
    seal_row(new, &key)
}

/// The install request of `key` as JSON, zeroized when dropped.
pub(super) fn install_json(key: &InstalledKey) -> Result<Zeroizing<String>, ServerError> {
    let mut request = InstallShareRequest::new(key.keyset(), key.share());
    let json = serde_json::to_string(&request)
        .map(Zeroizing::new)
        .map_err(|e| ServerError::Serialize(e.to_string()));
    // The request and its JSON are copies of the secret share.
    request.share.zeroize();
    json
}

fn validate_json(id: &str, json: &[u8], place: &Path) -> Result<InstalledKey, ServerError> {
    let mut request: InstallShareRequest = serde_json::from_slice(json)
        .map_err(|_| corrupt(place, format!("key {id}: unreadable install record")))?;
    let validated = super::validate_install(id, &request);
    request.share.zeroize();
    let key = validated.map_err(|e| corrupt(place, format!("key {id}: {e}")))?;
    if key.id_hex() != id {
        return Err(corrupt(
            place,
            format!("key {id}: stored under another keyset id"),
        ));
    }
    Ok(key)
}

fn corrupt(place: &Path, reason: String) -> ServerError {
    ServerError::Corrupt {
        path: place.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;
    use crate::encoding::hex;
    use crate::server::state::test_support::request_for;
    use crate::server::state::validate_install;
    use crate::threshold::kem::deal;

    #[test]
    fn a_tampered_or_swapped_row_is_refused_naming_the_keyset_not_the_share() {
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let id = hex(keyset.id());
        let key = validate_install(&id, &request_for(&keyset, &shares[0])).unwrap();
        let seal = SealKey::generate();
        let place = Path::new("state.db");
        let row = seal_row(&seal, &key).unwrap();
        assert!(!row.record.contains(&request_for(&keyset, &shares[0]).share));
        assert_eq!(open_row(&seal, &row, place).unwrap().share(), key.share());

        // Another participant's share, sealed properly under the same id:
        // the install check still catches it.
        let mut forged = request_for(&keyset, &shares[1]);
        forged.participant = 1;
        let forged_json = serde_json::to_string(&forged).unwrap();
        let forged_row = KeyRow {
            id: id.clone(),
            record: Zeroizing::new(seal.seal_record(&id, forged_json.as_bytes())),
        };
        let err = open_row(&seal, &forged_row, place).unwrap_err();
        assert!(matches!(err, ServerError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&id), "{err}");
        assert!(!err.to_string().contains(&forged.share));

        // A row moved under another keyset id fails authentication.
        let moved = KeyRow {
            id: "00".repeat(32),
            record: row.record.clone(),
        };
        assert!(open_row(&seal, &moved, place).is_err());
        // Under another seal key it does not open at all.
        let other = SealKey::generate();
        assert!(open_row(&other, &row, place).is_err());
        let resealed = reseal_row(&seal, &other, &row, place).unwrap();
        assert_eq!(
            open_row(&other, &resealed, place).unwrap().share(),
            key.share()
        );
    }
}
