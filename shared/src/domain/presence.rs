//! Which of two lifecycle events of one gate is the later, as AWS IoT Core sends
//! them (<https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html>):
//!
//! - "The connect and disconnect messages for a client connection have the same
//!   version number." A version names a connection, not an event.
//! - "The version number might skip values …" and "If a client is not connected for
//!   approximately one hour, the version number is reset to 0." Versions order the
//!   connections of one spell online, not the spells either side of a long outage.
//! - `timestamp` is "expressed in milliseconds since the Unix epoch. The accuracy of
//!   the timestamp is +/- 2 minutes." Timestamps order events far apart, not close ones.
//! - "Lifecycle messages might be sent out of order. You might receive duplicate
//!   messages."
//!
//! So the rule ([`supersedes`]): events more than [`RESET_GAP`] apart are ordered by
//! their timestamps, which cannot be wrong by that much and are the only order
//! across a reset; closer events by their versions, which cannot have been reset
//! in between; and of one connection's two events the disconnect is the later. The
//! store's conditional write (`Store::record_presence`) encodes the same rule.

use time::{Duration, OffsetDateTime};

/// Events at least this far apart are ordered by their timestamps. Far above the
/// timestamps' documented error (2 minutes either way), far below the hour offline
/// after which AWS resets the version.
pub const RESET_GAP: Duration = Duration::minutes(30);

/// How far a lifecycle event's timestamp may be off, by AWS's documentation.
pub const TIMESTAMP_ACCURACY: Duration = Duration::minutes(2);

/// One lifecycle event of a gate, or the last one recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleEvent {
    pub connected: bool,
    /// The connection's version (shared by its connect and its disconnect).
    pub version: i64,
    pub at: OffsetDateTime,
}

/// Whether `new` happened after `recorded`, so that it now says whether the gate
/// is connected. A duplicate supersedes nothing.
pub fn supersedes(new: &LifecycleEvent, recorded: &LifecycleEvent) -> bool {
    let apart = new.at - recorded.at;
    if apart >= RESET_GAP {
        return true;
    }
    if apart <= -RESET_GAP {
        return false;
    }
    new.version > recorded.version || (new.version == recorded.version && recorded.connected && !new.connected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    fn connect(version: i64, at: OffsetDateTime) -> LifecycleEvent {
        LifecycleEvent { connected: true, version, at }
    }

    fn disconnect(version: i64, at: OffsetDateTime) -> LifecycleEvent {
        LifecycleEvent { connected: false, version, at }
    }

    /// Applies events in delivery order, as the store does; the gate's last word.
    fn last(events: &[LifecycleEvent]) -> LifecycleEvent {
        let mut recorded = events[0];
        for event in &events[1..] {
            if supersedes(event, &recorded) {
                recorded = *event;
            }
        }
        recorded
    }

    #[test]
    fn a_connection_s_disconnect_supersedes_its_connect_and_never_the_reverse() {
        let (c, d) = (connect(7, T), disconnect(7, T + Duration::minutes(10)));
        assert!(supersedes(&d, &c));
        assert!(!supersedes(&c, &d), "reordered");
        assert!(!supersedes(&d, &d) && !supersedes(&c, &c), "duplicates");
        // Within the timestamps' error the disconnect may even look earlier.
        assert!(supersedes(&disconnect(7, T - Duration::minutes(1)), &c));
    }

    #[test]
    fn a_reset_version_after_an_hour_offline_is_the_later_connection() {
        let gone = disconnect(7, T);
        let back = connect(0, T + Duration::minutes(61));
        assert!(supersedes(&back, &gone));
        assert!(!supersedes(&gone, &back), "the old disconnect, delivered late, is older");
        assert_eq!(last(&[back, gone, connect(7, T - Duration::hours(2))]), back);
    }

    #[test]
    fn a_newer_connection_outlives_an_older_connection_s_disconnect() {
        let newer = connect(9, T);
        assert!(!supersedes(&disconnect(7, T + Duration::seconds(5)), &newer), "versions skip");
        assert!(supersedes(&disconnect(9, T + Duration::seconds(5)), &newer));
    }

    #[test]
    fn every_order_of_a_flapping_gate_s_events_ends_where_its_last_connection_ends() {
        let events = [
            connect(3, T),
            disconnect(3, T + Duration::seconds(20)),
            connect(5, T + Duration::seconds(50)),
            disconnect(5, T + Duration::minutes(3)),
            connect(0, T + Duration::minutes(70)),
        ];
        // Every rotation and its reverse, each event delivered twice.
        for start in 0..events.len() {
            let mut order: Vec<_> = events.iter().cycle().skip(start).take(events.len()).copied().collect();
            for reversed in [false, true] {
                if reversed {
                    order.reverse();
                }
                let doubled: Vec<_> = order.iter().flat_map(|e| [*e, *e]).collect();
                assert_eq!(last(&doubled), events[4], "{doubled:?}");
            }
        }
    }
}
