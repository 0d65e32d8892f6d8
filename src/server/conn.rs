//! Connection-level limits, applied to the TCP stream under TLS: a cap on
//! open connections and an idle timeout.
//!
//! Without them a peer could hold any number of connections, each with a
//! half-sent TLS record or an unread answer, for as long as it likes. The
//! cap closes connections beyond `max_connections` right at accept (before
//! the TLS handshake costs anything). The idle timeout closes a connection
//! that made no progress in either direction for `idle_timeout` while the
//! server was waiting on it, which covers what the header and body
//! timeouts do not: a client that stops reading its answer, or trickles
//! TLS records that never complete a request.

use std::future::{ready, Future, Ready};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use super::metrics::Limit;
use super::State;

/// Admits at most `max_connections` connections, sets `TCP_NODELAY`, and
/// wraps each stream in an [`IdleStream`].
#[derive(Debug, Clone)]
pub(crate) struct LimitAcceptor {
    slots: Arc<Semaphore>,
    idle: Duration,
    state: Arc<State>,
}

impl LimitAcceptor {
    pub(crate) fn new(state: Arc<State>) -> Self {
        let limits = *state.limiter.limits();
        Self {
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            idle: limits.idle_timeout,
            state,
        }
    }
}

impl<S> Accept<TcpStream, S> for LimitAcceptor {
    type Stream = IdleStream<TcpStream>;
    type Service = S;
    type Future = Ready<io::Result<(Self::Stream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        // Over the cap: an error makes axum-server drop the stream, which
        // closes the socket at once. Waiting for a slot instead would keep
        // the extra connections (and their memory) around.
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            self.state.metrics.record_refusal(Limit::Connections);
            return ready(Err(io::Error::other("connection limit reached")));
        };
        // TCP_NODELAY: answers are written as several small TLS records;
        // with Nagle's algorithm against the client's delayed ACKs each
        // request would stall ~40 ms.
        if let Err(err) = stream.set_nodelay(true) {
            return ready(Err(err));
        }
        self.state.metrics.connection_opened();
        let guard = SlotGuard {
            _slot: slot,
            state: Arc::clone(&self.state),
        };
        ready(Ok((IdleStream::new(stream, self.idle, guard), service)))
    }
}

/// Holds a connection's slot and keeps the open-connections gauge.
#[derive(Debug)]
struct SlotGuard {
    _slot: OwnedSemaphorePermit,
    state: Arc<State>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.state.metrics.connection_closed();
    }
}

/// A stream that fails with `TimedOut` when a read or write has been
/// waiting and nothing moved in either direction for the idle timeout.
///
/// Progress is noted as a timestamp and the timer is only re-armed when it
/// fires early, so busy connections do not reset a timer per read.
#[derive(Debug)]
pub(crate) struct IdleStream<T> {
    inner: T,
    idle: Duration,
    last_progress: Instant,
    timer: Pin<Box<Sleep>>,
    timed_out: bool,
    guard: SlotGuard,
}

impl<T> IdleStream<T> {
    fn new(inner: T, idle: Duration, guard: SlotGuard) -> Self {
        let now = Instant::now();
        Self {
            inner,
            idle,
            last_progress: now,
            timer: Box::pin(tokio::time::sleep_until(now + idle)),
            timed_out: false,
            guard,
        }
    }

    fn progressed(&mut self) {
        self.last_progress = Instant::now();
    }

    /// Called when the inner stream is not ready: whether the connection
    /// has now been idle too long. Registers the timer's wake-up otherwise.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.timed_out {
            return true;
        }
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            let deadline = self.last_progress + self.idle;
            if deadline <= Instant::now() {
                self.timed_out = true;
                self.guard.state.metrics.record_refusal(Limit::IdleTimeout);
                return true;
            }
            // Progress since the timer was armed: wait for the rest.
            self.timer.as_mut().reset(deadline);
        }
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle too long")
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.progressed();
                Poll::Ready(result)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleStream<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                this.progressed();
                Poll::Ready(result)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
    }
}
