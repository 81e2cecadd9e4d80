//! `hookwire endpoints ...`: subscriber URLs, their status, secrets and test sends.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use hookwire_protocol::auth::{Auth, ClientCertificate};
use hookwire_protocol::content_filter::ContentFilter;
use hookwire_protocol::endpoint::{
    BatchSettings, Compression, CreateEndpoint, DeliveryMode, EndpointId, KeyBatch, ListEndpoints,
    OrderKey, OrderSettings, RequestedStatus, RotateSecret, TestEndpoint, UpdateEndpoint,
    VerificationMode,
};
use hookwire_protocol::operation::AdminRequest;
use hookwire_protocol::ordered::SkipHead;
use hookwire_protocol::schemes::{DEFAULT_STRIPE_HEADER, JwtAlgorithm, SignatureScheme};
use hookwire_protocol::slo::Slo;
use hookwire_protocol::template::TemplatePin;
use serde_json::Value;

use super::{parse_header, parse_json_arg};
use crate::output::Failure;

#[derive(Debug, Subcommand)]
pub(crate) enum EndpointCommand {
    /// Creates an endpoint; prints its signing secret once.
    Create {
        /// Your own id for the endpoint (generated when absent).
        #[arg(long)]
        id: Option<String>,
        /// Signing secret (whsec_...); generated when absent.
        #[arg(long)]
        secret: Option<String>,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Shows one endpoint.
    Get {
        /// Endpoint id.
        id: String,
    },
    /// Lists endpoints.
    List {
        /// Page size (1-500).
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after this id (from the previous page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Changes an endpoint; only the given fields change.
    Update {
        /// Endpoint id.
        id: String,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Deletes an endpoint.
    Delete {
        /// Endpoint id.
        id: String,
    },
    /// Holds deliveries (they wait, nothing is lost) until `resume`.
    Pause {
        /// Endpoint id.
        id: String,
    },
    /// Delivers again, including what waited while paused.
    Resume {
        /// Endpoint id.
        id: String,
    },
    /// Re-enables an endpoint Hookwire disabled (e.g. after 410 Gone).
    Enable {
        /// Endpoint id.
        id: String,
    },
    /// Success rate, latency and failure reasons over 1 h, 24 h and 7 d.
    Stats {
        /// Endpoint id.
        id: String,
    },
    /// Sends a test event to this endpoint only (no event is published).
    Test {
        /// Endpoint id.
        id: String,
        /// Event type.
        #[arg(long = "type")]
        event_type: String,
        /// The event's JSON.
        #[arg(long)]
        payload: Option<String>,
    },
    /// The keys of an ordered endpoint whose first event failed and holds the rest.
    BlockedKeys {
        /// Endpoint id.
        id: String,
    },
    /// Moves an ordered lane's head aside so its key goes on (dropped, or kept as a dead
    /// letter with --dead-letter).
    SkipHead {
        /// Endpoint id.
        id: String,
        /// The lane, from `blocked-keys`.
        #[arg(long)]
        lane: String,
        /// Keep the event as a dead letter (to requeue later) instead of dropping it.
        #[arg(long)]
        dead_letter: bool,
    },
    /// Sends the verification challenge now and shows the result.
    Verify {
        /// Endpoint id.
        id: String,
    },
    /// Starts signing with a new secret; the old one keeps signing for the grace period.
    RotateSecret {
        /// Endpoint id.
        id: String,
        /// The new secret (whsec_...); generated when absent.
        #[arg(long)]
        secret: Option<String>,
        /// Seconds the previous secret keeps signing (0-604800, default 86400).
        #[arg(long)]
        grace_secs: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    Active,
    Paused,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VerificationArg {
    /// The receiver echoes {"challenge": ...}.
    Echo,
    /// Any 2xx answer passes.
    Status,
    /// No challenge: you confirm the destination with --confirm-destination HOST (for chat
    /// and issue APIs, which cannot answer one).
    Confirmed,
}

#[derive(Debug, Args)]
pub(crate) struct EndpointFields {
    /// Where to send webhooks (http or https).
    #[arg(long)]
    url: Option<String>,
    /// Free text.
    #[arg(long)]
    description: Option<String>,
    /// Event-type filter, repeatable (memory.*, orders.>); all types when none.
    #[arg(long = "type", value_name = "FILTER")]
    types: Vec<String>,
    /// Extra header NAME=VALUE, repeatable.
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// Attempt timeout in milliseconds (100-60000).
    #[arg(long)]
    timeout_ms: Option<u32>,
    /// Retry delays in seconds, comma-separated (e.g. 5,30,120).
    #[arg(long, value_delimiter = ',')]
    retry: Option<Vec<u32>>,
    /// active or paused.
    #[arg(long)]
    status: Option<StatusArg>,
    /// How the receiver proves itself before the first delivery.
    #[arg(long)]
    verification: Option<VerificationArg>,
    /// The only networks deliveries may reach, comma-separated CIDRs (narrows the
    /// deployment's rules; given with no value, removes the narrowing).
    #[arg(long, value_delimiter = ',', num_args = 0.., value_name = "CIDR")]
    allow_networks: Option<Vec<String>>,
    /// Networks deliveries never reach, comma-separated CIDRs.
    #[arg(long, value_delimiter = ',', num_args = 0.., value_name = "CIDR")]
    deny_networks: Option<Vec<String>>,
    /// How webhooks are signed: standard (Standard Webhooks), stripe, github or jwt.
    #[arg(long)]
    signature: Option<SignatureArg>,
    /// The Stripe-style signature header (default Stripe-Signature).
    #[arg(long, value_name = "NAME", requires = "signature")]
    signature_header: Option<String>,
    /// The jwt scheme's `iss` claim (default hookwire).
    #[arg(long, value_name = "ISSUER", requires = "signature")]
    jwt_issuer: Option<String>,
    /// The jwt scheme's algorithm: HS256 with the secret (default) or EdDSA with the
    /// endpoint's Ed25519 key (published by `hookwire keys`).
    #[arg(long, value_name = "HS256|EdDSA", value_parser = parse_jwt_algorithm, requires = "signature")]
    jwt_algorithm: Option<JwtAlgorithm>,
    /// Most deliveries per second (1-10000; 0 on update removes the limit).
    #[arg(long, value_name = "N")]
    rate_limit_per_sec: Option<u32>,
    /// Most attempts in flight at once per instance (1-1000; 0 on update: adaptive).
    #[arg(long, value_name = "N")]
    max_in_flight: Option<u32>,
    /// How much of each response body attempt records keep, 0-16384 bytes (0: none).
    #[arg(long, value_name = "BYTES")]
    response_body_bytes: Option<u32>,
    /// Outgoing authentication as JSON or @FILE (keeps credentials out of the process
    /// list), e.g. {"type":"bearer","token":"..."}; `none` on update removes it.
    #[arg(long, value_name = "JSON|@FILE|none")]
    auth: Option<String>,
    /// A PEM client certificate (chain) for mutual TLS; needs --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<std::path::PathBuf>,
    /// On update: stop presenting a client certificate.
    #[arg(long, conflicts_with = "client_cert")]
    no_client_cert: bool,
    /// Only events whose data passes this content filter, as JSON or @FILE, e.g.
    /// {"all":[{"path":"/severity","eq":"high"}]} (see docs/templates.md); `none` on
    /// update removes it.
    #[arg(long, value_name = "JSON|@FILE|none")]
    filter: Option<String>,
    /// Gzip bodies of at least this many bytes (0: every body; with --no-compression on
    /// update: none). The signature covers the uncompressed body.
    #[arg(long, value_name = "BYTES")]
    compress_from: Option<u32>,
    /// On update: send every body as it is.
    #[arg(long, conflicts_with = "compress_from")]
    no_compression: bool,
    /// Render bodies with this template version, NAME:VERSION (see `hookwire templates`);
    /// `none` on update sends the standard envelope again.
    #[arg(long, value_name = "NAME:VERSION|none", value_parser = parse_pin)]
    template: Option<PinArg>,
    /// A label templates read as endpoint.metadata.KEY, repeatable (replaces all on
    /// update).
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = parse_header)]
    metadata: Vec<(String, String)>,
    /// With --verification confirmed: the URL's host, typed to confirm the destination.
    #[arg(long, value_name = "HOST")]
    confirm_destination: Option<String>,
    /// Batch mode: up to N events per request, as a JSON array (1-1000; see docs/protocol.md).
    #[arg(long, value_name = "N")]
    batch_max_events: Option<u32>,
    /// Batch mode: the longest an event waits for others, 0-10000 ms (default 1000).
    #[arg(long, value_name = "MS", requires = "batch_max_events")]
    batch_max_wait_ms: Option<u32>,
    /// Batch mode: most bytes of event data per request (default 1 MiB).
    #[arg(long, value_name = "BYTES", requires = "batch_max_events")]
    batch_max_bytes: Option<u32>,
    /// On update: one request per event again.
    #[arg(long, conflicts_with = "batch_max_events")]
    single: bool,
    /// Ordered delivery per key (only at create): `header:NAME` (a NATS header of the
    /// event) or `pointer:/PATH` (a JSON Pointer into its data). With --batch-max-events
    /// (and --batch-max-bytes): batched per key.
    #[arg(long, value_name = "header:NAME|pointer:/PATH", value_parser = OrderKey::from_str, conflicts_with_all = ["batch_max_wait_ms", "single"])]
    ordered_by: Option<OrderKey>,
    /// `on`: relay webhooks over NATS to `hookwire listen` instead of sending them to the
    /// URL; `off`: send them to the URL again.
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    listen: Option<bool>,
    /// A delivery objective: PERCENT of deliveries succeed within SECS of their event,
    /// over DAYS (default 30), e.g. `99.9/60` or `99.9/60/7`; `none` removes it.
    #[arg(long, value_name = "PERCENT/SECS[/DAYS]|none", value_parser = parse_slo)]
    slo: Option<SloArg>,
}

/// `--slo`: an objective, or `none`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SloArg {
    None,
    Objective(Slo),
}

/// `PERCENT/SECS[/DAYS]` or `none`; the bounds are hookwired's to check.
fn parse_slo(text: &str) -> Result<SloArg, String> {
    if text == "none" {
        return Ok(SloArg::None);
    }
    let usage = || format!("{text:?} is not PERCENT/SECS[/DAYS] (e.g. 99.9/60/30) or none");
    let parts: Vec<&str> = text.split('/').collect();
    let (percent, secs, days) = match parts.as_slice() {
        [percent, secs] => (*percent, *secs, None),
        [percent, secs, days] => (*percent, *secs, Some(*days)),
        _ => return Err(usage()),
    };
    let target_percent = serde_json::from_str(percent.trim_end_matches('%'))
        .map_err(|e| format!("{}: {e}", usage()))?;
    let within_secs = secs.trim_end_matches('s').parse().map_err(|_| usage())?;
    let window_days = match days {
        Some(days) => days.trim_end_matches('d').parse().map_err(|_| usage())?,
        None => hookwire_protocol::slo::DEFAULT_WINDOW_DAYS,
    };
    Ok(SloArg::Objective(Slo {
        target_percent,
        within_secs,
        window_days,
    }))
}

/// `HS256` or `EdDSA` (any case).
fn parse_jwt_algorithm(text: &str) -> Result<JwtAlgorithm, String> {
    match text.to_ascii_lowercase().as_str() {
        "hs256" => Ok(JwtAlgorithm::Hs256),
        "eddsa" => Ok(JwtAlgorithm::EdDsa),
        _ => Err(format!("{text:?} is neither HS256 nor EdDSA")),
    }
}

/// `on` or `off`.
fn parse_switch(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{text:?} is neither on nor off")),
    }
}

/// `--template`: a pin, or `none`.
#[derive(Debug, Clone)]
pub(crate) enum PinArg {
    None,
    Pin(TemplatePin),
}

/// `NAME:VERSION` or `none`.
pub(super) fn parse_pin(text: &str) -> Result<PinArg, String> {
    if text == "none" {
        return Ok(PinArg::None);
    }
    let (name, version) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not NAME:VERSION (e.g. slack:1)"))?;
    let version = version
        .parse()
        .map_err(|_| format!("{version:?} is not a version number"))?;
    Ok(PinArg::Pin(TemplatePin {
        name: name.to_owned(),
        version,
    }))
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SignatureArg {
    Standard,
    Stripe,
    Github,
    Jwt,
    Ed25519,
}

impl EndpointCommand {
    pub(crate) fn request(&self) -> Result<AdminRequest, Failure> {
        let id_of = |id: &String| EndpointId { id: id.clone() };
        Ok(match self {
            Self::Create { id, secret, fields } => {
                AdminRequest::EndpointsCreate(fields.create(id.clone(), secret.clone())?)
            }
            Self::Get { id } => AdminRequest::EndpointsGet(id_of(id)),
            Self::List { limit, cursor } => AdminRequest::EndpointsList(ListEndpoints {
                cursor: cursor.clone(),
                limit: *limit,
            }),
            Self::Update { id, fields } => {
                AdminRequest::EndpointsUpdate(fields.update(id.clone())?)
            }
            Self::Delete { id } => AdminRequest::EndpointsDelete(id_of(id)),
            Self::Pause { id } => AdminRequest::EndpointsPause(id_of(id)),
            Self::Resume { id } => AdminRequest::EndpointsResume(id_of(id)),
            Self::Enable { id } => AdminRequest::EndpointsEnable(id_of(id)),
            Self::Verify { id } => AdminRequest::EndpointsVerify(id_of(id)),
            Self::BlockedKeys { id } => AdminRequest::EndpointsBlockedKeys(id_of(id)),
            Self::SkipHead {
                id,
                lane,
                dead_letter,
            } => AdminRequest::EndpointsSkipHead(SkipHead {
                id: id.clone(),
                lane: lane.clone(),
                dead_letter: *dead_letter,
            }),
            Self::Stats { id } => AdminRequest::EndpointsStats(id_of(id)),
            Self::Test {
                id,
                event_type,
                payload,
            } => {
                let payload: Option<Value> = payload
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .context("--payload is not JSON")?;
                AdminRequest::EndpointsTest(TestEndpoint {
                    id: id.clone(),
                    event_type: event_type.clone(),
                    payload,
                })
            }
            Self::RotateSecret {
                id,
                secret,
                grace_secs,
            } => AdminRequest::EndpointsRotateSecret(RotateSecret {
                id: id.clone(),
                secret: secret.clone(),
                grace_secs: *grace_secs,
            }),
        })
    }
}

impl EndpointFields {
    fn headers(&self) -> Option<BTreeMap<String, String>> {
        (!self.headers.is_empty()).then(|| self.headers.iter().cloned().collect())
    }

    fn status(&self) -> Option<RequestedStatus> {
        self.status.map(|s| match s {
            StatusArg::Active => RequestedStatus::Active,
            StatusArg::Paused => RequestedStatus::Paused,
        })
    }

    fn verification(&self) -> Option<VerificationMode> {
        self.verification.map(|v| match v {
            VerificationArg::Echo => VerificationMode::Echo,
            VerificationArg::Status => VerificationMode::Status,
            VerificationArg::Confirmed => VerificationMode::Confirmed,
        })
    }

    /// `--template`: absent keeps, `none` removes, a pin sets.
    #[expect(clippy::option_option, reason = "absent, none and a value differ")]
    fn template(&self) -> Option<Option<TemplatePin>> {
        self.template.clone().map(|pin| match pin {
            PinArg::None => None,
            PinArg::Pin(pin) => Some(pin),
        })
    }

    /// `--batch-*` sets batch mode, `--ordered-by` ordered mode, `--single` one request per
    /// event.
    fn delivery(&self) -> Option<DeliveryMode> {
        if self.single {
            return Some(DeliveryMode::Single);
        }
        if let Some(key) = &self.ordered_by {
            let defaults = KeyBatch::default();
            return Some(DeliveryMode::Ordered(OrderSettings {
                key: key.clone(),
                batch: self.batch_max_events.map(|max_events| KeyBatch {
                    max_events,
                    max_bytes: self.batch_max_bytes.unwrap_or(defaults.max_bytes),
                }),
            }));
        }
        let defaults = BatchSettings::default();
        self.batch_max_events.map(|max_events| {
            DeliveryMode::Batch(BatchSettings {
                max_events,
                max_wait_ms: self.batch_max_wait_ms.unwrap_or(defaults.max_wait_ms),
                max_bytes: self.batch_max_bytes.unwrap_or(defaults.max_bytes),
            })
        })
    }

    fn metadata(&self) -> Option<BTreeMap<String, String>> {
        (!self.metadata.is_empty()).then(|| self.metadata.iter().cloned().collect())
    }

    fn create(
        &self,
        id: Option<String>,
        secret: Option<String>,
    ) -> Result<CreateEndpoint, Failure> {
        let url = self.url.clone().ok_or_else(|| {
            Failure::Usage(
                "the following required arguments were not provided: --url <URL>".to_owned(),
            )
        })?;
        Ok(CreateEndpoint {
            id,
            url,
            description: self.description.clone(),
            event_types: (!self.types.is_empty()).then(|| self.types.clone()),
            headers: self.headers(),
            timeout_ms: self.timeout_ms,
            retry_schedule_secs: self.retry.clone(),
            status: self.status(),
            verification: self.verification(),
            secret,
            allow_networks: self.allow_networks.clone(),
            deny_networks: self.deny_networks.clone(),
            signature: self.signature(),
            rate_limit_per_sec: self.rate_limit_per_sec,
            max_in_flight: self.max_in_flight,
            response_body_bytes: self.response_body_bytes,
            auth: self.auth()?.flatten(),
            client_certificate: self.client_certificate()?.flatten(),
            filter: self.filter()?.flatten(),
            compression: self.compression().flatten(),
            template: self.template().flatten(),
            metadata: self.metadata(),
            confirm_destination: self.confirm_destination.clone(),
            delivery: self.delivery(),
            listen: self.listen,
            slo: self.slo().flatten(),
        })
    }

    /// `--slo`: absent keeps, `none` removes, an objective sets.
    #[expect(clippy::option_option, reason = "absent, none and a value differ")]
    fn slo(&self) -> Option<Option<Slo>> {
        self.slo.map(|slo| match slo {
            SloArg::None => None,
            SloArg::Objective(objective) => Some(objective),
        })
    }

    /// `--auth`: absent keeps, `none` removes, JSON sets.
    #[expect(clippy::option_option, reason = "absent, none and a value differ")]
    fn auth(&self) -> anyhow::Result<Option<Option<Auth>>> {
        match self.auth.as_deref() {
            None => Ok(None),
            Some("none") => Ok(Some(None)),
            Some(text) => {
                let value = parse_json_arg(text).map_err(|e| anyhow::anyhow!("--auth: {e}"))?;
                let auth = serde_json::from_value(value)
                    .context("--auth: expected {\"type\":\"bearer\"|\"basic\"|\"oauth2\", ...}")?;
                Ok(Some(Some(auth)))
            }
        }
    }

    /// `--compress-from` sets, `--no-compression` removes.
    #[expect(clippy::option_option, reason = "absent, removed and a value differ")]
    fn compression(&self) -> Option<Option<Compression>> {
        if self.no_compression {
            return Some(None);
        }
        self.compress_from
            .map(|min_bytes| Some(Compression { min_bytes }))
    }

    /// `--filter`: absent keeps, `none` removes, JSON sets.
    #[expect(clippy::option_option, reason = "absent, none and a value differ")]
    fn filter(&self) -> anyhow::Result<Option<Option<ContentFilter>>> {
        match self.filter.as_deref() {
            None => Ok(None),
            Some("none") => Ok(Some(None)),
            Some(text) => {
                let value = parse_json_arg(text).map_err(|e| anyhow::anyhow!("--filter: {e}"))?;
                let filter = serde_json::from_value(value).context(
                    "--filter: expected {\"all\"|\"any\": [{\"path\": \"/a\", \"eq\": ...}, ...]}",
                )?;
                Ok(Some(Some(filter)))
            }
        }
    }

    /// `--client-cert`/`--client-key` set, `--no-client-cert` removes.
    #[expect(clippy::option_option, reason = "absent, removed and a value differ")]
    fn client_certificate(&self) -> anyhow::Result<Option<Option<ClientCertificate>>> {
        if self.no_client_cert {
            return Ok(Some(None));
        }
        let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) else {
            return Ok(None);
        };
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        };
        Ok(Some(Some(ClientCertificate {
            certificate: read(cert)?,
            private_key: read(key)?,
        })))
    }

    fn update(&self, id: String) -> Result<UpdateEndpoint, Failure> {
        Ok(UpdateEndpoint {
            id,
            url: self.url.clone(),
            description: self.description.clone(),
            event_types: (!self.types.is_empty()).then(|| self.types.clone()),
            headers: self.headers(),
            timeout_ms: self.timeout_ms,
            retry_schedule_secs: self.retry.clone(),
            status: self.status(),
            verification: self.verification(),
            allow_networks: self.allow_networks.clone(),
            deny_networks: self.deny_networks.clone(),
            signature: self.signature(),
            rate_limit_per_sec: self.rate_limit_per_sec,
            max_in_flight: self.max_in_flight,
            response_body_bytes: self.response_body_bytes,
            auth: self.auth()?,
            client_certificate: self.client_certificate()?,
            filter: self.filter()?,
            compression: self.compression(),
            template: self.template(),
            metadata: self.metadata(),
            confirm_destination: self.confirm_destination.clone(),
            delivery: self.delivery(),
            listen: self.listen,
            slo: self.slo(),
        })
    }

    fn signature(&self) -> Option<SignatureScheme> {
        self.signature.map(|scheme| match scheme {
            SignatureArg::Standard => SignatureScheme::Standard,
            SignatureArg::Stripe => SignatureScheme::Stripe {
                header: self
                    .signature_header
                    .clone()
                    .unwrap_or_else(|| DEFAULT_STRIPE_HEADER.to_owned()),
            },
            SignatureArg::Github => SignatureScheme::Github,
            SignatureArg::Ed25519 => SignatureScheme::Ed25519,
            SignatureArg::Jwt => SignatureScheme::Jwt {
                issuer: self.jwt_issuer.clone(),
                algorithm: self.jwt_algorithm.unwrap_or_default(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_read_as_percent_secs_and_days() {
        let objective = |text: &str| match parse_slo(text) {
            Ok(SloArg::Objective(slo)) => Some((
                slo.target_percent.thousandths(),
                slo.within_secs,
                slo.window_days,
            )),
            _ => None,
        };
        assert_eq!(objective("99.9/60"), Some((99_900, 60, 30)));
        assert_eq!(objective("99.95%/60s/7d"), Some((99_950, 60, 7)));
        assert_eq!(objective("99/5/1"), Some((99_000, 5, 1)));
        assert!(matches!(parse_slo("none"), Ok(SloArg::None)));
        for bad in ["99.9", "99.9/x", "a/60", "99/60/7/1", "99.99999/60"] {
            assert!(parse_slo(bad).is_err(), "{bad}");
        }
    }
}
