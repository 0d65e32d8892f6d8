//! Per-client token buckets for evaluate requests.
//!
//! docs/DESIGN.md section 4: every evaluation is an oracle query, so servers
//! rate-limit clients. A bucket holds up to `burst` requests and refills at
//! `per_second`; a request finding it empty is refused with 429. Batches
//! carry up to 1024 files per request, so the default (20/s, burst 40)
//! leaves a restore of tens of thousands of files unthrottled while capping
//! a stolen token at a known query rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Bucket parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Largest burst, in requests.
    pub burst: f64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Buckets by client name.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter where every client starts with a full bucket.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `client`'s bucket; `false` if it is empty.
    pub fn allow(&self, client: &str) -> bool {
        self.allow_at(client, Instant::now())
    }

    fn allow_at(&self, client: &str, now: Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(client.to_string()).or_insert(Bucket {
            tokens: self.limits.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limits.per_second).min(self.limits.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let limiter = RateLimiter::new(Limits {
            per_second: 10.0,
            burst: 3.0,
        });
        let start = Instant::now();
        assert!(limiter.allow_at("a", start));
        assert!(limiter.allow_at("a", start));
        assert!(limiter.allow_at("a", start));
        assert!(!limiter.allow_at("a", start));
        // Other clients have their own bucket.
        assert!(limiter.allow_at("b", start));
        // 100 ms at 10/s refills one request.
        assert!(limiter.allow_at("a", start + Duration::from_millis(100)));
        assert!(!limiter.allow_at("a", start + Duration::from_millis(100)));
        // Never more than the burst.
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.allow_at("a", later));
        }
        assert!(!limiter.allow_at("a", later));
    }
}
