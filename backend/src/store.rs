//! The redb state file: the materialized view every instance answers queries from.
//!
//! Everything here is derived from JetStream (the endpoint bucket and the attempts
//! stream), and each write records the stream position it reflects in the same
//! transaction, so after a crash the state resumes exactly where its last commit ended.
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `endpoints` | `<tenant>/<id>` | the endpoint, its secrets sealed (JSON) |
//! | `deliveries` | `<tenant>/<endpoint>/<event>` | the delivery's state (JSON) |
//! | `attempts` | (`<delivery key>`, attempt number) | the attempt record (JSON) |
//! | `delivery_times` | (tenant, last attempt ms, `<delivery key>`) | (): deliveries by time |
//! | `event_deliveries` | (tenant, event id, endpoint id) | the event's stream sequence |
//! | `stats` | (`<tenant>/<endpoint>`, bucket start) | five-minute statistics (JSON) |
//! | `slo_counts` | (`<tenant>/<endpoint>`, hour start) | (met, missed): settled deliveries judged against the objective |
//! | `slo_alerts` | `<tenant>/<endpoint>` | the error-budget alert level reached (0, 50, 75, 90, 100) |
//! | `meta` | name | stream positions (`attempts_seq`, `config_revision`) |

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::attempt::AttemptRecord;
use redb::{Database, Durability, ReadableDatabase as _, ReadableTable as _, TableDefinition};

pub(crate) mod indexer;
pub(crate) mod stats;

use hookwire_protocol::delivery::{DeliveryQuery, DeliveryRecord};
use stats::StatsBucket;

const ENDPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("endpoints");
const DELIVERIES: TableDefinition<&str, &[u8]> = TableDefinition::new("deliveries");
const ATTEMPTS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("attempts");
const DELIVERY_TIMES: TableDefinition<(&str, i64, &str), ()> =
    TableDefinition::new("delivery_times");
const EVENT_DELIVERIES: TableDefinition<(&str, &str, &str), u64> =
    TableDefinition::new("event_deliveries");
const STATS: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("stats");
const SLO_COUNTS: TableDefinition<(&str, i64), (u64, u64)> = TableDefinition::new("slo_counts");
const SLO_ALERTS: TableDefinition<&str, u8> = TableDefinition::new("slo_alerts");
/// Objective counts are kept per hour, for the longest window.
const SLO_HOUR_SECS: i64 = 3600;
/// Rows a listing looks at per request at most, so one request never scans a whole tenant.
const MAX_SCAN: usize = 20_000;
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const ATTEMPTS_SEQ: &str = "attempts_seq";
const CONFIG_REVISION: &str = "config_revision";

/// A state-file operation that failed, with redb's or serde's error as its cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreError {
    /// The file could not be opened or created.
    #[error("cannot open the state file: {0}")]
    Open(#[from] redb::DatabaseError),
    /// A transaction could not begin.
    #[error("cannot begin a state-file transaction: {0}")]
    Transaction(#[from] redb::TransactionError),
    /// A table could not be opened.
    #[error("cannot open a state-file table: {0}")]
    Table(#[from] redb::TableError),
    /// Reading or writing failed.
    #[error("state-file storage failed: {0}")]
    Storage(#[from] redb::StorageError),
    /// The file's folder could not be created.
    #[error("cannot create the state file's folder {path}: {source}")]
    Folder {
        /// The folder.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A commit failed; the transaction's writes are not on disk.
    #[error("cannot commit to the state file: {0}")]
    Commit(#[from] redb::CommitError),
    /// A transaction's durability could not be lowered.
    #[error("cannot commit to the state file without an fsync: {0}")]
    Durability(#[from] redb::SetDurabilityError),
    /// A stored record is not what this version reads.
    #[error("a state-file record does not decode: {0}")]
    Record(#[from] serde_json::Error),
}

/// An attempt record to index: decoded for its facts, and the JSON it was published as,
/// which the index stores as it is rather than encoding the record again.
pub(crate) struct Recorded {
    record: AttemptRecord,
    json: bytes::Bytes,
}

impl Recorded {
    /// The records of one message of the attempts stream (one record, or a group of them:
    /// `protocol::attempt::grouped_records`).
    pub(crate) fn decode_all(payload: &bytes::Bytes) -> Result<Vec<Self>, serde_json::Error> {
        let split = hookwire_protocol::attempt::split_records(payload)?;
        // A message of one record is stored as it is; a group's are cut out of it.
        let alone = split.len() == 1;
        split
            .into_iter()
            .map(|raw| {
                Ok(Self {
                    record: serde_json::from_str(raw.get())?,
                    json: if alone {
                        payload.clone()
                    } else {
                        bytes::Bytes::copy_from_slice(raw.get().as_bytes())
                    },
                })
            })
            .collect()
    }

    /// The record itself.
    pub(crate) fn record(&self) -> &AttemptRecord {
        &self.record
    }
}

/// The state file. Cheap to clone; every method blocks on disk I/O, so async callers use
/// `spawn_blocking`.
#[derive(Clone)]
pub(crate) struct Store {
    db: Arc<Database>,
    /// The attempts-stream sequence the index has reached, as committed.
    indexed: Arc<tokio::sync::watch::Sender<u64>>,
}

fn endpoint_key(tenant: &Tenant, id: &str) -> String {
    format!("{tenant}/{id}")
}

impl Store {
    /// Opens (or creates) the state file at `path` with a page cache of `cache_bytes`,
    /// creating its tables.
    pub(crate) fn open(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder {
                path: parent.to_owned(),
                source,
            })?;
        }
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(ENDPOINTS)?;
        txn.open_table(DELIVERIES)?;
        txn.open_table(ATTEMPTS)?;
        txn.open_table(DELIVERY_TIMES)?;
        txn.open_table(EVENT_DELIVERIES)?;
        txn.open_table(STATS)?;
        txn.open_table(SLO_COUNTS)?;
        txn.open_table(SLO_ALERTS)?;
        txn.open_table(META)?;
        txn.commit()?;
        let store = Self {
            db: Arc::new(db),
            indexed: Arc::new(tokio::sync::watch::Sender::new(0)),
        };
        store.indexed.send_replace(store.attempts_cursor()?);
        Ok(store)
    }

    /// Waits up to `within` until the index has reached attempts-stream sequence `seq`.
    pub(crate) async fn wait_indexed(&self, seq: u64, within: std::time::Duration) -> bool {
        let mut indexed = self.indexed.subscribe();
        tokio::time::timeout(within, indexed.wait_for(|at| *at >= seq))
            .await
            .is_ok_and(|reached| reached.is_ok())
    }

    /// Applies configuration changes up to bucket `revision` in one transaction:
    /// `Some` stores an endpoint (as the registry keeps it, sealed), `None` removes it.
    pub(crate) fn apply_config<E: serde::Serialize>(
        &self,
        changes: &[(Tenant, String, Option<E>)],
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
    pub(crate) fn endpoints<E: serde::de::DeserializeOwned>(&self) -> Result<Vec<E>, StoreError> {
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
    pub(crate) fn config_revision(&self) -> Result<u64, StoreError> {
        self.meta(CONFIG_REVISION)
    }

    /// The attempts-stream sequence indexed so far.
    pub(crate) fn attempts_cursor(&self) -> Result<u64, StoreError> {
        self.meta(ATTEMPTS_SEQ)
    }

    fn meta(&self, name: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        Ok(table.get(name)?.map_or(0, |v| v.value()))
    }

    /// Indexes a batch of attempt records in one transaction and moves the cursor to
    /// `last_seq`. Delivery states and statistics are folded in memory first, so each key
    /// is read and written once per batch. With [`Durability::None`] the commit costs no
    /// fsync, and a crash reverts it (the cursor with it) until a later durable commit:
    /// the index is derived from the attempts stream and is indexed again from there.
    /// Returns the endpoints whose objective counts changed.
    pub(crate) fn index_attempts(
        &self,
        records: &[Recorded],
        last_seq: u64,
        durability: Durability,
    ) -> Result<Vec<(Tenant, String)>, StoreError> {
        let mut judged: HashMap<(Tenant, String, i64), (u64, u64)> = HashMap::new();
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability)?;
        {
            let mut attempts = txn.open_table(ATTEMPTS)?;
            let mut latest: HashMap<String, &AttemptRecord> = HashMap::new();
            let mut buckets: HashMap<(String, i64), StatsBucket> = HashMap::new();
            for Recorded { record, json } in records {
                let key = record.delivery_key();
                attempts.insert((key.as_str(), record.attempt), json.as_ref())?;
                let newest = latest.entry(key).or_insert(record);
                if newest.attempt < record.attempt {
                    *newest = record;
                }
                if record.test {
                    // A test send says how the receiver answers, not how deliveries go.
                    continue;
                }
                if let Some(met) = record.slo_met {
                    let events = record.batch.as_ref().map_or(1, |b| b.len() as u64);
                    let hour = record.at.timestamp().div_euclid(SLO_HOUR_SECS) * SLO_HOUR_SECS;
                    let counts = judged
                        .entry((record.tenant.clone(), record.endpoint_id.clone(), hour))
                        .or_default();
                    if met {
                        counts.0 += events;
                    } else {
                        counts.1 += events;
                    }
                }
                buckets
                    .entry((
                        endpoint_key(&record.tenant, &record.endpoint_id),
                        stats::bucket_of(record.at),
                    ))
                    .or_default()
                    .add(record);
            }
            index_deliveries(&txn, latest)?;
            let mut table = txn.open_table(STATS)?;
            for ((endpoint, bucket), counted) in buckets {
                let mut stored: StatsBucket = table
                    .get((endpoint.as_str(), bucket))?
                    .map(|v| serde_json::from_slice(v.value()))
                    .transpose()?
                    .unwrap_or_default();
                stored.merge(&counted);
                table.insert(
                    (endpoint.as_str(), bucket),
                    serde_json::to_vec(&stored)?.as_slice(),
                )?;
            }
            let mut slo = txn.open_table(SLO_COUNTS)?;
            for ((tenant, id, hour), (met, missed)) in &judged {
                let key = endpoint_key(tenant, id);
                let (had_met, had_missed) = slo
                    .get((key.as_str(), *hour))?
                    .map_or((0, 0), |v| v.value());
                slo.insert((key.as_str(), *hour), (had_met + met, had_missed + missed))?;
            }
            txn.open_table(META)?.insert(ATTEMPTS_SEQ, last_seq)?;
        }
        txn.commit()?;
        self.indexed.send_replace(last_seq);
        let mut touched: Vec<(Tenant, String)> = judged
            .into_keys()
            .map(|(tenant, id, _)| (tenant, id))
            .collect();
        touched.sort();
        touched.dedup();
        Ok(touched)
    }

    /// An endpoint's (met, missed) deliveries settled since `since` (by the hour).
    pub(crate) fn slo_counts(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        since: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        let key = endpoint_key(tenant, endpoint_id);
        let from = since.timestamp().div_euclid(SLO_HOUR_SECS) * SLO_HOUR_SECS;
        let txn = self.db.begin_read()?;
        let table = txn.open_table(SLO_COUNTS)?;
        let mut total = (0, 0);
        for row in table.range((key.as_str(), from)..=(key.as_str(), i64::MAX))? {
            let (met, missed) = row?.1.value();
            total = (total.0 + met, total.1 + missed);
        }
        Ok(total)
    }

    /// The error-budget alert level last recorded for an endpoint (0: none).
    pub(crate) fn slo_alert_level(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
    ) -> Result<u8, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(SLO_ALERTS)?;
        let key = endpoint_key(tenant, endpoint_id);
        Ok(table.get(key.as_str())?.map_or(0, |v| v.value()))
    }

    /// Records the error-budget alert level an endpoint has reached.
    pub(crate) fn set_slo_alert_level(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        level: u8,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let key = endpoint_key(tenant, endpoint_id);
            txn.open_table(SLO_ALERTS)?.insert(key.as_str(), level)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Makes every commit so far durable (one fsync).
    pub(crate) fn persist(&self) -> Result<(), StoreError> {
        self.db.begin_write()?.commit()?;
        Ok(())
    }

    /// Forgets deliveries whose last attempt was before `before` (the delivery, its
    /// attempts and its place in the time and event indexes) and statistics older than it,
    /// at most `batch` deliveries per call. Returns how many deliveries went.
    pub(crate) fn prune(&self, before: DateTime<Utc>, batch: usize) -> Result<usize, StoreError> {
        let cutoff = before.timestamp_millis();
        let txn = self.db.begin_write()?;
        let old = {
            let times = txn.open_table(DELIVERY_TIMES)?;
            old_deliveries(&times, cutoff, batch)?
        };
        {
            let mut times = txn.open_table(DELIVERY_TIMES)?;
            let mut deliveries = txn.open_table(DELIVERIES)?;
            let mut attempts = txn.open_table(ATTEMPTS)?;
            let mut events = txn.open_table(EVENT_DELIVERIES)?;
            for (tenant, at, key) in &old {
                times.remove((tenant.as_str(), *at, key.as_str()))?;
                let removed = deliveries
                    .remove(key.as_str())?
                    .map(|v| serde_json::from_slice::<DeliveryRecord>(v.value()))
                    .transpose()?;
                if let Some(delivery) = &removed {
                    events.remove((
                        tenant.as_str(),
                        delivery.event_id.as_str(),
                        delivery.endpoint_id.as_str(),
                    ))?;
                }
                // A batched event's attempts are its batch's: they go with its events.
                let attempts_key = removed
                    .as_ref()
                    .and_then(|d| d.batch_id.as_deref().map(|id| attempts_key_of(d, id)))
                    .unwrap_or_else(|| key.clone());
                attempts.retain_in(
                    (attempts_key.as_str(), 0)..=(attempts_key.as_str(), u32::MAX),
                    |_, _| false,
                )?;
            }
            let bucket_cutoff = stats::bucket_of(before);
            txn.open_table(STATS)?
                .retain(|(_, bucket), _| bucket >= bucket_cutoff)?;
            // Objective counts outlive the attempts: they serve the longest window.
            let slo_cutoff = (Utc::now()
                - chrono::TimeDelta::days(i64::from(hookwire_protocol::slo::MAX_WINDOW_DAYS)))
            .timestamp();
            txn.open_table(SLO_COUNTS)?
                .retain(|(_, hour), _| hour >= slo_cutoff - SLO_HOUR_SECS)?;
        }
        txn.commit()?;
        Ok(old.len())
    }

    /// One delivery's state.
    pub(crate) fn delivery(
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

    /// One delivery as the index has it, read off the async runtime; `None` too when the
    /// index cannot be read (the callers ask to avoid a repeat, and a repeat is the safe
    /// side).
    pub(crate) async fn indexed_delivery(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        event_id: &str,
    ) -> Option<DeliveryRecord> {
        let (reader, tenant, endpoint_id, event_id) = (
            self.clone(),
            tenant.clone(),
            endpoint_id.to_owned(),
            event_id.to_owned(),
        );
        tokio::task::spawn_blocking(move || reader.delivery(&tenant, &endpoint_id, &event_id))
            .await
            .ok()?
            .ok()?
    }

    /// One delivery's attempts, in order (a batched event's are its batch's).
    pub(crate) fn attempts(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        event_id: &str,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let key = match self.delivery(tenant, endpoint_id, event_id)? {
            Some(delivery) if delivery.batch_id.is_some() => {
                attempts_key_of(&delivery, delivery.batch_id.as_deref().unwrap_or_default())
            }
            _ => hookwire_protocol::attempt::delivery_key(tenant, endpoint_id, event_id),
        };
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

    /// One endpoint's statistics summed per window (`(from, to)` in Unix seconds, to
    /// exclusive), in one pass over its buckets.
    pub(crate) fn stats(
        &self,
        tenant: &Tenant,
        endpoint_id: &str,
        windows: &[(i64, i64)],
    ) -> Result<Vec<StatsBucket>, StoreError> {
        let key = endpoint_key(tenant, endpoint_id);
        let earliest = windows.iter().map(|w| w.0).min().unwrap_or(0);
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STATS)?;
        let mut sums = vec![StatsBucket::default(); windows.len()];
        for entry in table
            .range((key.as_str(), stats::bucket_of_secs(earliest))..=(key.as_str(), i64::MAX))?
        {
            let (bucket_key, value) = entry?;
            let start = bucket_key.value().1;
            let bucket: StatsBucket = serde_json::from_slice(value.value())?;
            for (sum, (from, to)) in sums.iter_mut().zip(windows) {
                if start + stats::BUCKET_SECS > *from && start < *to {
                    sum.merge(&bucket);
                }
            }
        }
        Ok(sums)
    }

    /// A page of `tenant`'s deliveries matching `query`, newest first, continuing below
    /// `cursor`; the next cursor is set while more may follow.
    pub(crate) fn list_deliveries(
        &self,
        tenant: &Tenant,
        query: &DeliveryQuery,
        cursor: Option<&DeliveryCursor>,
        limit: usize,
    ) -> Result<(Vec<DeliveryRecord>, Option<DeliveryCursor>), StoreError> {
        let txn = self.db.begin_read()?;
        let times = txn.open_table(DELIVERY_TIMES)?;
        let deliveries = txn.open_table(DELIVERIES)?;
        let t = tenant.as_str();
        let low = (t, query.since_ms.unwrap_or(i64::MIN), "");
        let high = match cursor {
            Some(c) => (t, c.at_ms, c.key.as_str()),
            None => (t, query.until_ms.unwrap_or(i64::MAX), ""),
        };
        let mut page = Vec::new();
        for (scanned, entry) in times.range(low..high)?.rev().enumerate() {
            let entry = entry?.0;
            let (_, at_ms, key) = entry.value();
            if let Some(value) = deliveries.get(key)? {
                let record: DeliveryRecord = serde_json::from_slice(value.value())?;
                if query.matches(
                    &record.endpoint_id,
                    &record.event_type,
                    record.state,
                    &record.event_id,
                ) {
                    page.push(record);
                }
            }
            if page.len() == limit || scanned + 1 == MAX_SCAN {
                let next = DeliveryCursor {
                    at_ms,
                    key: key.to_owned(),
                };
                return Ok((page, Some(next)));
            }
        }
        Ok((page, None))
    }

    /// The endpoints an event was delivered to, with its stream sequence.
    pub(crate) fn event_deliveries(
        &self,
        tenant: &Tenant,
        event_id: &str,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(EVENT_DELIVERIES)?;
        let t = tenant.as_str();
        table
            .range((t, event_id, "")..=(t, event_id, "\u{10ffff}"))?
            .map(|entry| {
                let (key, seq) = entry?;
                Ok((key.value().2.to_owned(), seq.value()))
            })
            .collect()
    }
}

/// Where a delivery listing continues: below this (time, key) position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryCursor {
    /// The last attempt time of the last delivery looked at.
    pub at_ms: i64,
    /// Its key.
    pub key: String,
}

impl DeliveryCursor {
    /// The cursor as the API shows it: `<ms>:<key>`.
    #[must_use]
    pub(crate) fn encode(&self) -> String {
        format!("{}:{}", self.at_ms, self.key)
    }

    /// A cursor from its API form.
    #[must_use]
    pub(crate) fn decode(text: &str) -> Option<Self> {
        let (at, key) = text.split_once(':')?;
        Some(Self {
            at_ms: at.parse().ok()?,
            key: key.to_owned(),
        })
    }
}

/// Up to `batch` (tenant, time, delivery key) entries older than `cutoff` ms, tenant by
/// tenant: the time index is ordered by tenant first, so each tenant's old entries are one
/// range from its start.
fn old_deliveries(
    times: &redb::Table<'_, (&str, i64, &str), ()>,
    cutoff: i64,
    batch: usize,
) -> Result<Vec<(String, i64, String)>, StoreError> {
    let mut old = Vec::new();
    let mut next_tenant = String::new();
    while old.len() < batch {
        let Some(first) = times
            .range((next_tenant.as_str(), i64::MIN, "")..)?
            .next()
            .transpose()?
        else {
            break;
        };
        let tenant = first.0.value().0.to_owned();
        for entry in times.range((tenant.as_str(), i64::MIN, "")..(tenant.as_str(), cutoff, ""))? {
            let (key, ()) = entry.map(|(k, _)| (k, ()))?;
            let (_, at, delivery) = key.value();
            old.push((tenant.clone(), at, delivery.to_owned()));
            if old.len() >= batch {
                break;
            }
        }
        // Tenant names never hold NUL: this is the first name after this tenant's.
        next_tenant = format!("{tenant}\0");
    }
    Ok(old)
}

/// Writes the newest state of each delivery in a batch, keeping the time and event indexes
/// in step.
/// The key a batched delivery's attempts are kept under: its batch's.
fn attempts_key_of(delivery: &DeliveryRecord, batch_id: &str) -> String {
    hookwire_protocol::attempt::delivery_key(&delivery.tenant, &delivery.endpoint_id, batch_id)
}

/// Updates each delivery to its latest attempt; a batch's attempt updates each of its
/// events' deliveries (the batch itself is not listed as a delivery).
fn index_deliveries(
    txn: &redb::WriteTransaction,
    latest: HashMap<String, &AttemptRecord>,
) -> Result<(), StoreError> {
    let mut tables = DeliveryTables {
        deliveries: txn.open_table(DELIVERIES)?,
        times: txn.open_table(DELIVERY_TIMES)?,
        events: txn.open_table(EVENT_DELIVERIES)?,
    };
    for (key, record) in latest {
        match &record.batch {
            None => tables.upsert(&key, &DeliveryRecord::from_attempt(record))?,
            Some(members) => {
                for member in members {
                    let key = hookwire_protocol::attempt::delivery_key(
                        &record.tenant,
                        &record.endpoint_id,
                        &member.event_id,
                    );
                    tables.upsert(&key, &DeliveryRecord::of_member(record, member))?;
                }
            }
        }
    }
    Ok(())
}

/// The tables a delivery's state lives in.
struct DeliveryTables<'txn> {
    deliveries: redb::Table<'txn, &'static str, &'static [u8]>,
    times: redb::Table<'txn, (&'static str, i64, &'static str), ()>,
    events: redb::Table<'txn, (&'static str, &'static str, &'static str), u64>,
}

impl DeliveryTables<'_> {
    /// Stores `delivery` under `key` unless a later attempt is stored already.
    fn upsert(&mut self, key: &str, delivery: &DeliveryRecord) -> Result<(), StoreError> {
        let stored = self
            .deliveries
            .get(key)?
            .map(|v| serde_json::from_slice::<DeliveryRecord>(v.value()))
            .transpose()?;
        // An older attempt indexed late must not roll the state back.
        if stored
            .as_ref()
            .is_some_and(|d| d.attempts > delivery.attempts)
        {
            return Ok(());
        }
        let tenant = delivery.tenant.as_str();
        if let Some(old) = &stored {
            self.times
                .remove((tenant, old.updated_at.timestamp_millis(), key))?;
        } else {
            self.events.insert(
                (
                    tenant,
                    delivery.event_id.as_str(),
                    delivery.endpoint_id.as_str(),
                ),
                delivery.event_seq,
            )?;
        }
        self.times
            .insert((tenant, delivery.updated_at.timestamp_millis(), key), ())?;
        self.deliveries
            .insert(key, serde_json::to_vec(delivery)?.as_slice())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookwire_protocol::attempt::{ErrorKind, ErrorRecord, Outcome, ResponseRecord};
    use std::collections::BTreeMap;

    const TEST_CACHE: usize = 1024 * 1024;

    impl Store {
        /// [`Store::index_attempts`] of records encoded as hookwired publishes them.
        fn index_records(
            &self,
            records: &[AttemptRecord],
            last_seq: u64,
            durability: Durability,
        ) -> Result<Vec<(Tenant, String)>, StoreError> {
            let encoded: Vec<Vec<u8>> = records
                .iter()
                .map(serde_json::to_vec)
                .collect::<Result<_, _>>()?;
            let payload = hookwire_protocol::attempt::grouped_records(&encoded).into();
            let recorded = Recorded::decode_all(&payload)?;
            self.index_attempts(&recorded, last_seq, durability)
        }
    }

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
            test: false,
            batch: None,
            slo_met: None,
        }
    }

    #[test]
    fn attempts_build_delivery_state_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        assert_eq!(store.attempts_cursor().unwrap(), 0);
        store
            .index_records(
                &[
                    record(1, Outcome::Retrying, 500),
                    record(2, Outcome::Succeeded, 200),
                ],
                12,
                Durability::Immediate,
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
        let now = Utc::now().timestamp();
        let windows = [(now - 3600, now + 1), (now + 600, now + 900)];
        let stats = store.stats(&t, "ep", &windows).unwrap();
        assert_eq!(
            (stats[0].attempts, stats[0].succeeded, stats[0].failed),
            (2, 1, 1)
        );
        assert_eq!(stats[0].errors.get("status"), Some(&1));
        assert_eq!(stats[1].attempts, 0, "a window after the attempts");
        assert_eq!(
            store.event_deliveries(&t, "evt").unwrap(),
            [("ep".to_owned(), 7)]
        );
        assert_eq!(store.attempts_cursor().unwrap(), 12);
    }

    #[test]
    fn settled_deliveries_are_counted_against_the_objective_by_the_hour() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        let t = Tenant::default();
        let judged = |event: &str, met: Option<bool>, hours_ago: i64| AttemptRecord {
            event_id: event.into(),
            at: Utc::now() - chrono::TimeDelta::hours(hours_ago),
            slo_met: met,
            ..record(1, Outcome::Succeeded, 200)
        };
        let batch = AttemptRecord {
            batch: Some(
                ["b1", "b2", "b3"]
                    .map(|id| hookwire_protocol::attempt::BatchMember {
                        event_id: id.into(),
                        event_seq: 1,
                        event_type: "a.b".into(),
                    })
                    .to_vec(),
            ),
            ..judged("batch", Some(false), 0)
        };
        let other = AttemptRecord {
            endpoint_id: "other".into(),
            ..judged("o", Some(true), 0)
        };
        let touched = store
            .index_records(
                &[
                    judged("a", Some(true), 0),
                    judged("b", Some(true), 30),
                    judged("c", None, 0),
                    judged("d", Some(false), 2),
                    batch,
                    other,
                ],
                6,
                Durability::Immediate,
            )
            .unwrap();
        assert_eq!(
            touched,
            [
                (t.clone(), "ep".to_owned()),
                (t.clone(), "other".to_owned())
            ]
        );
        let day = Utc::now() - chrono::TimeDelta::days(1);
        assert_eq!(
            store.slo_counts(&t, "ep", day).unwrap(),
            (1, 4),
            "a batch counts its events"
        );
        let week = Utc::now() - chrono::TimeDelta::days(7);
        assert_eq!(store.slo_counts(&t, "ep", week).unwrap(), (2, 4));
        assert_eq!(store.slo_counts(&t, "other", week).unwrap(), (1, 0));
        let untouched = store
            .index_records(&[judged("e", None, 0)], 7, Durability::Immediate)
            .unwrap();
        assert!(untouched.is_empty(), "nothing settled against an objective");

        assert_eq!(store.slo_alert_level(&t, "ep").unwrap(), 0);
        store.set_slo_alert_level(&t, "ep", 75).unwrap();
        assert_eq!(store.slo_alert_level(&t, "ep").unwrap(), 75);
        assert_eq!(store.slo_alert_level(&t, "other").unwrap(), 0);

        // The attempts go with their retention; the counts stay for the longest window.
        store
            .prune(Utc::now() + chrono::TimeDelta::hours(1), 100)
            .unwrap();
        assert_eq!(store.slo_counts(&t, "ep", week).unwrap(), (2, 4));
    }

    #[test]
    fn an_older_attempt_indexed_late_does_not_roll_state_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        store
            .index_records(
                &[record(2, Outcome::Succeeded, 200)],
                2,
                Durability::Immediate,
            )
            .unwrap();
        store
            .index_records(
                &[record(1, Outcome::Retrying, 503)],
                3,
                Durability::Immediate,
            )
            .unwrap();
        let delivery = store
            .delivery(&Tenant::default(), "ep", "evt")
            .unwrap()
            .unwrap();
        assert_eq!(delivery.state, Outcome::Succeeded);
    }

    #[test]
    fn a_lazy_commit_is_kept_or_reverted_whole_and_persist_makes_it_durable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = Store::open(&path, TEST_CACHE).unwrap();
            store
                .index_records(
                    &[record(1, Outcome::Retrying, 503)],
                    1,
                    Durability::Immediate,
                )
                .unwrap();
            store
                .index_records(&[record(2, Outcome::Succeeded, 200)], 2, Durability::None)
                .unwrap();
            // Seen at once in this process, fsync or not.
            let delivery = store.delivery(&Tenant::default(), "ep", "evt").unwrap();
            assert_eq!(delivery.unwrap().state, Outcome::Succeeded);
        }
        {
            let store = Store::open(&path, TEST_CACHE).unwrap();
            let state = store
                .delivery(&Tenant::default(), "ep", "evt")
                .unwrap()
                .unwrap()
                .state;
            // The cursor and what it covers go together: the indexer resumes after it.
            match store.attempts_cursor().unwrap() {
                1 => assert_eq!(state, Outcome::Retrying),
                2 => assert_eq!(state, Outcome::Succeeded),
                other => panic!("cursor {other}"),
            }
            store
                .index_records(&[record(2, Outcome::Succeeded, 200)], 2, Durability::None)
                .unwrap();
            store.persist().unwrap();
        }
        let store = Store::open(&path, TEST_CACHE).unwrap();
        assert_eq!(store.attempts_cursor().unwrap(), 2);
        let delivery = store.delivery(&Tenant::default(), "ep", "evt").unwrap();
        assert_eq!(delivery.unwrap().state, Outcome::Succeeded);
    }

    #[test]
    fn state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = Store::open(&path, TEST_CACHE).unwrap();
            store
                .index_records(
                    &[record(1, Outcome::Succeeded, 204)],
                    5,
                    Durability::Immediate,
                )
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

    #[test]
    fn deliveries_list_newest_first_with_filters_and_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        let base = Utc::now();
        let records: Vec<AttemptRecord> = (0..10)
            .map(|i| AttemptRecord {
                event_id: format!("evt_{i}"),
                at: base + chrono::TimeDelta::seconds(i),
                endpoint_id: if i % 2 == 0 { "even" } else { "odd" }.into(),
                ..record(1, Outcome::Succeeded, 200)
            })
            .collect();
        store
            .index_records(&records, 10, Durability::Immediate)
            .unwrap();
        // A later attempt moves a delivery to the top and to its new state.
        let retried = AttemptRecord {
            at: base + chrono::TimeDelta::seconds(60),
            ..record(2, Outcome::Dead, 500)
        };
        let retried = AttemptRecord {
            event_id: "evt_0".into(),
            endpoint_id: "even".into(),
            ..retried
        };
        store
            .index_records(&[retried], 11, Durability::Immediate)
            .unwrap();
        let t = Tenant::default();
        let ids =
            |page: &[DeliveryRecord]| page.iter().map(|d| d.event_id.clone()).collect::<Vec<_>>();

        let all = DeliveryQuery::default();
        let (first, cursor) = store.list_deliveries(&t, &all, None, 4).unwrap();
        assert_eq!(ids(&first), ["evt_0", "evt_9", "evt_8", "evt_7"]);
        let cursor = DeliveryCursor::decode(&cursor.unwrap().encode()).unwrap();
        let (second, _) = store.list_deliveries(&t, &all, Some(&cursor), 4).unwrap();
        assert_eq!(ids(&second), ["evt_6", "evt_5", "evt_4", "evt_3"]);
        let (rest, end) = store.list_deliveries(&t, &all, None, 100).unwrap();
        assert_eq!(rest.len(), 10, "each delivery once, not once per attempt");
        assert!(end.is_none());

        let odd = DeliveryQuery {
            endpoint_id: Some("odd".into()),
            ..DeliveryQuery::default()
        };
        let (page, _) = store.list_deliveries(&t, &odd, None, 100).unwrap();
        assert_eq!(ids(&page), ["evt_9", "evt_7", "evt_5", "evt_3", "evt_1"]);
        let dead = DeliveryQuery {
            state: Some(Outcome::Dead),
            ..DeliveryQuery::default()
        };
        assert_eq!(
            ids(&store.list_deliveries(&t, &dead, None, 100).unwrap().0),
            ["evt_0"]
        );
        let window = DeliveryQuery {
            since_ms: Some((base + chrono::TimeDelta::seconds(2)).timestamp_millis()),
            until_ms: Some((base + chrono::TimeDelta::seconds(4)).timestamp_millis()),
            ..DeliveryQuery::default()
        };
        assert_eq!(
            ids(&store.list_deliveries(&t, &window, None, 100).unwrap().0),
            ["evt_3", "evt_2"]
        );
        let other_tenant = Tenant::new("other").unwrap();
        assert!(
            store
                .list_deliveries(&other_tenant, &all, None, 100)
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[test]
    fn pruning_forgets_old_deliveries_of_every_tenant_and_keeps_recent_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        let now = Utc::now();
        let at = |tenant: &str, event: &str, age_hours: i64, attempt: u32| AttemptRecord {
            tenant: Tenant::new(tenant).unwrap(),
            event_id: event.into(),
            at: now - chrono::TimeDelta::hours(age_hours),
            ..record(attempt, Outcome::Succeeded, 200)
        };
        store
            .index_records(
                &[
                    at("alpha", "old", 50, 1),
                    at("alpha", "old", 49, 2),
                    at("alpha", "new", 1, 1),
                    at("beta", "old", 60, 1),
                    at("beta", "new", 2, 1),
                    at("gamma", "old2", 70, 1),
                ],
                6,
                Durability::Immediate,
            )
            .unwrap();
        let before = now - chrono::TimeDelta::hours(24);
        assert_eq!(store.prune(before, 2).unwrap(), 2, "a batch at most");
        assert_eq!(store.prune(before, 100).unwrap(), 1);
        assert_eq!(store.prune(before, 100).unwrap(), 0);
        for (tenant, event, kept) in [
            ("alpha", "old", false),
            ("alpha", "new", true),
            ("beta", "old", false),
            ("beta", "new", true),
            ("gamma", "old2", false),
        ] {
            let t = Tenant::new(tenant).unwrap();
            assert_eq!(
                store.delivery(&t, "ep", event).unwrap().is_some(),
                kept,
                "{tenant}/{event}"
            );
            assert_eq!(!store.attempts(&t, "ep", event).unwrap().is_empty(), kept);
            assert_eq!(!store.event_deliveries(&t, event).unwrap().is_empty(), kept);
        }
        let (listed, _) = store
            .list_deliveries(
                &Tenant::new("alpha").unwrap(),
                &DeliveryQuery::default(),
                None,
                10,
            )
            .unwrap();
        assert_eq!(listed.len(), 1);
    }
    #[test]
    fn a_batch_attempt_is_each_of_its_events_delivery() {
        use hookwire_protocol::attempt::BatchMember;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), TEST_CACHE).unwrap();
        let member = |id: &str, seq| BatchMember {
            event_id: id.into(),
            event_seq: seq,
            event_type: "a.b".into(),
        };
        let attempt = |n, outcome, status| AttemptRecord {
            event_id: "bat_1".into(),
            batch: Some(vec![member("e1", 3), member("e2", 4)]),
            ..record(n, outcome, status)
        };
        store
            .index_records(
                &[attempt(1, Outcome::Retrying, 503)],
                1,
                Durability::Immediate,
            )
            .unwrap();
        store
            .index_records(
                &[attempt(2, Outcome::Succeeded, 200)],
                2,
                Durability::Immediate,
            )
            .unwrap();
        let t = Tenant::default();
        let e2 = store.delivery(&t, "ep", "e2").unwrap().unwrap();
        assert_eq!(
            (e2.batch_id.as_deref(), e2.event_seq, e2.attempts, e2.state),
            (Some("bat_1"), 4, 2, Outcome::Succeeded)
        );
        let attempts = store.attempts(&t, "ep", "e2").unwrap();
        assert_eq!(attempts.len(), 2, "the batch's attempts");
        assert_eq!(attempts[1].batch.as_ref().map(Vec::len), Some(2));
        assert!(
            store.delivery(&t, "ep", "bat_1").unwrap().is_none(),
            "not listed itself"
        );
        assert_eq!(
            store.event_deliveries(&t, "e1").unwrap(),
            [("ep".to_owned(), 3)]
        );
        let (listed, _) = store
            .list_deliveries(&t, &DeliveryQuery::default(), None, 10)
            .unwrap();
        let mut ids: Vec<&str> = listed.iter().map(|d| d.event_id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["e1", "e2"]);
        // Pruned with its events, the batch's attempts go too.
        assert_eq!(
            store
                .prune(Utc::now() + chrono::TimeDelta::hours(1), 100)
                .unwrap(),
            2
        );
        assert!(store.attempts(&t, "ep", "bat_1").unwrap().is_empty());
    }
}
