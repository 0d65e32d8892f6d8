//! Is every server of a keyset reachable, presenting the pinned certificate
//! and holding the expected share? Enough of them to decrypt?

use super::error::Result;
use super::http::{check_status, ServerStatus};
use super::Session;

/// One server's health, with whether its certificate is pinned.
#[derive(Debug, Clone)]
pub struct ServerHealth {
    /// What the check found.
    pub status: ServerStatus,
    /// Whether the config pins this server's certificate.
    pub pinned: bool,
}

impl ServerHealth {
    /// Reached, pin (if any) matched, share checked and matching.
    pub fn healthy(&self) -> bool {
        let s = &self.status;
        s.reachable && s.pin_ok != Some(false) && s.share_ok == Some(true) && s.problem.is_none()
    }
}

/// The health of a keyset's servers.
#[derive(Debug, Clone)]
pub struct KeysetHealth {
    /// The keyset's configured name.
    pub name: String,
    /// Its id.
    pub id: [u8; 32],
    /// How many servers decryption needs.
    pub threshold: u16,
    /// The epoch the config holds.
    pub epoch: u32,
    /// The config holds no client token for it (a public export): it can
    /// only encrypt, so shares are not checked.
    pub encrypt_only: bool,
    /// Every server, in config order.
    pub servers: Vec<ServerHealth>,
}

impl KeysetHealth {
    /// How many servers are healthy.
    pub fn healthy(&self) -> usize {
        self.servers.iter().filter(|s| s.healthy()).count()
    }

    /// Whether enough servers are healthy to decrypt.
    pub fn can_decrypt(&self) -> bool {
        self.healthy() >= usize::from(self.threshold)
    }
}

impl Session {
    /// Checks every server of a keyset (the default when `None`)
    /// concurrently.
    pub fn keyset_health(&self, keyset: Option<&str>) -> Result<KeysetHealth> {
        let config = self.config()?;
        let keyset = config.keyset(keyset)?;
        let encrypt_only = config.entry(&keyset.name).is_some_and(|e| !e.can_decrypt());
        let statuses = check_status(&keyset.public, &keyset.endpoints, &self.http_options());
        let servers = statuses
            .into_iter()
            .zip(&keyset.endpoints)
            .map(|(status, endpoint)| ServerHealth {
                status,
                pinned: endpoint.fingerprint.is_some(),
            })
            .collect();
        Ok(KeysetHealth {
            name: keyset.name,
            id: *keyset.public.id(),
            threshold: keyset.public.threshold(),
            epoch: keyset.public.epoch(),
            encrypt_only,
            servers,
        })
    }
}
