//! `hookwire listen`: an endpoint's webhooks on a developer's machine. hookwired relays
//! them over NATS (no port is opened anywhere, see `hookwire_protocol::listen`); this
//! forwards each to a local URL as it came, signed as the endpoint signs, and answers with
//! the local receiver's response, which hookwired records as the attempt's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use futures_util::StreamExt as _;
use hookwire_nats::admin::AdminClient;
use hookwire_protocol::attempt::ErrorKind;
use hookwire_protocol::endpoint::{CreateEndpoint, Endpoint, EndpointId};
use hookwire_protocol::listen::{ListenReply, QUEUE_GROUP};
use hookwire_protocol::operation::ops;
use hookwire_protocol::{Subjects, Tenant};
use serde::Serialize;
use tokio::signal::unix::{SignalKind, signal};

use crate::output::{Failure, print_json_line};

/// `hookwire listen`'s flags.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["endpoint", "types"]))]
pub(crate) struct ListenArgs {
    /// An endpoint with `listen` on (`hookwire endpoints update ID --listen on`).
    #[arg(long)]
    endpoint: Option<String>,
    /// Or: a temporary endpoint for these event types (repeatable), deleted when you stop.
    #[arg(long = "type", value_name = "FILTER")]
    types: Vec<String>,
    /// The temporary endpoint's signing secret (whsec_...), e.g. the one your code is
    /// configured with; generated and printed when absent.
    #[arg(long, requires = "types", conflicts_with = "endpoint")]
    secret: Option<String>,
    /// Where each webhook is sent (a POST), e.g. `http://localhost:3000/webhooks`.
    #[arg(long, value_name = "URL")]
    forward: String,
    /// Print each request's headers and body and each response's body too.
    #[arg(long)]
    verbose: bool,
}

/// One relayed webhook, as printed.
#[derive(Debug, Serialize)]
struct Forwarded {
    /// When it arrived.
    at: chrono::DateTime<chrono::Utc>,
    /// Its `webhook-id`.
    webhook_id: Option<String>,
    /// The event type, when the body says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type: Option<String>,
    /// What went back to hookwired.
    reply: ListenReply,
    /// From arrival to the local answer.
    ms: u128,
}

/// The endpoint whose webhooks come here.
struct Attached {
    endpoint: Endpoint,
    /// Set for the endpoint this command made, which it deletes when it stops.
    temporary: bool,
    /// The temporary endpoint's generated signing secret.
    secret: Option<String>,
}

/// What is printed once attached (with `--json`, the first line).
#[derive(Debug, Serialize)]
struct Listening<'a> {
    /// The endpoint.
    endpoint_id: &'a str,
    /// Where its webhooks are forwarded.
    forward: &'a str,
    /// Whether it is deleted when this stops.
    temporary: bool,
    /// A temporary endpoint's generated signing secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

impl ListenArgs {
    /// Attaches, forwards until Ctrl-C or SIGTERM, then deletes a temporary endpoint.
    pub(crate) async fn run(
        &self,
        client: async_nats::Client,
        admin: &AdminClient,
        subjects: &Subjects,
        tenant: &Tenant,
        json: bool,
    ) -> Result<(), Failure> {
        let forward = url::Url::parse(&self.forward)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--forward {:?} is not an http(s) URL",
                    self.forward
                ))
            })?;
        // reqwest is built without a TLS provider of its own; an https --forward needs one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        // Subscribed before a temporary endpoint exists, so its first webhook finds us.
        let endpoint_id = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("listen_{}", random_suffix()));
        let subject = subjects
            .listen(tenant, &endpoint_id)
            .context("--endpoint")?;
        let mut webhooks = client
            .queue_subscribe(subject, QUEUE_GROUP.to_owned())
            .await
            .context("cannot subscribe")?;
        client.flush().await.context("cannot reach NATS")?;
        let attached = self.attach(admin, endpoint_id).await?;
        announce(&attached, &self.forward, json);
        // The answer must reach hookwired before its own timeout for the attempt runs out.
        let timeout = Duration::from_millis(u64::from(attached.endpoint.timeout_ms) * 9 / 10);
        let stop_on = |kind| signal(kind).context("cannot listen for signals");
        let (mut interrupt, mut terminate) = (
            stop_on(SignalKind::interrupt())?,
            stop_on(SignalKind::terminate())?,
        );
        loop {
            let message = tokio::select! {
                message = webhooks.next() => message,
                _ = interrupt.recv() => None,
                _ = terminate.recv() => None,
            };
            let Some(message) = message else { break };
            let Some(reply_to) = message.reply.clone() else {
                continue;
            };
            let (http, client, forward, verbose) =
                (http.clone(), client.clone(), forward.clone(), self.verbose);
            tokio::spawn(async move {
                let forwarded = relay(&http, forward, timeout, &message, verbose).await;
                let answer = serde_json::to_vec(&forwarded.reply).unwrap_or_default();
                if let Err(e) = client.publish(reply_to, answer.into()).await {
                    eprintln!("cannot answer hookwired: {e}");
                }
                report(&forwarded, json);
            });
        }
        if attached.temporary {
            let id = attached.endpoint.id;
            admin
                .send::<ops::EndpointsDelete>(&EndpointId { id: id.clone() })
                .await?;
            if !json {
                println!("deleted the temporary endpoint {id}");
            }
        }
        Ok(())
    }

    /// The named endpoint, which must have `listen` on, or a new temporary one.
    async fn attach(&self, admin: &AdminClient, id: String) -> Result<Attached, Failure> {
        if self.endpoint.is_some() {
            let endpoint = admin.send::<ops::EndpointsGet>(&EndpointId { id }).await?;
            if !endpoint.listen {
                return Err(Failure::Usage(format!(
                    "endpoint {} sends its webhooks to {}; turn listen on first with \
                     `hookwire endpoints update {} --listen on` (they then come here instead, \
                     until --listen off), or run `hookwire listen --type ...` for a temporary endpoint",
                    endpoint.id, endpoint.url, endpoint.id
                )));
            }
            return Ok(Attached {
                endpoint,
                temporary: false,
                secret: None,
            });
        }
        let created = admin
            .send::<ops::EndpointsCreate>(&CreateEndpoint {
                id: Some(id),
                url: self.forward.clone(),
                description: Some(format!(
                    "temporary: hookwire listen by {}",
                    hookwire_nats::admin::local_requester()
                )),
                event_types: Some(self.types.clone()),
                secret: self.secret.clone(),
                metadata: Some(BTreeMap::from([(
                    "listen".to_owned(),
                    "temporary".to_owned(),
                )])),
                listen: Some(true),
                ..CreateEndpoint::default()
            })
            .await?;
        Ok(Attached {
            endpoint: created.endpoint,
            temporary: true,
            secret: self.secret.is_none().then_some(created.secret),
        })
    }
}

fn announce(attached: &Attached, forward: &str, json: bool) {
    let listening = Listening {
        endpoint_id: &attached.endpoint.id,
        forward,
        temporary: attached.temporary,
        secret: attached.secret.as_deref(),
    };
    if json {
        print_json_line(&listening);
        return;
    }
    if let Some(secret) = listening.secret {
        println!("signing secret: {secret}");
    }
    let (kind, stop) = if listening.temporary {
        ("temporary endpoint", "Ctrl-C stops and deletes it")
    } else {
        ("endpoint", "Ctrl-C stops")
    };
    println!(
        "listening: {kind} {} -> {forward} ({stop})",
        listening.endpoint_id
    );
}

/// POSTs one relayed webhook to `forward` as it came and says what happened.
async fn relay(
    http: &reqwest::Client,
    forward: url::Url,
    timeout: Duration,
    message: &async_nats::Message,
    verbose: bool,
) -> Forwarded {
    let at = chrono::Utc::now();
    let started = Instant::now();
    let mut request = http
        .post(forward)
        .timeout(timeout)
        .body(message.payload.clone());
    let mut webhook_id = None;
    if let Some(headers) = &message.headers {
        for (name, values) in headers.iter() {
            let name: &str = name.as_ref();
            for value in values {
                if name.eq_ignore_ascii_case("webhook-id") {
                    webhook_id = Some(value.to_string());
                }
                if verbose {
                    println!("  > {name}: {value}");
                }
                request = request.header(name, value.as_str());
            }
        }
    }
    if verbose {
        println!("  > {}", String::from_utf8_lossy(&message.payload));
    }
    let reply = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = response.bytes().await.unwrap_or_default();
            if verbose {
                println!("  < {}", String::from_utf8_lossy(&body));
            }
            ListenReply::response(status, headers, &body)
        }
        Err(e) => ListenReply::Failed {
            kind: if e.is_timeout() {
                ErrorKind::Timeout
            } else if e.is_connect() {
                ErrorKind::Connect
            } else {
                ErrorKind::Request
            },
            message: format!("{e:#}"),
        },
    };
    Forwarded {
        at,
        webhook_id,
        event_type: event_type(&message.payload),
        reply,
        ms: started.elapsed().as_millis(),
    }
}

/// The `type` of a JSON body (the standard envelope has one).
fn event_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        r#type: String,
    }
    serde_json::from_slice::<Typed>(body)
        .ok()
        .map(|typed| typed.r#type)
}

fn report(forwarded: &Forwarded, json: bool) {
    if json {
        print_json_line(forwarded);
        return;
    }
    let outcome = match &forwarded.reply {
        ListenReply::Response { status, .. } => status.to_string(),
        ListenReply::Failed { kind, message } => format!("failed ({}): {message}", kind.as_str()),
    };
    println!(
        "{}  {}  {}  -> {outcome}  {} ms",
        forwarded.at.format("%H:%M:%S%.3f"),
        forwarded.webhook_id.as_deref().unwrap_or("-"),
        forwarded.event_type.as_deref().unwrap_or("-"),
        forwarded.ms
    );
}

/// 12 random lowercase letters and digits for a temporary endpoint's id.
fn random_suffix() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_type_comes_from_a_json_envelope() {
        assert_eq!(
            event_type(br#"{"type":"order.created","data":{}}"#).as_deref(),
            Some("order.created")
        );
        assert_eq!(event_type(b"not json"), None);
        assert_eq!(event_type(b"[1,2]"), None);
    }

    #[test]
    fn temporary_ids_are_valid_endpoint_ids() {
        let id = format!("listen_{}", random_suffix());
        assert!(
            hookwire_protocol::endpoint::validate_id(&id).is_ok(),
            "{id}"
        );
        assert_ne!(random_suffix(), random_suffix());
    }
}
