//! The audit trail: one JSON line per authenticated request, appended to
//! `DIR/audit.log` as a hash chain ([`crate::server::audit_chain`]) and
//! echoed to stderr.
//!
//! docs/DESIGN.md section 4: every evaluation is an oracle query, so every
//! authenticated request is audited, and one that cannot be audited fails. The
//! evaluate handler's answer is released only after its line is on disk
//! (written and fdatasynced); see `routes::audit_layer`.
//!
//! A line records who (client name, "admin" or "anonymous"), what (endpoint,
//! keyset id, element count), the peer address and the outcome. It never
//! holds a token, a share, or a blinded element.
//!
//! Requests that end without an authenticated principal (no token, an
//! unknown or revoked one, health, metrics, unknown paths) get no line of
//! their own: anyone can send them, so one synced line each would let
//! anyone fill the disk. They are counted in an [`AnonymousTally`] and
//! written as one summary line per interval (`server::serve` flushes it).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Who made a request, as far as authentication established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// No credential, or one that did not match.
    Anonymous,
    /// The admin credential.
    Admin,
    /// A client token, by client name.
    Client(String),
}

impl Actor {
    /// The name written to the audit log.
    pub fn label(&self) -> &str {
        match self {
            Actor::Anonymous => "anonymous",
            Actor::Admin => "admin",
            Actor::Client(name) => name,
        }
    }
}

/// What a handler tells the audit layer about its request (attached to the
/// response as an extension).
#[derive(Debug, Clone)]
pub struct AuditInfo {
    /// Short endpoint name, e.g. "evaluate".
    pub endpoint: &'static str,
    /// Who asked.
    pub actor: Actor,
    /// Keyset id in the path, if any (hex, only when well-formed).
    pub keyset: Option<String>,
    /// Number of elements in an evaluate request.
    pub elements: Option<usize>,
    /// Whether the answer must be withheld if the line cannot be written.
    pub required: bool,
}

impl AuditInfo {
    /// Info for an endpoint with no more detail yet.
    pub fn new(endpoint: &'static str) -> Self {
        Self {
            endpoint,
            actor: Actor::Anonymous,
            keyset: None,
            elements: None,
            required: false,
        }
    }
}

/// One audit line.
#[derive(Debug, Serialize)]
pub struct AuditRecord<'a> {
    /// UTC time, RFC 3339 with milliseconds.
    pub time: String,
    /// Client name, "admin" or "anonymous".
    pub client: &'a str,
    /// Peer IP address and port, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// HTTP method.
    pub method: &'a str,
    /// Endpoint name.
    pub endpoint: &'a str,
    /// Keyset id, hex.
    pub keyset: Option<&'a str>,
    /// Elements evaluated or asked for.
    pub elements: Option<usize>,
    /// HTTP status of the answer.
    pub status: u16,
    /// Short outcome word (see `metrics::outcome`).
    pub outcome: &'a str,
}

impl AuditRecord<'_> {
    /// The record as one JSON line, newline included.
    pub fn to_line(&self) -> String {
        // Serialising plain strings and numbers cannot fail; fall back to a
        // minimal line rather than dropping the record if it ever did.
        let mut line = serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                "{{\"time\":\"{}\",\"error\":\"unserialisable\"}}",
                self.time
            )
        });
        line.push('\n');
        line
    }
}

/// How many distinct source addresses one summary line names; the rest
/// are counted together, so the tally's memory and the line stay bounded.
const MAX_SUMMARY_PEERS: usize = 64;

/// Unauthenticated requests since the last summary line.
#[derive(Debug, Default)]
pub struct AnonymousTally {
    inner: Mutex<Option<Tally>>,
}

#[derive(Debug)]
struct Tally {
    since: String,
    requests: u64,
    by_endpoint: BTreeMap<&'static str, u64>,
    by_outcome: BTreeMap<&'static str, u64>,
    by_peer: BTreeMap<IpAddr, u64>,
    other_peers: u64,
    revoked: BTreeMap<String, u64>,
}

/// The summary line: the fields of a request line that still make sense
/// in aggregate, plus counts.
#[derive(Debug, Serialize)]
struct SummaryRecord<'a> {
    time: String,
    client: &'static str,
    summary: &'static str,
    since: &'a str,
    requests: u64,
    endpoints: &'a BTreeMap<&'static str, u64>,
    outcomes: &'a BTreeMap<&'static str, u64>,
    peers: BTreeMap<String, u64>,
    other_peers: u64,
    revoked_clients: &'a BTreeMap<String, u64>,
}

impl AnonymousTally {
    /// Counts one unauthenticated request. `revoked` names the client of a
    /// revoked token, which is worth seeing (a cut-off machine still
    /// trying); client names are bounded by the client list.
    pub fn record(
        &self,
        endpoint: &'static str,
        outcome: &'static str,
        peer: Option<IpAddr>,
        revoked: Option<&str>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let tally = inner.get_or_insert_with(|| Tally {
            since: now_rfc3339(),
            requests: 0,
            by_endpoint: BTreeMap::new(),
            by_outcome: BTreeMap::new(),
            by_peer: BTreeMap::new(),
            other_peers: 0,
            revoked: BTreeMap::new(),
        });
        tally.requests += 1;
        *tally.by_endpoint.entry(endpoint).or_insert(0) += 1;
        *tally.by_outcome.entry(outcome).or_insert(0) += 1;
        match peer {
            Some(ip)
                if tally.by_peer.contains_key(&ip) || tally.by_peer.len() < MAX_SUMMARY_PEERS =>
            {
                *tally.by_peer.entry(ip).or_insert(0) += 1;
            }
            _ => tally.other_peers += 1,
        }
        if let Some(name) = revoked {
            *tally.revoked.entry(name.to_string()).or_insert(0) += 1;
        }
    }

    /// The summary line of everything counted since the last one, and a
    /// fresh tally; `None` when nothing was counted.
    pub fn take_line(&self) -> Option<String> {
        let tally = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        let record = SummaryRecord {
            time: now_rfc3339(),
            client: "anonymous",
            summary: "unauthenticated",
            since: &tally.since,
            requests: tally.requests,
            endpoints: &tally.by_endpoint,
            outcomes: &tally.by_outcome,
            peers: tally
                .by_peer
                .iter()
                .map(|(ip, count)| (ip.to_string(), *count))
                .collect(),
            other_peers: tally.other_peers,
            revoked_clients: &tally.revoked,
        };
        // Plain strings and numbers: serialising cannot fail in practice.
        let mut line = serde_json::to_string(&record).ok()?;
        line.push('\n');
        Some(line)
    }
}

/// Appends `line` to the state's audit log on a blocking thread (synced
/// when `sync`); a failure is reported on stderr and returned, so the
/// caller decides whether the request it records may still be answered.
pub(crate) async fn write_line(
    state: &crate::server::State,
    line: String,
    sync: bool,
) -> std::io::Result<()> {
    let echo = state.log_stderr();
    let chain = state.audit_chain();
    let written = tokio::task::spawn_blocking(move || chain.append(&line, sync, echo))
        .await
        .map_err(|_| std::io::Error::other("audit task failed"))
        .and_then(|r| r);
    if let Err(err) = &written {
        eprintln!(
            "shardlock server: cannot write the audit log ({}): {err}",
            state.audit_path().display()
        );
    }
    written
}

#[cfg(test)]
use crate::encoding::format_rfc3339;
pub use crate::encoding::now_rfc3339;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::audit_chain::AuditChain;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (leap day) 12:34:56.
        assert_eq!(format_rfc3339(951_827_696, 7), "2000-02-29T12:34:56.007Z");
        // 2024-12-31T23:59:59.
        assert_eq!(
            format_rfc3339(1_735_689_599, 999),
            "2024-12-31T23:59:59.999Z"
        );
        assert_eq!(now_rfc3339().len(), "1970-01-01T00:00:00.000Z".len());
    }

    #[test]
    fn lines_are_json_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let chain = AuditChain::open(&path).unwrap();
        for status in [200, 401] {
            let record = AuditRecord {
                time: now_rfc3339(),
                client: "backup-\"host\"",
                peer: None,
                method: "POST",
                endpoint: "evaluate",
                keyset: Some("ab"),
                elements: Some(3),
                status,
                outcome: "ok",
            };
            chain.append(&record.to_line(), true, false).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["client"], "backup-\"host\"");
        assert_eq!(first["elements"], 3);
        assert_eq!(first["status"], 200);
        assert_eq!(first["prev"], "0".repeat(64));
    }

    #[test]
    fn unauthenticated_requests_are_summarised_in_one_bounded_line() {
        let tally = AnonymousTally::default();
        assert!(tally.take_line().is_none());
        let ip = |i: u32| Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
        for i in 0..100 {
            tally.record("evaluate", "unauthorized", ip(i % 80), None);
        }
        tally.record("health", "ok", None, None);
        tally.record("evaluate", "unauthorized", ip(1), Some("old-laptop"));
        let line = tally.take_line().expect("a summary");
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["client"], "anonymous");
        assert_eq!(value["summary"], "unauthenticated");
        assert_eq!(value["requests"], 102);
        assert_eq!(value["endpoints"]["evaluate"], 101);
        assert_eq!(value["outcomes"]["unauthorized"], 101);
        assert_eq!(value["outcomes"]["ok"], 1);
        let peers = value["peers"].as_object().unwrap();
        assert_eq!(peers.len(), MAX_SUMMARY_PEERS);
        assert_eq!(peers["10.0.0.1"], 3);
        // 16 addresses beyond the cap sent one each; one had no address.
        assert_eq!(value["other_peers"], 17);
        assert_eq!(value["revoked_clients"]["old-laptop"], 1);
        // Taking the line resets the tally.
        assert!(tally.take_line().is_none());
    }

    #[test]
    fn unwritable_log_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the log should be cannot be opened for append.
        let path = dir.path().join("audit.log");
        let chain = AuditChain::open(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let record = AuditRecord {
            time: now_rfc3339(),
            client: "x",
            peer: None,
            method: "GET",
            endpoint: "health",
            keyset: None,
            elements: None,
            status: 200,
            outcome: "ok",
        };
        assert!(chain.append(&record.to_line(), false, false).is_err());
    }
}
