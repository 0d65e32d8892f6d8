//! Key lifecycle rounds coordinated from the owner's machine
//! (docs/FORMAT.md section 8, docs/OPERATIONS.md section 12): a keyset made
//! by distributed key generation, refreshed, repaired onto a new server,
//! or reshared to a new server set or threshold, with `K`, the keyset id
//! and every file unchanged. This machine only relays: sub-shares travel
//! sealed to their recipients, and the servers commit only on every new
//! member's signed confirmation of one transcript.
//!
//! Each step is journaled ([`journal`]), so a crash or a dead server
//! leaves a round that `--resume` finishes or `--abort` rolls back.

use std::collections::BTreeMap;

use rand::rngs::OsRng;
use rand::RngCore;

use super::config::{Config, KeysetEntry, ServerEntry, TokenSource};
use super::error::{Error, Result, StepContext};
use super::http::{AdminClient, HttpError};
use super::report::Reporter;
use super::Session;
use crate::encoding::{format_fingerprint, hex, parse_fingerprint, parse_hex32};
use crate::identity::IdentityPublic;
use crate::lifecycle::wire::{
    to_deals, AbortRequest, CommitRequest, DealRequest, LifecycleStatus, ReceiveRequest,
    ReceiveResponse, WireDeal, WireEpoch, WirePlan,
};
use crate::lifecycle::{self, Member, Operation, Plan};
use crate::protocol::{CreateClientRequest, Token};
use crate::threshold::kem::PublicKeyset;

mod journal;

use journal::{Journal, JournalServer};

/// Client↔server round trips of a round, beside the health and identity
/// checks: deal, receive, commit (client tokens for new servers add one).
pub const ROUND_TRIPS: usize = 3;

/// A server named on the command line.
#[derive(Debug, Clone)]
pub struct ServerArg {
    /// Base URL.
    pub url: String,
    /// Pinned certificate fingerprint.
    pub fingerprint: Option<[u8; 32]>,
}

/// Admin credentials by server URL.
#[derive(Debug, Clone, Default)]
pub struct AdminTokens(Vec<(String, Token)>);

impl AdminTokens {
    /// Tokens for the given URLs.
    pub fn new(pairs: Vec<(String, Token)>) -> Self {
        Self(pairs)
    }

    /// The token of the server at `url` (case and a trailing slash aside).
    pub fn for_url(&self, url: &str) -> Option<&Token> {
        let wanted = normal(url);
        self.0
            .iter()
            .find(|(u, _)| normal(u) == wanted)
            .map(|(_, t)| t)
    }
}

fn normal(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

/// What a round does.
#[derive(Debug, Clone)]
pub enum Change {
    /// A new keyset by distributed key generation.
    Create {
        /// Decryption threshold.
        threshold: u16,
        /// The servers, participant ids 1..=n in this order.
        servers: Vec<ServerArg>,
        /// Make it the default keyset.
        make_default: bool,
    },
    /// New shares for every server, same `K`, same threshold.
    Refresh,
    /// Participant `participant`'s server replaced by `server`.
    Repair {
        /// The participant whose share was lost.
        participant: u16,
        /// Its new, freshly initialised server.
        server: ServerArg,
    },
    /// A new server set and/or threshold.
    Reshare {
        /// The new threshold.
        threshold: u16,
        /// The complete new server list, ids 1..=n in this order.
        servers: Vec<ServerArg>,
    },
}

/// A round to start.
#[derive(Debug, Clone)]
pub struct RoundRequest {
    /// The keyset's name in the config.
    pub keyset: String,
    /// What to do.
    pub change: Change,
    /// Client name registered at servers that need a token (`NAME-client`
    /// when `None`).
    pub client_name: Option<String>,
}

/// A finished round.
#[derive(Debug, Clone)]
pub struct RoundReport {
    /// What it did.
    pub operation: Operation,
    /// The keyset id (unchanged by every round but create).
    pub keyset_id: [u8; 32],
    /// The epoch now in place.
    pub epoch: u32,
    /// The threshold now.
    pub threshold: u16,
    /// The servers now.
    pub servers: usize,
    /// The config written.
    pub config_path: std::path::PathBuf,
    /// Client↔server round trips the round took (identity and health
    /// checks included).
    pub round_trips: usize,
    /// Things left to do (servers to resume on, leavers not told).
    pub warnings: Vec<String>,
}

impl Session {
    /// Starts a round and runs it to the end (or to the first step that
    /// cannot be completed, leaving a journal for `--resume`/`--abort`).
    pub fn start_round(
        &self,
        request: &RoundRequest,
        tokens: &AdminTokens,
        reporter: &dyn Reporter,
    ) -> Result<RoundReport> {
        let path = self.config_path()?;
        if let Some(journal) = Journal::load(&path, &request.keyset)? {
            return Err(Error::Usage(format!(
                "a {} of keyset {:?} is in progress; finish it with `--resume` or roll it back \
                 with `--abort`",
                journal.plan.operation, request.keyset
            )));
        }
        let config = load_or_new(&path)?;
        let (plan, servers, make_default) = self.plan(&config, request, tokens, reporter)?;
        let client_name = request
            .client_name
            .clone()
            .unwrap_or_else(|| format!("{}-client", request.keyset));
        let journal = Journal::new(
            &request.keyset,
            WirePlan::from(&plan),
            servers,
            client_name,
            make_default,
        );
        journal.save(&path)?;
        self.run_round(journal, tokens, reporter, 1)
    }

    /// The operation and server URLs of the interrupted round of `keyset`
    /// (for asking for their admin tokens), or `None` if none is in
    /// progress.
    pub fn round_in_progress(&self, keyset: &str) -> Result<Option<(Operation, Vec<String>)>> {
        let path = self.config_path()?;
        let Some(journal) = Journal::load(&path, keyset)? else {
            return Ok(None);
        };
        let operation = Operation::parse(&journal.plan.operation)
            .ok_or_else(|| Error::Failed("the round journal names no known operation".into()))?;
        Ok(Some((
            operation,
            journal.servers.iter().map(|s| s.url.clone()).collect(),
        )))
    }

    /// The journal of the round of `keyset`, which must be `operation`.
    fn journal_of(&self, keyset: &str, operation: Operation) -> Result<Journal> {
        let path = self.config_path()?;
        let journal = Journal::load(&path, keyset)?
            .ok_or_else(|| Error::Usage(format!("no round of keyset {keyset:?} is in progress")))?;
        if journal.plan.operation != operation.name() {
            return Err(Error::Usage(format!(
                "the round of keyset {keyset:?} in progress is a {0}: use `shardlock keyset {0} \
                 {keyset} --resume` (or `--abort`)",
                journal.plan.operation
            )));
        }
        Ok(journal)
    }

    /// Finishes the round of `keyset` that was interrupted.
    pub fn resume_round(
        &self,
        keyset: &str,
        operation: Operation,
        tokens: &AdminTokens,
        reporter: &dyn Reporter,
    ) -> Result<RoundReport> {
        let journal = self.journal_of(keyset, operation)?;
        reporter.note(&format!(
            "resuming the {} of keyset {keyset}",
            journal.plan.operation
        ));
        self.run_round(journal, tokens, reporter, 0)
    }

    /// Rolls back the round of `keyset`: every new member drops what it
    /// staged. Refused once any server may have committed.
    pub fn abort_round(
        &self,
        keyset: &str,
        operation: Operation,
        tokens: &AdminTokens,
        reporter: &dyn Reporter,
    ) -> Result<()> {
        let path = self.config_path()?;
        let journal = self.journal_of(keyset, operation)?;
        if journal.committing {
            return Err(Error::Usage(format!(
                "the {} of keyset {keyset:?} is past the point of no return (servers may have \
                 switched to the new epoch); finish it with `--resume`",
                journal.plan.operation
            )));
        }
        let recipients: Vec<&JournalServer> = journal
            .servers
            .iter()
            .filter(|s| s.new_participant.is_some())
            .collect();
        let request = AbortRequest {
            plan: journal.plan.clone(),
        };
        let results = in_parallel(&recipients, |server| {
            let admin = self.admin(server, tokens)?;
            let status: LifecycleStatus = admin.lifecycle("abort", &request)?;
            Ok(status)
        });
        let mut failures = Vec::new();
        for (server, result) in recipients.iter().zip(results) {
            match result {
                Ok(status) => reporter.note(&format!("{}: {}", server.url, status.status)),
                Err(e) => failures.push(e.for_server(&server.url)),
            }
        }
        if !failures.is_empty() {
            return Err(Error::Failed(format!(
                "the round was rolled back on {} of {} servers; run `--abort` again when these \
                 answer:\n  - {}",
                recipients.len() - failures.len(),
                recipients.len(),
                failures.join("\n  - ")
            )));
        }
        Journal::remove(&path, keyset)
    }

    fn admin(&self, server: &JournalServer, tokens: &AdminTokens) -> Result<AdminClient> {
        let token = tokens.for_url(&server.url).cloned().ok_or_else(|| {
            Error::Usage(format!(
                "no admin token for {}; add a line `{} TOKEN` to the admin token file",
                server.url, server.url
            ))
        })?;
        let fingerprint = match &server.fingerprint {
            None => None,
            Some(text) => Some(parse_fingerprint(text).ok_or_else(|| {
                Error::Failed(format!(
                    "the round journal has a bad pin for {}",
                    server.url
                ))
            })?),
        };
        Ok(AdminClient::new(
            &server.url,
            fingerprint,
            token,
            &self.http_options(),
        )?)
    }

    /// Builds the plan: every server's identity fetched over its pinned
    /// TLS connection (and compared with the identity the config pins),
    /// dealers chosen among the reachable current servers.
    fn plan(
        &self,
        config: &Config,
        request: &RoundRequest,
        tokens: &AdminTokens,
        reporter: &dyn Reporter,
    ) -> Result<(Plan, Vec<JournalServer>, bool)> {
        let mut session = [0u8; 16];
        OsRng.fill_bytes(&mut session);
        let name = &request.keyset;
        // Every admin token first: a missing one is a usage error, not a
        // server that "does not answer".
        let mut urls: Vec<&str> = Vec::new();
        match &request.change {
            Change::Create { servers, .. } | Change::Reshare { servers, .. } => {
                urls.extend(servers.iter().map(|s| s.url.as_str()))
            }
            Change::Repair { server, .. } => urls.push(&server.url),
            Change::Refresh => {}
        }
        if let Some(entry) = config.entry(name) {
            urls.extend(entry.servers().iter().map(|s| s.url.as_str()));
        }
        let missing: Vec<&str> = urls
            .iter()
            .copied()
            .filter(|u| tokens.for_url(u).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Usage(format!(
                "no admin token for {}; add a line `URL TOKEN` for each to the admin token file",
                missing.join(", ")
            )));
        }
        // The identity over the pinned TLS connection; a pinned one that
        // differs is fatal, an unreachable server is the caller's call.
        let fetch = |arg: &ServerArg,
                     pinned: Option<&IdentityPublic>|
         -> Result<Result<IdentityPublic>> {
            let token = tokens
                .for_url(&arg.url)
                .cloned()
                .unwrap_or_else(|| Token::new(String::new()));
            let admin = AdminClient::new(&arg.url, arg.fingerprint, token, &self.http_options())?;
            let identity = match admin.identity() {
                Ok(identity) => identity,
                Err(e) => return Ok(Err(e.into())),
            };
            if let Some(pinned) = pinned {
                if pinned != &identity {
                    return Err(Error::Failed(format!(
                        "{} presents identity {} but the config pins {}: it is not the same \
                         server (if its disk was replaced, use `keyset repair`)",
                        arg.url,
                        hex(&identity.fingerprint()[..8]),
                        hex(&pinned.fingerprint()[..8])
                    )));
                }
            }
            Ok(Ok(identity))
        };
        // A server that must take part.
        let required =
            |arg: &ServerArg, pinned: Option<&IdentityPublic>| -> Result<IdentityPublic> {
                fetch(arg, pinned)?.map_err(|e| {
                    Error::Failed(format!(
                        "{} does not answer ({}); start it and retry",
                        arg.url,
                        e.chain()
                    ))
                })
            };
        let journal_server = |arg: &ServerArg, identity: &IdentityPublic| JournalServer {
            url: arg.url.clone(),
            fingerprint: arg.fingerprint.as_ref().map(format_fingerprint),
            identity: identity.to_text(),
            old_participant: None,
            new_participant: None,
        };
        if let Change::Create {
            threshold,
            servers,
            make_default,
        } = &request.change
        {
            if config.entry(name).is_some() {
                return Err(Error::Usage(format!(
                    "keyset {name:?} already exists in the config"
                )));
            }
            let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
            super::admin::check_servers(*threshold, &urls)?;
            let mut members = Vec::new();
            let mut journal = Vec::new();
            for (i, arg) in servers.iter().enumerate() {
                let identity = required(arg, None)?;
                let participant = id_at(i)?;
                let mut js = journal_server(arg, &identity);
                js.new_participant = Some(participant);
                journal.push(js);
                members.push(Member {
                    participant,
                    identity,
                });
            }
            let plan = Plan {
                session,
                operation: Operation::Create,
                from: None,
                to_epoch: 0,
                threshold: *threshold,
                dealers: (1..=id_at(servers.len() - 1)?).collect(),
                old_members: Vec::new(),
                new_members: members,
            };
            plan.check().map_err(|e| Error::Usage(e.to_string()))?;
            return Ok((plan, journal, *make_default));
        }

        let entry = config
            .entry(name)
            .ok_or_else(|| Error::Usage(format!("keyset {name:?} is not in the config")))?;
        let from = entry.public().clone();
        // The current servers: identity, or why it cannot be reached.
        let mut current: Vec<(ServerEntry, Result<IdentityPublic>)> = Vec::new();
        let skip = match &request.change {
            Change::Repair { participant, .. } => {
                if entry
                    .servers()
                    .iter()
                    .all(|s| s.participant != *participant)
                {
                    return Err(Error::Usage(format!(
                        "participant {participant} is not in keyset {name:?}"
                    )));
                }
                Some(*participant)
            }
            _ => None,
        };
        for server in entry.servers() {
            if Some(server.participant) == skip {
                continue;
            }
            let arg = ServerArg {
                url: server.url.clone(),
                fingerprint: server.fingerprint,
            };
            let identity = fetch(&arg, server.identity.as_ref())?;
            current.push((server.clone(), identity));
        }
        let reachable: Vec<(&ServerEntry, &IdentityPublic)> = current
            .iter()
            .filter_map(|(s, i)| i.as_ref().ok().map(|i| (s, i)))
            .collect();
        let t = usize::from(from.threshold());
        if reachable.len() < t {
            let down: Vec<String> = current
                .iter()
                .filter_map(|(s, i)| {
                    i.as_ref()
                        .err()
                        .map(|e| format!("{} ({})", s.url, e.chain()))
                })
                .collect();
            return Err(Error::Failed(format!(
                "only {} of the keyset's servers answer and {t} are needed to deal; start these \
                 and retry: {}",
                reachable.len(),
                down.join(", ")
            )));
        }
        let dealers: Vec<(&ServerEntry, &IdentityPublic)> = reachable[..t].to_vec();
        let old_of = |s: &ServerEntry, i: &IdentityPublic| Member {
            participant: s.participant,
            identity: i.clone(),
        };
        let mut journal: Vec<JournalServer> = Vec::new();
        let mut old_members: Vec<Member> = dealers.iter().map(|(s, i)| old_of(s, i)).collect();
        let (operation, threshold, new_members) = match &request.change {
            Change::Create { .. } => unreachable!("handled above"),
            Change::Refresh | Change::Repair { .. } => {
                let mut members = Vec::new();
                for (server, identity) in &current {
                    let identity = identity.as_ref().map_err(|e| {
                        Error::Failed(format!(
                            "{} does not answer ({}); every server takes part in a {}: start \
                             it and retry, or if its disk is lost, use `keyset repair \
                             --participant {}`",
                            server.url,
                            e.chain(),
                            if skip.is_some() { "repair" } else { "refresh" },
                            server.participant
                        ))
                    })?;
                    let mut js = journal_server(
                        &ServerArg {
                            url: server.url.clone(),
                            fingerprint: server.fingerprint,
                        },
                        identity,
                    );
                    js.old_participant = Some(server.participant);
                    js.new_participant = Some(server.participant);
                    journal.push(js);
                    members.push(old_of(server, identity));
                }
                let operation = if let Change::Repair {
                    participant,
                    server,
                } = &request.change
                {
                    if entry.servers().iter().any(|s| {
                        normal(&s.url) == normal(&server.url) && s.participant != *participant
                    }) {
                        return Err(Error::Usage(format!(
                            "{} already serves another participant of this keyset",
                            server.url
                        )));
                    }
                    let identity = required(server, None)?;
                    let mut js = journal_server(server, &identity);
                    js.new_participant = Some(*participant);
                    journal.push(js);
                    members.push(Member {
                        participant: *participant,
                        identity,
                    });
                    members.sort_by_key(|m| m.participant);
                    Operation::Repair
                } else {
                    Operation::Refresh
                };
                (operation, from.threshold(), members)
            }
            Change::Reshare { threshold, servers } => {
                let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
                super::admin::check_servers(*threshold, &urls)?;
                let mut members = Vec::new();
                for (i, arg) in servers.iter().enumerate() {
                    let staying = current
                        .iter()
                        .find(|(s, _)| normal(&s.url) == normal(&arg.url));
                    let pinned = staying.and_then(|(s, _)| s.identity.as_ref());
                    let identity = required(arg, pinned)?;
                    let participant = id_at(i)?;
                    let mut js = journal_server(arg, &identity);
                    js.old_participant = staying.map(|(s, _)| s.participant);
                    js.new_participant = Some(participant);
                    journal.push(js);
                    members.push(Member {
                        participant,
                        identity,
                    });
                }
                // Current servers that leave: told to delete their share
                // if they answer.
                for (server, identity) in &current {
                    if servers
                        .iter()
                        .any(|a| normal(&a.url) == normal(&server.url))
                    {
                        continue;
                    }
                    match identity {
                        Ok(identity) => {
                            let mut js = journal_server(
                                &ServerArg {
                                    url: server.url.clone(),
                                    fingerprint: server.fingerprint,
                                },
                                identity,
                            );
                            js.old_participant = Some(server.participant);
                            journal.push(js);
                            if !old_members
                                .iter()
                                .any(|m| m.participant == server.participant)
                            {
                                old_members.push(old_of(server, identity));
                            }
                        }
                        Err(_) => reporter.warn(&format!(
                            "{} leaves the keyset but does not answer: it keeps its old share \
                             (useless with the new ones, but destroy that server's state)",
                            server.url
                        )),
                    }
                }
                (Operation::Reshare, *threshold, members)
            }
        };
        // Dealers that do not stay are in the journal too (they deal).
        for (server, identity) in &dealers {
            if !journal
                .iter()
                .any(|j| j.old_participant == Some(server.participant))
            {
                let mut js = journal_server(
                    &ServerArg {
                        url: server.url.clone(),
                        fingerprint: server.fingerprint,
                    },
                    identity,
                );
                js.old_participant = Some(server.participant);
                journal.push(js);
            }
        }
        old_members.sort_by_key(|m| m.participant);
        let mut dealer_ids: Vec<u16> = dealers.iter().map(|(s, _)| s.participant).collect();
        dealer_ids.sort_unstable();
        let plan = Plan {
            session,
            operation,
            to_epoch: from.epoch() + 1,
            from: Some(from),
            threshold,
            dealers: dealer_ids,
            old_members,
            new_members,
        };
        plan.check().map_err(|e| Error::Usage(e.to_string()))?;
        Ok((plan, journal, false))
    }

    /// Runs a journaled round from wherever it stopped.
    fn run_round(
        &self,
        mut journal: Journal,
        tokens: &AdminTokens,
        reporter: &dyn Reporter,
        mut round_trips: usize,
    ) -> Result<RoundReport> {
        let path = self.config_path()?;
        let plan = journal
            .plan
            .to_plan()
            .map_err(|e| Error::Failed(format!("the round journal's plan: {e}")))?;
        // One connection per server for the whole round (kept alive
        // between steps: a WAN round trip per step, not a handshake too).
        let admins = Admins(
            journal
                .servers
                .iter()
                .map(|s| Ok((s.url.clone(), self.admin(s, tokens)?)))
                .collect::<Result<_>>()?,
        );
        if !journal.committing {
            if journal.deals.is_none() {
                let deals = match self.collect_deals(&journal, &plan, &admins, reporter) {
                    Ok(deals) => deals,
                    Err(e) => {
                        // Dealing keeps no state anywhere: nothing to roll
                        // back, so the round is simply dropped.
                        Journal::remove(&path, &journal.keyset)?;
                        return Err(e.context(format!(
                            "the {} did not start (nothing changed anywhere)",
                            plan.operation.name()
                        )));
                    }
                };
                journal.deals = Some(deals);
                round_trips += 1;
                journal.save(&path)?;
                crash_point("dealt");
            }
            let deals = to_deals(journal.deals.as_deref().unwrap_or_default())
                .map_err(|e| Error::Failed(format!("the round journal's deals: {e}")))?;
            let transcript =
                lifecycle::check_deals(&plan, &deals).map_err(|e| Error::Failed(e.to_string()))?;
            let expected =
                lifecycle::new_keyset(&plan, &deals).map_err(|e| Error::Failed(e.to_string()))?;
            journal.transcript = Some(hex(&transcript));
            journal.keyset_after = Some(WireEpoch::from(&expected));
            let outcome = self.collect_confirmations(
                &mut journal,
                &plan,
                &transcript,
                &expected,
                &admins,
                reporter,
            );
            round_trips += 1;
            journal.save(&path)?;
            outcome?;
            crash_point("staged");
            journal.committing = true;
            journal.save(&path)?;
        }
        let transcript = journal.transcript.clone().unwrap_or_default();
        let commit = CommitRequest {
            plan: journal.plan.clone(),
            transcript: transcript.clone(),
            confirmations: journal.confirmations.clone(),
        };
        let parties: Vec<&JournalServer> = journal
            .servers
            .iter()
            .filter(|s| {
                s.new_participant.is_some()
                    || (s.old_participant.is_some()
                        && plan
                            .old_members
                            .iter()
                            .any(|m| Some(m.participant) == s.old_participant))
            })
            .collect();
        if let Some(first) = crash_limit("commit") {
            // Commit at the first `first` parties only, then "crash".
            let some: Vec<&JournalServer> = parties.iter().take(first).copied().collect();
            let _ = in_parallel(&some, |server| {
                let status: LifecycleStatus = admins.get(server)?.lifecycle("commit", &commit)?;
                Ok(status)
            });
            crash_point("commit");
        }
        let results = in_parallel(&parties, |server| {
            let status: LifecycleStatus = admins.get(server)?.lifecycle("commit", &commit)?;
            Ok(status)
        });
        round_trips += 1;
        let mut committed = 0;
        let mut warnings = Vec::new();
        let mut pending = Vec::new();
        for (server, result) in parties.iter().zip(results) {
            match result {
                Ok(status) => {
                    if server.new_participant.is_some() {
                        committed += 1;
                    }
                    reporter.note(&format!("{}: {}", server.url, status.status));
                }
                Err(e) => pending.push(e.for_server(&server.url)),
            }
        }
        let members = journal
            .servers
            .iter()
            .filter(|s| s.new_participant.is_some())
            .count();
        if committed < usize::from(plan.threshold) {
            return Err(Error::Failed(format!(
                "the new epoch is in place on {committed} of {members} servers, fewer than its \
                 threshold {}; run the same command with `--resume` when these answer (files \
                 stay decryptable meanwhile only through servers still on the old epoch):\n  - {}",
                plan.threshold,
                pending.join("\n  - ")
            )));
        }
        let keyset = journal
            .keyset_after
            .as_ref()
            .ok_or_else(|| Error::Failed("the round journal has no new keyset".into()))?
            .to_keyset()
            .map_err(|e| Error::Failed(e.to_string()))?;
        let (config_path, tokens_created) =
            self.record_round(&journal, &plan, &keyset, &admins, reporter, &mut warnings)?;
        if tokens_created {
            round_trips += 1;
        }
        if pending.is_empty() {
            Journal::remove(&path, &journal.keyset)?;
        } else {
            warnings.push(format!(
                "not yet switched (run the same command with `--resume` when they answer):\n  - {}",
                pending.join("\n  - ")
            ));
        }
        Ok(RoundReport {
            operation: plan.operation,
            keyset_id: *keyset.id(),
            epoch: keyset.epoch(),
            threshold: keyset.threshold(),
            servers: keyset.shares().len(),
            config_path,
            round_trips,
            warnings,
        })
    }

    /// Round 1: one deal from every dealer, checked here too so a bad one
    /// is named before anyone stages anything.
    fn collect_deals(
        &self,
        journal: &Journal,
        plan: &Plan,
        admins: &Admins,
        reporter: &dyn Reporter,
    ) -> Result<Vec<WireDeal>> {
        let dealers: Vec<&JournalServer> = plan
            .dealers
            .iter()
            .map(|id| {
                journal
                    .servers
                    .iter()
                    .find(|s| match plan.operation {
                        Operation::Create => s.new_participant == Some(*id),
                        _ => s.old_participant == Some(*id),
                    })
                    .ok_or_else(|| Error::Failed(format!("no server for dealer {id}")))
            })
            .collect::<Result<_>>()?;
        let request = DealRequest {
            plan: journal.plan.clone(),
        };
        let results = in_parallel(&dealers, |server| {
            let deal: WireDeal = admins
                .get(server)?
                .lifecycle("deal", &request)
                .step(|| format!("{} did not deal", server.url))?;
            Ok(deal)
        });
        let deals = results.into_iter().collect::<Result<Vec<_>>>()?;
        let decoded = to_deals(&deals).map_err(|e| Error::Failed(e.to_string()))?;
        lifecycle::check_deals(plan, &decoded).map_err(|e| Error::Failed(e.to_string()))?;
        reporter.note(&format!(
            "{} servers sent their contributions, sealed to the others",
            deals.len()
        ));
        Ok(deals)
    }

    /// Round 2: every new member's confirmation of the transcript, each
    /// checked (its signature, and that it computed the same public
    /// keyset); the ones gathered are kept even if others fail.
    fn collect_confirmations(
        &self,
        journal: &mut Journal,
        plan: &Plan,
        transcript: &[u8; 32],
        expected: &PublicKeyset,
        admins: &Admins,
        reporter: &dyn Reporter,
    ) -> Result<()> {
        let request = ReceiveRequest {
            plan: journal.plan.clone(),
            deals: journal.deals.clone().unwrap_or_default(),
        };
        let missing: Vec<&JournalServer> = journal
            .servers
            .iter()
            .filter(|s| {
                s.new_participant
                    .is_some_and(|id| !journal.confirmations.iter().any(|c| c.participant == id))
            })
            .collect();
        let results = in_parallel(&missing, |server| {
            let answer: ReceiveResponse = admins
                .get(server)?
                .lifecycle("receive", &request)
                .step(|| format!("{} did not stage its new share", server.url))?;
            check_receipt(server, plan, transcript, expected, &answer)?;
            Ok(answer.confirmation)
        });
        let mut failures = Vec::new();
        let mut gathered = Vec::new();
        for (server, result) in missing.iter().zip(results) {
            match result {
                Ok(confirmation) => gathered.push(confirmation),
                Err(e) => failures.push(e.for_server(&server.url)),
            }
        }
        journal.confirmations.extend(gathered);
        journal.confirmations.sort_by_key(|c| c.participant);
        if !failures.is_empty() {
            return Err(Error::Failed(format!(
                "{} of {} new members staged their share; nothing has changed yet. Run the same \
                 command with `--resume` when these answer, or `--abort` to roll back:\n  - {}",
                plan.new_members.len() - failures.len(),
                plan.new_members.len(),
                failures.join("\n  - ")
            )));
        }
        reporter.note(&format!(
            "{} new members confirmed the transcript",
            journal.confirmations.len()
        ));
        Ok(())
    }

    /// Records the new epoch in the config: public shares, servers with
    /// their pins and identities, and a client token from every server
    /// that has none for this keyset yet. Returns whether tokens were made.
    fn record_round(
        &self,
        journal: &Journal,
        plan: &Plan,
        keyset: &PublicKeyset,
        admins: &Admins,
        reporter: &dyn Reporter,
        warnings: &mut Vec<String>,
    ) -> Result<(std::path::PathBuf, bool)> {
        let path = self.config_path()?;
        let mut config = load_or_new(&path)?;
        let old: BTreeMap<String, ServerEntry> = config
            .entry(&journal.keyset)
            .map(|e| {
                e.servers()
                    .iter()
                    .map(|s| (normal(&s.url), s.clone()))
                    .collect()
            })
            .unwrap_or_default();
        // Already recorded (a resume after the config was written).
        if config
            .entry(&journal.keyset)
            .is_some_and(|e| e.public() == keyset)
        {
            return Ok((path, false));
        }
        let id_hex = hex(keyset.id());
        let mut servers = Vec::new();
        let mut created = false;
        for server in journal
            .servers
            .iter()
            .filter(|s| s.new_participant.is_some())
        {
            let participant = server.new_participant.unwrap_or_default();
            let identity = plan.new_member(participant).map(|m| m.identity.clone());
            let fingerprint = server.fingerprint.as_deref().and_then(parse_fingerprint);
            let kept = old
                .get(&normal(&server.url))
                .filter(|_| plan.operation != Operation::Create)
                .map(|s| s.token.clone());
            let token = match kept {
                Some(token) => token,
                None => {
                    created = true;
                    match admins
                        .get(server)
                        .and_then(|admin| create_client(admin, &journal.client_name, &id_hex))
                    {
                        Ok(answer) => {
                            if answer.name != journal.client_name {
                                reporter.note(&format!(
                                    "{} already has a client {:?} (from an earlier time in this \
                                     keyset); this machine's new client there is {:?}",
                                    server.url, journal.client_name, answer.name
                                ));
                            }
                            TokenSource::Inline(Token::new(answer.token.clone()))
                        }
                        Err(e) => {
                            warnings.push(format!(
                                "no client token from {}: {}; create one there for keyset {} \
                                 and add it to the config",
                                server.url,
                                e.chain(),
                                journal.keyset
                            ));
                            TokenSource::None
                        }
                    }
                }
            };
            servers.push(ServerEntry {
                participant,
                url: server.url.clone(),
                fingerprint,
                identity,
                token,
            });
        }
        let client = match plan.operation {
            Operation::Create => Some(journal.client_name.clone()),
            _ => config
                .entry(&journal.keyset)
                .and_then(|e| e.client().map(str::to_string)),
        };
        let recovery = config
            .entry(&journal.keyset)
            .and_then(|e| e.recovery().cloned());
        let entry = KeysetEntry::new(keyset.clone(), servers)?
            .with_client(client)
            .with_recovery(recovery);
        config.replace_keyset(&journal.keyset, entry)?;
        if journal.make_default || config.default_keyset().is_none() {
            config.set_default_keyset(Some(&journal.keyset))?;
        }
        config.save(&path)?;
        Ok((path, created))
    }
}

/// Creates client `name` granted `keyset_id`, or, if a client of that name
/// exists there (a server that left the keyset and rejoins keeps its old
/// clients), `name-2`, `name-3`, ...
fn create_client(
    admin: &AdminClient,
    name: &str,
    keyset_id: &str,
) -> Result<crate::protocol::CreateClientResponse> {
    let mut last = None;
    for attempt in 1..=9 {
        let candidate = if attempt == 1 {
            name.to_string()
        } else {
            format!("{name}-{attempt}")
        };
        match admin.create_client(&CreateClientRequest {
            name: candidate,
            keysets: vec![keyset_id.to_string()],
        }) {
            Ok(answer) => return Ok(answer),
            Err(HttpError::Status { status: 409, .. }) => last = Some(attempt),
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Failed(format!(
        "clients {name} to {name}-{} all exist",
        last.unwrap_or(9)
    )))
}

/// The admin connections of a round's servers, by URL.
struct Admins(Vec<(String, AdminClient)>);

impl Admins {
    fn get(&self, server: &JournalServer) -> Result<&AdminClient> {
        self.0
            .iter()
            .find(|(url, _)| url == &server.url)
            .map(|(_, admin)| admin)
            .ok_or_else(|| Error::Failed(format!("no connection to {}", server.url)))
    }
}

/// Checks one new member's answer to receive.
fn check_receipt(
    server: &JournalServer,
    plan: &Plan,
    transcript: &[u8; 32],
    expected: &PublicKeyset,
    answer: &ReceiveResponse,
) -> Result<()> {
    let id = server.new_participant.unwrap_or_default();
    let lied = |what: &str| Error::Failed(format!("{} {what}", server.url));
    if parse_hex32(&answer.transcript) != Some(*transcript) {
        return Err(lied(
            "confirmed a different transcript: the messages it saw were altered",
        ));
    }
    if answer.confirmation.participant != id {
        return Err(lied("confirmed as another participant"));
    }
    let confirmations =
        crate::lifecycle::wire::to_confirmations(std::slice::from_ref(&answer.confirmation))
            .map_err(|e| Error::Failed(e.to_string()))?;
    let member = plan
        .new_member(id)
        .ok_or_else(|| lied("is not a new member"))?;
    member
        .identity
        .verify(
            &lifecycle::confirmation_bytes(transcript, id),
            &confirmations[0].signature,
        )
        .map_err(|_| lied("sent a confirmation its identity did not sign"))?;
    let theirs = answer
        .keyset
        .to_keyset()
        .map_err(|e| Error::Failed(format!("{}: {e}", server.url)))?;
    if &theirs != expected {
        return Err(lied("computed different public shares"));
    }
    Ok(())
}

/// Test hook: `SHARDLOCK_TEST_CRASH_AFTER=dealt|staged|commit:N` makes a
/// debug build exit at once after that step (after committing at the first
/// N parties), as a coordinator killed there would. Release builds ignore
/// it.
const CRASH_ENV: &str = "SHARDLOCK_TEST_CRASH_AFTER";

fn crash_point(step: &str) {
    if cfg!(debug_assertions) {
        if let Ok(wanted) = std::env::var(CRASH_ENV) {
            if wanted.split(':').next() == Some(step) {
                std::process::exit(137);
            }
        }
    }
}

fn crash_limit(step: &str) -> Option<usize> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let wanted = std::env::var(CRASH_ENV).ok()?;
    let (name, count) = wanted.split_once(':')?;
    (name == step).then(|| count.parse().ok()).flatten()
}

/// Participant id of the `i`-th server (0-based) in a list.
fn id_at(i: usize) -> Result<u16> {
    u16::try_from(i + 1)
        .ok()
        .filter(|&id| usize::from(id) <= lifecycle::MAX_MEMBERS)
        .ok_or_else(|| {
            Error::Usage(format!(
                "at most {} servers per keyset",
                lifecycle::MAX_MEMBERS
            ))
        })
}

fn load_or_new(path: &std::path::Path) -> Result<Config> {
    Ok(if path.exists() {
        Config::load(path)?
    } else {
        Config::new()
    })
}

/// Runs `f` for every server at once (one thread each: a round's latency
/// is one round trip to the slowest server, not the sum).
fn in_parallel<T: Send>(
    servers: &[&JournalServer],
    f: impl Fn(&JournalServer) -> Result<T> + Sync,
) -> Vec<Result<T>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .map(|server| scope.spawn(|| f(server)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Failed("a request thread failed".into())))
            })
            .collect()
    })
}
