//! The server's open connections, and the cap on their number that keeps slow and idle
//! clients from using up the process's file descriptors: past the descriptor limit the
//! listener can accept nobody, so well-behaved clients would wait behind connections
//! that send nothing. At the cap, a new connection takes the place of the one idle
//! longest — kept alive between requests, or still sending its request head, which is
//! what a slow client does — and only when every open connection is serving a request
//! is the newcomer answered 503 and closed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;

/// Descriptors kept free for everything but client connections: the listener, the
/// log, the database's files and connections (SQLite: the write connection and the
/// migration lock; PostgreSQL: its pool of 16), and the start-up's own.
const BASE_HEADROOM: u64 = 64;
/// Descriptors kept free per request in flight: a SQLite read runs on a connection of
/// its own, which holds the database file and its WAL open.
const PER_REQUEST_HEADROOM: u64 = 2;
/// The fewest connections the cap allows, whatever the descriptor limit.
const MIN_CAP: usize = 8;

/// The cap on open connections: `configured` when set, else the descriptor limit
/// (whose soft limit is raised to the hard one first, where allowed) less the
/// headroom for `max_requests_in_flight` requests and the database. Returns the cap
/// and the soft limit in force (`None` when unlimited or unknown).
pub fn cap(configured: usize, max_requests_in_flight: usize) -> (usize, Option<u64>) {
    let limit = raise_descriptor_limit();
    if configured > 0 {
        return (configured, limit);
    }
    let in_flight = match max_requests_in_flight {
        0 => 128,
        n => n,
    };
    let headroom = BASE_HEADROOM
        + PER_REQUEST_HEADROOM.saturating_mul(u64::try_from(in_flight).unwrap_or(u64::MAX));
    let cap = match limit {
        Some(limit) => usize::try_from(limit.saturating_sub(headroom)).unwrap_or(usize::MAX),
        None => usize::MAX,
    };
    (cap.max(MIN_CAP), limit)
}

/// Raises the soft descriptor limit to the hard one (allowed without privileges) and
/// returns the soft limit in force.
#[cfg(unix)]
fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limits = getrlimit(Resource::Nofile);
    if limits.current < limits.maximum || (limits.current.is_some() && limits.maximum.is_none()) {
        let raised = Rlimit {
            current: limits.maximum,
            maximum: limits.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "the descriptor limit could not be raised");
        }
    }
    getrlimit(Resource::Nofile).current
}

#[cfg(not(unix))]
fn raise_descriptor_limit() -> Option<u64> {
    None
}

/// The open connections, counted against the cap.
pub struct Connections {
    cap: usize,
    /// What idle times are counted from (see [`Activity`]).
    epoch: Instant,
    registry: Mutex<Registry>,
    /// Woken when the last connection closes.
    all_closed: Notify,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Entry>,
}

struct Entry {
    /// What its ticket updates for each request, without taking the registry's lock.
    activity: Arc<Activity>,
    /// Told to close: the connection is dropped (it serves no request then).
    evict: Arc<Notify>,
}

/// A connection's requests being served, and since when it has served nothing (its
/// accept, or its last answer), in nanoseconds from [`Connections`]' epoch. Each
/// request changes them with two atomic operations; only the admission of a connection
/// over the cap reads them, under the registry's lock.
struct Activity {
    busy: AtomicUsize,
    idle_since: AtomicU64,
}

impl Connections {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            epoch: Instant::now(),
            registry: Mutex::new(Registry::default()),
            all_closed: Notify::new(),
        })
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves the registry consistent (every change
        // is one map operation), so a poisoned lock is still used.
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a new connection: under the cap at once; at the cap by telling the
    /// connection idle longest to close. `None` when every open connection is busy.
    pub fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let mut registry = self.registry();
        if registry.open.len() >= self.cap {
            let idlest = registry
                .open
                .iter()
                .filter(|(_, e)| e.activity.busy.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, e)| e.activity.idle_since.load(Ordering::Acquire))
                .map(|(id, _)| *id)?;
            if let Some(evicted) = registry.open.remove(&idlest) {
                evicted.evict.notify_one();
            }
        }
        registry.next_id += 1;
        let id = registry.next_id;
        let evict = Arc::new(Notify::new());
        let activity = Arc::new(Activity {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now()),
        });
        registry.open.insert(
            id,
            Entry {
                activity: activity.clone(),
                evict: evict.clone(),
            },
        );
        Some(Ticket {
            id,
            evict,
            activity,
            connections: self.clone(),
        })
    }

    /// Nanoseconds since the epoch (saturating: some 584 years).
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Connections open now (those told to close are no longer counted).
    pub fn open(&self) -> usize {
        self.registry().open.len()
    }

    /// Returns once no connection is open.
    pub async fn closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One admitted connection, counted until dropped.
pub struct Ticket {
    id: u64,
    evict: Arc<Notify>,
    activity: Arc<Activity>,
    connections: Arc<Connections>,
}

impl Ticket {
    /// Marks a request of this connection as being served, until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.activity.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// Completes when this connection is told to make room for a new one.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut registry = self.connections.registry();
        registry.open.remove(&self.id);
        if registry.open.is_empty() {
            self.connections.all_closed.notify_waiters();
        }
    }
}

/// A request being served (see [`Ticket::busy`]).
pub struct Busy(Arc<Ticket>);

impl Drop for Busy {
    fn drop(&mut self) {
        let ticket = &self.0;
        // Idle from now (if this was its last request): stamped before the count
        // drops, so an admission that sees the connection idle sees when it became so.
        ticket
            .activity
            .idle_since
            .store(ticket.connections.now(), Ordering::Release);
        ticket.activity.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection busy until hyper has written it to the
/// end and dropped it.
pub struct Held<B> {
    body: B,
    _busy: Busy,
}

impl<B> Held<B> {
    pub fn new(body: B, busy: Busy) -> Self {
        Self { body, _busy: busy }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Held<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_connection_idle_longest_makes_room_and_busy_ones_are_kept() {
        let connections = Connections::new(2);
        let first = Arc::new(connections.admit().unwrap());
        let second = Arc::new(connections.admit().unwrap());
        let _serving = second.busy();
        // `first` is idle: it makes room.
        let third = Arc::new(connections.admit().unwrap());
        assert_eq!(connections.open(), 2);
        assert!(first.evict.notified().now_or_never_is_ready());
        // `second` is busy and `third` idle: `third` goes next.
        let _fourth = connections.admit().unwrap();
        assert!(third.evict.notified().now_or_never_is_ready());
        assert!(!second.evict.notified().now_or_never_is_ready());
    }

    #[test]
    fn at_the_cap_with_every_connection_busy_a_new_one_is_refused() {
        let connections = Connections::new(1);
        let only = Arc::new(connections.admit().unwrap());
        let serving = only.busy();
        assert!(connections.admit().is_none());
        drop(serving);
        assert!(connections.admit().is_some());
    }

    #[test]
    fn the_cap_leaves_room_below_the_descriptor_limit() {
        let (cap, limit) = cap(0, 128);
        if let Some(limit) = limit {
            assert!((cap as u64) < limit || cap == MIN_CAP, "{cap} of {limit}");
        }
        assert_eq!(super::cap(100, 128).0, 100);
    }

    trait NowOrNever {
        fn now_or_never_is_ready(self) -> bool;
    }

    impl<F: std::future::Future> NowOrNever for F {
        /// Whether the future completes on its first poll.
        fn now_or_never_is_ready(self) -> bool {
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            let fut = std::pin::pin!(self);
            fut.poll(&mut cx).is_ready()
        }
    }
}
