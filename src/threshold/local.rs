//! An in-process [`KeyService`] for tests and benchmarks: it holds the
//! shares itself, so it is compiled only into tests and the `testkit`
//! feature, never into the shipped binary (holding every share in one
//! process is exactly what shardlock exists to avoid).

use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;

use super::kem::{Evaluation, KeyService, PublicKeyset, ServiceError};
use super::shamir::SecretShare;
use super::voprf::blind_evaluate_batch;

/// An in-process key service holding shares directly: the reference
/// implementation of the server's computation, for tests and benchmarks.
/// Real deployments use the HTTPS client.
pub struct LocalKeyService {
    shares: Vec<SecretShare>,
}

impl fmt::Debug for LocalKeyService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyService")
            .field(
                "participants",
                &self.shares.iter().map(|s| s.id()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl LocalKeyService {
    /// A service answering for the given shares.
    pub fn new(shares: Vec<SecretShare>) -> Self {
        Self { shares }
    }

    /// Evaluates `blinded` with one participant's share, exactly as a
    /// key-share server does.
    pub fn evaluate_one(
        &self,
        participant: u16,
        blinded: &[RistrettoPoint],
    ) -> Result<Evaluation, ServiceError> {
        let share = self
            .shares
            .iter()
            .find(|s| s.id() == participant)
            .ok_or_else(|| {
                ServiceError::Unavailable(format!("no share for participant {participant}"))
            })?;
        let (evaluated, proof) = blind_evaluate_batch(
            share.value(),
            &share.public_share(),
            blinded,
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| ServiceError::Refused(e.to_string()))?;
        Ok(Evaluation { evaluated, proof })
    }
}

impl KeyService for LocalKeyService {
    fn evaluate(
        &self,
        _keyset: &PublicKeyset,
        participants: &[u16],
        blinded: &[RistrettoPoint],
    ) -> Vec<Result<Evaluation, ServiceError>> {
        participants
            .iter()
            .map(|&id| self.evaluate_one(id, blinded))
            .collect()
    }
}
