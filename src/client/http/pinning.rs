//! Certificate pinning: a rustls verifier that accepts exactly one
//! certificate, named by the SHA-256 of its DER (docs/DESIGN.md section 3).

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Accepts exactly one certificate, identified by the SHA-256 of its DER.
/// Records the fingerprint of a mismatching certificate so the error can
/// say what the server presented.
#[derive(Debug)]
pub(super) struct PinnedVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
    mismatch: Mutex<Option<[u8; 32]>>,
}

impl PinnedVerifier {
    pub(super) fn new(pin: [u8; 32], provider: Arc<CryptoProvider>) -> Self {
        Self {
            pin,
            provider,
            mismatch: Mutex::new(None),
        }
    }

    /// The pinned fingerprint.
    pub(super) fn pin(&self) -> &[u8; 32] {
        &self.pin
    }

    /// The fingerprint of the last certificate refused, once.
    pub(super) fn take_mismatch(&self) -> Option<[u8; 32]> {
        self.mismatch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin replaces chain, name and validity checks: the operator
        // vouched for this exact certificate (docs/DESIGN.md section 3).
        let presented: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if bool::from(presented.ct_eq(&self.pin)) {
            Ok(ServerCertVerified::assertion())
        } else {
            *self.mismatch.lock().unwrap_or_else(PoisonError::into_inner) = Some(presented);
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
