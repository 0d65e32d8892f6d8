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
    /// Answered, and its answer verified (even if a spare was asked
    /// meanwhile: a busy machine makes healthy servers late too, and a late
    /// answer still proves the server alive).
    Good,
    /// Not asked yet in this run.
    Untried,
    /// A spare had to be asked because it was slow, and it has not
    /// answered since; asked again only after every good and untried one.
    Slow,
    /// Failed or timed out: asked again only when no other choice remains.
    Failed,
}

#[derive(Debug, Default)]
struct Memory {
    /// By server base URL: two keysets on one server share its standing.
    servers: BTreeMap<String, Standing>,
    /// Fastest verified answer so far, by request size rounded up to a
    /// power of two: a 1024-element batch takes far longer than one
    /// element, and a yardstick from small requests would hedge every big
    /// one.
    fastest: BTreeMap<usize, Duration>,
}

/// The size class of a request of `elements` blinded elements.
fn class(elements: usize) -> usize {
    elements.max(1).next_power_of_two()
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

    /// A verified answer to a request of `elements` after `latency`.
    pub(super) fn answered(&self, url: &str, elements: usize, latency: Duration) {
        self.with(|m| {
            m.servers.insert(url.to_string(), Standing::Good);
            let fastest = m.fastest.entry(class(elements)).or_insert(latency);
            *fastest = (*fastest).min(latency);
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

    /// How long to wait for a server, from the start of its request,
    /// before asking a spare as well: `HEDGE_FACTOR` times a yardstick, at
    /// least `HEDGE_FLOOR`, at most the request deadline. The yardstick is
    /// the first verified answer to this very request when one is in
    /// (`first`: like for like, and it follows a machine or network that
    /// got slower), else the fastest answer so far to a request of this
    /// size, else `HEDGE_INITIAL` is the delay.
    pub(super) fn hedge_delay(
        &self,
        deadline: Duration,
        elements: usize,
        first: Option<Duration>,
    ) -> Duration {
        let yardstick = first.or_else(|| self.with(|m| m.fastest.get(&class(elements)).copied()));
        let delay = yardstick.map_or(HEDGE_INITIAL, |fastest| {
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
        health.answered("a", 1, Duration::from_millis(5));
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
        health.answered("b", 1, Duration::from_millis(5));
        assert_eq!(health.standing("b"), Standing::Good);
        // Clones share one memory.
        health.clone().failed("c");
        assert_eq!(health.standing("c"), Standing::Failed);
    }

    #[test]
    fn hedge_delay_scales_with_the_fastest_like_answer_within_floor_and_deadline() {
        let health = RunHealth::new();
        let deadline = Duration::from_secs(10);
        let ms = Duration::from_millis;
        assert_eq!(health.hedge_delay(deadline, 1, None), HEDGE_INITIAL);
        health.answered("a", 1, ms(10));
        assert_eq!(health.hedge_delay(deadline, 1, None), HEDGE_FLOOR);
        health.answered("b", 1, ms(400));
        // The fastest so far is still 10 ms.
        assert_eq!(health.hedge_delay(deadline, 1, None), HEDGE_FLOOR);
        // Big requests are measured against big ones only.
        assert_eq!(health.hedge_delay(deadline, 1000, None), HEDGE_INITIAL);
        health.answered("a", 1024, ms(200));
        assert_eq!(health.hedge_delay(deadline, 1000, None), ms(600));
        // An answer to this very request wins: the machine may be slower now.
        assert_eq!(health.hedge_delay(deadline, 1000, Some(ms(400))), ms(1200));
        assert_eq!(health.hedge_delay(ms(300), 1000, None), ms(300));
    }
}
