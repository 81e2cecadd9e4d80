//! Hookwire's JetStream topology, provisioned idempotently at start.
//!
//! | stream | subjects | retention | what |
//! | --- | --- | --- | --- |
//! | `<P>_EVENTS` | `<p>.events.>` | limits (max age) | every event; kept for replay |
//! | `<P>_TASKS` | `<p>.tasks.>` | work queue | one task per (event, endpoint) awaiting a worker |
//! | `<P>_RETRY` | `<p>.retry.>` | work queue | tasks waiting for their next attempt, one subject per delay tier |
//! | `<P>_DEAD` | `<p>.dead.>` | limits (max age) | dead letters |
//! | `<P>_HELD` | `<p>.held.>` | limits | tasks of paused or unverified endpoints, released when they deliver again |
//! | `<P>_ORDERED` | `<p>.ordered.>` | limits | the lanes of ordered endpoints, one subject per key, deleted once settled |
//! | `<P>_ATTEMPTS` | `<p>.live.>` | limits (max age) | every attempt record |
//!
//! plus the key-value bucket `<P>_CONFIG` holding endpoints. A stream that exists with a
//! different retention, storage or subject set is reported, never recreated: recreating
//! would lose its messages.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use hookwire_protocol::Subjects;

/// The durable consumer that fans events out into tasks.
pub const FANOUT_CONSUMER: &str = "fanout";
/// The durable consumer delivery workers pull tasks from.
pub const DELIVER_CONSUMER: &str = "deliver";

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// A stream exists with a setting that cannot be changed in place.
    #[error(
        "stream {stream} exists with {field} = {existing}, but Hookwire needs {wanted}; \
         it was not changed. Delete or rename it (its messages are lost then), or point Hookwire at another prefix"
    )]
    Incompatible {
        /// The stream.
        stream: String,
        /// The setting.
        field: &'static str,
        /// What the stream has.
        existing: String,
        /// What Hookwire needs.
        wanted: String,
    },
    /// JetStream refused or did not answer.
    #[error("cannot {action}: {source}")]
    JetStream {
        /// What was being done.
        action: String,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },
}

fn js_error(action: impl Into<String>) -> impl FnOnce(async_nats::Error) -> ProvisionError {
    let action = action.into();
    move |source| ProvisionError::JetStream { action, source }
}

/// Limits for the provisioned streams.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// How long events stay for replay.
    pub events_max_age: Duration,
    /// How long attempt records stay.
    pub attempts_max_age: Duration,
    /// How long dead letters stay.
    pub dead_max_age: Duration,
    /// How long audit records stay.
    pub audit_max_age: Duration,
    /// The de-duplication window for `Nats-Msg-Id`.
    pub duplicate_window: Duration,
    /// The largest event accepted by the stream, in bytes.
    pub max_event_bytes: i32,
    /// Replicas per stream (1 on a single server, 3 on a cluster).
    pub replicas: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            events_max_age: Duration::from_hours(7 * 24),
            attempts_max_age: Duration::from_hours(7 * 24),
            dead_max_age: Duration::from_hours(30 * 24),
            audit_max_age: Duration::from_hours(90 * 24),
            duplicate_window: Duration::from_mins(2),
            max_event_bytes: 1024 * 1024,
            replicas: 1,
        }
    }
}

/// The names of everything provisioned, derived from the subject prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Subjects under the configured prefix.
    pub subjects: Subjects,
    /// Events stream.
    pub events: String,
    /// Tasks stream.
    pub tasks: String,
    /// Retry tiers stream.
    pub retry: String,
    /// Dead-letter stream.
    pub dead: String,
    /// Deliveries held for paused and unverified endpoints.
    pub held: String,
    /// The lanes of ordered endpoints.
    pub ordered: String,
    /// Attempts stream.
    pub attempts: String,
    /// Audit stream.
    pub audit: String,
    /// Configuration bucket.
    pub config_bucket: String,
}

impl Topology {
    /// Names under `subjects`' prefix.
    #[must_use]
    pub fn new(subjects: Subjects) -> Self {
        Self {
            events: subjects.resource_name("EVENTS"),
            tasks: subjects.resource_name("TASKS"),
            retry: subjects.resource_name("RETRY"),
            dead: subjects.resource_name("DEAD"),
            held: subjects.resource_name("HELD"),
            ordered: subjects.resource_name("ORDERED"),
            attempts: subjects.resource_name("ATTEMPTS"),
            audit: subjects.resource_name("AUDIT"),
            config_bucket: subjects.resource_name("CONFIG"),
            subjects,
        }
    }

    /// The durable consumer name of the retry tier of `delay`.
    #[must_use]
    pub fn tier_consumer(delay: Duration) -> String {
        format!("tier-{}s", delay.as_secs())
    }

    /// Creates or updates every stream, consumer and bucket.
    pub async fn provision(
        &self,
        js: &jetstream::Context,
        limits: &StreamLimits,
        tiers: &[Duration],
        deliver_ack_wait: Duration,
    ) -> Result<(), ProvisionError> {
        self.ensure_streams(js, limits).await?;
        self.ensure_consumers(js, tiers, deliver_ack_wait).await?;
        self.ensure_bucket(js, limits).await
    }

    async fn ensure_streams(
        &self,
        js: &jetstream::Context,
        limits: &StreamLimits,
    ) -> Result<(), ProvisionError> {
        let file = |name: &str, kind: &str, retention, max_age| stream::Config {
            name: name.to_owned(),
            subjects: vec![self.subjects.all_of(kind)],
            retention,
            storage: stream::StorageType::File,
            max_age,
            duplicate_window: limits.duplicate_window,
            num_replicas: limits.replicas,
            allow_direct: true,
            ..Default::default()
        };
        let events = stream::Config {
            max_message_size: limits.max_event_bytes,
            ..file(
                &self.events,
                "events",
                stream::RetentionPolicy::Limits,
                limits.events_max_age,
            )
        };
        ensure_stream(js, events).await?;
        let tasks = file(
            &self.tasks,
            "tasks",
            stream::RetentionPolicy::WorkQueue,
            Duration::ZERO,
        );
        ensure_stream(js, tasks).await?;
        let retry = file(
            &self.retry,
            "retry",
            stream::RetentionPolicy::WorkQueue,
            Duration::ZERO,
        );
        ensure_stream(js, retry).await?;
        let dead = file(
            &self.dead,
            "dead",
            stream::RetentionPolicy::Limits,
            limits.dead_max_age,
        );
        ensure_stream(js, dead).await?;
        // Held deliveries leave by explicit delete when their endpoint delivers again.
        let held = file(
            &self.held,
            "held",
            stream::RetentionPolicy::Limits,
            Duration::ZERO,
        );
        ensure_stream(js, held).await?;
        // Lane tasks leave by explicit delete once settled.
        let ordered = file(
            &self.ordered,
            "ordered",
            stream::RetentionPolicy::Limits,
            Duration::ZERO,
        );
        ensure_stream(js, ordered).await?;
        let attempts = file(
            &self.attempts,
            "live",
            stream::RetentionPolicy::Limits,
            limits.attempts_max_age,
        );
        ensure_stream(js, attempts).await?;
        let audit = file(
            &self.audit,
            "audit",
            stream::RetentionPolicy::Limits,
            limits.audit_max_age,
        );
        ensure_stream(js, audit).await
    }

    async fn ensure_consumers(
        &self,
        js: &jetstream::Context,
        tiers: &[Duration],
        deliver_ack_wait: Duration,
    ) -> Result<(), ProvisionError> {
        ensure_consumer(
            js,
            &self.events,
            consumer::pull::Config {
                durable_name: Some(FANOUT_CONSUMER.to_owned()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await?;
        ensure_consumer(
            js,
            &self.tasks,
            consumer::pull::Config {
                durable_name: Some(DELIVER_CONSUMER.to_owned()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: deliver_ack_wait,
                max_ack_pending: 20_000,
                ..Default::default()
            },
        )
        .await?;
        for tier in tiers {
            ensure_consumer(
                js,
                &self.retry,
                consumer::pull::Config {
                    durable_name: Some(Self::tier_consumer(*tier)),
                    filter_subject: self.subjects.retry_tier(tier.as_secs()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    max_ack_pending: 10_000,
                    ..Default::default()
                },
            )
            .await?;
        }
        Ok(())
    }

    async fn ensure_bucket(
        &self,
        js: &jetstream::Context,
        limits: &StreamLimits,
    ) -> Result<(), ProvisionError> {
        if js.get_key_value(&self.config_bucket).await.is_err() {
            js.create_key_value(jetstream::kv::Config {
                bucket: self.config_bucket.clone(),
                history: 1,
                storage: stream::StorageType::File,
                num_replicas: limits.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| js_error(format!("create bucket {}", self.config_bucket))(e.into()))?;
        }
        Ok(())
    }
}

/// Creates `wanted`, or updates an existing stream whose fixed settings match.
async fn ensure_stream(
    js: &jetstream::Context,
    wanted: stream::Config,
) -> Result<(), ProvisionError> {
    let name = wanted.name.clone();
    let existing = match js.get_stream(&name).await {
        Ok(mut stream) => Some(
            stream
                .info()
                .await
                .map_err(|e| js_error(format!("read stream {name}"))(e.into()))?
                .config
                .clone(),
        ),
        Err(e)
            if matches!(
                e.kind(),
                jetstream::context::GetStreamErrorKind::JetStream(ref js_err)
                    if js_err.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
            ) =>
        {
            None
        }
        Err(e) => return Err(js_error(format!("look up stream {name}"))(e.into())),
    };
    match existing {
        None => {
            js.create_stream(wanted)
                .await
                .map_err(|e| js_error(format!("create stream {name}"))(e.into()))?;
        }
        Some(existing) => {
            check_compatible(&existing, &wanted)?;
            let unchanged = existing.max_age == wanted.max_age
                && existing.duplicate_window == wanted.duplicate_window
                && existing.max_message_size == wanted.max_message_size
                && existing.allow_direct == wanted.allow_direct;
            if !unchanged {
                js.update_stream(wanted)
                    .await
                    .map_err(|e| js_error(format!("update stream {name}"))(e.into()))?;
            }
        }
    }
    Ok(())
}

/// Settings JetStream cannot change in place, or whose change would lose or misroute messages.
fn check_compatible(
    existing: &stream::Config,
    wanted: &stream::Config,
) -> Result<(), ProvisionError> {
    let fail = |field: &'static str, have: String, need: String| ProvisionError::Incompatible {
        stream: wanted.name.clone(),
        field,
        existing: have,
        wanted: need,
    };
    if existing.retention != wanted.retention {
        return Err(fail(
            "retention",
            format!("{:?}", existing.retention),
            format!("{:?}", wanted.retention),
        ));
    }
    if existing.storage != wanted.storage {
        return Err(fail(
            "storage",
            format!("{:?}", existing.storage),
            format!("{:?}", wanted.storage),
        ));
    }
    let mut have = existing.subjects.clone();
    let mut need = wanted.subjects.clone();
    have.sort();
    need.sort();
    if have != need {
        return Err(fail("subjects", have.join(","), need.join(",")));
    }
    Ok(())
}

async fn ensure_consumer(
    js: &jetstream::Context,
    stream_name: &str,
    config: consumer::pull::Config,
) -> Result<(), ProvisionError> {
    let name = config.durable_name.clone().unwrap_or_default();
    js.create_consumer_on_stream(config, stream_name)
        .await
        .map(|_: consumer::Consumer<consumer::pull::Config>| ())
        .map_err(|e| js_error(format!("create consumer {name} on {stream_name}"))(e.into()))
}
