//! Install validation: turns an install request into an [`InstalledKey`],
//! or says why it cannot be installed.
//!
//! The same check runs on key files read from storage, so a damaged or
//! tampered share is refused at load just as it is over the API.

use curve25519_dalek::ristretto::RistrettoPoint;
use zeroize::Zeroizing;

use super::InstalledKey;
use crate::encoding::{hex, parse_hex32, unb64};
use crate::protocol::{unb64_element, InstallShareRequest};
use crate::threshold::kem::PublicKeyset;
use crate::threshold::shamir::SecretShare;
use crate::threshold::SecretScalar;

/// Why a share cannot be installed. Messages go to the admin client as
/// they are, so they name the problem but carry no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    /// A field is not valid base64url of a canonical, non-identity element
    /// or non-zero scalar.
    #[error("{0} is not a valid encoding")]
    Encoding(&'static str),
    /// The public shares do not lie on one polynomial through the group key.
    #[error("public shares are inconsistent with the group key or threshold")]
    Inconsistent,
    /// The keyset id in the path is not the hash of the public parts.
    #[error("keyset id does not match the keyset's public parts")]
    IdMismatch,
    /// This server's participant id is not among the public shares.
    #[error("participant {0} is not in the keyset")]
    UnknownParticipant(u16),
    /// `share·G` is not this participant's public share.
    #[error("the share does not match participant {0}'s public share")]
    ShareMismatch(u16),
    /// A different share of this keyset is already installed.
    #[error("a different share of this keyset is already installed")]
    Conflict,
}

/// Validates an install request against the keyset id from the URL
/// (docs/DESIGN.md section 1: every element and scalar is decoded canonically;
/// the public shares must be consistent with `K`; and the share must be the
/// discrete log of this participant's public share).
pub(crate) fn validate_install(
    path_id: &str,
    request: &InstallShareRequest,
) -> Result<InstalledKey, InstallError> {
    let group_key = unb64_element(&request.group_key).ok_or(InstallError::Encoding("group_key"))?;
    let public: Vec<(u16, RistrettoPoint)> = request
        .public_shares
        .iter()
        .map(|p| {
            unb64_element(&p.public_share)
                .map(|k| (p.participant, k))
                .ok_or(InstallError::Encoding("public_share"))
        })
        .collect::<Result<_, _>>()?;
    let path_id = parse_hex32(path_id).ok_or(InstallError::IdMismatch)?;
    // At epoch 0 the id is the hash of the public parts; later epochs keep
    // epoch 0's id (docs/FORMAT.md section 8.1), so there is nothing to
    // recompute and only the consistency with `K` is checked.
    let keyset = if request.epoch == 0 {
        let keyset = PublicKeyset::new(request.threshold, group_key, public)
            .map_err(|_| InstallError::Inconsistent)?;
        if &path_id != keyset.id() {
            return Err(InstallError::IdMismatch);
        }
        keyset
    } else {
        PublicKeyset::at_epoch(path_id, request.epoch, request.threshold, group_key, public)
            .map_err(|_| InstallError::Inconsistent)?
    };
    let id_hex = hex(keyset.id());
    let expected = *keyset
        .public_share(request.participant)
        .ok_or(InstallError::UnknownParticipant(request.participant))?;
    let bytes = Zeroizing::new(unb64(&request.share).ok_or(InstallError::Encoding("share"))?);
    let value = SecretScalar::from_bytes(&bytes).map_err(|_| InstallError::Encoding("share"))?;
    let share = SecretShare::new(request.participant, value)
        .map_err(|_| InstallError::UnknownParticipant(request.participant))?;
    // RistrettoPoint equality is constant time (curve25519-dalek ct_eq).
    if share.public_share() != expected {
        return Err(InstallError::ShareMismatch(request.participant));
    }
    Ok(InstalledKey {
        id_hex,
        keyset,
        share,
    })
}

#[cfg(any(test, feature = "testkit"))]
impl InstalledKey {
    /// `share` of `keyset` as the server would hold it after an install
    /// request delivering it, through the same validation: benchmarks and
    /// integration tests build keys for [`super::State::import_keys`]
    /// with it, so what they import has passed the install check.
    pub fn from_share(keyset: &PublicKeyset, share: &SecretShare) -> Result<Self, InstallError> {
        let mut request = InstallShareRequest::new(keyset, share);
        let key = validate_install(&hex(keyset.id()), &request);
        // The request's copy of the secret share.
        zeroize::Zeroize::zeroize(&mut request.share);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::b64;
    use crate::protocol::b64_element;
    use crate::server::state::test_support::request_for;
    use crate::threshold::kem::deal;
    use rand::rngs::OsRng;

    #[test]
    fn install_refuses_wrong_ids_participants_shares_and_non_canonical_encodings() {
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let id = hex(keyset.id());
        let good = request_for(&keyset, &shares[0]);
        let key = validate_install(&id, &good).unwrap();
        assert_eq!(key.id_hex(), id);
        assert_eq!(key.info().participant, 1);

        // Upper-case path ids are the same id.
        assert!(validate_install(&id.to_uppercase(), &good).is_ok());

        // Another participant's share under this participant's id.
        let mut swapped = request_for(&keyset, &shares[1]);
        swapped.participant = 1;
        assert_eq!(
            validate_install(&id, &swapped).err(),
            Some(InstallError::ShareMismatch(1))
        );

        // Wrong id in the path.
        let (other, _) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        assert_eq!(
            validate_install(&hex(other.id()), &good).err(),
            Some(InstallError::IdMismatch)
        );
        assert_eq!(
            validate_install("zz", &good).err(),
            Some(InstallError::IdMismatch)
        );

        // A participant not in the keyset.
        let mut stranger = good.clone();
        stranger.participant = 9;
        assert_eq!(
            validate_install(&id, &stranger).err(),
            Some(InstallError::UnknownParticipant(9))
        );

        // Inconsistent public shares (one replaced by another keyset's).
        let mut inconsistent = good.clone();
        inconsistent.public_shares[2].public_share = b64_element(&other.shares()[2].1);
        assert_eq!(
            validate_install(&id, &inconsistent).err(),
            Some(InstallError::Inconsistent)
        );

        // Non-canonical / identity encodings.
        let mut bad = good.clone();
        bad.group_key = b64(&[0u8; 32]);
        assert_eq!(
            validate_install(&id, &bad).err(),
            Some(InstallError::Encoding("group_key"))
        );
        let mut bad = good.clone();
        bad.share = b64(&[0xff; 32]);
        assert_eq!(
            validate_install(&id, &bad).err(),
            Some(InstallError::Encoding("share"))
        );
        let mut bad = good.clone();
        bad.share = b64(&[0u8; 32]);
        assert_eq!(
            validate_install(&id, &bad).err(),
            Some(InstallError::Encoding("share"))
        );
        let mut bad = good;
        bad.public_shares[0].public_share = "!!".into();
        assert_eq!(
            validate_install(&id, &bad).err(),
            Some(InstallError::Encoding("public_share"))
        );
    }
}
