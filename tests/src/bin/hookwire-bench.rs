//! `hookwire-bench`: Hookwire's benchmark (run it with `scripts/bench`).
//!
//! Starts its own nats-server, hookwired and a lean receiver on loopback, runs the chosen
//! scenarios, and prints one line per scenario and, last, one JSON object with every figure.
//! Latency is publish to receipt: the publisher writes its clock into each event and the
//! receiver subtracts it from its own (one machine, one clock).

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![allow(
    clippy::cast_precision_loss,
    reason = "figures are reported, not computed on"
)]

use std::convert::Infallible;
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt as _;
use hookwire_testkit::{Console, Hookwired, NatsCluster, NatsServer, free_port, http_client};
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const CONCURRENCY: usize = 512;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Counts webhooks and their publish-to-receipt latencies; answers 200 at once.
#[derive(Default)]
struct Sink {
    /// How long each request takes to answer, in milliseconds.
    delay_ms: AtomicU64,
    /// Whether to check that each key's `n` never goes down (the `ordered` scenario).
    check_order: std::sync::atomic::AtomicBool,
    /// The highest `n` seen per key, and how often one arrived below it.
    order: Mutex<std::collections::HashMap<String, u64>>,
    order_violations: AtomicU64,
    count: AtomicU64,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

impl Sink {
    fn reset(&self) {
        self.count.store(0, Ordering::SeqCst);
        self.first_ns.store(0, Ordering::SeqCst);
        self.last_ns.store(0, Ordering::SeqCst);
        self.latencies_us
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn record(&self, body: &[u8]) {
        if body
            .windows(hookwire_protocol::verification::EVENT_TYPE.len())
            .any(|w| w == hookwire_protocol::verification::EVENT_TYPE.as_bytes())
        {
            return; // a verification challenge, not a delivery
        }
        let now = now_ns();
        let _ = self
            .first_ns
            .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
        self.last_ns.fetch_max(now, Ordering::SeqCst);
        // A batch carries several events, each with its publisher's clock.
        let sent = sent_ns(body);
        self.latencies_us
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(sent.iter().map(|sent| now.saturating_sub(*sent) / 1000));
        self.count
            .fetch_add(sent.len().max(1) as u64, Ordering::SeqCst);
        if self.check_order.load(Ordering::Relaxed) {
            self.check_order_of(body);
        }
    }

    /// Counts the events whose `n` is below one already seen for their key (a batch's
    /// events in their order in it).
    fn check_order_of(&self, body: &[u8]) {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let envelopes = match body {
            Value::Array(envelopes) => envelopes,
            envelope => vec![envelope],
        };
        let mut order = self
            .order
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for envelope in &envelopes {
            let (Some(key), Some(n)) = (
                envelope["data"]["key"].as_str(),
                envelope["data"]["n"].as_u64(),
            ) else {
                continue;
            };
            let highest = order.entry(key.to_owned()).or_insert(n);
            if n < *highest {
                self.order_violations.fetch_add(1, Ordering::SeqCst);
            }
            *highest = (*highest).max(n);
        }
    }

    async fn wait_for(&self, n: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.count.load(Ordering::SeqCst) < n {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    fn percentiles(&self) -> (f64, f64, f64) {
        let mut all = self
            .latencies_us
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        all.sort_unstable();
        let at = |permille: usize| {
            if all.is_empty() {
                return 0.0;
            }
            all[(all.len() - 1) * permille / 1000] as f64 / 1000.0
        };
        (at(500), at(950), at(990))
    }
}

/// The publisher's clocks in a body: every `"t":<ns>` (one per event; a batch has several).
fn sent_ns(body: &[u8]) -> Vec<u64> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Vec::new();
    };
    text.match_indices("\"t\":")
        .filter_map(|(at, _)| {
            let digits: String = text[at + 4..]
                .chars()
                .skip_while(|c| *c == ' ')
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

async fn start_sink() -> (SocketAddr, Arc<Sink>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let addr = listener.local_addr().expect("bound");
    let sink = Arc::new(Sink::default());
    let shared = Arc::clone(&sink);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let sink = Arc::clone(&shared);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let sink = Arc::clone(&sink);
                    async move {
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .map(http_body_util::Collected::to_bytes)
                            .unwrap_or_default();
                        sink.record(&body);
                        let delay = sink.delay_ms.load(Ordering::Relaxed);
                        if delay > 0 {
                            tokio::time::sleep(Duration::from_millis(delay)).await;
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, sink)
}

/// CPU seconds and peak RSS (bytes) of a process, from /proc.
fn process_usage(pid: u32) -> (f64, u64) {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = after.split_whitespace().collect();
            Some(
                (fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?)
                    / ticks,
            )
        })
        .unwrap_or(0.0);
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
                .map(|kb| kb * 1024)
        })
        .unwrap_or(0);
    (cpu, rss)
}

/// The NATS side of a bench: one server, or a three-node cluster.
enum Broker {
    Single(NatsServer),
    Cluster(NatsCluster),
}

impl Broker {
    fn urls(&self) -> String {
        match self {
            Self::Single(server) => server.url(),
            Self::Cluster(cluster) => cluster.urls(),
        }
    }

    async fn client(&self) -> async_nats::Client {
        match self {
            Self::Single(server) => server.client().await,
            Self::Cluster(cluster) => cluster.client().await,
        }
    }

    fn pids(&self) -> Vec<u32> {
        match self {
            Self::Single(server) => server.pid().into_iter().collect(),
            Self::Cluster(cluster) => cluster.pids(),
        }
    }
}

struct Bench {
    broker: Broker,
    daemon: Hookwired,
    /// Instances beyond the first (sharing its secrets key).
    others: Vec<Hookwired>,
    client: async_nats::Client,
    admin: hookwire_nats::admin::AdminClient,
    sink: Arc<Sink>,
    sink_url: String,
}

impl Bench {
    async fn start(durable: bool) -> Self {
        let server = if durable {
            NatsServer::start_durable().await
        } else {
            NatsServer::start().await
        };
        Self::start_on(Broker::Single(server), 1, &[]).await
    }

    /// `instances` hookwired on `broker`, configured by `env`.
    async fn start_on(broker: Broker, instances: usize, env: &[(&str, &str)]) -> Self {
        let mut env = env.to_vec();
        env.push(("RUST_LOG", "warn"));
        let daemon = Hookwired::start(&broker.urls(), &env).await;
        let key_file = daemon.data_dir().join("secrets.key");
        let key_file = key_file.to_str().expect("a UTF-8 temp path");
        env.push(("HOOKWIRE__SECRETS__KEY_FILE", key_file));
        let mut others = Vec::new();
        for _ in 1..instances {
            others.push(Hookwired::start(&broker.urls(), &env).await);
        }
        let client = broker.client().await;
        let admin = hookwire_nats::admin::AdminClient::new(
            client.clone(),
            hookwire_protocol::Subjects::default(),
            hookwire_protocol::Tenant::default(),
            Duration::from_secs(10),
        );
        let (addr, sink) = start_sink().await;
        Self {
            broker,
            daemon,
            others,
            client,
            admin,
            sink,
            sink_url: format!("http://{addr}/hook"),
        }
    }

    async fn endpoint(&self, tenant: &str, spec: Value) {
        let admin = hookwire_nats::admin::AdminClient::new(
            self.client.clone(),
            hookwire_protocol::Subjects::default(),
            hookwire_protocol::Tenant::new(tenant).expect("valid tenant"),
            Duration::from_secs(10),
        );
        let mut spec = spec;
        if spec.get("url").is_none() {
            spec["url"] = json!(self.sink_url);
        }
        // The sinks answer 2xx without echoing challenges.
        if spec.get("verification").is_none() {
            spec["verification"] = json!("status");
        }
        let created: Value = admin
            .call("endpoints", "create", &spec)
            .await
            .expect("create endpoint");
        let id = json!({"id": created["id"]});
        loop {
            let now: Value = admin
                .call("endpoints", "get", &id)
                .await
                .expect("get endpoint");
            if now["status"]["state"] == "active" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Publishes `n` events as fast as JetStream takes them (acks pipelined).
    async fn flood(&self, subject: &str, n: usize) {
        self.flood_ids(subject, n, EventIds::Assigned).await;
    }

    /// [`Self::flood`], each event with an id of the kind `ids`.
    async fn flood_ids(&self, subject: &str, n: usize, ids: EventIds) {
        self.flood_keyed(subject, n, ids, |_| {
            format!(r#"{{"t":{},"pad":"{}"}}"#, now_ns(), "x".repeat(200))
        })
        .await;
    }

    /// Publishes `n` events, the `i`th with `payload(i)`, as fast as JetStream takes them.
    async fn flood_with(&self, subject: &str, n: usize, payload: impl Fn(usize) -> String) {
        self.flood_keyed(subject, n, EventIds::Assigned, payload)
            .await;
    }

    async fn flood_keyed(
        &self,
        subject: &str,
        n: usize,
        ids: EventIds,
        payload: impl Fn(usize) -> String,
    ) {
        let js = async_nats::jetstream::new(self.client.clone());
        let mut acks = futures_util::stream::FuturesUnordered::new();
        for i in 0..n {
            let payload = payload(i);
            let published = match ids {
                EventIds::Assigned => js.publish(subject.to_owned(), payload.into()).await,
                EventIds::Random => {
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert("Nats-Msg-Id", uuid_like(i).as_str());
                    js.publish_with_headers(subject.to_owned(), headers, payload.into())
                        .await
                }
            };
            acks.push(published.expect("publish").into_future());
            while acks.len() >= 4096 {
                if let Some(ack) = acks.next().await {
                    ack.expect("ack");
                }
            }
        }
        while let Some(ack) = acks.next().await {
            ack.expect("ack");
        }
    }

    /// Publishes `rate` events per second for `seconds`, spread over `subjects` in turn.
    async fn paced(&self, subjects: &[String], rate: u64, seconds: u64) -> u64 {
        let js = async_nats::jetstream::new(self.client.clone());
        let total = rate * seconds;
        let start = tokio::time::Instant::now();
        let mut acks = futures_util::stream::FuturesUnordered::new();
        for i in 0..total {
            let due = start + Duration::from_micros(i * 1_000_000 / rate);
            tokio::time::sleep_until(due).await;
            let payload = format!(r#"{{"t":{},"i":{i}}}"#, now_ns());
            let subject = subjects[usize::try_from(i).unwrap_or(0) % subjects.len()].clone();
            acks.push(
                js.publish(subject, payload.into())
                    .await
                    .expect("publish")
                    .into_future(),
            );
            while let Some(Some(ack)) = futures_util::FutureExt::now_or_never(acks.next()) {
                ack.expect("ack");
            }
        }
        while let Some(ack) = acks.next().await {
            ack.expect("ack");
        }
        total
    }

    fn usage(&self) -> (f64, u64) {
        process_usage(self.daemon.pid().expect("hookwired runs"))
    }

    /// CPU seconds of every hookwired together, and of every nats-server together.
    fn cpu_of_all(&self) -> (f64, f64) {
        let daemons = std::iter::once(&self.daemon)
            .chain(&self.others)
            .filter_map(Hookwired::pid)
            .map(|pid| process_usage(pid).0)
            .sum();
        let servers = self
            .broker
            .pids()
            .into_iter()
            .map(|pid| process_usage(pid).0)
            .sum();
        (daemons, servers)
    }

    fn rate(&self, started_ns: u64) -> f64 {
        let count = self.sink.count.load(Ordering::SeqCst) as f64;
        let last = self.sink.last_ns.load(Ordering::SeqCst);
        count / ((last.saturating_sub(started_ns)) as f64 / 1e9)
    }

    /// How many tasks were ever queued in the tasks stream (deliveries not made straight
    /// from fan-out, and their retries).
    async fn tasks_queued(&self) -> u64 {
        let js = async_nats::jetstream::new(self.client.clone());
        let mut stream = js.get_stream("HOOKWIRE_TASKS").await.expect("tasks stream");
        stream
            .info()
            .await
            .expect("tasks stream info")
            .state
            .last_sequence
    }

    /// The machine's ceiling: consume from JetStream and POST, no signing, no state.
    async fn bare_loop(&self, n: usize) -> f64 {
        self.sink.reset();
        let started = now_ns();
        let consume = self.bare_consumer("bare", n).await;
        self.flood("bare.x", n).await;
        self.sink.wait_for(n as u64, Duration::from_mins(5)).await;
        let _ = consume.await;
        self.rate(started)
    }

    /// The bare loop's consumer (durable `name`, new events of the `BARE` stream only),
    /// spawned: each of the next `n` events is posted to the sink, then acked.
    async fn bare_consumer(&self, name: &str, n: usize) -> tokio::task::JoinHandle<()> {
        let js = async_nats::jetstream::new(self.client.clone());
        let stream = js
            .get_or_create_stream(async_nats::jetstream::stream::Config {
                name: "BARE".into(),
                subjects: vec!["bare.>".into()],
                ..Default::default()
            })
            .await
            .expect("bare stream");
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::Config {
                durable_name: Some(name.into()),
                deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::New,
                max_ack_pending: 20_000,
                ..Default::default()
            })
            .await
            .expect("bare consumer");
        let http = http_client()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .expect("client");
        let url = self.sink_url.clone();
        tokio::spawn(async move {
            let messages = consumer
                .stream()
                .max_messages_per_batch(CONCURRENCY)
                .messages()
                .await
                .expect("messages");
            messages
                .take(n)
                .for_each_concurrent(CONCURRENCY, |message| {
                    let http = http.clone();
                    let url = url.clone();
                    async move {
                        let Ok(message) = message else { return };
                        let _ = http.post(&url).body(message.payload.clone()).send().await;
                        let _ = message.ack().await;
                    }
                })
                .await;
        })
    }
}

fn report(name: &str, figures: &Value) {
    println!("{name}: {figures}");
}

/// How the flood's events are identified.
#[derive(Clone, Copy)]
enum EventIds {
    /// No `Nats-Msg-Id`: hookwired derives ids from publish time and sequence, so the
    /// index's keys arrive in order.
    Assigned,
    /// A random-looking UUID each, as publishers that deduplicate with UUIDs send: the
    /// index's keys arrive in no order.
    Random,
}

/// The `i`th of a sequence of distinct, random-looking ids in UUID form (splitmix64).
fn uuid_like(i: usize) -> String {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let seed = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let (high, low) = (mix(seed), mix(seed ^ 0x5555_5555_5555_5555));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

async fn throughput(durable: bool, n: usize) -> Value {
    throughput_of(durable, &[], json!({}), n).await
}

/// Throughput to one endpoint made from `spec`, after creating `templates`.
async fn throughput_of(durable: bool, templates: &[Value], spec: Value, n: usize) -> Value {
    throughput_ids(durable, templates, spec, n, EventIds::Assigned).await
}

/// [`throughput_of`] with events identified by `ids`.
async fn throughput_ids(
    durable: bool,
    templates: &[Value],
    spec: Value,
    n: usize,
    ids: EventIds,
) -> Value {
    let bench = Bench::start(durable).await;
    for template in templates {
        bench
            .admin
            .call::<_, Value>("templates", "create", template)
            .await
            .expect("create template");
    }
    bench.endpoint("default", spec).await;
    let (cpu_before, _) = bench.usage();
    let started = now_ns();
    bench
        .flood_ids("hookwire.events.default.bench.throughput", n, ids)
        .await;
    let done = bench.sink.wait_for(n as u64, Duration::from_mins(5)).await;
    let rate = bench.rate(started);
    let (cpu_after, rss) = bench.usage();
    let (p50, p95, p99) = bench.sink.percentiles();
    let queued = bench.tasks_queued().await;
    let bare = bench.bare_loop(n).await;
    json!({
        "deliveries": n, "complete": done, "deliveries_per_sec": rate.round(),
        "tasks_queued": queued,
        "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
        "cpu_s_per_1k": ((cpu_after - cpu_before) / (n as f64 / 1000.0) * 1000.0).round() / 1000.0,
        "peak_rss_mb": rss / (1024 * 1024),
        "bare_loop_per_sec": bare.round(), "ratio_to_bare": (rate / bare * 100.0).round() / 100.0,
    })
}

/// The outgoing-shaping features against none, one fresh stack each: a content filter every
/// event passes (the data parsed and tested per event) and gzip of every delivery (the
/// bodies are ~300 bytes; the verification challenge, ~150, is left plain so the sink does
/// not count it).
async fn shaping(n: usize) -> Value {
    let mut figures = serde_json::Map::new();
    let mut plain_rate = None;
    for (name, spec) in [
        ("none", json!({})),
        (
            "filter",
            json!({"filter": {"all": [{"path": "/pad", "exists": true}, {"path": "/t", "gt": 0}]}}),
        ),
        ("gzip", json!({"compression": {"min_bytes": 256}})),
    ] {
        let mut result = throughput_of(false, &[], spec, n).await;
        let rate = result["deliveries_per_sec"].as_f64().unwrap_or(0.0);
        let base = *plain_rate.get_or_insert(rate);
        if base > 0.0 {
            result["ratio_to_none"] = json!((rate / base * 100.0).round() / 100.0);
        }
        figures.insert(name.to_owned(), result);
    }
    Value::Object(figures)
}

/// Batches against single requests to a receiver that takes 20 ms per request, one fresh
/// stack each, without and with a per-endpoint in-flight limit: events per second and
/// each batch run's ratio to the single run before it.
async fn batch(n: usize) -> Value {
    let mut figures = serde_json::Map::new();
    let mut single_rate = None;
    let batched = json!({"mode": "batch", "max_events": 100, "max_wait_ms": 100});
    // Unlimited, a single endpoint's 512 concurrent requests bind on this machine's CPU
    // before the receiver's 20 ms do; with a per-endpoint limit of 50 in flight (what
    // receivers commonly allow) the receiver binds, as it does in production.
    for (name, spec) in [
        ("single", json!({})),
        ("batch", json!({"delivery": batched})),
        ("single_50_in_flight", json!({"max_in_flight": 50})),
        (
            "batch_50_in_flight",
            json!({"max_in_flight": 50, "delivery": batched}),
        ),
    ] {
        let bench = Bench::start(false).await;
        bench.sink.delay_ms.store(20, Ordering::Relaxed);
        bench.endpoint("default", spec).await;
        let (cpu_before, _) = bench.usage();
        let started = now_ns();
        bench.flood("hookwire.events.default.bench.batch", n).await;
        let done = bench.sink.wait_for(n as u64, Duration::from_mins(5)).await;
        let rate = bench.rate(started);
        let (cpu_after, rss) = bench.usage();
        let (p50, _, p99) = bench.sink.percentiles();
        if name.starts_with("single") {
            single_rate = Some(rate);
        }
        let base = single_rate.unwrap_or(rate);
        figures.insert(
            name.to_owned(),
            json!({
                "events": n, "complete": done, "events_per_sec": rate.round(),
                "ratio_to_single": (rate / base * 100.0).round() / 100.0,
                "p50_ms": p50, "p99_ms": p99,
                "cpu_s_per_1k": ((cpu_after - cpu_before) / (n as f64 / 1000.0) * 1000.0).round() / 1000.0,
                "peak_rss_mb": rss / (1024 * 1024),
            }),
        );
    }
    Value::Object(figures)
}

/// Ordered delivery: `keys` keys with `per_key` events each, published round-robin (every
/// key's first event, then every key's second, ...): events per second, latency, and how
/// many arrived before an earlier event of their key (must be 0). Then, to a receiver that
/// takes 20 ms per request, 1,000 keys x 20 events one per request and batched per key (up
/// to 100), a fresh stack each: the rates and their ratio.
async fn ordered(keys: usize, per_key: usize) -> Value {
    let key = json!({"pointer": "/key"});
    let one_by_one = json!({"mode": "ordered", "key": key});
    let mut figures = ordered_of(keys, per_key, one_by_one.clone(), 0).await;
    let slow_single = ordered_of(1_000, 20, one_by_one, 20).await;
    let slow_batched = ordered_of(
        1_000,
        20,
        json!({"mode": "ordered", "key": key, "batch": {"max_events": 100}}),
        20,
    )
    .await;
    let ratio = slow_batched["events_per_sec"].as_f64().unwrap_or(0.0)
        / slow_single["events_per_sec"]
            .as_f64()
            .unwrap_or(1.0)
            .max(1.0);
    figures["receiver_20ms"] = json!({
        "one_per_request": slow_single,
        "batched_per_key_100": slow_batched,
        "ratio": (ratio * 100.0).round() / 100.0,
    });
    figures
}

/// One ordered run: `keys` x `per_key` events to an endpoint with `delivery`, whose receiver
/// takes `delay_ms` per request.
async fn ordered_of(keys: usize, per_key: usize, delivery: Value, delay_ms: u64) -> Value {
    let bench = Bench::start(false).await;
    bench.sink.check_order.store(true, Ordering::Relaxed);
    bench.sink.delay_ms.store(delay_ms, Ordering::Relaxed);
    bench
        .endpoint("default", json!({"delivery": delivery}))
        .await;
    let (cpu_before, _) = bench.usage();
    let started = now_ns();
    // Every key's first event, then every key's second, ...
    bench
        .flood_with(
            "hookwire.events.default.bench.ordered",
            keys * per_key,
            |i| {
                let (n, k) = (i / keys, i % keys);
                format!(r#"{{"t":{},"key":"k{k}","n":{n}}}"#, now_ns())
            },
        )
        .await;
    let total = (keys * per_key) as u64;
    let done = bench.sink.wait_for(total, Duration::from_mins(10)).await;
    let rate = bench.rate(started);
    let (cpu_after, rss) = bench.usage();
    let (p50, _, p99) = bench.sink.percentiles();
    json!({
        "keys": keys, "events_per_key": per_key, "complete": done,
        "events_per_sec": rate.round(), "p50_ms": p50, "p99_ms": p99,
        "order_violations": bench.sink.order_violations.load(Ordering::SeqCst),
        "cpu_s_per_1k": ((cpu_after - cpu_before) / (total as f64 / 1000.0) * 1000.0).round() / 1000.0,
        "peak_rss_mb": rss / (1024 * 1024),
    })
}

/// A small JSON template against none, one fresh stack each: the body re-rendered per
/// delivery (the data parsed, three expressions, the output checked as JSON).
async fn template(n: usize) -> Value {
    let small = json!({"name": "bench", "body":
        r#"{"text": {{ event.type ~ " " ~ event.id }}, "t": {{ data.t }}, "pad": {{ data.pad }}}"#});
    let mut figures = serde_json::Map::new();
    let none = throughput_of(false, &[], json!({}), n).await;
    let mut with = throughput_of(
        false,
        &[small],
        json!({"template": {"name": "bench", "version": 1}}),
        n,
    )
    .await;
    let rate = |v: &Value| v["deliveries_per_sec"].as_f64().unwrap_or(0.0);
    if rate(&none) > 0.0 {
        with["ratio_to_none"] = json!((rate(&with) / rate(&none) * 100.0).round() / 100.0);
    }
    figures.insert("none".to_owned(), none);
    figures.insert("template".to_owned(), with);
    Value::Object(figures)
}

/// Two hookwired on a three-node cluster with every stream replicated three times, beside
/// one hookwired on one node, in the same run: a flood of `n` events to one endpoint
/// (deliveries/s, CPU of the hookwireds and of the nats-servers per 1k), then `rate`
/// events/s for `seconds` (publish-to-receipt percentiles).
async fn cluster(n: usize, rate: u64, seconds: u64) -> Value {
    let mut figures = serde_json::Map::new();
    for name in ["single", "cluster"] {
        let bench = if name == "single" {
            Bench::start(false).await
        } else {
            let replicas = [("HOOKWIRE__STREAMS__REPLICAS", "3")];
            Bench::start_on(Broker::Cluster(NatsCluster::start().await), 2, &replicas).await
        };
        bench.endpoint("default", json!({})).await;
        let (daemons_before, servers_before) = bench.cpu_of_all();
        let started = now_ns();
        bench
            .flood("hookwire.events.default.bench.cluster", n)
            .await;
        let done = bench.sink.wait_for(n as u64, Duration::from_mins(5)).await;
        let throughput = bench.rate(started);
        let (daemons_after, servers_after) = bench.cpu_of_all();
        let per_1k = |cpu: f64| (cpu / (n as f64 / 1000.0) * 1000.0).round() / 1000.0;
        bench.sink.reset();
        let paced = bench
            .paced(
                &["hookwire.events.default.bench.cluster".to_owned()],
                rate,
                seconds,
            )
            .await;
        let paced_done = bench.sink.wait_for(paced, Duration::from_mins(1)).await;
        let (p50, p95, p99) = bench.sink.percentiles();
        figures.insert(
            name.to_owned(),
            json!({
                "deliveries": n, "complete": done && paced_done,
                "deliveries_per_sec": throughput.round(),
                "hookwired_cpu_s_per_1k": per_1k(daemons_after - daemons_before),
                "nats_cpu_s_per_1k": per_1k(servers_after - servers_before),
                "paced_rate": rate, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
            }),
        );
    }
    let rate_of = |name: &str| figures[name]["deliveries_per_sec"].as_f64().unwrap_or(0.0);
    let ratio = rate_of("cluster") / rate_of("single").max(1.0);
    figures.insert(
        "cluster_to_single".to_owned(),
        json!((ratio * 100.0).round() / 100.0),
    );
    Value::Object(figures)
}

/// One instance's indexing ceiling: `n` attempt records (copies of a real one under new
/// event ids) waiting in the attempts stream while hookwired is stopped, then the time from
/// its start until its index reaches the last of them.
async fn index(n: usize) -> Value {
    let mut bench = Bench::start(false).await;
    bench.endpoint("default", json!({})).await;
    bench.flood("hookwire.events.default.bench.index", 1).await;
    bench.sink.wait_for(1, Duration::from_secs(30)).await;
    let js = async_nats::jetstream::new(bench.client.clone());
    let record: Value = loop {
        // The attempt reaches the stream just after the receiver answered.
        let last = js
            .get_stream("HOOKWIRE_ATTEMPTS")
            .await
            .expect("the attempts stream")
            .get_last_raw_message_by_subject("hookwire.live.default.*")
            .await;
        if let Ok(message) = last {
            break serde_json::from_slice(&message.payload).expect("an attempt record");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let subject = format!(
        "hookwire.live.default.{}",
        record["endpoint_id"].as_str().unwrap_or("x")
    );
    assert!(bench.daemon.terminate().await, "hookwired stops");
    bench
        .flood_with(&subject, n, |i| {
            let mut copy = record.clone();
            copy["event_id"] = json!(format!("idx_{i}"));
            copy["event_seq"] = json!(i + 2);
            copy.to_string()
        })
        .await;
    let last_seq = js
        .get_stream("HOOKWIRE_ATTEMPTS")
        .await
        .expect("the attempts stream")
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence;
    let started = Instant::now();
    bench.daemon.start_again().await;
    let ready = started.elapsed();
    loop {
        let info: Value = bench
            .admin
            .call("system", "info", &json!({}))
            .await
            .expect("system.info");
        if info["attempts_indexed"].as_u64().unwrap_or(0) >= last_seq {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    // The process is new: its CPU is all start and indexing.
    let (cpu, rss) = bench.usage();
    json!({
        "records": n,
        "attempts_per_sec": (n as f64 / took.as_secs_f64()).round(),
        "start_s": (ready.as_secs_f64() * 100.0).round() / 100.0,
        "cpu_s_per_1k": (cpu / (n as f64 / 1000.0) * 1000.0).round() / 1000.0,
        "peak_rss_mb": rss / (1024 * 1024),
    })
}

async fn latency(rate: u64, seconds: u64) -> Value {
    let bench = Bench::start(false).await;
    bench.endpoint("default", json!({})).await;
    let total = bench
        .paced(
            &["hookwire.events.default.bench.latency".to_owned()],
            rate,
            seconds,
        )
        .await;
    let done = bench.sink.wait_for(total, Duration::from_mins(1)).await;
    let (p50, p95, p99) = bench.sink.percentiles();
    let (_, rss) = bench.usage();
    json!({"rate": rate, "seconds": seconds, "complete": done, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "peak_rss_mb": rss / (1024 * 1024)})
}

/// What a delivery costs at steady, modest rates (where nothing batches): for each of
/// `rates`, events paced to one endpoint for `seconds`, the CPU of hookwired and of
/// nats-server per 1,000 deliveries, and the latency percentiles.
async fn paced(rates: &[u64], seconds: u64) -> Value {
    let bench = Bench::start(false).await;
    bench.endpoint("default", json!({})).await;
    let subject = ["hookwire.events.default.bench.paced".to_owned()];
    let own = || process_usage(std::process::id()).0;
    let per_1k = |cpu: f64, total: u64| (cpu / (total as f64 / 1000.0) * 1000.0).round() / 1000.0;
    let mut figures = Vec::new();
    for &rate in rates {
        bench.sink.reset();
        let (daemon_before, server_before, own_before) = {
            let (daemon, server) = bench.cpu_of_all();
            (daemon, server, own())
        };
        let total = bench.paced(&subject, rate, seconds).await;
        let done = bench.sink.wait_for(total, Duration::from_mins(1)).await;
        let (daemon_after, server_after) = bench.cpu_of_all();
        // The publisher's and the sink's share, to take from the bare loop's below.
        let own_hookwired = own() - own_before;
        let (p50, p95, p99) = bench.sink.percentiles();

        // The bare loop at the same rate: the least a consume->POST->ack costs here.
        bench.sink.reset();
        let (_, bare_server_before) = bench.cpu_of_all();
        let bare_own_before = own();
        let consume = bench
            .bare_consumer(&format!("bare-{rate}"), usize::try_from(total).unwrap_or(0))
            .await;
        bench.paced(&["bare.paced".to_owned()], rate, seconds).await;
        bench.sink.wait_for(total, Duration::from_mins(1)).await;
        let _ = consume.await;
        let (_, bare_server_after) = bench.cpu_of_all();
        let bare_consumer = (own() - bare_own_before - own_hookwired).max(0.0);
        let bare_server = bare_server_after - bare_server_before;
        let ours = daemon_after - daemon_before + server_after - server_before;
        figures.push(json!({
            "rate": rate,
            "seconds": seconds,
            "complete": done,
            "cpu_s_per_1k": per_1k(ours, total),
            "hookwired_cpu_s_per_1k": per_1k(daemon_after - daemon_before, total),
            "nats_cpu_s_per_1k": per_1k(server_after - server_before, total),
            "bare_cpu_s_per_1k": per_1k(bare_consumer + bare_server, total),
            "bare_nats_cpu_s_per_1k": per_1k(bare_server, total),
            "times_bare_cpu": (ours / (bare_consumer + bare_server) * 100.0).round() / 100.0,
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
        }));
    }
    let (_, rss) = bench.usage();
    json!({"rates": figures, "peak_rss_mb": rss / (1024 * 1024)})
}

/// What the ingress scenario posts: one GitHub-signed push body to one source URL.
struct Pushes {
    client: reqwest::Client,
    url: String,
    body: Bytes,
    signature: String,
}

impl Pushes {
    /// Posts pushes `from..to` (each its own delivery id) with `concurrency` clients; the
    /// latencies of accepted ones in microseconds, sorted.
    async fn post(self: &Arc<Self>, from: usize, to: usize, concurrency: usize) -> Vec<u64> {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(from));
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (pushes, next) = (Arc::clone(self), Arc::clone(&next));
                tokio::spawn(async move {
                    let mut latencies_us = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= to {
                            return latencies_us;
                        }
                        let sent = Instant::now();
                        let accepted = pushes
                            .client
                            .post(&pushes.url)
                            .header("content-type", "application/json")
                            .header("x-github-event", "push")
                            .header("x-github-delivery", format!("bench-{i}"))
                            .header("x-hub-signature-256", &pushes.signature)
                            .body(pushes.body.clone())
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == 200);
                        if accepted {
                            latencies_us.push(
                                u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX),
                            );
                        }
                    }
                })
            })
            .collect();
        let mut latencies = Vec::with_capacity(to - from);
        for worker in workers {
            latencies.extend(worker.await.expect("a worker"));
        }
        latencies.sort_unstable();
        latencies
    }
}

/// The `percent` percentile of sorted microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u64], percent: usize) -> f64 {
    sorted_us
        .get((sorted_us.len() * percent).div_ceil(100).saturating_sub(1))
        .map_or(0.0, |us| *us as f64 / 1000.0)
}

/// Incoming webhooks: `n` GitHub-signed pushes posted to a source by `concurrency` keep-alive
/// clients (accepted requests per second, client-side latency, what JetStream stored), then
/// `serial` more by one client for the latency of an unloaded request.
async fn ingress(n: usize, concurrency: usize, serial: usize) -> Value {
    const SECRET: &str = "bench-github-webhook-secret";
    let bench = Bench::start(false).await;
    let created: Value = bench
        .admin
        .call(
            "sources",
            "create",
            &json!({"name": "bench", "verification": {"scheme": "github"}, "secret": SECRET,
                    "rate_limit_per_minute": 1_000_000}),
        )
        .await
        .expect("create source");
    let body = Bytes::from(format!(
        r#"{{"ref":"refs/heads/main","repository":{{"full_name":"acme/app"}},"pad":"{}"}}"#,
        "x".repeat(200)
    ));
    let pushes = Arc::new(Pushes {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()
            .expect("an HTTP client"),
        url: format!(
            "{}{}",
            bench.daemon.ingress_url(),
            created["path"].as_str().expect("a path")
        ),
        signature: hookwire_protocol::inbound::sign::github(SECRET, &body),
        body,
    });
    let (cpu_before, _) = bench.usage();
    let started = Instant::now();
    let loaded = pushes.post(0, n, concurrency).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu_after, rss) = bench.usage();
    let unloaded = pushes.post(n, n + serial, 1).await;
    let js = async_nats::jetstream::new(bench.client.clone());
    let stored = js
        .get_stream("HOOKWIRE_EVENTS")
        .await
        .expect("the events stream")
        .info()
        .await
        .expect("stream info")
        .state
        .messages;
    json!({
        "requests": n + serial, "accepted": loaded.len() + unloaded.len(), "stored": stored,
        "concurrency": concurrency, "accepted_per_sec": (loaded.len() as f64 / elapsed).round(),
        "p50_ms": percentile_ms(&loaded, 50), "p99_ms": percentile_ms(&loaded, 99),
        "serial_p50_ms": percentile_ms(&unloaded, 50), "serial_p99_ms": percentile_ms(&unloaded, 99),
        "cpu_s_per_1k": ((cpu_after - cpu_before) / (n as f64 / 1000.0) * 1000.0).round() / 1000.0,
        "peak_rss_mb": rss / (1024 * 1024),
    })
}

async fn fanout(events: usize, endpoints: usize) -> Value {
    let bench = Bench::start(false).await;
    for _ in 0..endpoints {
        bench.endpoint("default", json!({})).await;
    }
    let started = now_ns();
    bench
        .flood("hookwire.events.default.bench.fanout", events)
        .await;
    let total = (events * endpoints) as u64;
    let done = bench.sink.wait_for(total, Duration::from_mins(5)).await;
    let rate = bench.rate(started);
    let (p50, p95, p99) = bench.sink.percentiles();
    json!({"events": events, "endpoints": endpoints, "complete": done, "deliveries_per_sec": rate.round(), "p50_ms": p50, "p95_ms": p95, "p99_ms": p99})
}

async fn noisy(backlog: usize, rate: u64, seconds: u64) -> Value {
    let bench = Bench::start(false).await;
    let dead = format!("http://127.0.0.1:{}/nothing-listens", free_port());
    bench
        .endpoint(
            "default",
            // Nothing there can answer a challenge: the destination is confirmed instead.
            json!({"url": dead, "event_types": ["noisy.dead"], "retry_schedule_secs": [3600],
                "verification": "confirmed", "confirm_destination": "127.0.0.1"}),
        )
        .await;
    bench
        .endpoint("default", json!({"event_types": ["noisy.healthy"]}))
        .await;
    bench
        .flood("hookwire.events.default.noisy.dead", backlog)
        .await;
    // The dead endpoint's deliveries wait in a retry tier until its circuit opens (after
    // its first failures), and then held behind the circuit: the backlog is both together.
    let js = async_nats::jetstream::new(bench.client.clone());
    let mut retry = js.get_stream("HOOKWIRE_RETRY").await.expect("retry stream");
    let mut held = js.get_stream("HOOKWIRE_HELD").await.expect("held stream");
    let deadline = Instant::now() + Duration::from_secs(300 + backlog as u64 / 1000);
    loop {
        let (retrying, holding) = parked(&mut retry, &mut held).await;
        if retrying + holding >= backlog as u64 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the burst of failing first attempts finish (tasks drained, attempts indexed), so
    // the measurement sees a backlog that waits, as it does in steady state.
    let mut tasks = js.get_stream("HOOKWIRE_TASKS").await.expect("tasks stream");
    while tasks.info().await.map_or(1, |i| i.state.messages) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (retrying, holding) = parked(&mut retry, &mut held).await;
    let total = bench
        .paced(
            &["hookwire.events.default.noisy.healthy".to_owned()],
            rate,
            seconds,
        )
        .await;
    let done = bench.sink.wait_for(total, Duration::from_mins(1)).await;
    let (p50, p95, p99) = bench.sink.percentiles();
    let (_, rss) = bench.usage();
    json!({"retry_backlog": retrying, "held_backlog": holding, "rate": rate, "seconds": seconds, "complete": done, "healthy_p50_ms": p50, "healthy_p95_ms": p95, "healthy_p99_ms": p99, "peak_rss_mb": rss / (1024 * 1024)})
}

/// Messages waiting in the retry stream and in the held stream.
async fn parked(
    retry: &mut async_nats::jetstream::stream::Stream,
    held: &mut async_nats::jetstream::stream::Stream,
) -> (u64, u64) {
    let retrying = retry.info().await.map_or(0, |i| i.state.messages);
    let holding = held.info().await.map_or(0, |i| i.state.messages);
    (retrying, holding)
}

async fn tenants(rate: u64, seconds: u64) -> Value {
    let bench = Bench::start(false).await;
    let mut subjects = Vec::new();
    for t in 0..100 {
        let tenant = format!("t{t}");
        for _ in 0..5 {
            bench.endpoint(&tenant, json!({})).await;
        }
        subjects.push(format!("hookwire.events.{tenant}.bench.tenants"));
    }
    let total = bench.paced(&subjects, rate, seconds).await * 5;
    let done = bench.sink.wait_for(total, Duration::from_mins(2)).await;
    let (p50, p95, p99) = bench.sink.percentiles();
    json!({"events_per_sec": rate, "tenants": 100, "endpoints_per_tenant": 5, "seconds": seconds, "complete": done, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99})
}

/// The operator console's own cost: its live view open while `rate` deliveries/s flow,
/// measured on the `hookwire` process (CPU share, peak RSS, idle CPU, and how soon a
/// delivery shows on screen).
async fn console(rate: u64, seconds: u64) -> Value {
    let bench = Bench::start(false).await;
    bench.endpoint("default", json!({})).await;
    let mut console = Console::start(&bench.broker.urls(), &[], 120, 40);
    let limit = Duration::from_secs(20);
    console.wait_for("connected", limit).await;
    console.press("3");
    console.wait_for("waiting for attempts", limit).await;
    let pid = console.pid().expect("the console runs");
    let idle_window = Duration::from_secs(5);
    let (idle_before, _) = process_usage(pid);
    tokio::time::sleep(idle_window).await;
    let (idle_after, _) = process_usage(pid);

    let (before, _) = process_usage(pid);
    let started = Instant::now();
    let subject = "hookwire.events.default.bench.console".to_owned();
    let total = bench
        .paced(std::slice::from_ref(&subject), rate, seconds)
        .await;
    let done = bench.sink.wait_for(total, Duration::from_mins(1)).await;
    // One more, by id: how long from its delivery until the live view shows it.
    let js = async_nats::jetstream::new(bench.client.clone());
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "bench-console-last");
    let sent = Instant::now();
    js.publish_with_headers(subject, headers, "{}".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    bench.sink.wait_for(total + 1, limit).await;
    let delivered = sent.elapsed();
    console.wait_for("bench-console-last", limit).await;
    let on_screen = sent.elapsed();
    let wall = started.elapsed().as_secs_f64();
    let (after, rss) = process_usage(pid);
    console.press("q");
    json!({
        "rate": rate,
        "seconds": seconds,
        "complete": done,
        "console_cpu_percent": (after - before) / wall * 100.0,
        "idle_cpu_percent": (idle_after - idle_before) / idle_window.as_secs_f64() * 100.0,
        "console_peak_rss_mb": rss / (1024 * 1024),
        "screen_after_delivery_ms": (on_screen.saturating_sub(delivered)).as_secs_f64() * 1000.0,
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = [
        "throughput",
        "latency",
        "paced",
        "fanout",
        "noisy",
        "backlog",
        "durable",
        "random-ids",
        "tenants",
        "console",
        "ingress",
        "shaping",
        "template",
        "batch",
        "ordered",
        "cluster",
        "index",
    ];
    let chosen: Vec<&str> = if args.is_empty() {
        all.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut results = serde_json::Map::new();
    for scenario in chosen {
        let figures = match scenario {
            "throughput" => throughput(false, 50_000).await,
            "latency" => latency(1000, seconds).await,
            "paced" => paced(&[250, 1000], seconds).await,
            "fanout" => fanout(10_000, 10).await,
            "noisy" => noisy(100_000, 1000, seconds).await,
            "backlog" => noisy(1_000_000, 1000, seconds).await,
            "durable" => throughput(true, 20_000).await,
            "random-ids" => throughput_ids(false, &[], json!({}), 50_000, EventIds::Random).await,
            "tenants" => tenants(1000, seconds).await,
            "console" => console(50, seconds).await,
            "ingress" => ingress(20_000, 64, 2_000).await,
            "shaping" => shaping(20_000).await,
            "template" => template(20_000).await,
            "batch" => batch(40_000).await,
            "cluster" => cluster(20_000, 500, seconds).await,
            "index" => index(200_000).await,
            "ordered" => {
                let keys = std::env::var("BENCH_KEYS")
                    .ok()
                    .and_then(|k| k.parse().ok())
                    .unwrap_or(10_000);
                ordered(keys, 10).await
            }
            other => {
                eprintln!("unknown scenario {other}; choose from {all:?}");
                std::process::exit(2);
            }
        };
        report(scenario, &figures);
        results.insert(scenario.to_owned(), figures);
    }
    println!("{}", Value::Object(results));
}
