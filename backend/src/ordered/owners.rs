//! Which instance runs which part of ordered delivery. Each instance announces itself in a
//! roster in the configuration bucket (one entry, instance → alive until, written by
//! compare-and-set); from the number alive each works out its fair share of the partitions
//! ([`fair_share`]), takes free or expired ones up to it and gives up those beyond it
//! ([`surplus`]), so partitions spread over the instances and move when one comes or goes.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::kv;
use chrono::Utc;
use hookwire_protocol::ordered::PARTITIONS;

/// The bucket key of the roster.
const ROSTER: &str = "ordered-instances";
/// How long an announcement lasts (instances announce every few seconds).
const ALIVE_FOR: Duration = Duration::from_secs(10);
/// Compare-and-set attempts per announcement (instances announcing at once conflict).
const TRIES: usize = 5;

/// The instances alive and until when (milliseconds since the epoch).
pub(super) type Roster = BTreeMap<String, i64>;

/// `roster` with `instance` alive until `now_ms + alive_for_ms`, and without those whose time
/// ran out.
pub(super) fn announced(
    mut roster: Roster,
    instance: &str,
    now_ms: i64,
    alive_for_ms: i64,
) -> Roster {
    roster.retain(|_, until| *until >= now_ms);
    roster.insert(instance.to_owned(), now_ms + alive_for_ms);
    roster
}

/// The partitions each of `live` instances should run: all of them divided evenly,
/// rounded up (so every partition finds an owner).
pub(super) fn fair_share(live: usize) -> usize {
    usize::from(PARTITIONS).div_ceil(live.max(1))
}

/// Of the partitions `held`, those to give up to keep `fair`: the highest numbered.
pub(super) fn surplus(held: &[u8], fair: usize) -> Vec<u8> {
    let mut held = held.to_vec();
    held.sort_unstable();
    held.split_off(fair.min(held.len()))
}

/// Announces `instance` as alive; how many instances are (itself included).
pub(super) async fn announce(
    bucket: &kv::Store,
    instance: &str,
) -> Result<usize, async_nats::Error> {
    let alive_for = i64::try_from(ALIVE_FOR.as_millis())?;
    let mut last_error = None;
    for _ in 0..TRIES {
        let (roster, revision) = read(bucket).await?;
        let roster = announced(roster, instance, Utc::now().timestamp_millis(), alive_for);
        let value = serde_json::to_vec(&roster)?.into();
        let written: Result<u64, async_nats::Error> = match revision {
            Some(revision) => bucket
                .update(ROSTER, value, revision)
                .await
                .map_err(Into::into),
            None => bucket.create(ROSTER, value).await.map_err(Into::into),
        };
        match written {
            Ok(_) => return Ok(roster.len()),
            Err(e) => last_error = Some(e),
        }
    }
    Err(format!("cannot announce this instance in {ROSTER}: {last_error:?}").into())
}

/// Takes `instance` off the roster (on shutdown, or when nothing is ordered any more), so
/// the others need not wait for its announcement to run out.
pub(super) async fn leave(bucket: &kv::Store, instance: &str) {
    for _ in 0..TRIES {
        let Ok((mut roster, Some(revision))) = read(bucket).await else {
            return;
        };
        if roster.remove(instance).is_none() {
            return;
        }
        let Ok(value) = serde_json::to_vec(&roster) else {
            return;
        };
        if bucket.update(ROSTER, value.into(), revision).await.is_ok() {
            return;
        }
    }
}

/// The roster and its revision (none when it was never written or was deleted).
async fn read(bucket: &kv::Store) -> Result<(Roster, Option<u64>), async_nats::Error> {
    match bucket.entry(ROSTER).await? {
        Some(entry) if entry.operation == kv::Operation::Put => Ok((
            serde_json::from_slice(&entry.value).unwrap_or_default(),
            Some(entry.revision),
        )),
        Some(entry) => Ok((Roster::new(), Some(entry.revision))),
        None => Ok((Roster::new(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_drops_the_instances_whose_time_ran_out() {
        let roster = Roster::from([("a".into(), 1_000), ("b".into(), 2_000)]);
        let roster = announced(roster, "c", 1_500, 10_000);
        assert_eq!(
            roster,
            Roster::from([("b".into(), 2_000), ("c".into(), 11_500)])
        );
        let roster = announced(roster, "b", 2_000, 10_000);
        assert_eq!(roster["b"], 12_000, "its own entry is renewed");
        assert_eq!(roster.len(), 2);
        assert_eq!(announced(Roster::new(), "a", 0, 5).len(), 1);
    }

    #[test]
    fn partitions_are_shared_evenly_rounding_up() {
        assert_eq!(fair_share(0), 16);
        assert_eq!(fair_share(1), 16);
        assert_eq!(fair_share(2), 8);
        assert_eq!(fair_share(3), 6);
        assert_eq!(fair_share(5), 4);
        assert_eq!(fair_share(16), 1);
        assert_eq!(fair_share(40), 1);
        for live in 1..=20 {
            assert!(fair_share(live) * live >= usize::from(PARTITIONS));
        }
    }

    #[test]
    fn the_surplus_is_the_highest_partitions_beyond_the_share() {
        assert_eq!(surplus(&[3, 0, 9, 5], 2), vec![5, 9]);
        assert_eq!(surplus(&[3, 0], 2), Vec::<u8>::new());
        assert_eq!(surplus(&[3], 8), Vec::<u8>::new());
        assert_eq!(surplus(&[1, 2], 0), vec![1, 2]);
        assert_eq!(surplus(&[], 1), Vec::<u8>::new());
    }
}
