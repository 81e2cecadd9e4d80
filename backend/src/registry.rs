//! Endpoints: stored in the configuration bucket (the source of truth every instance
//! shares), applied by a watcher to the redb state and to an in-memory registry that
//! fan-out and delivery read without I/O.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv;
use futures_util::StreamExt as _;
use hookwire_protocol::auth::Credentials;
use hookwire_protocol::endpoint::{Endpoint, EndpointStatus};
use hookwire_protocol::filter::EventTypeFilter;
use hookwire_protocol::rotation::SecretEntry;
use hookwire_protocol::subject::OPERATIONAL_NAMESPACE;
use hookwire_protocol::template::TemplatePin;
use hookwire_protocol::{EventType, Secret, Tenant};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::store::Store;
use crate::vault::{Keyring, Sealed, VaultError};

/// Configuration changes applied to redb in one transaction at most.
const MAX_CONFIG_BATCH: usize = 500;

/// An endpoint as kept in the bucket and in redb: its public view and, sealed, its
/// secrets and credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredEndpoint {
    /// What the admin API shows.
    pub endpoint: Endpoint,
    /// [`EndpointSecrets`], sealed.
    pub sealed: Sealed,
}

/// An endpoint opened for reading or changing its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EndpointRecord {
    /// What the admin API shows.
    pub endpoint: Endpoint,
    /// Signing secrets, newest first; previous ones carry their expiry.
    pub secrets: Vec<SecretEntry>,
    /// Outgoing authentication.
    pub credentials: Credentials,
}

/// What is sealed.
#[derive(Serialize, Deserialize)]
struct EndpointSecrets {
    secrets: Vec<SecretEntry>,
    #[serde(default)]
    credentials: Credentials,
}

/// What sealed secrets are bound to: a record moved to another endpoint does not open.
fn owner(endpoint: &Endpoint) -> String {
    format!("endpoint:{}/{}", endpoint.tenant, endpoint.id)
}

impl EndpointRecord {
    /// Seals the secrets and credentials under the current key.
    pub(crate) fn seal(&self, keyring: &Keyring) -> Result<StoredEndpoint, VaultError> {
        let secrets = EndpointSecrets {
            secrets: self.secrets.clone(),
            credentials: self.credentials.clone(),
        };
        Ok(StoredEndpoint {
            endpoint: self.endpoint.clone(),
            sealed: keyring.seal(&secrets, &owner(&self.endpoint))?,
        })
    }
}

impl StoredEndpoint {
    /// Opens the secrets and credentials.
    pub(crate) fn open(&self, keyring: &Keyring) -> Result<EndpointRecord, VaultError> {
        let opened: EndpointSecrets = keyring.open(&self.sealed, &owner(&self.endpoint))?;
        Ok(EndpointRecord {
            endpoint: self.endpoint.clone(),
            secrets: opened.secrets,
            credentials: opened.credentials,
        })
    }
}

/// The first token of the bucket keys of endpoints.
pub(crate) const KIND: &str = "endpoints";

/// The bucket key of an endpoint.
#[must_use]
pub(crate) fn endpoint_key(tenant: &Tenant, id: &str) -> String {
    format!("{KIND}.{tenant}.{id}")
}

/// An endpoint ready for delivery: secrets parsed, schedule resolved.
#[derive(Debug)]
pub(crate) struct LiveEndpoint {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Signing secrets, newest first.
    secrets: Vec<Secret>,
    /// When each secret stops signing (`None`: current).
    expiries: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    /// Delays between attempts.
    pub schedule: Vec<Duration>,
    /// Outgoing authentication.
    pub credentials: Credentials,
}

impl LiveEndpoint {
    /// The secrets that sign at `now`: the current one and those in their grace period.
    #[must_use]
    pub(crate) fn signing_secrets(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> std::borrow::Cow<'_, [Secret]> {
        if self.expiries.iter().all(|e| e.is_none_or(|at| at > now)) {
            return std::borrow::Cow::Borrowed(&self.secrets);
        }
        std::borrow::Cow::Owned(
            self.secrets
                .iter()
                .zip(&self.expiries)
                .filter(|(_, e)| e.is_none_or(|at| at > now))
                .map(|(s, _)| s.clone())
                .collect(),
        )
    }

    /// The secrets that sign at `now`, each with when it stops (`None`: current).
    #[must_use]
    pub(crate) fn signing_secrets_until(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<(&Secret, Option<chrono::DateTime<chrono::Utc>>)> {
        self.secrets
            .iter()
            .zip(self.expiries.iter().copied())
            .filter(|(_, e)| e.is_none_or(|at| at > now))
            .collect()
    }

    /// True when an event of `event_type` goes to this endpoint.
    ///
    /// Operational events (`hookwire.*`) go only to endpoints that ask for them by a
    /// filter starting with `hookwire.`; a catch-all endpoint never gets them, which also
    /// keeps a failing endpoint from feeding on reports of its own failures.
    #[must_use]
    pub(crate) fn wants(&self, event_type: &EventType) -> bool {
        if matches!(self.endpoint.status, EndpointStatus::Disabled { .. }) {
            return false;
        }
        let filters = &self.endpoint.event_types;
        if event_type.is_operational() {
            filters
                .iter()
                .any(|f| explicitly_operational(f) && f.matches(event_type))
        } else {
            hookwire_protocol::filter::any_matches(filters, event_type)
        }
    }
}

fn explicitly_operational(filter: &EventTypeFilter) -> bool {
    filter.as_str().split('.').next() == Some(OPERATIONAL_NAMESPACE)
}

#[derive(Default)]
struct Inner {
    by_key: HashMap<(Tenant, String), Arc<LiveEndpoint>>,
    by_tenant: HashMap<Tenant, Vec<Arc<LiveEndpoint>>>,
    /// Endpoints sealed under a previous key, to be resealed.
    stale: HashSet<(Tenant, String)>,
    /// Endpoints whose secrets do not open here, with the reason.
    unopened: HashMap<(Tenant, String), String>,
}

/// The in-memory endpoints, shared by fan-out, delivery and the admin API.
pub(crate) struct Registry {
    inner: RwLock<Inner>,
    default_schedule: Vec<Duration>,
    keyring: Arc<Keyring>,
    revision: watch::Sender<u64>,
}

impl Registry {
    /// An empty registry opening secrets with `keyring`; endpoints without a schedule use
    /// `default_schedule`.
    #[must_use]
    pub(crate) fn new(default_schedule: Vec<Duration>, keyring: Arc<Keyring>) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            default_schedule,
            keyring,
            revision: watch::Sender::new(0),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The keys secrets are sealed with.
    #[must_use]
    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Endpoints whose secrets are sealed under a previous key.
    #[must_use]
    pub(crate) fn stale_seals(&self) -> Vec<(Tenant, String)> {
        let inner = self.read();
        inner.stale.iter().cloned().collect()
    }

    /// Why endpoints stored in the bucket are not served here (their secrets do not open),
    /// one line per endpoint.
    #[must_use]
    pub(crate) fn unopened(&self) -> Vec<String> {
        let inner = self.read();
        inner
            .unopened
            .iter()
            .map(|((tenant, id), reason)| format!("{tenant}/{id}: {reason}"))
            .collect()
    }

    /// One endpoint.
    #[must_use]
    pub(crate) fn get(&self, tenant: &Tenant, id: &str) -> Option<Arc<LiveEndpoint>> {
        let inner = self.read();
        inner.by_key.get(&(tenant.clone(), id.to_owned())).cloned()
    }

    /// The endpoints of `tenant` that want `event_type`.
    #[must_use]
    pub(crate) fn matching(
        &self,
        tenant: &Tenant,
        event_type: &EventType,
    ) -> Vec<Arc<LiveEndpoint>> {
        let inner = self.read();
        inner
            .by_tenant
            .get(tenant)
            .map(|all| {
                all.iter()
                    .filter(|e| e.wants(event_type))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether any endpoint of any tenant is ordered (ordered delivery runs only then).
    #[must_use]
    pub(crate) fn any_ordered(&self) -> bool {
        self.earliest_ordered().is_some()
    }

    /// When the first ordered endpoint still here was created.
    #[must_use]
    pub(crate) fn earliest_ordered(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let inner = self.read();
        inner
            .by_tenant
            .values()
            .flatten()
            .filter(|e| e.endpoint.delivery.is_ordered())
            .map(|e| e.endpoint.created_at)
            .min()
    }

    /// `tenant`'s endpoints that pin a template, with their pins.
    #[must_use]
    pub(crate) fn template_pins(&self, tenant: &Tenant) -> Vec<(String, TemplatePin)> {
        let inner = self.read();
        inner
            .by_tenant
            .get(tenant)
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e.endpoint.id.clone(), e.endpoint.template.clone()?)))
            .collect()
    }

    /// A page of `tenant`'s endpoints in id order, after `cursor`.
    #[must_use]
    pub(crate) fn page(
        &self,
        tenant: &Tenant,
        cursor: Option<&str>,
        limit: usize,
    ) -> (Vec<Endpoint>, Option<String>) {
        let inner = self.read();
        let Some(all) = inner.by_tenant.get(tenant) else {
            return (Vec::new(), None);
        };
        let page: Vec<Endpoint> = all
            .iter()
            .filter(|e| cursor.is_none_or(|c| e.endpoint.id.as_str() > c))
            .take(limit + 1)
            .map(|e| e.endpoint.clone())
            .collect();
        if page.len() > limit {
            let page = page[..limit].to_vec();
            let next = page.last().map(|e| e.id.clone());
            (page, next)
        } else {
            (page, None)
        }
    }

    /// The bucket revision applied so far.
    #[must_use]
    pub(crate) fn revision(&self) -> u64 {
        *self.revision.borrow()
    }

    /// Follows the bucket revision applied here.
    pub(crate) fn applied(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Waits until bucket `revision` is applied here, so a writer can read its own write.
    pub(crate) async fn wait_for(&self, revision: u64, timeout: Duration) -> bool {
        let mut seen = self.revision.subscribe();
        tokio::time::timeout(timeout, seen.wait_for(|applied| *applied >= revision))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits until the endpoint is gone here (a delete has no revision to wait for).
    pub(crate) async fn wait_until_gone(
        &self,
        tenant: &Tenant,
        id: &str,
        timeout: Duration,
    ) -> bool {
        let mut seen = self.revision.subscribe();
        tokio::time::timeout(timeout, async {
            while self.get(tenant, id).is_some() {
                if seen.changed().await.is_err() {
                    return false;
                }
            }
            true
        })
        .await
        .unwrap_or(false)
    }

    /// Changes one stored endpoint with optimistic concurrency: read, open, `change`, seal
    /// under the current key, write if nobody wrote in between, else read again. Returns the
    /// new bucket revision.
    pub(crate) async fn modify(
        &self,
        bucket: &kv::Store,
        tenant: &Tenant,
        id: &str,
        change: impl Fn(&mut EndpointRecord) -> Result<(), hookwire_protocol::admin::AdminError>,
    ) -> Result<u64, WriteError> {
        let key = endpoint_key(tenant, id);
        for _ in 0..5 {
            let entry = bucket
                .entry(key.as_str())
                .await
                .map_err(|e| WriteError::Bucket(e.into()))?
                .filter(|e| e.operation == kv::Operation::Put)
                .ok_or_else(|| WriteError::NotFound(id.to_owned()))?;
            let stored: StoredEndpoint =
                serde_json::from_slice(&entry.value).map_err(WriteError::Record)?;
            let mut record = stored.open(&self.keyring)?;
            change(&mut record)?;
            let value =
                serde_json::to_vec(&record.seal(&self.keyring)?).map_err(WriteError::Record)?;
            match bucket
                .update(key.as_str(), value.into(), entry.revision)
                .await
            {
                Ok(revision) => return Ok(revision),
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                Err(e) => return Err(WriteError::Bucket(e.into())),
            }
        }
        Err(WriteError::Contended(id.to_owned()))
    }

    fn apply(&self, changes: &[(Tenant, String, Option<StoredEndpoint>)], revision: u64) {
        {
            let mut inner = self
                .inner
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (tenant, id, change) in changes {
                let key = (tenant.clone(), id.clone());
                let live = change.as_ref().and_then(|stored| {
                    if self.keyring.is_current(&stored.sealed) {
                        inner.stale.remove(&key);
                    } else {
                        inner.stale.insert(key.clone());
                    }
                    match self.live(stored) {
                        Ok(live) => Some(live),
                        Err(e) => {
                            tracing::error!(%tenant, id, error = %e, "endpoint not served: its secrets do not open");
                            inner.unopened.insert(key.clone(), e.to_string());
                            None
                        }
                    }
                });
                if live.is_some() || change.is_none() {
                    inner.unopened.remove(&key);
                }
                if change.is_none() {
                    inner.stale.remove(&key);
                }
                match live {
                    Some(live) => inner.by_key.insert(key, Arc::new(live)),
                    None => inner.by_key.remove(&key),
                };
            }
            let mut by_tenant: HashMap<Tenant, Vec<Arc<LiveEndpoint>>> = HashMap::new();
            for ((tenant, _), live) in &inner.by_key {
                by_tenant
                    .entry(tenant.clone())
                    .or_default()
                    .push(Arc::clone(live));
            }
            for list in by_tenant.values_mut() {
                list.sort_by(|a, b| a.endpoint.id.cmp(&b.endpoint.id));
            }
            inner.by_tenant = by_tenant;
        }
        self.revision.send_if_modified(|applied| {
            let newer = revision > *applied;
            *applied = (*applied).max(revision);
            newer
        });
    }

    fn live(&self, stored: &StoredEndpoint) -> Result<LiveEndpoint, VaultError> {
        let record = stored.open(&self.keyring)?;
        let secrets = record
            .secrets
            .iter()
            .map(|s| Secret::parse(&s.secret))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| VaultError::Malformed(e.to_string()))?;
        let expiries = record.secrets.iter().map(|s| s.expires_at).collect();
        let schedule = stored.endpoint.retry_schedule_secs.as_ref().map_or_else(
            || self.default_schedule.clone(),
            |secs| {
                secs.iter()
                    .map(|s| Duration::from_secs(u64::from(*s)))
                    .collect()
            },
        );
        Ok(LiveEndpoint {
            endpoint: record.endpoint,
            secrets,
            expiries,
            schedule,
            credentials: record.credentials,
        })
    }
}

/// Why a bucket write failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// No such endpoint.
    #[error("no endpoint {0}")]
    NotFound(String),
    /// The change was refused by `change` itself.
    #[error(transparent)]
    Refused(#[from] hookwire_protocol::admin::AdminError),
    /// Other writers kept changing it.
    #[error("endpoint {0} kept changing concurrently; retry")]
    Contended(String),
    /// The bucket failed.
    #[error("configuration bucket: {0}")]
    Bucket(#[source] async_nats::Error),
    /// A stored endpoint does not decode (or the changed one does not encode).
    #[error("endpoint record: {0}")]
    Record(#[source] serde_json::Error),
    /// The endpoint's secrets could not be opened or sealed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Why the configuration watcher stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    /// The bucket could not be watched.
    #[error("cannot watch the configuration bucket: {0}")]
    Watch(#[source] async_nats::Error),
    /// The watch ended, which it does only when the connection is gone for good.
    #[error("the configuration bucket's watch ended")]
    WatchEnded,
    /// A state-file task did not finish.
    #[error("a state-file task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The state file failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Loads the endpoints redb already has, so the instance serves before the bucket answers.
pub(crate) async fn load(store: &Store, registry: &Registry) -> Result<(), SyncError> {
    let store = store.clone();
    let (endpoints, revision) = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::store::StoreError>((
            store.endpoints::<StoredEndpoint>()?,
            store.config_revision()?,
        ))
    })
    .await??;
    let changes: Vec<_> = endpoints
        .into_iter()
        .map(|s| (s.endpoint.tenant.clone(), s.endpoint.id.clone(), Some(s)))
        .collect();
    registry.apply(&changes, revision);
    Ok(())
}

/// Applies every bucket change after the last one redb has, forever (the watch resumes
/// across reconnects on its own).
pub(crate) async fn sync(
    bucket: kv::Store,
    store: Store,
    registry: Arc<Registry>,
) -> Result<(), SyncError> {
    let from = registry.revision() + 1;
    let mut watch = bucket
        .watch_all_from_revision(from)
        .await
        .map_err(|e| SyncError::Watch(e.into()))?;
    let mut batch = Vec::new();
    while let Some(entry) = watch.next().await {
        let entry = entry.map_err(|e| SyncError::Watch(e.into()))?;
        let last_revision = entry.revision;
        let more_pending = entry.delta > 0;
        if let Some(change) = parse_entry(&entry) {
            batch.push(change);
        }
        if more_pending && batch.len() < MAX_CONFIG_BATCH {
            continue;
        }
        let changes = std::mem::take(&mut batch);
        // Other entries (types, templates, leases) cost no state-file commit; a restart
        // reads them again and passes them by.
        if !changes.is_empty() {
            let writer = store.clone();
            let committed = changes.clone();
            tokio::task::spawn_blocking(move || writer.apply_config(&committed, last_revision))
                .await??;
        }
        registry.apply(&changes, last_revision);
    }
    Err(SyncError::WatchEnded)
}

fn parse_entry(entry: &kv::Entry) -> Option<(Tenant, String, Option<StoredEndpoint>)> {
    let mut parts = entry.key.splitn(3, '.');
    let (Some(KIND), Some(tenant), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let tenant = Tenant::new(tenant).ok()?;
    match entry.operation {
        kv::Operation::Put => match serde_json::from_slice::<StoredEndpoint>(&entry.value) {
            Ok(stored) => Some((tenant, id.to_owned(), Some(stored))),
            Err(e) => {
                tracing::error!(key = entry.key, error = %e, "unreadable endpoint in the bucket; ignoring it");
                None
            }
        },
        kv::Operation::Delete | kv::Operation::Purge => Some((tenant, id.to_owned(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookwire_protocol::endpoint::CreateEndpoint;

    fn stored(id: &str, filters: &[&str], status: EndpointStatus) -> StoredEndpoint {
        let (mut endpoint, secret, _) = CreateEndpoint {
            id: Some(id.into()),
            url: "https://example.com/".into(),
            event_types: Some(filters.iter().map(|f| (*f).to_owned()).collect()),
            ..CreateEndpoint::default()
        }
        .into_endpoint(
            Tenant::default(),
            "unused".into(),
            Secret::generate(),
            chrono::Utc::now(),
        )
        .unwrap();
        endpoint.status = status;
        EndpointRecord {
            endpoint,
            secrets: vec![SecretEntry::current(secret.expose())],
            credentials: Credentials::default(),
        }
        .seal(&keyring())
        .unwrap()
    }

    fn keyring() -> Keyring {
        Keyring::new(&[7; crate::vault::KEY_LEN], &[])
    }

    fn registry_with(endpoints: Vec<StoredEndpoint>) -> Registry {
        let registry = Registry::new(vec![Duration::from_secs(1)], Arc::new(keyring()));
        let changes: Vec<_> = endpoints
            .into_iter()
            .map(|s| (s.endpoint.tenant.clone(), s.endpoint.id.clone(), Some(s)))
            .collect();
        registry.apply(&changes, 1);
        registry
    }

    fn ids(list: &[Arc<LiveEndpoint>]) -> Vec<&str> {
        list.iter().map(|e| e.endpoint.id.as_str()).collect()
    }

    #[test]
    fn matching_follows_filters_status_and_operational_rules() {
        let disabled = EndpointStatus::Disabled {
            reason: "gone".into(),
            since: chrono::Utc::now(),
        };
        let registry = registry_with(vec![
            stored("all", &[], EndpointStatus::Active),
            stored("memory", &["memory.*"], EndpointStatus::Active),
            stored("ops", &["hookwire.>"], EndpointStatus::Active),
            stored("paused", &[], EndpointStatus::Paused),
            stored("off", &[], disabled),
        ]);
        let t = Tenant::default();
        let memory = EventType::new("memory.created").unwrap();
        assert_eq!(
            ids(&registry.matching(&t, &memory)),
            ["all", "memory", "paused"]
        );
        let order = EventType::new("orders.paid").unwrap();
        assert_eq!(ids(&registry.matching(&t, &order)), ["all", "paused"]);
        let dead = EventType::new("hookwire.delivery.dead").unwrap();
        assert_eq!(ids(&registry.matching(&t, &dead)), ["ops"]);
        assert!(
            registry
                .matching(&Tenant::new("other").unwrap(), &memory)
                .is_empty()
        );
    }

    #[test]
    fn pages_in_id_order_with_a_cursor() {
        let registry = registry_with(
            ["c", "a", "e", "b", "d"]
                .iter()
                .map(|id| stored(id, &[], EndpointStatus::Active))
                .collect(),
        );
        let t = Tenant::default();
        let (first, next) = registry.page(&t, None, 2);
        assert_eq!(
            first.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let (second, next) = registry.page(&t, next.as_deref(), 2);
        assert_eq!(
            second.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["c", "d"]
        );
        let (last, next) = registry.page(&t, next.as_deref(), 2);
        assert_eq!(
            last.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e"]
        );
        assert_eq!(next, None);
    }

    #[test]
    fn deletes_remove_and_revisions_only_grow() {
        let registry = registry_with(vec![stored("a", &[], EndpointStatus::Active)]);
        let t = Tenant::default();
        registry.apply(&[(t.clone(), "a".into(), None)], 5);
        assert!(registry.get(&t, "a").is_none());
        assert_eq!(registry.revision(), 5);
        registry.apply(&[], 3);
        assert_eq!(registry.revision(), 5);
    }

    #[test]
    fn records_under_a_previous_key_are_served_and_marked_stale_unknown_keys_are_not_served() {
        let old = stored("old", &[], EndpointStatus::Active);
        let rotated = Arc::new(Keyring::new(
            &[8; crate::vault::KEY_LEN],
            &[[7; crate::vault::KEY_LEN]],
        ));
        let registry = Registry::new(vec![], Arc::clone(&rotated));
        let t = Tenant::default();
        registry.apply(&[(t.clone(), "old".into(), Some(old.clone()))], 1);
        assert!(registry.get(&t, "old").is_some());
        assert_eq!(registry.stale_seals(), [(t.clone(), "old".to_owned())]);
        let resealed = old.open(&rotated).unwrap().seal(&rotated).unwrap();
        registry.apply(&[(t.clone(), "old".into(), Some(resealed))], 2);
        assert!(registry.stale_seals().is_empty());

        let stranger = Registry::new(vec![], Arc::new(Keyring::new(&[9; 32], &[])));
        stranger.apply(&[(t.clone(), "old".into(), Some(old))], 1);
        assert!(stranger.get(&t, "old").is_none());
        let reasons = stranger.unopened();
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].contains("default/old: sealed under secrets key"),
            "{reasons:?}"
        );
        stranger.apply(&[(t, "old".into(), None)], 2);
        assert!(stranger.unopened().is_empty());
    }
}
