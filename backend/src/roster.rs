//! Which hookwired instances are alive. Each announces itself every few seconds in one
//! entry of the configuration bucket (instance → alive until, written by compare-and-set,
//! so instances announcing at once do not lose each other's entries) and leaves it when it
//! stops; an instance killed drops out when its time runs out. Ordered delivery shares its
//! partitions by the roster, and a configuration change waits for every instance on it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::kv;
use chrono::Utc;
use tokio::sync::watch;

/// The bucket key of the roster.
const ROSTER: &str = "instances";
/// How often an instance announces itself.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(2);
/// How long an announcement lasts.
const ALIVE_FOR: Duration = Duration::from_secs(10);
/// Compare-and-set attempts per announcement (instances announcing at once conflict).
const TRIES: usize = 5;

/// The instances alive and until when (milliseconds since the epoch).
pub(crate) type Roster = BTreeMap<String, i64>;

/// `roster` with `instance` alive until `now_ms + alive_for_ms`, and without those whose time
/// ran out.
fn announced(mut roster: Roster, instance: &str, now_ms: i64, alive_for_ms: i64) -> Roster {
    roster.retain(|_, until| *until >= now_ms);
    roster.insert(instance.to_owned(), now_ms + alive_for_ms);
    roster
}

/// The instances on `roster` whose time has not run out at `now_ms`.
fn alive(roster: &Roster, now_ms: i64) -> Vec<String> {
    roster
        .iter()
        .filter(|(_, until)| **until >= now_ms)
        .map(|(instance, _)| instance.clone())
        .collect()
}

/// Announces `instance` now, so the others count it before it delivers anything; `live`
/// gets the roster written.
pub(crate) async fn join(bucket: &kv::Store, instance: &str, live: &watch::Sender<Roster>) {
    match tokio::time::timeout(ANNOUNCE_EVERY, announce(bucket, instance)).await {
        Ok(Ok(roster)) => {
            live.send_replace(roster);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot announce this instance"),
        Err(_) => tracing::warn!("announcing this instance timed out"),
    }
}

/// Announces `instance` every few seconds after [`join`], keeping `live` at the roster
/// written, until `stop` turns true; then takes it off the roster.
pub(crate) async fn run(
    bucket: kv::Store,
    instance: String,
    live: watch::Sender<Roster>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stopping = tokio::select! {
            () = tokio::time::sleep(ANNOUNCE_EVERY) => false,
            stopped = stop.wait_for(|s| *s) => stopped.is_ok(),
        };
        if stopping {
            leave(&bucket, &instance).await;
            return;
        }
        join(&bucket, &instance, &live).await;
    }
}

/// Announces `instance` as alive; the roster written.
async fn announce(bucket: &kv::Store, instance: &str) -> Result<Roster, async_nats::Error> {
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
            Ok(_) => return Ok(roster),
            Err(e) => last_error = Some(e),
        }
    }
    Err(format!("cannot announce this instance in {ROSTER}: {last_error:?}").into())
}

/// The instances alive now.
pub(crate) async fn members(bucket: &kv::Store) -> Result<Vec<String>, async_nats::Error> {
    let (roster, _) = read(bucket).await?;
    Ok(alive(&roster, Utc::now().timestamp_millis()))
}

/// Takes `instance` off the roster, so the others need not wait for its announcement to
/// run out.
async fn leave(bucket: &kv::Store, instance: &str) {
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
    fn the_members_are_those_whose_time_has_not_run_out() {
        let roster = Roster::from([
            ("a".into(), 1_000),
            ("b".into(), 2_000),
            ("c".into(), 3_000),
        ]);
        assert_eq!(alive(&roster, 2_000), vec!["b", "c"]);
        assert_eq!(alive(&roster, 0), vec!["a", "b", "c"]);
        assert!(alive(&roster, 3_001).is_empty());
        assert!(alive(&Roster::new(), 0).is_empty());
    }
}
