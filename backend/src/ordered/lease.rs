//! A lease that makes one instance the runner of a part of ordered delivery (the feeder, or
//! a partition of the lanes): an entry in the configuration bucket naming the holder and
//! until when, renewed by compare-and-set. A holder that cannot renew stops that part at once
//! (the renewal has a deadline well inside the lease), so another instance takes over only
//! after it stopped, as long as the instances' clocks agree within a few seconds.

use std::time::Duration;

use async_nats::jetstream::kv;
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// How long a lease lasts without renewal.
const TTL: Duration = Duration::from_secs(10);
/// How long a renewal may take before the holder gives up (and stops).
const DEADLINE: Duration = Duration::from_secs(3);

/// The lease's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    instance: String,
    until_ms: i64,
}

/// This instance's side of the lease.
pub(super) struct Lease {
    bucket: kv::Store,
    /// Its bucket key.
    key: String,
    instance: String,
    /// The revision this instance last wrote, while it holds the lease.
    revision: Option<u64>,
}

impl Lease {
    pub(super) fn new(bucket: kv::Store, key: String, instance: String) -> Self {
        Self {
            bucket,
            key,
            instance,
            revision: None,
        }
    }

    /// Renews the lease, or takes it when it is free or expired; whether this instance
    /// holds it now.
    pub(super) async fn hold(&mut self) -> bool {
        let held = tokio::time::timeout(DEADLINE, self.try_hold())
            .await
            .ok()
            .and_then(Result::ok);
        self.revision = held;
        held.is_some()
    }

    async fn try_hold(&self) -> Result<u64, async_nats::Error> {
        let key = self.key.as_str();
        let mine = serde_json::to_vec(&Holder {
            instance: self.instance.clone(),
            until_ms: Utc::now().timestamp_millis() + i64::try_from(TTL.as_millis())?,
        })?;
        if let Some(revision) = self.revision {
            return Ok(self.bucket.update(key, mine.into(), revision).await?);
        }
        match self.bucket.entry(key).await? {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let holder: Holder = serde_json::from_slice(&entry.value)?;
                if takes_over(&holder, &self.instance, Utc::now().timestamp_millis()) {
                    Ok(self.bucket.update(key, mine.into(), entry.revision).await?)
                } else {
                    Err("the lease is held by another instance".into())
                }
            }
            Some(entry) => Ok(self.bucket.update(key, mine.into(), entry.revision).await?),
            None => Ok(self.bucket.create(key, mine.into()).await?),
        }
    }

    /// Gives the lease up (on shutdown), so another instance need not wait for it to expire.
    pub(super) async fn release(&mut self) {
        if let Some(revision) = self.revision.take() {
            let _ = self
                .bucket
                .delete_expect_revision(&self.key, Some(revision))
                .await;
        }
    }
}

/// Whether `instance` may take the lease from `holder` at `now_ms`.
fn takes_over(holder: &Holder, instance: &str, now_ms: i64) -> bool {
    holder.instance == instance || holder.until_ms < now_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_taken_over_only_once_expired_or_by_its_holder() {
        let holder = Holder {
            instance: "a".into(),
            until_ms: 1_000,
        };
        assert!(!takes_over(&holder, "b", 999));
        assert!(!takes_over(&holder, "b", 1_000));
        assert!(takes_over(&holder, "b", 1_001));
        assert!(
            takes_over(&holder, "a", 0),
            "its own, after a renewal that failed"
        );
    }
}
