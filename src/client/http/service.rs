//! [`HttpKeyService`]: the key service over HTTPS. Each evaluate request
//! runs on its own thread; [`super::hedge`] decides whom to ask when, and
//! the run's [`RunHealth`] remembers who failed.

use std::fmt;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Duration;

use curve25519_dalek::ristretto::RistrettoPoint;

use super::health::RunHealth;
use super::hedge::{self, Done, Fanout};
use super::transport::{Connection, Method};
use super::{HttpError, HttpOptions};
use crate::client::ServerEndpoint;
use crate::encoding::{hex, unb64};
use crate::protocol::{b64_element, unb64_element, EvaluateRequest, EvaluateResponse, Token};
use crate::threshold::kem::{Evaluation, Fault, KeyService, PublicKeyset, ServiceError};
use crate::threshold::voprf::Proof;

struct Server {
    participant: u16,
    connection: Connection,
    token: Option<Token>,
}

/// Evaluates blinded elements on key-share servers over HTTPS for
/// [`crate::threshold::kem::decapsulate_batch`]: asks `t` servers at once,
/// hedges a slow one with a spare, and skips for the rest of the run (of
/// every service sharing its [`RunHealth`]) a server that failed.
pub struct HttpKeyService {
    /// Shared with request threads that may outlive one `gather`.
    servers: Vec<Arc<Server>>,
    health: RunHealth,
    timeout: Duration,
}

impl fmt::Debug for HttpKeyService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.servers
                    .iter()
                    .map(|s| (s.participant, &s.connection.base)),
            )
            .finish()
    }
}

impl HttpKeyService {
    /// One connection per endpoint, with a memory of its own. Fails on an
    /// invalid or refused URL or a participant configured twice;
    /// unreachable servers are only found when asked.
    pub fn new(endpoints: Vec<ServerEndpoint>, options: HttpOptions) -> Result<Self, HttpError> {
        Self::with_health(endpoints, options, RunHealth::new())
    }

    /// Like [`HttpKeyService::new`], sharing `health` with the other key
    /// services of the run.
    pub fn with_health(
        endpoints: Vec<ServerEndpoint>,
        options: HttpOptions,
        health: RunHealth,
    ) -> Result<Self, HttpError> {
        let mut servers: Vec<Arc<Server>> = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            if servers
                .iter()
                .any(|s| s.participant == endpoint.participant)
            {
                return Err(HttpError::DuplicateParticipant(endpoint.participant));
            }
            servers.push(Arc::new(Server {
                participant: endpoint.participant,
                connection: Connection::new(&endpoint.url, endpoint.fingerprint, &options)?,
                token: endpoint.token,
            }));
        }
        Ok(Self {
            servers,
            health,
            timeout: options.timeout,
        })
    }

    fn server(&self, participant: u16) -> Option<&Arc<Server>> {
        self.servers.iter().find(|s| s.participant == participant)
    }
}

impl Server {
    /// One evaluate request, decoded.
    fn evaluate(&self, keyset_id: &str, body: &[u8]) -> Result<Evaluation, HttpError> {
        let connection = &self.connection;
        let token = self.token.as_ref().ok_or_else(|| HttpError::MissingToken {
            url: connection.base.clone(),
        })?;
        let response: EvaluateResponse = connection.json(
            Method::Post,
            &format!("/v1/keys/{keyset_id}/evaluate"),
            Some(token),
            Some(body),
        )?;
        let malformed = |reason: String| HttpError::Malformed {
            url: connection.base.clone(),
            reason,
        };
        let evaluated = response
            .evaluated
            .iter()
            .enumerate()
            .map(|(i, text)| {
                unb64_element(text).ok_or_else(|| {
                    malformed(format!(
                        "evaluated element {i} is not a canonical non-identity group element"
                    ))
                })
            })
            .collect::<Result<Vec<RistrettoPoint>, _>>()?;
        let proof = unb64(&response.proof)
            .and_then(|bytes| Proof::from_bytes(&bytes).ok())
            .ok_or_else(|| malformed("the proof is not 64 bytes of canonical scalars".into()))?;
        Ok(Evaluation { evaluated, proof })
    }
}

/// One batch's requests: the encoded body, shared by every request thread.
struct Requests<'a> {
    service: &'a HttpKeyService,
    keyset_id: Arc<str>,
    body: Arc<[u8]>,
}

impl Fanout for Requests<'_> {
    fn launch(&self, id: u16, done: Sender<Done>) {
        let Some(server) = self.service.server(id).cloned() else {
            let _ = done.send(Done {
                id,
                result: Err(ServiceError::Refused(format!(
                    "no server is configured for participant {id}"
                ))),
            });
            return;
        };
        let (keyset_id, body) = (Arc::clone(&self.keyset_id), Arc::clone(&self.body));
        let health = self.service.health.clone();
        let fallback = done.clone();
        // Not scoped: the caller stops waiting once `t` answers are
        // verified, and a hung server's request then ends on its own at
        // its deadline. Its failure still reaches the run's memory.
        let spawned = std::thread::Builder::new()
            .name(format!("shardlock-evaluate-{id}"))
            .spawn(move || {
                let result = server.evaluate(&keyset_id, &body);
                if result.is_err() {
                    health.failed(&server.connection.base);
                }
                // The receiver is gone when enough others answered first.
                let _ = done.send(Done {
                    id,
                    result: result.map_err(HttpError::into_service_error),
                });
            });
        if spawned.is_err() {
            // Every launch must end in exactly one `Done`.
            let _ = fallback.send(Done {
                id,
                result: Err(ServiceError::Unavailable(
                    "cannot start a request thread".into(),
                )),
            });
        }
    }

    fn key(&self, id: u16) -> String {
        self.service
            .server(id)
            .map(|s| s.connection.base.clone())
            .unwrap_or_else(|| format!("participant {id}"))
    }
}

impl HttpKeyService {
    fn requests(&self, keyset: &PublicKeyset, blinded: &[RistrettoPoint]) -> Option<Requests<'_>> {
        let request = EvaluateRequest {
            blinded: blinded.iter().map(b64_element).collect(),
            epoch: Some(keyset.epoch()),
        };
        let body = serde_json::to_vec(&request).ok()?;
        Some(Requests {
            service: self,
            keyset_id: hex(keyset.id()).into(),
            body: body.into(),
        })
    }
}

impl KeyService for HttpKeyService {
    /// Asks every listed server at once and waits for all of them (each
    /// request ends by its deadline). Decapsulation uses
    /// [`KeyService::gather`] instead, which does not wait for stragglers.
    fn evaluate(
        &self,
        keyset: &PublicKeyset,
        participants: &[u16],
        blinded: &[RistrettoPoint],
    ) -> Vec<Result<Evaluation, ServiceError>> {
        let Some(requests) = self.requests(keyset, blinded) else {
            return participants
                .iter()
                .map(|_| Err(ServiceError::Malformed("cannot encode the request".into())))
                .collect();
        };
        let (sender, receiver) = mpsc::channel();
        for &id in participants {
            requests.launch(id, sender.clone());
        }
        drop(sender);
        let mut results: Vec<Option<Result<Evaluation, ServiceError>>> =
            vec![None; participants.len()];
        for done in receiver {
            if let Some(position) = participants.iter().position(|&p| p == done.id) {
                results[position] = Some(done.result);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(ServiceError::Unavailable(
                        "the request thread failed".into(),
                    ))
                })
            })
            .collect()
    }

    fn gather(
        &self,
        keyset: &PublicKeyset,
        candidates: &[u16],
        needed: usize,
        blinded: &[RistrettoPoint],
        check: &mut dyn FnMut(u16, Result<Evaluation, ServiceError>) -> Result<Evaluation, Fault>,
    ) -> Vec<(u16, Result<Evaluation, Fault>)> {
        let Some(requests) = self.requests(keyset, blinded) else {
            let fault =
                || Fault::Service(ServiceError::Malformed("cannot encode the request".into()));
            return candidates.iter().map(|&id| (id, Err(fault()))).collect();
        };
        hedge::gather(
            &requests,
            &self.health,
            self.timeout,
            blinded.len(),
            candidates,
            needed,
            check,
        )
    }

    fn describe(&self, participant: u16) -> String {
        self.server(participant)
            .map(|s| s.connection.base.clone())
            .unwrap_or_else(|| format!("participant {participant} (no server configured)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::http::AdminClient;

    #[test]
    fn debug_output_hides_tokens() {
        let admin = AdminClient::new(
            "https://127.0.0.1:1",
            Some([7; 32]),
            Token::new("slk_secret".into()),
            &HttpOptions::default(),
        )
        .unwrap();
        assert!(!format!("{admin:?}").contains("slk_secret"));
        let service = HttpKeyService::new(
            vec![ServerEndpoint {
                participant: 1,
                url: "https://127.0.0.1:1".into(),
                fingerprint: None,
                token: Some(Token::new("slk_secret".into())),
            }],
            HttpOptions::default(),
        )
        .unwrap();
        assert!(!format!("{service:?}").contains("slk_secret"));
        assert_eq!(service.describe(1), "https://127.0.0.1:1");
        assert!(service.describe(2).contains("no server configured"));
    }
}
