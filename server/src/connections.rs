//! The open connections, and which one to close when a new one needs room.
//!
//! Past `--max-connections`, the accept loop does not stop accepting (a flood of idle
//! sockets would then keep every legitimate client in the listen backlog): it closes the
//! connection that has been **waiting longest for a request head** — an idle keep-alive
//! connection, or one that has not finished sending its first head — and serves the new one
//! in its place. A connection whose request is being handled (its body being read, its
//! answer being made or written, a lingering drain) is never chosen: it is *busy* from the
//! moment hyper hands its request to the service until both the request body and the
//! response body are dropped.
//!
//! A connection is closed so only once it has waited at least [`GRACE`]: every client gets
//! that long to send its head after it is accepted (or its next one after an answer), however
//! fast a flood re-opens its sockets; a new connection that finds none old enough waits, in
//! the listen backlog's stead, until one is.
//!
//! The [`Registry`] keeps, under one mutex, each open connection's state and the waiting
//! ones ordered by when they began to wait (a sequence number, with the instant): picking the
//! victim is `first_key_value` on a `BTreeMap`, closing it is dropping the `oneshot` sender
//! its task selects on. A request costs two lock-and-map updates (busy, then waiting again).

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::{Notify, oneshot};

/// The least time a connection waits for a head before it may be closed to make room.
pub const GRACE: Duration = Duration::from_millis(100);

/// What [`Registry::close_longest_waiting`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// It closed the connection that had waited longest (at least the grace).
    Closed,
    /// The connection waiting longest reaches the grace at this instant: look again then.
    NotBefore(Instant),
    /// No connection is waiting for a head: every one is busy.
    NoneWaiting,
}

/// The open connections of one server, and the waiting ones oldest first.
#[derive(Debug, Default)]
pub struct Registry {
    state: Mutex<State>,
    /// Notified when a connection begins to wait for a head (the accept loop, at the cap with
    /// every connection busy, waits for one).
    waiting_again: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The next sequence number: connection ids and waiting order.
    next: u64,
    /// Every registered connection, by id.
    open: HashMap<u64, Entry>,
    /// The connections waiting for a head: the sequence number at which each began to wait
    /// → its id and that instant. The first is the one waiting longest.
    waiting: BTreeMap<u64, (u64, Instant)>,
}

#[derive(Debug)]
struct Entry {
    /// Dropped to close the connection (its task selects on the receiver).
    _close: oneshot::Sender<()>,
    /// Requests and bodies of this connection still alive (0: waiting for a head).
    busy: usize,
    /// While waiting: the key of this connection in `State::waiting`.
    since: Option<u64>,
}

impl Registry {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection, waiting for its first head: its handle, and the receiver
    /// that completes when the registry closes it.
    pub fn register(self: &Arc<Self>) -> (Connection, oneshot::Receiver<()>) {
        let (close, closed) = oneshot::channel();
        let mut state = self.state();
        let id = state.next;
        state.next += 1;
        state.open.insert(
            id,
            Entry {
                _close: close,
                busy: 0,
                since: Some(id),
            },
        );
        state.waiting.insert(id, (id, Instant::now()));
        drop(state);
        let connection = Connection {
            registry: Arc::clone(self),
            id,
        };
        (connection, closed)
    }

    /// Closes the connection that has waited longest for a head, if it has waited at least
    /// `grace`: its task ends (and its slot is released) as soon as it runs.
    pub fn close_longest_waiting(&self, grace: Duration) -> Eviction {
        let mut state = self.state();
        let Some((&since, &(id, instant))) = state.waiting.first_key_value() else {
            return Eviction::NoneWaiting;
        };
        let ready = instant + grace;
        if ready > Instant::now() {
            return Eviction::NotBefore(ready);
        }
        state.waiting.remove(&since);
        let entry = state.open.remove(&id);
        drop(state);
        // Dropping the sender (outside the lock) wakes the connection's task.
        drop(entry);
        Eviction::Closed
    }

    /// How many connections are waiting for a head.
    pub fn waiting(&self) -> usize {
        self.state().waiting.len()
    }

    /// Completes once some connection begins to wait for a head again (or spuriously: the
    /// caller looks again).
    pub async fn some_waiting(&self) {
        self.waiting_again.notified().await;
    }
}

/// A registered connection: deregistered when dropped (its task's end).
#[derive(Debug)]
pub struct Connection {
    registry: Arc<Registry>,
    id: u64,
}

impl Connection {
    /// Marks the connection busy until the returned guard (and every clone of it) is
    /// dropped: put it in the request's body and the response's body.
    pub fn busy(&self) -> Arc<Busy> {
        let mut state = self.registry.state();
        let state = &mut *state;
        if let Some(entry) = state.open.get_mut(&self.id) {
            if let Some(since) = entry.since.take() {
                state.waiting.remove(&since);
            }
            entry.busy += 1;
        }
        Arc::new(Busy {
            registry: Arc::clone(&self.registry),
            id: self.id,
        })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut state = self.registry.state();
        if let Some(Entry {
            since: Some(since), ..
        }) = state.open.remove(&self.id)
        {
            state.waiting.remove(&since);
        }
    }
}

/// A request of a connection in progress (see [`Connection::busy`]).
#[derive(Debug)]
pub struct Busy {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.registry.state();
        let state = &mut *state;
        let since = state.next;
        let Some(entry) = state.open.get_mut(&self.id) else {
            return;
        };
        entry.busy = entry.busy.saturating_sub(1);
        if entry.busy == 0 {
            state.next += 1;
            entry.since = Some(since);
            state.waiting.insert(since, (self.id, Instant::now()));
            self.registry.waiting_again.notify_one();
        }
    }
}

/// A body that keeps its connection busy while it lives (the request's, read by the handler
/// or drained after an early answer; the response's, until hyper has written it).
#[derive(Debug)]
pub struct Tracked<B> {
    body: B,
    _busy: Arc<Busy>,
}

impl<B> Tracked<B> {
    /// `body`, holding `busy`.
    pub fn new(body: B, busy: Arc<Busy>) -> Tracked<B> {
        Tracked { body, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_waiting_longest_is_closed_first_and_a_busy_one_never() {
        let registry = Arc::new(Registry::default());
        let (first, mut first_closed) = registry.register();
        let (second, mut second_closed) = registry.register();
        let (third, mut third_closed) = registry.register();
        // The first is busy (a request in progress), then the second answers a request and
        // waits again: the third has now waited longest, then the second.
        let request = first.busy();
        drop(second.busy());
        assert_eq!(registry.waiting(), 2);
        // None has waited the grace yet.
        assert!(matches!(
            registry.close_longest_waiting(GRACE),
            Eviction::NotBefore(_)
        ));
        assert_eq!(
            registry.close_longest_waiting(Duration::ZERO),
            Eviction::Closed
        );
        assert!(
            third_closed
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Closed)
        );
        assert!(
            second_closed
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Empty)
        );
        assert_eq!(
            registry.close_longest_waiting(Duration::ZERO),
            Eviction::Closed
        );
        assert!(
            second_closed
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Closed)
        );
        // Only the busy one is left: nothing to close.
        assert_eq!(
            registry.close_longest_waiting(Duration::ZERO),
            Eviction::NoneWaiting
        );
        assert!(
            first_closed
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Empty)
        );
        drop(request);
        assert_eq!(registry.waiting(), 1);
        drop((first, second, third));
        assert_eq!(registry.waiting(), 0);
        assert!(registry.state().open.is_empty());
    }

    #[test]
    fn a_connection_is_busy_until_every_body_of_its_request_is_dropped() {
        let registry = Arc::new(Registry::default());
        let (connection, _closed) = registry.register();
        let busy = connection.busy();
        let (request_body, response_body) = (Arc::clone(&busy), busy);
        assert_eq!(registry.waiting(), 0);
        drop(response_body);
        assert_eq!(
            registry.waiting(),
            0,
            "the request body is still being read"
        );
        drop(request_body);
        assert_eq!(registry.waiting(), 1);
    }
}
