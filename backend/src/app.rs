//! Starting and stopping the daemon.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use async_nats::service::ServiceExt as _;
use hookwire_nats::connect::InitialConnect;
use hookwire_nats::streams::{ProvisionError, Topology};
use hookwire_protocol::Subjects;
use tokio::sync::watch;

use crate::admin::{self, Admin};
use crate::barrier::{self, Applied};
use crate::catalog::{self, Catalog};
use crate::config::Config;
use crate::delivery::batch::Batcher;
use crate::delivery::gates::Gates;
use crate::delivery::http::Sender;
use crate::delivery::records::{self, RecordLog};
use crate::delivery::relay::Relay;
use crate::delivery::request::Recording;
use crate::delivery::{held, tiers};
use crate::engine::Engine;
use crate::metrics::{self, Metrics};
use crate::registry::{self, Registry};
use crate::roster::{self, Roster};
use crate::sources::ingress::{self, Ingress};
use crate::sources::{self, Sources};
use crate::store::Store;
use crate::store::indexer;
use crate::templates::{self, Templates};
use crate::vault::Keyring;
use crate::{delivery, fanout, ordered};

/// The NATS micro service name every instance registers under.
pub const SERVICE_NAME: &str = "hookwire";
/// Extra ack wait beyond the longest attempt timeout, before JetStream redelivers a task.
const ACK_WAIT_MARGIN: Duration = Duration::from_secs(30);

/// How often endpoints sealed under a previous key are looked for.
const RESEAL_INTERVAL: Duration = Duration::from_mins(5);

/// How often the state file is pruned to the attempt-log retention.
const PRUNE_INTERVAL: Duration = Duration::from_mins(10);

/// Runs the daemon until `shutdown` resolves, then drains.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let keyring = load_keyring(&config)?;
    let subjects = Subjects::new(&config.prefix).context("prefix")?;
    let topology = Topology::new(subjects.clone());
    let metrics = Arc::new(Metrics::new());
    let http_addr = config.http.listen;
    let key_registry = crate::keys::RegistrySlot::default();
    let metrics_server = tokio::spawn(metrics::serve(
        http_addr,
        Arc::clone(&metrics),
        Arc::clone(&key_registry),
    ));

    let settings = config.nats.resolve_from_env()?;
    let client = settings.connect("hookwired", InitialConnect::Retry).await?;
    let js = jetstream::new(client.clone());
    provision(&js, &topology, &config).await?;

    let store_path = config.data_dir.join("hookwired.redb");
    let store = open_store(&store_path, &config).await?;
    let configuration = load_configuration(&js, &topology, &store, &config, keyring).await?;
    let (roster_tx, roster) = watch::channel(Roster::new());
    let engine = Arc::new(Engine {
        client: client.clone(),
        js: js.clone(),
        topology: topology.clone(),
        registry: configuration.registry,
        catalog: configuration.catalog,
        templates: configuration.templates,
        sources: configuration.sources,
        bucket: configuration.bucket,
        metrics: Arc::clone(&metrics),
        tiers: config.retry_tiers(),
        max_retry_after: Duration::from_secs(u64::from(config.delivery.max_retry_after_secs)),
        release_held: Arc::new(tokio::sync::Notify::new()),
        max_event_bytes: usize::try_from(config.streams.max_event_bytes).unwrap_or(usize::MAX),
        gates: Gates::new(config.breaker.settings(), config.delivery.concurrency),
        attempt_slots: tokio::sync::Semaphore::new(
            usize::try_from(config.delivery.concurrency).unwrap_or(512),
        ),
        recording: Recording::new(&config.privacy.redact_headers),
        batcher: Batcher::default(),
        records: RecordLog::default(),
        instance: crate::ids::random("inst_"),
        roster,
        applied: configuration.applied,
    });
    // The key document is served once there are keys to tell.
    let _ = key_registry.set(Arc::clone(&engine.registry));

    let service = client
        .service_builder()
        .description("Hookwire: webhooks for NATS")
        .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(|e| anyhow::anyhow!("cannot register the {SERVICE_NAME} service: {e}"))?;
    let config_view = serde_json::to_value(&config).unwrap_or_default();
    let sender = Sender::new(config.outbound.load()?)
        .context("cannot build the HTTP client")?
        .relaying(Relay::new(client.clone(), subjects.clone()));
    let admin = Arc::new(Admin::new(
        Arc::clone(&engine),
        sender.clone(),
        store.clone(),
        config_view,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let retention = Duration::from_secs(config.streams.attempts_max_age_secs);
    let retries_in_hand = Arc::new(tokio::sync::Semaphore::new(tiers::IN_HAND));
    let mut background = spawn_background(&engine, &store, retention, &sender, &retries_in_hand);
    let mut admin_tasks = admin::start(&service, admin, &settings)
        .await
        .map_err(|e| anyhow::anyhow!("cannot add the admin operations: {e}"))?;
    let announcing = join_the_instances(&engine, roster_tx, &stop_rx).await?;
    let ingress = start_ingress(&engine, &config).await?;
    let concurrency = usize::try_from(config.delivery.concurrency).unwrap_or(512);
    let delivering = start_delivery(&engine, sender, &store, &stop_rx, concurrency);
    // Ready means the admin subjects answer: the server must have the subscriptions.
    client
        .flush()
        .await
        .context("cannot reach NATS to confirm the admin subscriptions")?;
    metrics.set_ready(true);
    tracing::info!(servers = %settings.servers, prefix = subjects.prefix(), state = %store_path.display(), %http_addr, "hookwired ready");

    shutdown.await;
    tracing::info!("stopping: draining attempts in flight");
    ingress.as_ref().map(tokio::task::JoinHandle::abort);
    metrics.set_ready(false);
    let _ = stop_tx.send(true);
    let drain = Duration::from_secs(u64::from(config.delivery.drain_timeout_secs));
    drain_attempts(delivering, &retries_in_hand, drain).await;
    // Off the roster before the connection goes, so changes stop waiting for this instance.
    let _ = tokio::time::timeout(Duration::from_secs(2), announcing).await;
    let _ = service.stop().await;
    admin_tasks.abort_all();
    background.abort_all();
    metrics_server.abort();
    client
        .drain()
        .await
        .context("cannot drain the NATS connection")?;
    Ok(())
}

/// Waits (at most `timeout`) for the attempts in flight: fan-out's, the workers' and the due
/// retries the tiers settle.
async fn drain_attempts(
    delivering: [tokio::task::JoinHandle<()>; 3],
    retries_in_hand: &tokio::sync::Semaphore,
    timeout: Duration,
) {
    let drained = tokio::time::timeout(timeout, async {
        for task in delivering {
            let _ = task.await;
        }
        // Every due retry in hand settled (and none taken in hand any more).
        let _ = retries_in_hand
            .acquire_many(u32::try_from(tiers::IN_HAND).unwrap_or(u32::MAX))
            .await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "attempts still in flight after the drain timeout; they will be redelivered"
        );
    }
}

/// Answers configuration sync requests and joins the roster, before anything is delivered
/// (a change must wait for this instance from then on); announces until `stop` turns true.
async fn join_the_instances(
    engine: &Arc<Engine>,
    roster: watch::Sender<Roster>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    barrier::serve(engine)
        .await
        .map_err(|e| anyhow::anyhow!("cannot answer configuration sync requests: {e}"))?;
    roster::join(&engine.bucket, &engine.instance, &roster).await;
    Ok(tokio::spawn(roster::run(
        engine.bucket.clone(),
        engine.instance.clone(),
        roster,
        stop.clone(),
    )))
}

/// Fan-out, ordered delivery and the workers, until `stop` turns true.
fn start_delivery(
    engine: &Arc<Engine>,
    sender: Sender,
    store: &Store,
    stop: &watch::Receiver<bool>,
    concurrency: usize,
) -> [tokio::task::JoinHandle<()>; 3] {
    [
        tokio::spawn(keep_running(
            "fan-out",
            fanout::run,
            Arc::clone(engine),
            sender.clone(),
            store.clone(),
            concurrency,
            stop.clone(),
        )),
        tokio::spawn(ordered::run(
            Arc::clone(engine),
            sender.clone(),
            store.clone(),
            stop.clone(),
        )),
        tokio::spawn(keep_running(
            "the delivery workers",
            delivery::worker::run,
            Arc::clone(engine),
            sender,
            store.clone(),
            concurrency,
            stop.clone(),
        )),
    ]
}

/// Runs `part` (fan-out's or the workers' consumer loop) again whenever it ends before
/// `stop`, a second later: a consumer that could not be read (its stream electing a leader)
/// or whose message stream ended would otherwise leave its work undone, without a word,
/// until a restart.
async fn keep_running<Fut>(
    name: &'static str,
    part: fn(Arc<Engine>, Sender, Store, usize, watch::Receiver<bool>) -> Fut,
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    concurrency: usize,
    stop: watch::Receiver<bool>,
) where
    Fut: std::future::Future<Output = Result<(), async_nats::Error>>,
{
    loop {
        let ended = part(
            Arc::clone(&engine),
            sender.clone(),
            store.clone(),
            concurrency,
            stop.clone(),
        )
        .await;
        if *stop.borrow() {
            return;
        }
        match ended {
            Ok(()) => tracing::error!(
                part = name,
                "its consumer's messages ended; starting it again"
            ),
            Err(e) => tracing::error!(part = name, error = %e, "stopped; starting it again"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The configuration every instance follows, loaded and followed.
struct Configuration {
    registry: Arc<Registry>,
    catalog: Arc<Catalog>,
    templates: Arc<Templates>,
    sources: Arc<Sources>,
    bucket: kv::Store,
    applied: Applied,
}

/// Loads the endpoints, event types, templates and sources, and follows their changes.
async fn load_configuration(
    js: &jetstream::Context,
    topology: &Topology,
    store: &Store,
    config: &Config,
    keyring: Arc<Keyring>,
) -> anyhow::Result<Configuration> {
    let (registry, bucket) =
        load_endpoints(js, topology, store, config, Arc::clone(&keyring)).await?;
    let bucket_seq = bucket_sequence(js, topology).await?;
    let mut applied = Applied::default();
    applied.follow(registry::KIND, registry.applied());
    let (catalog, templates) =
        load_catalog_and_templates(&bucket, bucket_seq, config, &mut applied).await?;
    let sources = load_sources(
        &bucket,
        bucket_seq,
        keyring,
        &topology.subjects,
        config,
        &mut applied,
    )
    .await?;
    Ok(Configuration {
        registry,
        catalog,
        templates,
        sources,
        bucket,
        applied,
    })
}

/// Loads the sources; like endpoints, one whose secrets do not open stops the start.
async fn load_sources(
    bucket: &jetstream::kv::Store,
    bucket_seq: u64,
    keyring: Arc<Keyring>,
    subjects: &Subjects,
    config: &Config,
    applied: &mut Applied,
) -> anyhow::Result<Arc<Sources>> {
    let sources = Arc::new(Sources::new(
        keyring,
        subjects.clone(),
        config.ingress.public_url.clone(),
    ));
    let revision = sources::load_and_follow(bucket.clone(), Arc::clone(&sources), bucket_seq)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the sources: {e}"))?;
    applied.follow(sources::KIND, revision);
    // Serving without a source whose secrets do not open would refuse its provider's webhooks.
    let unopened = sources.unopened();
    if let Some(first) = unopened.first() {
        anyhow::bail!(
            "{} source(s) cannot be served because their secrets do not open; first: {first}",
            unopened.len()
        );
    }
    Ok(sources)
}

/// Starts the ingress listener when one is configured.
async fn start_ingress(
    engine: &Arc<Engine>,
    config: &Config,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(listen) = config.ingress.listen else {
        return Ok(None);
    };
    let (listener, tls) = ingress::bind(&config.ingress, listen).await?;
    let handler = Arc::new(Ingress::new(
        Arc::clone(engine),
        config.ingress.clone(),
        &config.privacy.redact_headers,
    ));
    tracing::info!(address = %listener.local_addr()?, tls = tls.is_some(), "ingress listening for incoming webhooks");
    Ok(Some(tokio::spawn(ingress::serve(handler, listener, tls))))
}

async fn open_store(path: &std::path::Path, config: &Config) -> anyhow::Result<Store> {
    let path = path.to_owned();
    let cache = usize::try_from(config.store.cache_mb).unwrap_or(32) * 1024 * 1024;
    Ok(tokio::task::spawn_blocking(move || Store::open(&path, cache)).await??)
}

fn load_keyring(config: &Config) -> anyhow::Result<Arc<Keyring>> {
    let (keyring, warning) = config.secrets.load(&config.data_dir)?;
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    Ok(Arc::new(keyring))
}

/// Loads the endpoints redb has, then waits until the bucket's current state is applied:
/// fan-out must see every endpoint that exists, or an event could miss one.
async fn load_endpoints(
    js: &jetstream::Context,
    topology: &Topology,
    store: &Store,
    config: &Config,
    keyring: Arc<Keyring>,
) -> anyhow::Result<(Arc<Registry>, jetstream::kv::Store)> {
    let registry = Arc::new(Registry::new(config.retry_schedule(), keyring));
    registry::load(store, &registry).await?;
    let bucket = js
        .get_key_value(&topology.config_bucket)
        .await
        .with_context(|| {
            format!(
                "cannot open the configuration bucket {}",
                topology.config_bucket
            )
        })?;
    let target = bucket_sequence(js, topology).await?;
    tokio::spawn(keep_syncing(
        bucket.clone(),
        store.clone(),
        Arc::clone(&registry),
    ));
    while !registry.wait_for(target, Duration::from_secs(10)).await {
        tracing::warn!(
            target,
            applied = registry.revision(),
            "waiting for the endpoint configuration to load"
        );
    }
    // Serving without an endpoint whose secrets do not open would drop its events.
    let unopened = registry.unopened();
    if let Some(first) = unopened.first() {
        anyhow::bail!(
            "{} endpoint(s) cannot be served because their secrets do not open; first: {first}",
            unopened.len()
        );
    }
    Ok((registry, bucket))
}

/// The event-types catalog and the payload templates, loaded and followed.
async fn load_catalog_and_templates(
    bucket: &kv::Store,
    bucket_seq: u64,
    config: &Config,
    applied: &mut Applied,
) -> anyhow::Result<(Arc<Catalog>, Arc<Templates>)> {
    let catalog = Arc::new(Catalog::new(config.catalog.strict));
    let revision = catalog::load_and_follow(bucket.clone(), Arc::clone(&catalog), bucket_seq)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the event-types catalog: {e}"))?;
    applied.follow(catalog::KIND, revision);
    let templates = Arc::new(Templates::default());
    let revision = templates::load_and_follow(bucket.clone(), Arc::clone(&templates), bucket_seq)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the payload templates: {e}"))?;
    applied.follow(templates::KIND, revision);
    Ok((catalog, templates))
}

/// The configuration bucket's latest revision. The bucket handle's own status is a snapshot
/// from when it was opened; this asks the stream.
async fn bucket_sequence(js: &jetstream::Context, topology: &Topology) -> anyhow::Result<u64> {
    Ok(js
        .get_stream(format!("KV_{}", topology.config_bucket))
        .await?
        .info()
        .await?
        .state
        .last_sequence)
}

/// The tasks that run for the daemon's whole life: the indexer, the gauges, the tiers.
fn spawn_background(
    engine: &Arc<Engine>,
    store: &Store,
    retention: Duration,
    sender: &Sender,
    retries_in_hand: &Arc<tokio::sync::Semaphore>,
) -> tokio::task::JoinSet<()> {
    let topology = &engine.topology;
    let mut background = tokio::task::JoinSet::new();
    background.spawn(indexer::run(Arc::clone(engine), store.clone()));
    background.spawn(records::run(Arc::clone(engine)));
    background.spawn(metrics::poll_depths(
        engine.js.clone(),
        [
            topology.tasks.clone(),
            topology.retry.clone(),
            topology.dead.clone(),
            topology.held.clone(),
        ],
        Arc::clone(&engine.metrics),
    ));
    background.spawn(held::run(
        Arc::clone(engine),
        Arc::clone(&engine.release_held),
    ));
    for tier in engine.tiers.clone() {
        background.spawn(tiers::run(
            Arc::clone(engine),
            sender.clone(),
            tier,
            Arc::clone(retries_in_hand),
        ));
    }
    background.spawn(reseal(Arc::clone(engine)));
    background.spawn(prune(store.clone(), retention));
    background
}

/// Keeps the state file to the attempt-log retention: deliveries whose last attempt is older
/// than `retention` (the attempts stream's max age) are forgotten, a batch per transaction.
async fn prune(store: Store, retention: Duration) {
    const BATCH: usize = 10_000;
    let mut every = tokio::time::interval(PRUNE_INTERVAL);
    loop {
        every.tick().await;
        let Ok(retention) = chrono::TimeDelta::from_std(retention) else {
            return;
        };
        let before = chrono::Utc::now() - retention;
        let mut pruned = 0;
        loop {
            let store = store.clone();
            match tokio::task::spawn_blocking(move || store.prune(before, BATCH)).await {
                Ok(Ok(n)) => {
                    pruned += n;
                    if n < BATCH {
                        break;
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot prune the state file");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the pruning task failed");
                    break;
                }
            }
        }
        if pruned > 0 {
            tracing::info!(pruned, %before, "forgot deliveries older than the attempt-log retention");
        }
    }
}

/// Reseals under the current key every endpoint found sealed under a previous one (after
/// a key rotation), shortly after start and then every few minutes; each write is a
/// compare-and-set, so instances doing it at once do not clash.
async fn reseal(engine: Arc<Engine>) {
    let mut every = tokio::time::interval(RESEAL_INTERVAL);
    every.tick().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    loop {
        let stale = engine.registry.stale_seals();
        let mut resealed = 0_usize;
        for (tenant, id) in &stale {
            match engine
                .registry
                .modify(&engine.bucket, tenant, id, |_| Ok(()))
                .await
            {
                Ok(_) => resealed += 1,
                Err(e) => {
                    tracing::warn!(%tenant, id, error = %e, "cannot reseal an endpoint's secrets");
                }
            }
        }
        for (tenant, name) in engine.sources.stale_seals() {
            match engine.sources.reseal(&engine.bucket, &tenant, &name).await {
                Ok(()) => resealed += 1,
                Err(e) => {
                    tracing::warn!(%tenant, name, error = %e.message, "cannot reseal a source's secrets");
                }
            }
        }
        if resealed > 0 {
            tracing::info!(
                resealed,
                key = engine.registry.keyring().current_id(),
                "resealed endpoint and source secrets under the current key"
            );
        }
        every.tick().await;
    }
}

/// Provisions, retrying while JetStream is unreachable; an incompatible stream is fatal.
async fn provision(
    js: &jetstream::Context,
    topology: &Topology,
    config: &Config,
) -> anyhow::Result<()> {
    let ack_wait = Duration::from_millis(u64::from(hookwire_protocol::endpoint::MAX_TIMEOUT_MS))
        + ACK_WAIT_MARGIN;
    loop {
        match topology
            .provision(js, &config.stream_limits(), &config.retry_tiers(), ack_wait)
            .await
        {
            Ok(()) => return Ok(()),
            Err(e @ ProvisionError::Incompatible { .. }) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot provision JetStream yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn keep_syncing(bucket: jetstream::kv::Store, store: Store, registry: Arc<Registry>) {
    loop {
        if let Err(e) = registry::sync(bucket.clone(), store.clone(), Arc::clone(&registry)).await {
            tracing::warn!(error = %e, "endpoint configuration watch interrupted; resuming");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
