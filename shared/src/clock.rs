//! The clock is a parameter so that expiry is tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real time, used by every deployed function.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        // Whole seconds: the table stores epoch seconds, so an answer computed
        // from `now` matches what a later read of the same item says.
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

/// A clock tests (and the local stack, on request) can move by hand.
#[derive(Debug)]
pub struct ManualClock {
    unix_seconds: AtomicI64,
}

impl ManualClock {
    pub fn starting_at(at: OffsetDateTime) -> Self {
        Self { unix_seconds: AtomicI64::new(at.unix_timestamp()) }
    }

    pub fn advance(&self, by: time::Duration) {
        self.unix_seconds.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        let seconds = self.unix_seconds.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}
