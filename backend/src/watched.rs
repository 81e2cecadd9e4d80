//! An in-memory copy of one kind of configuration kept in the bucket under
//! `<kind>.<tenant>.<name>`: every entry is loaded at start, then a watch follows changes
//! forever, resuming where it stopped after an interruption. What the event-types catalog and
//! the sources share.

use std::time::Duration;

use async_nats::jetstream::kv;
use futures_util::{StreamExt as _, TryStreamExt as _};
use hookwire_protocol::Tenant;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

/// Loads every `kind` entry of `bucket` through `apply` (tenant, name, value or `None` when
/// deleted), then follows changes after `bucket_stream_seq` in a task of its own; the
/// receiver tells the bucket revision applied.
pub(crate) async fn load_and_follow<T, F>(
    bucket: kv::Store,
    kind: &'static str,
    bucket_stream_seq: u64,
    apply: F,
) -> Result<watch::Receiver<u64>, async_nats::Error>
where
    T: DeserializeOwned + 'static,
    F: Fn(Tenant, &str, Option<T>) + Send + Sync + 'static,
{
    for key in keys_under(&bucket, &format!("{kind}.")).await? {
        if let Some(entry) = bucket.entry(key.as_str()).await? {
            apply_entry(kind, &entry, &apply);
        }
    }
    let applied = watch::Sender::new(bucket_stream_seq);
    let revision = applied.subscribe();
    tokio::spawn(follow(bucket, kind, applied, apply));
    Ok(revision)
}

/// The bucket's keys that start with `prefix`.
pub(crate) async fn keys_under(
    bucket: &kv::Store,
    prefix: &str,
) -> Result<Vec<String>, async_nats::Error> {
    Ok(bucket
        .keys()
        .await?
        .try_filter(|k| std::future::ready(k.starts_with(prefix)))
        .try_collect()
        .await?)
}

async fn follow<T, F>(bucket: kv::Store, kind: &'static str, applied: watch::Sender<u64>, apply: F)
where
    T: DeserializeOwned,
    F: Fn(Tenant, &str, Option<T>),
{
    let keys = format!("{kind}.>");
    loop {
        let from = *applied.borrow() + 1;
        match bucket.watch_from_revision(keys.as_str(), from).await {
            Ok(mut watch) => {
                while let Some(entry) = watch.next().await {
                    match entry {
                        Ok(entry) => {
                            apply_entry(kind, &entry, &apply);
                            applied.send_replace(entry.revision);
                        }
                        Err(e) => {
                            tracing::warn!(kind, error = %e, "configuration watch interrupted; resuming");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(kind, error = %e, "cannot watch the configuration yet; retrying");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn apply_entry<T, F>(kind: &str, entry: &kv::Entry, apply: &F)
where
    T: DeserializeOwned,
    F: Fn(Tenant, &str, Option<T>),
{
    let mut parts = entry.key.splitn(3, '.');
    let (Some(found), Some(tenant), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let Ok(tenant) = Tenant::new(tenant) else {
        return;
    };
    if found != kind {
        return;
    }
    match entry.operation {
        kv::Operation::Put => match serde_json::from_slice(&entry.value) {
            Ok(value) => apply(tenant, name, Some(value)),
            Err(e) => {
                tracing::error!(key = entry.key, error = %e, "unreadable configuration entry; ignoring it");
            }
        },
        kv::Operation::Delete | kv::Operation::Purge => apply(tenant, name, None),
    }
}
