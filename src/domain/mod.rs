//! Pure rules of the access model: no axum, no sqlx, no tokio. Types here are what the
//! store returns and the API renders; validation turns client input into them.

pub mod access_profile;
pub mod lifecycle_state;
pub mod model;
pub mod patch;
pub mod role;
pub mod scope;
pub mod segment;
pub mod source_app;
pub mod task;
pub mod text;
pub mod usage;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Errors of the domain rules; the API maps them to ISC error bodies.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    /// Input breaks a rule: 400 `400.1 Bad Request Content`.
    #[error("{0}")]
    Invalid(String),
    /// Input breaks several rules: each problem, in the order found (two or more; one
    /// is [`DomainError::Invalid`]). Also a 400 `400.1 Bad Request Content`.
    #[error("{}", .0.join(" "))]
    Problems(Vec<String>),
    /// The object is used by another (CONTRACT §3.1).
    #[error("{0}")]
    InUse(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

pub fn invalid<T>(msg: impl Into<String>) -> DomainResult<T> {
    Err(DomainError::Invalid(msg.into()))
}

/// The problems of one input, collected as each field is checked so that a client
/// hears of them all in one answer.
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    /// The value of one check, or `None` with its problems noted.
    pub fn check<T>(&mut self, result: DomainResult<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.add(e);
                None
            }
        }
    }

    pub fn add(&mut self, e: DomainError) {
        match e {
            DomainError::Invalid(text) | DomainError::InUse(text) => self.0.push(text),
            DomainError::Problems(texts) => self.0.extend(texts),
        }
    }

    pub fn push(&mut self, text: impl Into<String>) {
        self.0.push(text.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when no problem was noted; else every problem as one error.
    pub fn finish(self) -> DomainResult<()> {
        let mut texts = self.0;
        match texts.len() {
            0 => Ok(()),
            1 => Err(DomainError::Invalid(texts.remove(0))),
            _ => Err(DomainError::Problems(texts)),
        }
    }
}

/// The one timestamp format used in the database: UTC, millisecond precision,
/// e.g. `2021-03-01T22:32:58.104Z`. Lexicographic order of these strings is time
/// order (for years 0000..=9999).
pub fn format_timestamp(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Hash of a client secret, as `api_clients.secret_hash` holds it. Secrets are 32
/// random bytes, so a plain SHA-256 is enough to make a leaked table useless; a slow
/// KDF would only slow the token endpoint.
pub fn hash_secret(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new object id: 32 lowercase hex characters, like ISC's (CONTRACT §2). A UUIDv7:
/// the milliseconds since the epoch, then random bits, in the order this process
/// made them. Ids made one after another sort next to each other, so the rows
/// created together share the pages of every index keyed by an id (a random id put
/// each new row on a page of its own in each of them, read and written again).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Whether `s` has the shape of an object id accessd issues.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The source of "now". Tests move it with [`Clock::advance`] instead of sleeping, and
/// stop it with [`Clock::frozen`] where real time passing during a test would change the
/// outcome (rate limits, CONTRACT §8). Every clone shares one state, so the admin API's
/// clock controls (set, freeze, advance, real time) reach every reader.
#[derive(Clone, Debug)]
pub struct Clock {
    state: Arc<RwLock<ClockState>>,
    /// Start of the monotonic reading, [`Clock::elapsed`].
    origin: Instant,
}

/// The last millisecond the clock may stand at, 9999-12-31T23:59:59.999Z: timestamps
/// are stored as fixed-width RFC 3339 text, whose order is time order only for
/// four-digit years.
const LATEST_CLOCK_MS: i64 = 253_402_300_799_999;

/// Whether the clock may stand at `at`: from 1970-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999Z (`POST /_accessd/clock` refuses a change beyond).
pub fn clock_in_range(at: &DateTime<Utc>) -> bool {
    (0..=LATEST_CLOCK_MS).contains(&at.timestamp_millis())
}

/// `at` moved by `ms`, or `None` past the ends of what a date-time holds.
fn shift(at: DateTime<Utc>, ms: i64) -> Option<DateTime<Utc>> {
    at.checked_add_signed(chrono::TimeDelta::try_milliseconds(ms)?)
}

/// `at` moved by `ms`, held at the ends of what a date-time holds rather than past them.
fn shifted(at: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
    shift(at, ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// The most one move of the clock moves its monotonic reading ([`Clock::elapsed`]):
/// a year, longer than the intervals measured with it (rate-limit windows, blocks
/// after failed sign-ins) need, so that no setting within the clock's range can carry
/// it past the 584 years a rate limiter's count of nanoseconds holds.
const MAX_MONOTONIC_STEP_MS: i64 = 366 * 86_400_000;

#[derive(Debug, Default)]
struct ClockState {
    /// Added to the wall-clock reading (or to the frozen instant).
    wall_offset_ms: i64,
    /// Added to the monotonic reading: advances only ever move it forward, so intervals
    /// (rate-limit windows) never run backwards.
    mono_offset_ms: i64,
    /// A frozen clock: the wall time and the monotonic reading it stands at.
    frozen: Option<(DateTime<Utc>, Duration)>,
}

impl ClockState {
    /// The wall time, with `system` as the system's time; `None` when the offset
    /// carries it past the ends of what a date-time holds.
    fn wall(&self, system: DateTime<Utc>) -> Option<DateTime<Utc>> {
        shift(
            self.frozen.map_or(system, |(at, _)| at),
            self.wall_offset_ms,
        )
    }
}

/// What a [`Clock`] reads and whether it stands still.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    pub now: DateTime<Utc>,
    pub frozen: bool,
    /// Milliseconds between this clock and the system's.
    pub offset_ms: i64,
}

/// A clock's standing, independent of the process it runs in (what several instances
/// share through their database): frozen at an instant, or running at a distance from
/// the system's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSetting {
    pub frozen_at: Option<DateTime<Utc>>,
    /// Milliseconds ahead of the system's time (behind when negative), when running.
    pub offset_ms: i64,
}

impl ClockSetting {
    /// Whether a clock standing so reads a time it may be set to ([`clock_in_range`]).
    pub fn in_range(&self) -> bool {
        self.frozen_at
            .or_else(|| shift(Utc::now(), self.offset_ms))
            .is_some_and(|at| clock_in_range(&at))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    pub fn system() -> Self {
        Self {
            state: Arc::default(),
            origin: Instant::now(),
        }
    }

    /// A clock that stands still at the current time until advanced.
    pub fn frozen() -> Self {
        let clock = Self::system();
        clock.freeze();
        clock
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ClockState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ClockState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Current time, truncated to milliseconds (the precision accessd stores).
    pub fn now(&self) -> DateTime<Utc> {
        let state = self.read();
        let base = state.frozen.map_or_else(Utc::now, |(at, _)| at);
        let now = shifted(base, state.wall_offset_ms);
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    /// [`Clock::now`], or `None` when the clock was moved past the ends of what a
    /// date-time holds (where `now` stands still at that end).
    pub fn try_now(&self) -> Option<DateTime<Utc>> {
        let now = self.read().wall(Utc::now())?;
        DateTime::from_timestamp_millis(now.timestamp_millis())
    }

    /// Time since this clock was created, plus its advances. Read from a monotonic
    /// source, so a step of the wall clock does not move it: what intervals such as
    /// rate-limit windows are measured with.
    pub fn elapsed(&self) -> Duration {
        let state = self.read();
        let real = state
            .frozen
            .map_or_else(|| self.origin.elapsed(), |(_, at)| at);
        let offset = state.mono_offset_ms;
        let moved = Duration::from_millis(offset.unsigned_abs());
        if offset >= 0 {
            real.saturating_add(moved)
        } else {
            real.saturating_sub(moved)
        }
    }

    /// Moves this clock (and every clone of it) forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.advance_ms(secs.saturating_mul(1000));
    }

    /// Moves the clock by `ms` (forward when positive; the monotonic reading only ever
    /// moves forward, by at most a year at a time).
    pub fn advance_ms(&self, ms: i64) {
        let mut state = self.write();
        state.wall_offset_ms = state.wall_offset_ms.saturating_add(ms);
        state.mono_offset_ms = state
            .mono_offset_ms
            .saturating_add(ms.clamp(0, MAX_MONOTONIC_STEP_MS));
    }

    /// Sets the wall time to `at` (frozen or running as it is). A step forward moves
    /// the monotonic reading too; a step back does not.
    pub fn set(&self, at: DateTime<Utc>) {
        let mut state = self.write();
        let base = state.frozen.map_or_else(Utc::now, |(at, _)| at);
        let current = shifted(base, state.wall_offset_ms);
        let step = (at - current).num_milliseconds();
        state.mono_offset_ms = state
            .mono_offset_ms
            .saturating_add(step.clamp(0, MAX_MONOTONIC_STEP_MS));
        match &mut state.frozen {
            Some((frozen_at, _)) => {
                *frozen_at = at;
                state.wall_offset_ms = 0;
            }
            None => state.wall_offset_ms = (at - Utc::now()).num_milliseconds(),
        }
    }

    /// Stops the clock where it stands.
    pub fn freeze(&self) {
        let mut state = self.write();
        if state.frozen.is_none() {
            state.frozen = Some((Utc::now(), self.origin.elapsed()));
        }
    }

    /// Back to the system's time, running. The monotonic reading goes on from where
    /// it stands.
    pub fn real(&self) {
        let mut state = self.write();
        let mono_now = match state.frozen {
            Some((_, at)) => at,
            None => self.origin.elapsed(),
        };
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let standing = ms(mono_now).saturating_add(state.mono_offset_ms);
        state.frozen = None;
        state.wall_offset_ms = 0;
        state.mono_offset_ms = standing.saturating_sub(ms(self.origin.elapsed()));
    }

    /// What this clock stands at, in a form another instance can take over
    /// ([`Clock::apply`]): the instant it is frozen at, or its distance from the
    /// system's time.
    pub fn setting(&self) -> ClockSetting {
        let state = self.read();
        match state.frozen {
            Some((at, _)) => ClockSetting {
                frozen_at: Some(shifted(at, state.wall_offset_ms)),
                offset_ms: 0,
            },
            None => ClockSetting {
                frozen_at: None,
                offset_ms: state.wall_offset_ms,
            },
        }
    }

    /// Makes this clock (and every clone of it) stand as `setting` says. As with
    /// [`Clock::set`], a step forward moves the monotonic reading too and a step back
    /// does not.
    pub fn apply(&self, setting: &ClockSetting) {
        fn ms(d: Duration) -> i64 {
            i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
        }
        let mut state = self.write();
        let system = Utc::now();
        let running = self.origin.elapsed();
        let wall =
            |s: &ClockState| shifted(s.frozen.map_or(system, |(at, _)| at), s.wall_offset_ms);
        let before = wall(&state);
        let base = |s: &ClockState| s.frozen.map_or(running, |(_, at)| at);
        let standing = ms(base(&state)).saturating_add(state.mono_offset_ms);
        match setting.frozen_at {
            Some(at) => {
                let held = state.frozen.map_or(running, |(_, m)| m);
                state.frozen = Some((at, held));
                state.wall_offset_ms = 0;
            }
            None => {
                state.frozen = None;
                state.wall_offset_ms = setting.offset_ms;
            }
        }
        let step = (wall(&state) - before)
            .num_milliseconds()
            .clamp(0, MAX_MONOTONIC_STEP_MS);
        state.mono_offset_ms = standing
            .saturating_add(step)
            .saturating_sub(ms(base(&state)));
    }

    pub fn reading(&self) -> ClockReading {
        let frozen = self.read().frozen.is_some();
        let now = self.now();
        ClockReading {
            now,
            frozen,
            offset_ms: (now - Utc::now()).num_milliseconds(),
        }
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = Clock::frozen();
        let (at, elapsed) = (clock.now(), clock.elapsed());
        assert_eq!(clock.now(), at);
        assert_eq!(clock.elapsed(), elapsed);
        clock.clone().advance(3);
        assert_eq!(clock.now(), at + chrono::Duration::seconds(3));
        assert_eq!(clock.elapsed(), elapsed + Duration::from_secs(3));
    }

    #[test]
    fn set_freeze_and_real_move_every_clone_and_never_run_the_monotonic_reading_back() {
        let clock = Clock::system();
        let other = clock.clone();
        let at = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        other.freeze();
        other.set(at);
        assert_eq!(clock.now(), at);
        assert!(clock.reading().frozen);
        let before = clock.elapsed();
        other.set(at - chrono::Duration::days(1));
        assert_eq!(clock.now(), at - chrono::Duration::days(1));
        assert!(
            clock.elapsed() >= before,
            "a step back does not run intervals back"
        );
        other.real();
        assert!(!clock.reading().frozen);
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 5);
        assert!(clock.elapsed() >= before);
    }

    #[test]
    fn a_setting_carries_a_clock_over_to_another_and_never_runs_its_monotonic_reading_back() {
        let here = Clock::frozen();
        here.advance(3600);
        let there = Clock::system();
        let before = there.elapsed();
        there.apply(&here.setting());
        assert_eq!(there.now(), here.now());
        assert!(there.reading().frozen);
        assert!(there.elapsed() >= before + Duration::from_secs(3500));
        let stood = there.elapsed();
        there.apply(&ClockSetting {
            frozen_at: None,
            offset_ms: -60_000,
        });
        assert!(!there.reading().frozen);
        assert!((there.now() - Utc::now()).num_seconds() + 60 <= 1);
        assert!(
            there.elapsed() >= stood,
            "a step back does not run intervals back"
        );
        let running = Clock::system();
        running.advance(10);
        let setting = running.setting();
        assert_eq!(setting.frozen_at, None);
        assert_eq!(setting.offset_ms, 10_000);
    }

    #[test]
    fn no_move_of_the_clock_panics_however_far() {
        for secs in [
            i64::MAX,
            i64::MIN,
            i64::MAX / 1000,
            i64::MIN / 1000 + 1,
            10_000_000_000_000,
        ] {
            for clock in [Clock::frozen(), Clock::system()] {
                clock.advance(secs);
                clock.advance(secs);
                assert!(clock.try_now().is_none(), "{secs}");
                let now = clock.now();
                assert!(!clock_in_range(&now), "{secs}: {now}");
                let _ = clock.reading();
                assert!(
                    clock.elapsed() <= Duration::from_secs(3 * 366 * 86_400),
                    "the monotonic reading moves a year at most at a time"
                );
                let setting = clock.setting();
                let other = Clock::frozen();
                other.apply(&setting);
                other.apply(&ClockSetting {
                    frozen_at: None,
                    offset_ms: secs,
                });
                other.set(DateTime::<Utc>::MAX_UTC);
                other.real();
                let _ = (other.now(), other.elapsed(), other.setting());
            }
        }
    }

    #[test]
    fn the_clock_may_stand_from_1970_to_the_end_of_9999() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        assert!(clock_in_range(&at("1970-01-01T00:00:00Z")));
        assert!(clock_in_range(&at("9999-12-31T23:59:59.999Z")));
        assert!(!clock_in_range(&at("1969-12-31T23:59:59.999Z")));
        assert!(!clock_in_range(
            &(at("9999-12-31T23:59:59.999Z") + chrono::Duration::milliseconds(1))
        ));
    }

    #[test]
    fn the_monotonic_reading_includes_advances() {
        let clock = Clock::system();
        let before = clock.elapsed();
        clock.advance(10);
        assert!(clock.elapsed() >= before + Duration::from_secs(10));
    }
}
