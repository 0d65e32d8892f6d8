//! The server's limits: per-client token buckets for evaluate requests and
//! for the elements they carry, per-source-address buckets for requests
//! that do not authenticate, and the global cap on in-flight evaluations.
//! Connection caps and timeouts are enforced in `server::conn` and
//! `routes`, from the same [`Limits`].
//!
//! docs/DESIGN.md section 4: every evaluation is an oracle query, so the
//! number that matters is elements, not requests: one request carries up to
//! 1024 blinded elements, each unwrapping one file key. The element bucket
//! bounds a stolen token's unwrap rate; the request bucket bounds the cost
//! of tiny batches (each answer is one fdatasynced audit line). The
//! defaults (docs/OPERATIONS.md section 5) leave a restore of tens of
//! thousands of files unthrottled: the element burst is 32 full batches.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::audit::AnonymousTally;
use crate::protocol::MAX_BATCH;

/// A token bucket's parameters: sustained refill and capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Capacity: the largest burst.
    pub burst: f64,
}

/// Every limit of a running server, validated at load
/// (`state::toml_store::schema`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Evaluate requests per client.
    pub requests: Rate,
    /// Blinded elements per client; `burst` is at least one full batch.
    pub elements: Rate,
    /// Requests that end without an authenticated principal, per source
    /// address (IPv4 address or IPv6 /64).
    pub unauthenticated: Rate,
    /// Open connections, server-wide; more are closed at accept.
    pub max_connections: usize,
    /// Evaluations computing at once, server-wide; more get 503.
    pub max_evaluations: usize,
    /// Time from a connection's readiness for a request to its complete
    /// header (also bounds how long an idle keep-alive connection stays).
    pub header_timeout: Duration,
    /// Time to receive a request body once its headers are in.
    pub body_timeout: Duration,
    /// Time a connection may make no progress in either direction while
    /// the server waits on it (slow readers included).
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests: Rate {
                per_second: 20.0,
                burst: 40.0,
            },
            elements: Rate {
                per_second: 1024.0,
                burst: 32.0 * MAX_BATCH as f64,
            },
            unauthenticated: Rate {
                per_second: 5.0,
                burst: 50.0,
            },
            max_connections: 1024,
            max_evaluations: 32,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// How many source addresses the unauthenticated limiter tracks at most;
/// the table's memory is bounded whatever the number of attackers.
const MAX_TRACKED_PEERS: usize = 4096;

/// Longest `Retry-After` the server advertises, in seconds.
const MAX_RETRY_AFTER: u64 = 3600;

/// A refusal by a rate limit, with the advised wait in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Seconds until the bucket holds what was asked (at least 1).
    pub retry_after: u64,
}

/// Which client limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLimit {
    /// The request bucket is empty.
    Requests,
    /// The element bucket cannot pay for the batch.
    Elements,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: rate.burst,
            last: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.last = now;
    }

    /// Whether `cost` tokens are there, without taking them.
    fn check(&self, rate: Rate, cost: f64) -> Result<(), Refused> {
        if self.tokens >= cost {
            return Ok(());
        }
        // Rates are validated finite and positive, so this is finite; the
        // float-to-int cast saturates and the clamp bounds it anyway.
        let wait = ((cost - self.tokens) / rate.per_second).ceil() as u64;
        Err(Refused {
            retry_after: wait.clamp(1, MAX_RETRY_AFTER),
        })
    }

    /// Takes `cost` tokens, all or nothing.
    fn take(&mut self, rate: Rate, cost: f64) -> Result<(), Refused> {
        self.check(rate, cost)?;
        self.tokens -= cost;
        Ok(())
    }
}

#[derive(Debug)]
struct ClientBuckets {
    requests: Bucket,
    elements: Bucket,
}

/// The key of a source address: IPv4 addresses as they are, IPv6 by /64,
/// since one host usually holds a whole /64 and could otherwise take a new
/// bucket per request.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// All limiters of a running server.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    clients: Mutex<HashMap<String, ClientBuckets>>,
    peers: Mutex<HashMap<IpAddr, Bucket>>,
    evaluations: Arc<Semaphore>,
    /// Unauthenticated requests since the last aggregate audit line.
    pub(crate) anonymous: AnonymousTally,
}

impl RateLimiter {
    /// Limiters where every bucket starts full.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            clients: Mutex::new(HashMap::new()),
            peers: Mutex::new(HashMap::new()),
            evaluations: Arc::new(Semaphore::new(limits.max_evaluations)),
            anonymous: AnonymousTally::default(),
        }
    }

    /// The limits this server runs with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Admits one evaluate request of `client` before its body is read:
    /// takes one request token, and refuses without taking anything when
    /// the element bucket could not pay for even one element.
    pub fn admit_request(&self, client: &str) -> Result<(), (ClientLimit, Refused)> {
        self.admit_request_at(client, Instant::now())
    }

    fn admit_request_at(&self, client: &str, now: Instant) -> Result<(), (ClientLimit, Refused)> {
        let limits = self.limits;
        self.with_client(client, now, |buckets| {
            buckets
                .elements
                .check(limits.elements, 1.0)
                .map_err(|r| (ClientLimit::Elements, r))?;
            buckets
                .requests
                .take(limits.requests, 1.0)
                .map_err(|r| (ClientLimit::Requests, r))
        })
    }

    /// Charges `elements` to `client`'s element bucket once the batch size
    /// is known, all or nothing.
    pub fn charge_elements(&self, client: &str, elements: usize) -> Result<(), Refused> {
        self.charge_elements_at(client, elements, Instant::now())
    }

    fn charge_elements_at(
        &self,
        client: &str,
        elements: usize,
        now: Instant,
    ) -> Result<(), Refused> {
        let rate = self.limits.elements;
        // Batches are at most MAX_BATCH elements: exact in f64.
        self.with_client(client, now, |buckets| {
            buckets.elements.take(rate, elements as f64)
        })
    }

    fn with_client<T>(
        &self,
        client: &str,
        now: Instant,
        f: impl FnOnce(&mut ClientBuckets) -> T,
    ) -> T {
        let limits = self.limits;
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        // Keyed by authenticated client names only: bounded by the client
        // list, so no eviction is needed.
        let buckets = clients
            .entry(client.to_string())
            .or_insert_with(|| ClientBuckets {
                requests: Bucket::full(limits.requests, now),
                elements: Bucket::full(limits.elements, now),
            });
        buckets.requests.refill(limits.requests, now);
        buckets.elements.refill(limits.elements, now);
        f(buckets)
    }

    /// Whether unauthenticated requests from `ip` are currently refused
    /// (its bucket is empty). Does not charge.
    pub fn peer_exhausted(&self, ip: IpAddr) -> Option<Refused> {
        self.peer_exhausted_at(ip, Instant::now())
    }

    fn peer_exhausted_at(&self, ip: IpAddr, now: Instant) -> Option<Refused> {
        let rate = self.limits.unauthenticated;
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = peers.get_mut(&peer_key(ip))?;
        bucket.refill(rate, now);
        bucket.check(rate, 1.0).err()
    }

    /// Charges one unauthenticated request to `ip` (an empty bucket stays
    /// empty). When the table is full, addresses whose bucket has refilled
    /// are forgotten first (they are indistinguishable from new ones), then
    /// the one seen longest ago.
    pub fn charge_peer(&self, ip: IpAddr) {
        self.charge_peer_at(ip, Instant::now());
    }

    fn charge_peer_at(&self, ip: IpAddr, now: Instant) {
        let rate = self.limits.unauthenticated;
        let key = peer_key(ip);
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        if !peers.contains_key(&key) && peers.len() >= MAX_TRACKED_PEERS {
            // Without touching `last`: it orders the eviction below.
            peers.retain(|_, bucket| {
                let mut refilled = *bucket;
                refilled.refill(rate, now);
                refilled.tokens < rate.burst
            });
            if peers.len() >= MAX_TRACKED_PEERS {
                let oldest = peers
                    .iter()
                    .min_by_key(|(_, bucket)| bucket.last)
                    .map(|(key, _)| *key);
                if let Some(oldest) = oldest {
                    peers.remove(&oldest);
                }
            }
        }
        let bucket = peers.entry(key).or_insert_with(|| Bucket::full(rate, now));
        bucket.refill(rate, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    #[cfg(test)]
    fn tracked_peers(&self) -> usize {
        self.peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// A slot for one evaluation, or `None` when `max_evaluations` are
    /// already computing. The permit is owned so it can move into the
    /// blocking task and stay held until the computation really ends, even
    /// if the client has gone away meanwhile.
    pub fn evaluation_slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.evaluations).try_acquire_owned().ok()
    }

    /// Evaluations computing now.
    pub fn evaluations_in_flight(&self) -> usize {
        self.limits
            .max_evaluations
            .saturating_sub(self.evaluations.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn with_rates(requests: Rate, elements: Rate, unauthenticated: Rate) -> RateLimiter {
        RateLimiter::new(Limits {
            requests,
            elements,
            unauthenticated,
            max_evaluations: 2,
            ..Limits::default()
        })
    }

    const WIDE: Rate = Rate {
        per_second: 1000.0,
        burst: 1000.0,
    };

    #[test]
    fn request_bucket_bursts_then_refills() {
        let limiter = with_rates(
            Rate {
                per_second: 10.0,
                burst: 3.0,
            },
            WIDE,
            WIDE,
        );
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.admit_request_at("a", start).is_ok());
        }
        assert_eq!(
            limiter.admit_request_at("a", start),
            Err((ClientLimit::Requests, Refused { retry_after: 1 }))
        );
        // Other clients have their own bucket.
        assert!(limiter.admit_request_at("b", start).is_ok());
        // 100 ms at 10/s refills one request.
        let later = start + Duration::from_millis(100);
        assert!(limiter.admit_request_at("a", later).is_ok());
        assert!(limiter.admit_request_at("a", later).is_err());
        // Never more than the burst.
        let much_later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.admit_request_at("a", much_later).is_ok());
        }
        assert!(limiter.admit_request_at("a", much_later).is_err());
    }

    #[test]
    fn element_bucket_charges_per_element_all_or_nothing() {
        let limiter = with_rates(
            WIDE,
            Rate {
                per_second: 1024.0,
                burst: 2048.0,
            },
            WIDE,
        );
        let start = Instant::now();
        // Two full batches fit the burst; a third does not, and waits one
        // second (1024 elements at 1024/s).
        assert!(limiter.charge_elements_at("a", 1024, start).is_ok());
        assert!(limiter.charge_elements_at("a", 1024, start).is_ok());
        assert_eq!(
            limiter.charge_elements_at("a", 1024, start),
            Err(Refused { retry_after: 1 })
        );
        // The empty element bucket refuses the next request up front.
        assert_eq!(
            limiter.admit_request_at("a", start),
            Err((ClientLimit::Elements, Refused { retry_after: 1 }))
        );
        // A refused charge took nothing: half a second refills 512, which
        // pays for 500 but not then for 100 more.
        let half = start + Duration::from_millis(500);
        assert!(limiter.charge_elements_at("a", 1024, half).is_err());
        assert!(limiter.charge_elements_at("a", 500, half).is_ok());
        assert!(limiter.charge_elements_at("a", 100, half).is_err());
        // Another client is unaffected.
        assert!(limiter.charge_elements_at("b", 1024, start).is_ok());
        // The advised wait scales with the deficit (1024 elements at 1/s),
        // up to an hour.
        for (per_second, wait) in [(1.0, 1024), (0.1, MAX_RETRY_AFTER)] {
            let slow = with_rates(
                WIDE,
                Rate {
                    per_second,
                    burst: 1024.0,
                },
                WIDE,
            );
            assert!(slow.charge_elements_at("a", 1024, start).is_ok());
            assert_eq!(
                slow.charge_elements_at("a", 1024, start),
                Err(Refused { retry_after: wait })
            );
        }
    }

    #[test]
    fn peers_are_limited_per_address_and_v6_prefix() {
        let limiter = with_rates(
            WIDE,
            WIDE,
            Rate {
                per_second: 1.0,
                burst: 2.0,
            },
        );
        let now = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let b = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(limiter.peer_exhausted_at(a, now), None);
        limiter.charge_peer_at(a, now);
        assert_eq!(limiter.peer_exhausted_at(a, now), None);
        limiter.charge_peer_at(a, now);
        assert_eq!(
            limiter.peer_exhausted_at(a, now),
            Some(Refused { retry_after: 1 })
        );
        assert_eq!(limiter.peer_exhausted_at(b, now), None);
        // It refills.
        assert_eq!(
            limiter.peer_exhausted_at(a, now + Duration::from_secs(1)),
            None
        );
        // Addresses of one IPv6 /64 share a bucket; another /64 does not.
        let v6 = |last: u16, third: u16| {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, third, 0, 0, 0, 0, last))
        };
        limiter.charge_peer_at(v6(1, 0), now);
        limiter.charge_peer_at(v6(2, 0), now);
        assert!(limiter.peer_exhausted_at(v6(3, 0), now).is_some());
        assert!(limiter.peer_exhausted_at(v6(1, 1), now).is_none());
    }

    #[test]
    fn peer_table_is_bounded() {
        let limiter = with_rates(
            WIDE,
            WIDE,
            Rate {
                per_second: 0.001,
                burst: 1.0,
            },
        );
        let now = Instant::now();
        let total = MAX_TRACKED_PEERS as u32 + 100;
        for i in 0..total {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            limiter.charge_peer_at(ip, now + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(limiter.tracked_peers(), MAX_TRACKED_PEERS);
        // The oldest were evicted, the newest are still refused.
        let newest = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + total - 1));
        let later = now + Duration::from_millis(u64::from(total));
        assert!(limiter.peer_exhausted_at(newest, later).is_some());
        let first = IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32));
        assert!(limiter.peer_exhausted_at(first, later).is_none());
    }

    #[test]
    fn evaluation_slots_are_capped_and_released() {
        let limiter = with_rates(WIDE, WIDE, WIDE);
        let one = limiter.evaluation_slot().expect("slot");
        let two = limiter.evaluation_slot().expect("slot");
        assert_eq!(limiter.evaluations_in_flight(), 2);
        assert!(limiter.evaluation_slot().is_none());
        drop(one);
        assert_eq!(limiter.evaluations_in_flight(), 1);
        assert!(limiter.evaluation_slot().is_some());
        drop(two);
    }
}
