//! [`check_status`]: every server of a keyset checked at once for
//! `shardlock status`.

use std::time::Instant;

use super::transport::{sanitize, Connection, Method};
use super::{HttpError, HttpOptions};
use crate::client::ServerEndpoint;
use crate::encoding::hex;
use crate::protocol::{unb64_element, Health, KeyInfo};
use crate::threshold::kem::PublicKeyset;

/// One server's health as `shardlock status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// Participant id.
    pub participant: u16,
    /// Base URL.
    pub url: String,
    /// Whether the server answered at all (a TLS handshake that failed the
    /// pin counts as reached).
    pub reachable: bool,
    /// `Some(true)`: the pinned certificate was presented; `Some(false)`:
    /// another one was; `None`: no pin configured, or not reached.
    pub pin_ok: Option<bool>,
    /// `Some(true)`: the server holds this keyset with the expected public
    /// share; `Some(false)`: it reports something else; `None`: not checked
    /// (unreachable, no client token, or refused; see `problem`).
    pub share_ok: Option<bool>,
    /// The epoch of the share the server holds (docs/FORMAT.md section
    /// 8.1), when it answered the key check.
    pub epoch: Option<u32>,
    /// Round-trip time of the health request (connection included), ms.
    pub latency_ms: Option<u64>,
    /// Server version, from the health answer.
    pub version: Option<String>,
    /// What went wrong, with advice; `None` when all is well.
    pub problem: Option<String>,
}

/// Checks every server of `keyset` concurrently: reachability and latency
/// (`GET /v1/health`), the certificate pin, and whether the server's public
/// share and group key match the keyset (`GET /v1/keys/{id}` with the
/// client token). Returns one entry per endpoint, in the given order.
pub fn check_status(
    keyset: &PublicKeyset,
    endpoints: &[ServerEndpoint],
    options: &HttpOptions,
) -> Vec<ServerStatus> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|endpoint| scope.spawn(move || status_of(keyset, endpoint, options)))
            .collect();
        handles
            .into_iter()
            .zip(endpoints)
            .map(|(handle, endpoint)| {
                handle.join().unwrap_or_else(|_| ServerStatus {
                    participant: endpoint.participant,
                    url: endpoint.url.clone(),
                    reachable: false,
                    pin_ok: None,
                    share_ok: None,
                    epoch: None,
                    latency_ms: None,
                    version: None,
                    problem: Some("the status check failed".into()),
                })
            })
            .collect()
    })
}

fn status_of(
    keyset: &PublicKeyset,
    endpoint: &ServerEndpoint,
    options: &HttpOptions,
) -> ServerStatus {
    let mut status = ServerStatus {
        participant: endpoint.participant,
        url: endpoint.url.clone(),
        reachable: false,
        pin_ok: None,
        share_ok: None,
        epoch: None,
        latency_ms: None,
        version: None,
        problem: None,
    };
    let connection = match Connection::new(&endpoint.url, endpoint.fingerprint, options) {
        Ok(connection) => connection,
        Err(err) => {
            status.problem = Some(err.to_string());
            return status;
        }
    };
    status.url = connection.base.clone();
    let started = Instant::now();
    match connection.json::<Health>(Method::Get, "/v1/health", None, None) {
        Ok(health) => {
            status.reachable = true;
            status.latency_ms =
                Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            status.version = Some(sanitize(&health.version));
            status.pin_ok = endpoint.fingerprint.map(|_| true);
            if health.status == "sealed" {
                status.problem = Some(
                    "sealed: it refuses to evaluate until its operator runs \
                     `shardlock server unseal`"
                        .into(),
                );
                return status;
            }
        }
        Err(err @ HttpError::PinMismatch { .. }) => {
            status.reachable = true;
            status.pin_ok = Some(false);
            status.problem = Some(err.to_string());
            return status;
        }
        Err(err @ HttpError::Unreachable { .. }) => {
            status.problem = Some(err.to_string());
            return status;
        }
        Err(err) => {
            status.reachable = true;
            status.pin_ok = endpoint.fingerprint.map(|_| true);
            status.problem = Some(err.to_string());
            return status;
        }
    }
    let Some(token) = &endpoint.token else {
        status.problem = Some(
            "no client token is configured for this server, so its share cannot be checked \
             and it cannot help decrypt; add its `token` (or `token_file`) to the config"
                .into(),
        );
        return status;
    };
    let id = hex(keyset.id());
    match connection.json::<KeyInfo>(Method::Get, &format!("/v1/keys/{id}"), Some(token), None) {
        Ok(info) if info.epoch != keyset.epoch() => {
            status.epoch = Some(info.epoch);
            status.share_ok = Some(false);
            status.problem = Some(if info.epoch < keyset.epoch() {
                format!(
                    "{} holds epoch {} of the keyset and the config has epoch {}: it missed a \
                     lifecycle round (`shardlock keyset ... --resume` finishes one; a server \
                     restored from an old backup needs `keyset repair`)",
                    connection.base,
                    info.epoch,
                    keyset.epoch()
                )
            } else {
                format!(
                    "{} holds epoch {} of the keyset and the config has epoch {}: another machine \
                     ran a lifecycle round, or this one was interrupted (`--resume`); copy the \
                     keyset's updated entry into this config",
                    connection.base,
                    info.epoch,
                    keyset.epoch()
                )
            });
        }
        Ok(info) => {
            status.epoch = Some(info.epoch);
            let expected_share = keyset.public_share(endpoint.participant);
            let matches = info.keyset_id.eq_ignore_ascii_case(&id)
                && info.participant == endpoint.participant
                && info.threshold == keyset.threshold()
                && unb64_element(&info.group_key).as_ref() == Some(keyset.group_key())
                && expected_share.is_some()
                && unb64_element(&info.public_share).as_ref() == expected_share;
            status.share_ok = Some(matches);
            if !matches {
                status.problem = Some(format!(
                    "{} reports participant {} with a public share that does not match the \
                     keyset in the config; the server holds a different share (was it \
                     re-initialised, or is the participant id wrong?)",
                    connection.base, info.participant
                ));
            }
        }
        Err(err) => status.problem = Some(err.to_string()),
    }
    status
}
