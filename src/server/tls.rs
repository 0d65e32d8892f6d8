//! The server's TLS identity: a self-signed certificate made at `init`, and
//! the rustls configuration that serves it.
//!
//! docs/DESIGN.md section 3: TLS is on by default and clients pin each server's
//! certificate by the SHA-256 of its DER encoding, so a self-signed
//! certificate is as good as a CA-issued one (and the fingerprint printed at
//! `init` is the only thing the operator must carry to clients). Only the
//! `ring` provider is compiled in (no aws-lc), with TLS 1.2 and 1.3.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::ServerError;

/// Names every certificate covers, so local clusters work out of the box.
pub const DEFAULT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A freshly generated certificate and its private key, PEM-encoded.
pub struct GeneratedCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM; zeroized on drop.
    pub key_pem: Zeroizing<String>,
    /// SHA-256 of the certificate's DER encoding.
    pub fingerprint: [u8; 32],
}

impl std::fmt::Debug for GeneratedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedCertificate")
            .field(
                "fingerprint",
                &crate::encoding::format_fingerprint(&self.fingerprint),
            )
            .finish_non_exhaustive()
    }
}

/// Generates an ECDSA P-256 key and a self-signed certificate for
/// localhost, 127.0.0.1, ::1 and `extra_names` (DNS names or IP addresses).
pub fn generate_certificate(extra_names: &[String]) -> Result<GeneratedCertificate, ServerError> {
    let mut names: Vec<String> = DEFAULT_NAMES.iter().map(|s| s.to_string()).collect();
    for name in extra_names {
        let name = name.trim();
        if !valid_san(name) {
            return Err(ServerError::InvalidName(name.to_string()));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    let mut params = rcgen::CertificateParams::new(names.clone())
        .map_err(|_| ServerError::InvalidName(names.join(", ")))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "shardlock key-share server");
    let key_pair = rcgen::KeyPair::generate()
        .map_err(|e| ServerError::Tls(format!("cannot generate a TLS key: {e}")))?;
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| ServerError::Tls(format!("cannot create the certificate: {e}")))?;
    Ok(GeneratedCertificate {
        cert_pem: cert.pem(),
        key_pem: Zeroizing::new(key_pair.serialize_pem()),
        fingerprint: Sha256::digest(cert.der()).into(),
    })
}

/// Whether `name` can go in the certificate: an IP address, or a DNS name
/// of letters, digits and hyphens in dot-separated labels (RFC 1123 section
/// 2.1), optionally with a leading `*.` wildcard.
fn valid_san(name: &str) -> bool {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let host = name.strip_prefix("*.").unwrap_or(name);
    !host.is_empty()
        && name.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The DER certificate in a PEM file, and its SHA-256 fingerprint.
pub fn parse_certificate(cert_pem: &[u8]) -> Result<(CertificateDer<'static>, [u8; 32]), String> {
    let cert = CertificateDer::from_pem_slice(cert_pem)
        .map_err(|_| "no PEM certificate found".to_string())?;
    let fingerprint = Sha256::digest(cert.as_ref()).into();
    Ok((cert, fingerprint))
}

/// Builds the rustls server configuration (ring provider, TLS 1.2 and 1.3,
/// HTTP/1.1 via ALPN) from PEM certificate and key.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let (cert, _) = parse_certificate(cert_pem).map_err(ServerError::Tls)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|_| ServerError::Tls("no PEM private key found in tls/key.pem".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ServerError::Tls(format!("TLS configuration: {e}")))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(|e| ServerError::Tls(format!("certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads_and_fingerprint_matches_der() {
        let generated = generate_certificate(&["keys.example.org".into()]).unwrap();
        let (der, fp) = parse_certificate(generated.cert_pem.as_bytes()).unwrap();
        assert_eq!(fp, generated.fingerprint);
        assert_eq!(fp, <[u8; 32]>::from(Sha256::digest(der.as_ref())));
        server_config(generated.cert_pem.as_bytes(), generated.key_pem.as_bytes()).unwrap();
        assert!(!format!("{generated:?}").contains("PRIVATE"));
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(matches!(
            generate_certificate(&["not a name!".into()]),
            Err(ServerError::InvalidName(_))
        ));
        assert!(matches!(
            generate_certificate(&[String::new()]),
            Err(ServerError::InvalidName(_))
        ));
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = generate_certificate(&[]).unwrap();
        let b = generate_certificate(&[]).unwrap();
        assert!(server_config(a.cert_pem.as_bytes(), b.key_pem.as_bytes()).is_err());
    }
}
