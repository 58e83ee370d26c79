//! The one place slp reads time.
//!
//! Every deadline rule in slp takes time from a [`Clock`], never from the operating system
//! directly, so that a test or a simulation can run a year of policy time in seconds.
//! [`SystemClock`] reads the wall clock; [`VirtualClock`] is set and advanced by hand, or runs
//! at a multiple of real time from a chosen start (`slp lab --speed K`).

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // This is the one place the wall clock is read.
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a chosen instant and moves only when told to, or at `speed` times real time.
#[derive(Debug)]
pub struct VirtualClock {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: DateTime<Utc>,
    started: Instant,
    speed: u32,
}

impl VirtualClock {
    /// A frozen clock showing `at` until [`VirtualClock::advance`] or [`VirtualClock::set`] moves it.
    pub fn frozen(at: DateTime<Utc>) -> VirtualClock {
        VirtualClock::running(at, 0)
    }

    /// A clock that starts at `at` and runs `speed` times faster than real time (0 = frozen).
    #[allow(clippy::disallowed_methods)] // Instant only measures elapsed real time for the speed-up.
    pub fn running(at: DateTime<Utc>, speed: u32) -> VirtualClock {
        VirtualClock { inner: Mutex::new(Inner { base: at, started: Instant::now(), speed }) }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let now = self.now();
        self.set(now + by);
    }

    /// Sets the clock to `at`.
    #[allow(clippy::disallowed_methods)]
    pub fn set(&self, at: DateTime<Utc>) {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.base = at;
        inner.started = Instant::now();
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        let inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.speed == 0 {
            return inner.base;
        }
        let elapsed = inner.started.elapsed() * inner.speed;
        inner.base + Duration::from_std(elapsed).unwrap_or(Duration::zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let clock = VirtualClock::frozen(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::days(365));
        assert_eq!(clock.now(), start + Duration::days(365));
    }
}
