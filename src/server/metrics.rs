//! Prometheus metrics (text exposition format 0.0.4) for `GET /metrics`:
//! requests by endpoint and outcome, elements evaluated, a histogram of
//! evaluation time, refusals by limit, open connections and evaluations in
//! flight. Counts only; no client names, ids or keysets appear, so
//! the endpoint can stay unauthenticated.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;

/// Upper bounds (seconds) of the evaluation-time histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// The short outcome word for a status, used in metrics and audit lines.
pub fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "ok",
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "too_large",
        429 => "rate_limited",
        402 | 406 | 407 | 410..=412 | 414..=428 | 430..=499 => "client_error",
        // Load shedding, not a fault: kept apart from "error" so alerts on
        // errors do not fire on a busy server.
        503 => "busy",
        _ => "error",
    }
}

/// A limit that refused (or cut off) something; the `limit` label of
/// `shardlock_limit_refusals_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A client's evaluate request bucket was empty (429).
    ClientRequests,
    /// A client's element bucket could not pay for a batch (429).
    ClientElements,
    /// A source address sent too many unauthenticated requests (429).
    Unauthenticated,
    /// Every evaluation slot was busy (503).
    Evaluations,
    /// The connection cap was reached; the connection was closed at accept.
    Connections,
    /// A declared or actual body over the size limit (413).
    BodySize,
    /// A body that did not arrive within the body timeout (408).
    BodyTimeout,
    /// A connection that made no progress within the idle timeout.
    IdleTimeout,
    /// A request that needs a share while the server is sealed (503).
    Sealed,
}

impl Limit {
    const ALL: [Limit; 9] = [
        Limit::ClientRequests,
        Limit::ClientElements,
        Limit::Unauthenticated,
        Limit::Evaluations,
        Limit::Connections,
        Limit::BodySize,
        Limit::BodyTimeout,
        Limit::IdleTimeout,
        Limit::Sealed,
    ];

    fn label(self) -> &'static str {
        match self {
            Limit::ClientRequests => "client_requests",
            Limit::ClientElements => "client_elements",
            Limit::Unauthenticated => "unauthenticated",
            Limit::Evaluations => "evaluations",
            Limit::Connections => "connections",
            Limit::BodySize => "body_size",
            Limit::BodyTimeout => "body_timeout",
            Limit::IdleTimeout => "idle_timeout",
            Limit::Sealed => "sealed",
        }
    }
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Refusals per [`Limit`], in `Limit::ALL` order.
    refusals: [AtomicU64; Limit::ALL.len()],
    open_connections: AtomicU64,
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    elements: AtomicU64,
    /// Cumulative counts per bucket, then +Inf.
    eval_buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of evaluation times in microseconds.
    eval_micros: AtomicU64,
}

impl Metrics {
    /// Counts one finished request.
    pub fn record_request(&self, endpoint: &'static str, outcome: &'static str) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((endpoint, outcome)).or_insert(0) += 1;
    }

    /// Counts one refusal by `limit`.
    pub fn record_refusal(&self, limit: Limit) {
        // `ALL` lists every variant, so the position is always found.
        if let Some(i) = Limit::ALL.iter().position(|l| *l == limit) {
            self.refusals[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A connection was accepted (and admitted by the cap).
    pub fn connection_opened(&self) {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// An admitted connection ended.
    pub fn connection_closed(&self) {
        // Paired with `connection_opened` by a drop guard; saturate anyway
        // so a bug cannot wrap the gauge.
        let _ = self
            .open_connections
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }

    /// Counts one successful evaluation of `elements` elements.
    pub fn record_evaluation(&self, elements: usize, took: Duration) {
        self.elements.fetch_add(
            u64::try_from(elements).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let seconds = took.as_secs_f64();
        for (bound, counter) in BUCKETS.iter().zip(&self.eval_buckets) {
            if seconds <= *bound {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.eval_buckets[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
        self.eval_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The exposition text; `evaluations_in_flight` comes from the
    /// evaluation slots, which the limiter owns, and `sealed` from the
    /// state.
    pub fn render(&self, evaluations_in_flight: usize, sealed: bool) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP shardlock_limit_refusals_total Requests or connections refused by a limit.\n\
             # TYPE shardlock_limit_refusals_total counter\n",
        );
        for (limit, counter) in Limit::ALL.iter().zip(&self.refusals) {
            let _ = writeln!(
                out,
                "shardlock_limit_refusals_total{{limit=\"{}\"}} {}",
                limit.label(),
                counter.load(Ordering::Relaxed)
            );
        }
        single(
            &mut out,
            "shardlock_open_connections",
            "Connections open now.",
            "gauge",
            self.open_connections.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "shardlock_sealed",
            "1 while the shares are sealed (evaluations refused), else 0.",
            "gauge",
            u64::from(sealed),
        );
        single(
            &mut out,
            "shardlock_evaluations_in_flight",
            "Evaluations computing now.",
            "gauge",
            evaluations_in_flight as u64,
        );
        out.push_str(
            "# HELP shardlock_requests_total Requests handled, by endpoint and outcome.\n",
        );
        out.push_str("# TYPE shardlock_requests_total counter\n");
        {
            let requests = self
                .requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for ((endpoint, outcome), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "shardlock_requests_total{{endpoint=\"{endpoint}\",outcome=\"{outcome}\"}} {count}"
                );
            }
        }
        single(
            &mut out,
            "shardlock_evaluated_elements_total",
            "Blinded elements evaluated.",
            "counter",
            self.elements.load(Ordering::Relaxed),
        );
        out.push_str(
            "# HELP shardlock_evaluation_seconds Time to evaluate one batch and prove it.\n\
             # TYPE shardlock_evaluation_seconds histogram\n",
        );
        for (bound, counter) in BUCKETS.iter().zip(&self.eval_buckets) {
            let _ = writeln!(
                out,
                "shardlock_evaluation_seconds_bucket{{le=\"{bound}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let count = self.eval_buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "shardlock_evaluation_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.eval_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "shardlock_evaluation_seconds_sum {sum}");
        let _ = writeln!(out, "shardlock_evaluation_seconds_count {count}");
        out
    }
}

/// One metric with a single unlabelled sample: HELP, TYPE and the value.
fn single(out: &mut String, name: &str, help: &str, kind: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.record_request("evaluate", "ok");
        metrics.record_request("evaluate", "ok");
        metrics.record_request("health", "ok");
        metrics.record_evaluation(50, Duration::from_millis(3));
        metrics.record_refusal(Limit::ClientElements);
        metrics.record_refusal(Limit::ClientElements);
        metrics.connection_opened();
        metrics.connection_opened();
        metrics.connection_closed();
        let text = metrics.render(3, true);
        assert!(text.contains("shardlock_limit_refusals_total{limit=\"client_elements\"} 2"));
        assert!(text.contains("shardlock_limit_refusals_total{limit=\"connections\"} 0"));
        assert!(text.contains("shardlock_open_connections 1\n"));
        assert!(text.contains("shardlock_evaluations_in_flight 3\n"));
        assert!(text.contains("shardlock_sealed 1\n"));
        assert!(text.contains("shardlock_requests_total{endpoint=\"evaluate\",outcome=\"ok\"} 2"));
        assert!(text.contains("shardlock_evaluated_elements_total 50"));
        assert!(text.contains("shardlock_evaluation_seconds_bucket{le=\"0.001\"} 0"));
        assert!(text.contains("shardlock_evaluation_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("shardlock_evaluation_seconds_bucket{le=\"+Inf\"} 1"));
        assert!(text.contains("shardlock_evaluation_seconds_count 1"));
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(StatusCode::OK), "ok");
        assert_eq!(outcome(StatusCode::TOO_MANY_REQUESTS), "rate_limited");
        assert_eq!(outcome(StatusCode::PAYLOAD_TOO_LARGE), "too_large");
        assert_eq!(outcome(StatusCode::REQUEST_TIMEOUT), "timeout");
        assert_eq!(outcome(StatusCode::SERVICE_UNAVAILABLE), "busy");
        assert_eq!(outcome(StatusCode::INTERNAL_SERVER_ERROR), "error");
    }
}
