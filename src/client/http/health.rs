//! What one run has learned about servers: which failed, which were too
//! slow, and the fastest answer so far (the yardstick of the hedge delay).
//! One [`RunHealth`] is shared by every key service of a session, so a dead
//! server costs one attempt per run, not one per batch of a tree restore or
//! per keyset (docs/DESIGN.md section 5).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Never hedge sooner than this: below it, ordinary jitter on a loaded
/// machine or network would double the load on spares for nothing.
pub(super) const HEDGE_FLOOR: Duration = Duration::from_millis(150);
/// A hedge waits this many times the fastest answer so far: a healthy
/// server rarely takes three times the best round trip.
pub(super) const HEDGE_FACTOR: u32 = 3;
/// The hedge delay before any server of the run has answered. Large enough
/// for a first request to a far server (TCP, TLS and the request are three
/// round trips), small enough that a hung server costs well under a second.
pub(super) const HEDGE_INITIAL: Duration = Duration::from_millis(500);

/// How a server stands in this run, best first: the order in which
/// servers are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Standing {
    /// Answered, in time.
    Good,
    /// Not asked yet in this run.
    Untried,
    /// Asked, and a spare had to be asked because it was slow; it may still
    /// answer, and is asked again only after every good and untried one.
    Slow,
    /// Failed or timed out: asked again only when no other choice remains.
    Failed,
}

#[derive(Debug, Default)]
struct Memory {
    /// By server base URL: two keysets on one server share its standing.
    servers: BTreeMap<String, Standing>,
    fastest: Option<Duration>,
}

/// The per-run memory of server health, cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct RunHealth(Arc<Mutex<Memory>>);

impl RunHealth {
    /// An empty memory: every server untried.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
        // A panic elsewhere while holding the lock leaves only advisory
        // data behind; keep using it.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(super) fn standing(&self, url: &str) -> Standing {
        self.with(|m| m.servers.get(url).copied().unwrap_or(Standing::Untried))
    }

    /// A verified answer after `latency`; `in_time` when no spare had to
    /// be asked for it.
    pub(super) fn answered(&self, url: &str, latency: Duration, in_time: bool) {
        self.with(|m| {
            let standing = if in_time {
                Standing::Good
            } else {
                Standing::Slow
            };
            m.servers.insert(url.to_string(), standing);
            m.fastest = Some(m.fastest.map_or(latency, |f| f.min(latency)));
        });
    }

    /// Failed, timed out, or answered wrongly.
    pub(super) fn failed(&self, url: &str) {
        self.with(|m| {
            m.servers.insert(url.to_string(), Standing::Failed);
        });
    }

    /// Still silent when its hedge delay ran out. A failure already known
    /// is not softened.
    pub(super) fn slow(&self, url: &str) {
        self.with(|m| {
            let standing = m.servers.entry(url.to_string()).or_insert(Standing::Slow);
            *standing = (*standing).max(Standing::Slow);
        });
    }

    /// How long to wait for a server before asking a spare as well:
    /// `HEDGE_FACTOR` times the fastest answer so far, at least
    /// `HEDGE_FLOOR`, at most the request deadline.
    pub(super) fn hedge_delay(&self, deadline: Duration) -> Duration {
        let delay = self.with(|m| m.fastest).map_or(HEDGE_INITIAL, |fastest| {
            (fastest * HEDGE_FACTOR).max(HEDGE_FLOOR)
        });
        delay.min(deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standings_follow_what_servers_did() {
        let health = RunHealth::new();
        assert_eq!(health.standing("a"), Standing::Untried);
        health.answered("a", Duration::from_millis(5), true);
        assert_eq!(health.standing("a"), Standing::Good);
        health.slow("b");
        assert_eq!(health.standing("b"), Standing::Slow);
        health.failed("b");
        health.slow("b");
        assert_eq!(
            health.standing("b"),
            Standing::Failed,
            "slow never softens a failure"
        );
        // A failed server that answers as a last resort is good again.
        health.answered("b", Duration::from_millis(5), true);
        assert_eq!(health.standing("b"), Standing::Good);
        // Clones share one memory.
        health.clone().failed("c");
        assert_eq!(health.standing("c"), Standing::Failed);
    }

    #[test]
    fn hedge_delay_scales_with_the_fastest_answer_within_floor_and_deadline() {
        let health = RunHealth::new();
        let deadline = Duration::from_secs(10);
        assert_eq!(health.hedge_delay(deadline), HEDGE_INITIAL);
        health.answered("a", Duration::from_millis(10), true);
        assert_eq!(health.hedge_delay(deadline), HEDGE_FLOOR);
        health.answered("b", Duration::from_millis(400), true);
        health.answered("a", Duration::from_millis(200), true);
        // The fastest so far is still 10 ms.
        assert_eq!(health.hedge_delay(deadline), HEDGE_FLOOR);
        let slow = RunHealth::new();
        slow.answered("a", Duration::from_millis(200), true);
        assert_eq!(slow.hedge_delay(deadline), Duration::from_millis(600));
        assert_eq!(
            slow.hedge_delay(Duration::from_millis(300)),
            Duration::from_millis(300)
        );
    }
}
