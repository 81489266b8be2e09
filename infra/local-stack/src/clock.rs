//! The local stack's clock: the real time plus an offset a developer (or the
//! browser tests) can move forward with `POST /_local/clock?advance_minutes=N`, to
//! see a code expire without waiting twelve hours.

use ota::clock::{Clock, SystemClock};
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_seconds: AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, by: time::Duration) {
        self.offset_seconds.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        SystemClock.now() + time::Duration::seconds(self.offset_seconds.load(Ordering::SeqCst))
    }
}
