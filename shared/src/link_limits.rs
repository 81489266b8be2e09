//! What one warm guest-function instance remembers of the links it answered: how many
//! status reads each link had lately (a token bucket per link), so a flood of one
//! genuine link is answered `429 rate_limited` from memory instead of holding the
//! table and the function's reserved concurrency. Per instance: with at most
//! `GuestReservedConcurrency` instances a link gets at most that many times the rate,
//! and the web firewall's per-address limit stands in front (README, budgets).
//!
//! A real guest's page asks once on opening, then every 500 ms while a gate acts (up
//! to 25 s), so a burst of 60 refilled at 2 a second never stops one.

use crate::domain::ids::InviteId;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// Reads one link may have at once, and how fast they come back.
const BURST: f64 = 60.0;
const PER_SECOND: f64 = 2.0;
/// Links remembered before the full buckets (links left alone) are forgotten.
const REMEMBERED: usize = 10_000;

#[derive(Debug, Default)]
pub struct LinkLimits {
    buckets: Mutex<HashMap<InviteId, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: OffsetDateTime,
}

impl Bucket {
    fn refilled(self, now: OffsetDateTime) -> f64 {
        let seconds = (now - self.at).as_seconds_f64().max(0.0);
        (self.tokens + seconds * PER_SECOND).min(BURST)
    }
}

impl LinkLimits {
    /// One read of `link` at `now`, or the seconds until the next one is allowed.
    pub fn take(&self, link: &InviteId, now: OffsetDateTime) -> Result<(), u64> {
        // A poisoned lock only means another request panicked mid-update: the counts
        // are still counts.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= REMEMBERED && !buckets.contains_key(link) {
            buckets.retain(|_, bucket| bucket.refilled(now) < BURST);
            if buckets.len() >= REMEMBERED {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(link.clone()).or_insert(Bucket { tokens: BURST, at: now });
        let tokens = bucket.refilled(now);
        if tokens < 1.0 {
            return Err(((1.0 - tokens) / PER_SECOND).ceil() as u64);
        }
        *bucket = Bucket { tokens: tokens - 1.0, at: now };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn a_link_gets_its_burst_then_two_reads_a_second_and_others_are_untouched() {
        let limits = LinkLimits::default();
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let (flooded, other) = (InviteId::generate(now), InviteId::generate(now));
        for _ in 0..60 {
            assert_eq!(limits.take(&flooded, now), Ok(()));
        }
        assert_eq!(limits.take(&flooded, now), Err(1));
        assert_eq!(limits.take(&other, now), Ok(()), "another link is not held back");
        let later = now + Duration::seconds(5);
        for _ in 0..10 {
            assert_eq!(limits.take(&flooded, later), Ok(()));
        }
        assert_eq!(limits.take(&flooded, later), Err(1));
    }

    #[test]
    fn a_real_pages_polling_is_never_held_back() {
        let limits = LinkLimits::default();
        let start = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let link = InviteId::generate(start);
        // Opening, then two gate actions polled every 500 ms for 25 s each.
        for i in 0..=100 {
            assert_eq!(limits.take(&link, start + Duration::milliseconds(500 * i)), Ok(()), "poll {i}");
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let limits = LinkLimits::default();
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        for _ in 0..REMEMBERED + 10 {
            let _ = limits.take(&InviteId::generate(now), now);
        }
        assert!(limits.buckets.lock().unwrap().len() <= REMEMBERED);
    }
}
