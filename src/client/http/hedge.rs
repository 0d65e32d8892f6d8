//! The fan-out scheduler: asks `t` servers, asks a spare as well when one
//! of them is slow (hedging), replaces a failed one at once, and returns as
//! soon as `t` answers have been verified (docs/DESIGN.md section 5).
//!
//! Requests run on their own threads and are never waited for once enough
//! verified answers are in: a hung server's request ends alone, at its
//! deadline, and its failure is still recorded in the run's [`RunHealth`].
//! Verification (the caller's `check`) runs here, on the calling thread,
//! so only verified answers count and a lying server is still named.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::health::{RunHealth, Standing};
use crate::threshold::kem::{Evaluation, Fault, ServiceError};

/// One finished request.
pub(super) struct Done {
    pub(super) id: u16,
    pub(super) result: Result<Evaluation, ServiceError>,
}

/// How the scheduler reaches servers; the HTTPS key service, or a test
/// double.
pub(super) trait Fanout {
    /// Starts asking participant `id` in the background; the outcome must
    /// be sent to `done` exactly once, however it ends.
    fn launch(&self, id: u16, done: Sender<Done>);
    /// The key of `id` in the run's health memory (its URL).
    fn key(&self, id: u16) -> String;
}

/// A request in flight.
struct Asked {
    id: u16,
    started: Instant,
    /// A spare was asked because this one was slow: it no longer counts
    /// towards `needed`, but its answer is still used if it comes first.
    covered: bool,
}

/// Gets `needed` answers that pass `check` from `candidates` (in the
/// caller's order of preference, re-ranked by their standing in this run),
/// hedging after [`RunHealth::hedge_delay`]. Returns every outcome judged,
/// in the order judged. Servers that failed earlier in the run are asked
/// only to replace a failure when nobody else is left, never as a hedge.
pub(super) fn gather(
    fanout: &dyn Fanout,
    health: &RunHealth,
    deadline: Duration,
    elements: usize,
    candidates: &[u16],
    needed: usize,
    check: &mut dyn FnMut(u16, Result<Evaluation, ServiceError>) -> Result<Evaluation, Fault>,
) -> Vec<(u16, Result<Evaluation, Fault>)> {
    let mut ranked: Vec<(u16, Standing)> = candidates
        .iter()
        .map(|&id| (id, health.standing(&fanout.key(id))))
        .collect();
    // Stable: the caller's order within one standing.
    ranked.sort_by_key(|&(_, standing)| standing);
    let mut spares = ranked.into_iter().peekable();

    let (sender, receiver) = mpsc::channel::<Done>();
    let mut asked: Vec<Asked> = Vec::new();
    let mut outcomes = Vec::new();
    let mut verified = 0;
    // Latency of the first verified answer to this request.
    let mut first: Option<Duration> = None;
    loop {
        // Keep enough uncovered requests in flight to reach `needed`. A
        // failed-before server is asked only when, even counting every slow
        // request in flight as a future answer, `needed` is out of reach:
        // as a replacement of last resort, never as a hedge.
        while verified + asked.iter().filter(|a| !a.covered).count() < needed {
            let next = match spares.peek() {
                Some(&(_, Standing::Failed)) if verified + asked.len() >= needed => None,
                Some(&(id, _)) => Some(id),
                None => None,
            };
            let Some(id) = next else { break };
            spares.next();
            fanout.launch(id, sender.clone());
            asked.push(Asked {
                id,
                started: Instant::now(),
                covered: false,
            });
        }
        if verified >= needed || asked.is_empty() {
            return outcomes;
        }
        let delay = health.hedge_delay(deadline, elements, first);
        let hedge_at = asked
            .iter()
            .filter(|a| !a.covered)
            .map(|a| a.started + delay)
            .min();
        let received = match hedge_at {
            Some(at) => receiver.recv_timeout(at.saturating_duration_since(Instant::now())),
            // Everything in flight is covered and no spare is left: wait
            // for whichever ends first (each request ends by its deadline).
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(done) => {
                let Some(position) = asked.iter().position(|a| a.id == done.id) else {
                    continue;
                };
                let request = asked.swap_remove(position);
                let latency = request.started.elapsed();
                let key = fanout.key(done.id);
                let outcome = check(done.id, done.result);
                match &outcome {
                    Ok(_) => {
                        verified += 1;
                        first.get_or_insert(latency);
                        health.answered(&key, elements, latency);
                    }
                    Err(_) => health.failed(&key),
                }
                outcomes.push((done.id, outcome));
            }
            Err(RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                for request in asked.iter_mut() {
                    if !request.covered && now >= request.started + delay {
                        request.covered = true;
                        health.slow(&fanout.key(request.id));
                    }
                }
            }
            // Cannot happen while `sender` lives; end rather than spin.
            Err(RecvTimeoutError::Disconnected) => return outcomes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use curve25519_dalek::scalar::Scalar;

    use super::*;
    use crate::threshold::voprf::Proof;

    /// How a test server behaves.
    #[derive(Clone, Copy)]
    enum Kind {
        /// Answers after this long.
        After(Duration),
        /// Fails after this long.
        FailsAfter(Duration),
        /// Never answers (well, not within the test).
        Hung,
        /// Answers at once, wrongly.
        Liar,
    }

    struct Servers {
        kinds: BTreeMap<u16, Kind>,
        asked: Arc<Mutex<Vec<u16>>>,
    }

    impl Servers {
        fn new(kinds: &[(u16, Kind)]) -> Self {
            Self {
                kinds: kinds.iter().copied().collect(),
                asked: Arc::default(),
            }
        }

        fn asked(&self) -> Vec<u16> {
            self.asked.lock().unwrap().clone()
        }
    }

    fn evaluation(liar: bool) -> Evaluation {
        Evaluation {
            evaluated: Vec::new(),
            proof: Proof {
                c: Scalar::from(u64::from(liar)),
                s: Scalar::ONE,
            },
        }
    }

    impl Fanout for Servers {
        fn launch(&self, id: u16, done: Sender<Done>) {
            self.asked.lock().unwrap().push(id);
            let kind = self.kinds[&id];
            std::thread::spawn(move || {
                let result = match kind {
                    Kind::After(d) => {
                        std::thread::sleep(d);
                        Ok(evaluation(false))
                    }
                    Kind::FailsAfter(d) => {
                        std::thread::sleep(d);
                        Err(ServiceError::Unavailable("refused the connection".into()))
                    }
                    Kind::Hung => {
                        std::thread::sleep(Duration::from_secs(30));
                        Err(ServiceError::Unavailable("timed out".into()))
                    }
                    Kind::Liar => Ok(evaluation(true)),
                };
                let _ = done.send(Done { id, result });
            });
        }

        fn key(&self, id: u16) -> String {
            format!("s{id}")
        }
    }

    /// Liars are caught by `check`, as the KEM's proof check would.
    fn check(_: u16, answer: Result<Evaluation, ServiceError>) -> Result<Evaluation, Fault> {
        let evaluation = answer?;
        if evaluation.proof.c == Scalar::ONE {
            Err(Fault::BadProof)
        } else {
            Ok(evaluation)
        }
    }

    fn run(servers: &Servers, health: &RunHealth, order: &[u16]) -> (Vec<u16>, Duration) {
        let started = Instant::now();
        let outcomes = gather(
            servers,
            health,
            Duration::from_secs(10),
            1,
            order,
            2,
            &mut check,
        );
        // Sorted: which of two equally fast servers answers first is a race.
        let mut ok: Vec<u16> = outcomes
            .iter()
            .filter(|(_, o)| o.is_ok())
            .map(|(id, _)| *id)
            .collect();
        ok.sort_unstable();
        (ok, started.elapsed())
    }

    const FAST: Duration = Duration::from_millis(5);

    #[test]
    fn a_hung_server_is_hedged_and_skipped_afterwards() {
        let servers = Servers::new(&[
            (1, Kind::Hung),
            (2, Kind::After(FAST)),
            (3, Kind::After(FAST)),
        ]);
        let health = RunHealth::new();
        let (ok, took) = run(&servers, &health, &[1, 2, 3]);
        assert_eq!(ok, vec![2, 3]);
        // The hedge fired after about the floor, nowhere near the 30 s
        // hang (a generous bound for a loaded machine).
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(health.standing("s1"), Standing::Slow);
        // The next batch asks the two good servers first and nobody else.
        let (ok, _) = run(&servers, &health, &[1, 2, 3]);
        assert_eq!(ok, vec![2, 3]);
        let mut asked = servers.asked();
        asked[3..].sort_unstable();
        assert_eq!(asked, vec![1, 2, 3, 2, 3]);
    }

    #[test]
    fn a_failure_is_replaced_at_once_and_not_asked_again() {
        let servers = Servers::new(&[
            (1, Kind::FailsAfter(Duration::ZERO)),
            (2, Kind::After(FAST)),
            (3, Kind::After(FAST)),
        ]);
        let health = RunHealth::new();
        assert_eq!(run(&servers, &health, &[1, 2, 3]).0, vec![2, 3]);
        assert_eq!(health.standing("s1"), Standing::Failed);
        for _ in 0..3 {
            run(&servers, &health, &[1, 2, 3]);
        }
        let asked = servers.asked();
        assert_eq!(asked.iter().filter(|&&id| id == 1).count(), 1, "{asked:?}");
    }

    #[test]
    fn a_failed_server_is_the_last_resort_but_never_a_hedge() {
        let servers = Servers::new(&[
            (1, Kind::After(FAST)),
            (2, Kind::After(Duration::from_millis(400))),
            (3, Kind::After(FAST)),
        ]);
        let health = RunHealth::new();
        health.failed("s3");
        health.answered("s1", 1, FAST);
        // 2 is slow enough to be hedged, but the only spare failed before:
        // wait for 2 rather than hedge to 3.
        let (ok, _) = run(&servers, &health, &[1, 2, 3]);
        assert_eq!(ok, vec![1, 2]);
        assert_eq!(servers.asked(), vec![1, 2]);
        // With 2 gone too, 3 is the only choice left and is asked.
        let servers = Servers::new(&[
            (1, Kind::After(FAST)),
            (2, Kind::FailsAfter(FAST)),
            (3, Kind::After(FAST)),
        ]);
        let (ok, _) = run(&servers, &health, &[1, 2, 3]);
        assert_eq!(ok, vec![1, 3]);
    }

    #[test]
    fn a_liar_is_judged_and_replaced() {
        let servers = Servers::new(&[
            (1, Kind::Liar),
            (2, Kind::After(FAST)),
            (3, Kind::After(FAST)),
        ]);
        let health = RunHealth::new();
        let outcomes = gather(
            &servers,
            &health,
            Duration::from_secs(10),
            1,
            &[1, 2, 3],
            2,
            &mut check,
        );
        assert!(matches!(outcomes[0], (1, Err(Fault::BadProof))));
        assert_eq!(outcomes.iter().filter(|(_, o)| o.is_ok()).count(), 2);
        assert_eq!(health.standing("s1"), Standing::Failed);
    }

    #[test]
    fn too_few_servers_ends_with_every_outcome() {
        let servers = Servers::new(&[
            (1, Kind::FailsAfter(Duration::ZERO)),
            (2, Kind::FailsAfter(FAST)),
            (3, Kind::After(FAST)),
        ]);
        let outcomes = gather(
            &servers,
            &RunHealth::new(),
            Duration::from_secs(10),
            1,
            &[1, 2, 3],
            2,
            &mut check,
        );
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes.iter().filter(|(_, o)| o.is_ok()).count(), 1);
    }
}
