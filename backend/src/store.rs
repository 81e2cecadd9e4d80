//! The redb state file: the materialized view every instance answers queries from.
//!
//! Everything here is derived from JetStream (the endpoint bucket and the attempts
//! stream), and each write records the stream position it reflects in the same
//! transaction, so after a crash the state resumes exactly where its last commit ended.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `endpoints` | `<tenant>/<id>` | the endpoint with its secrets (JSON) |
//! | `deliveries` | `<tenant>/<endpoint>/<event>` | the delivery's state (JSON) |
//! | `attempts` | (`<delivery key>`, attempt number) | the attempt record (JSON) |
//! | `counters` | `<tenant>/<endpoint>` | per-endpoint counters (JSON) |
//! | `meta` | name | stream positions (`attempts_seq`, `config_revision`) |

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::attempt::{AttemptRecord, ErrorKind, Outcome};
use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::registry::StoredEndpoint;

const ENDPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("endpoints");
const DELIVERIES: TableDefinition<&str, &[u8]> = TableDefinition::new("deliveries");
const ATTEMPTS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("attempts");
const COUNTERS: TableDefinition<&str, &[u8]> = TableDefinition::new("counters");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const ATTEMPTS_SEQ: &str = "attempts_seq";
const CONFIG_REVISION: &str = "config_revision";

/// A state-file operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("state file: {0}")]
pub struct StoreError(String);

macro_rules! from_redb {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(e: $ty) -> Self {
                Self(e.to_string())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    serde_json::Error
);

/// Where one delivery stands, as of its latest indexed attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The tenant.
    pub tenant: Tenant,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event.
    pub event_id: String,
    /// The event's stream sequence.
    pub event_seq: u64,
    /// The event type.
    pub event_type: String,
    /// Succeeded, retrying or dead.
    pub state: Outcome,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last response status, if any.
    pub last_status: Option<u16>,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<ErrorKind>,
    /// When the next attempt is due, while retrying.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    pub updated_at: DateTime<Utc>,
}

impl DeliveryRecord {
    fn from_attempt(record: &AttemptRecord) -> Self {
        Self {
            tenant: record.tenant.clone(),
            endpoint_id: record.endpoint_id.clone(),
            event_id: record.event_id.clone(),
            event_seq: record.event_seq,
            event_type: record.event_type.clone(),
            state: record.outcome,
            attempts: record.attempt,
            last_status: record.response.as_ref().map(|r| r.status),
            last_error: record.error.as_ref().map(|e| e.kind),
            next_attempt_at: record.next_attempt_at,
            updated_at: record.at,
        }
    }
}

/// Running totals for one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointCounters {
    /// Attempts made.
    pub attempts: u64,
    /// Deliveries that succeeded.
    pub succeeded: u64,
    /// Attempts that failed.
    pub failed_attempts: u64,
    /// Deliveries that died.
    pub dead: u64,
    /// Failed attempts by kind.
    pub errors: BTreeMap<String, u64>,
    /// Sum of attempt latencies, for the mean.
    pub latency_ms_sum: f64,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
}

impl EndpointCounters {
    fn add(&mut self, record: &AttemptRecord) {
        self.attempts += 1;
        self.latency_ms_sum += record.latency_ms;
        self.last_attempt_at = Some(record.at);
        match record.outcome {
            Outcome::Succeeded => self.succeeded += 1,
            Outcome::Dead => self.dead += 1,
            Outcome::Retrying => {}
        }
        if let Some(error) = &record.error {
            self.failed_attempts += 1;
            let kind = serde_json::to_value(error.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned());
            *self.errors.entry(kind).or_default() += 1;
        }
    }
}

/// The state file. Cheap to clone; every method blocks on disk I/O, so async callers use
/// `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

fn endpoint_key(tenant: &Tenant, id: &str) -> String {
    format!("{tenant}/{id}")
}

impl Store {
    /// Opens (or creates) the state file at `path` with a page cache of `cache_bytes`,
    /// creating its tables.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", parent.display())))?;
        }
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(ENDPOINTS)?;
        txn.open_table(DELIVERIES)?;
        txn.open_table(ATTEMPTS)?;
        txn.open_table(COUNTERS)?;
        txn.open_table(META)?;
        txn.commit()?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Applies configuration changes up to bucket `revision` in one transaction:
    /// `Some` stores an endpoint, `None` removes it.
    pub fn apply_config(
        &self,
        changes: &[(Tenant, String, Option<StoredEndpoint>)],
        revision: u64,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut endpoints = txn.open_table(ENDPOINTS)?;
            for (tenant, id, change) in changes {
                let key = endpoint_key(tenant, id);
                match change {
                    Some(stored) => {
                        endpoints.insert(key.as_str(), serde_json::to_vec(stored)?.as_slice())?;
                    }
                    None => {
                        endpoints.remove(key.as_str())?;
                    }
                }
            }
            txn.open_table(META)?.insert(CONFIG_REVISION, revision)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Every stored endpoint.
    pub fn endpoints(&self) -> Result<Vec<StoredEndpoint>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ENDPOINTS)?;
        table
            .iter()?
            .map(|entry| {
                let (_, value) = entry?;
                Ok(serde_json::from_slice(value.value())?)
            })
            .collect()
    }

    /// The bucket revision the stored endpoints reflect.
    pub fn config_revision(&self) -> Result<u64, StoreError> {
        self.meta(CONFIG_REVISION)
    }

    /// The attempts-stream sequence indexed so far.
    pub fn attempts_cursor(&self) -> Result<u64, StoreError> {
        self.meta(ATTEMPTS_SEQ)
    }

    fn meta(&self, name: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        Ok(table.get(name)?.map_or(0, |v| v.value()))
    }

    /// Indexes a batch of attempt records in one transaction (one fsync for the batch)
    /// and moves the cursor to `last_seq`. Delivery states and counters are folded in
    /// memory first, so each key is read and written once per batch.
    pub fn index_attempts(
        &self,
        records: &[AttemptRecord],
        last_seq: u64,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut deliveries = txn.open_table(DELIVERIES)?;
            let mut attempts = txn.open_table(ATTEMPTS)?;
            let mut counters = txn.open_table(COUNTERS)?;
            let mut latest: HashMap<String, &AttemptRecord> = HashMap::new();
            let mut totals: HashMap<String, EndpointCounters> = HashMap::new();
            for record in records {
                let key = record.delivery_key();
                attempts.insert(
                    (key.as_str(), record.attempt),
                    serde_json::to_vec(record)?.as_slice(),
                )?;
                let newest = latest.entry(key).or_insert(record);
                if newest.attempt < record.attempt {
                    *newest = record;
                }
                let counter_key = endpoint_key(&record.tenant, &record.endpoint_id);
                let counter = match totals.entry(counter_key) {
                    std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::hash_map::Entry::Vacant(entry) => {
                        let stored = counters
                            .get(entry.key().as_str())?
                            .map(|v| serde_json::from_slice(v.value()))
                            .transpose()?
                            .unwrap_or_default();
                        entry.insert(stored)
                    }
                };
                counter.add(record);
            }
            for (key, record) in latest {
                let stored_attempts = deliveries
                    .get(key.as_str())?
                    .map(|v| serde_json::from_slice::<DeliveryRecord>(v.value()))
                    .transpose()?
                    .map(|d| d.attempts);
                // An older attempt indexed late must not roll the state back.
                if stored_attempts.is_none_or(|n| n <= record.attempt) {
                    let delivery = DeliveryRecord::from_attempt(record);
                    deliveries.insert(key.as_str(), serde_json::to_vec(&delivery)?.as_slice())?;
                }
            }
            for (key, counter) in totals {
                counters.insert(key.as_str(), serde_json::to_vec(&counter)?.as_slice())?;
            }
            txn.open_table(META)?.insert(ATTEMPTS_SEQ, last_seq)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// One delivery's state.
    pub fn delivery(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        event_id: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let key = hookwire_protocol::attempt::delivery_key(tenant, endpoint_id, event_id);
        let txn = self.db.begin_read()?;
        let table = txn.open_table(DELIVERIES)?;
        Ok(table
            .get(key.as_str())?
            .map(|v| serde_json::from_slice(v.value()))
            .transpose()?)
    }

    /// One delivery's attempts, in order.
    pub fn attempts(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        event_id: &str,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let key = hookwire_protocol::attempt::delivery_key(tenant, endpoint_id, event_id);
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ATTEMPTS)?;
        table
            .range((key.as_str(), 0)..=(key.as_str(), u32::MAX))?
            .map(|entry| {
                let (_, value) = entry?;
                Ok(serde_json::from_slice(value.value())?)
            })
            .collect()
    }

    /// One endpoint's counters.
    pub fn counters(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
    ) -> Result<EndpointCounters, StoreError> {
        let key = endpoint_key(tenant, endpoint_id);
        let txn = self.db.begin_read()?;
        let table = txn.open_table(COUNTERS)?;
        Ok(table
            .get(key.as_str())?
            .map(|v| serde_json::from_slice(v.value()))
            .transpose()?
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookwire_protocol::attempt::{ErrorRecord, ResponseRecord};

    const TEST_CACHE: usize = 1024 * 1024;

    fn record(attempt: u32, outcome: Outcome, status: u16) -> AttemptRecord {
        AttemptRecord {
            tenant: Tenant::default(),
            endpoint_id: "ep".into(),
            event_id: "evt".into(),
            event_seq: 7,
            event_type: "a.b".into(),
            attempt,
            at: Utc::now(),
            latency_ms: 2.0,
            url: "http://127.0.0.1/".into(),
            request_headers: BTreeMap::new(),
            response: Some(ResponseRecord {
                status,
                headers: BTreeMap::new(),
                body: String::new(),
            }),
            error: (status >= 300).then(|| ErrorRecord {
                kind: ErrorKind::Status,
                message: format!("status {status}"),
            }),
            outcome,
            next_attempt_at: None,
            correlation_id: None,
        }
    }

    #[test]
    fn attempts_build_delivery_state_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        assert_eq!(store.attempts_cursor().unwrap(), 0);
        store
            .index_attempts(
                &[
                    record(1, Outcome::Retrying, 500),
                    record(2, Outcome::Succeeded, 200),
                ],
                12,
            )
            .unwrap();
        let t = Tenant::default();
        let delivery = store.delivery(&t, "ep", "evt").unwrap().unwrap();
        assert_eq!(delivery.state, Outcome::Succeeded);
        assert_eq!(delivery.attempts, 2);
        assert_eq!(delivery.last_status, Some(200));
        let attempts = store.attempts(&t, "ep", "evt").unwrap();
        assert_eq!(
            attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
            [1, 2]
        );
        let counters = store.counters(&t, "ep").unwrap();
        assert_eq!(
            (
                counters.attempts,
                counters.succeeded,
                counters.failed_attempts
            ),
            (2, 1, 1)
        );
        assert_eq!(counters.errors.get("status"), Some(&1));
        assert_eq!(store.attempts_cursor().unwrap(), 12);
    }

    #[test]
    fn an_older_attempt_indexed_late_does_not_roll_state_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        store
            .index_attempts(&[record(2, Outcome::Succeeded, 200)], 2)
            .unwrap();
        store
            .index_attempts(&[record(1, Outcome::Retrying, 503)], 3)
            .unwrap();
        let delivery = store
            .delivery(&Tenant::default(), "ep", "evt")
            .unwrap()
            .unwrap();
        assert_eq!(delivery.state, Outcome::Succeeded);
    }

    #[test]
    fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = Store::open(&path, TEST_CACHE).unwrap();
            store
                .index_attempts(&[record(1, Outcome::Succeeded, 204)], 5)
                .unwrap();
        }
        let store = Store::open(&path, TEST_CACHE).unwrap();
        assert_eq!(store.attempts_cursor().unwrap(), 5);
        assert!(
            store
                .delivery(&Tenant::default(), "ep", "evt")
                .unwrap()
                .is_some()
        );
    }
}
