//! Checkpoints of the WAL, off the write path.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that makes the WAL cross
//! 1,000 pages: that commit, and every write queued behind it, waits while the pages
//! are copied into the database file and the file is fsynced (tens of milliseconds at
//! a million profiles). The write connection turns it off (`wal_autocheckpoint = 0`)
//! and a thread of its own, on a connection of its own, checkpoints instead:
//!
//! - After commits, it waits [`INTERVAL`] for more, then runs a `PASSIVE` checkpoint,
//!   which takes no lock a writer needs: commits go on while it copies. A page that
//!   several groups wrote meanwhile is copied once.
//! - A passive checkpoint cannot restart the WAL: the writer goes on appending after
//!   the frames it copied. SQLite writes from the start of the WAL again only when a
//!   write transaction begins with every frame copied. So when a pass leaves the WAL
//!   longer than [`RESTART_FRAMES`], it asks the writer to finish the job: after its
//!   next `COMMIT` (its members already answered), the writer checkpoints the few
//!   frames written since, and its next group starts the WAL over. The WAL thus stays
//!   about [`RESTART_FRAMES`] pages long however long writes go on (unless a reader's
//!   snapshot holds old frames, as with SQLite's own checkpoints).
//!
//! None of this changes when a write is durable: every `COMMIT` still fsyncs the WAL
//! (`synchronous=FULL`) before its members are answered, and a checkpoint only copies
//! committed frames, fsyncing the WAL before and the database file after, as SQLite's
//! own does. A crash in the middle of one leaves the WAL to be replayed on the next
//! open.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How long commits pile up in the WAL before a checkpoint copies them.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL length, in pages, past which a pass asks the writer to finish it so that the
/// WAL restarts from its beginning (16 MiB of 4 KiB pages).
pub(super) const RESTART_FRAMES: i64 = 4096;

/// The checkpoint thread, seen from the writer.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Set by a pass that left the WAL longer than [`RESTART_FRAMES`]; taken by the
    /// writer.
    restart: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Commits so far.
    commits: u64,
    /// Whether the thread waits for a commit (and so needs waking).
    idle: bool,
    stopping: bool,
}

impl Checkpointer {
    /// Starts the thread, which checkpoints on `conn`.
    pub(super) fn start(conn: Connection) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn({
                let shared = shared.clone();
                move || run(&conn, &shared)
            })?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Tells the thread that a group committed.
    pub(super) fn committed(&self) {
        let Ok(mut state) = self.shared.state.lock() else {
            return;
        };
        state.commits += 1;
        if state.idle {
            state.idle = false;
            self.shared.wake.notify_one();
        }
    }

    /// Whether the writer should checkpoint after this commit (see the module's
    /// documentation); asks once per request.
    pub(super) fn take_restart(&self) -> bool {
        self.shared.restart.swap(false, Ordering::Relaxed)
    }

    /// Asks the writer to checkpoint after its next commit, as a pass does when the WAL
    /// is long.
    #[cfg(test)]
    pub(super) fn request_restart(&self) {
        self.shared.restart.store(true, Ordering::Relaxed);
    }

    /// Stops the thread and waits until its pass, if one is under way, has ended: the
    /// `TRUNCATE` checkpoint of a clean shutdown must not find it running.
    pub(super) fn stop(&self) {
        self.signal_stop();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn signal_stop(&self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.stopping = true;
        }
        self.shared.wake.notify_one();
    }
}

impl Drop for Checkpointer {
    /// The thread ends after its pass, closing its connection; nobody waits for it.
    fn drop(&mut self) {
        self.signal_stop();
    }
}

fn run(conn: &Connection, shared: &Shared) {
    let mut seen = 0;
    loop {
        {
            let Ok(mut state) = shared.state.lock() else {
                return;
            };
            while state.commits == seen && !state.stopping {
                state.idle = true;
                state = match shared.wake.wait(state) {
                    Ok(state) => state,
                    Err(_) => return,
                };
            }
            if state.stopping {
                return;
            }
        }
        std::thread::sleep(INTERVAL);
        match shared.state.lock() {
            Ok(state) if !state.stopping => seen = state.commits,
            _ => return,
        }
        match passive(conn) {
            Ok(log) if log > RESTART_FRAMES => shared.restart.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the background WAL checkpoint failed"),
        }
    }
}

/// A `PASSIVE` checkpoint on `conn`: copies the committed frames no reader still
/// needs, without waiting for anyone. Returns the WAL's length in pages.
pub(super) fn passive(conn: &Connection) -> rusqlite::Result<i64> {
    // One row: busy (1 when another connection was checkpointing), WAL pages, pages
    // copied.
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
}
