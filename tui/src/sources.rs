//! `hookwire sources ...`: incoming-webhook sources (see docs/incoming.md).

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

use crate::cli::{Call, parse_time};
use crate::output::{print_json, print_source_requests, print_sources};

#[derive(Debug, Subcommand)]
pub(crate) enum SourceCommand {
    /// Creates a source; prints its path (and its secret, once, when Hookwire generated it).
    Create {
        /// Name: a-z 0-9 - _ (events go to hookwire.events.<tenant>.<name>.<type>).
        name: String,
        #[command(flatten)]
        fields: SourceFields,
    },
    /// Shows one source.
    Get {
        /// The source.
        name: String,
    },
    /// Lists the tenant's sources.
    List,
    /// Changes a source; only the given fields change.
    Update {
        /// The source.
        name: String,
        #[command(flatten)]
        fields: SourceFields,
    },
    /// Deletes a source; its URL stops working.
    Delete {
        /// The source.
        name: String,
    },
    /// Gives a source a new URL; the old one stops working at once.
    RotateToken {
        /// The source.
        name: String,
    },
    /// Shows what a request would publish (no verification, nothing published).
    Test {
        /// The source.
        name: String,
        /// The sample body: JSON text, other text, or @FILE.
        #[arg(long, value_parser = parse_body)]
        body: Value,
        /// Its content type.
        #[arg(long)]
        content_type: Option<String>,
        /// A request header, NAME:VALUE (repeatable).
        #[arg(long = "header", value_parser = parse_pair)]
        headers: Vec<(String, String)>,
        /// A query parameter, NAME=VALUE (repeatable).
        #[arg(long = "query", value_parser = parse_pair)]
        query: Vec<(String, String)>,
        /// Try this template (text or @FILE) instead of the source's.
        #[arg(long, value_parser = parse_text)]
        transform: Option<String>,
    },
    /// Requests received, verified, published and rejected by reason (on the answering
    /// instance), and the time to answer.
    Stats {
        /// The source.
        name: String,
    },
    /// Recent requests to a source, oldest first (default: the last hour).
    Requests {
        /// The source.
        name: String,
        /// From this time (RFC 3339 or an age: 90s, 30m, 2h, 7d).
        #[arg(long, value_parser = parse_time)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Page size (1-500).
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after this sequence (the previous page's "more: --cursor").
        #[arg(long)]
        cursor: Option<u64>,
    },
}

/// How requests are verified.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SchemeArg {
    /// The URL token alone.
    None,
    /// Standard Webhooks (webhook-signature).
    Standard,
    /// GitHub (X-Hub-Signature-256).
    Github,
    /// Stripe (Stripe-Signature).
    Stripe,
    /// GitLab (X-Gitlab-Token).
    Gitlab,
    /// Shopify (X-Shopify-Hmac-Sha256).
    Shopify,
    /// Slack (X-Slack-Signature v0).
    Slack,
    /// Any HMAC of the body in a header (--signature-header, --algorithm, --encoding, --prefix).
    Hmac,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum AlgorithmArg {
    Sha256,
    Sha1,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum EncodingArg {
    Hex,
    Base64,
}

#[derive(Debug, Args)]
pub(crate) struct SourceFields {
    /// Verification scheme.
    #[arg(long)]
    scheme: Option<SchemeArg>,
    /// Allowed clock difference for standard, stripe and slack (seconds, default 300).
    #[arg(long)]
    tolerance: Option<u32>,
    /// hmac: the header carrying the MAC.
    #[arg(long)]
    signature_header: Option<String>,
    /// hmac: the hash.
    #[arg(long)]
    algorithm: Option<AlgorithmArg>,
    /// hmac: how the MAC is written.
    #[arg(long)]
    encoding: Option<EncodingArg>,
    /// hmac: text before the MAC (e.g. sha256=).
    #[arg(long)]
    prefix: Option<String>,
    /// The secret shared with the provider (generated when the scheme needs one and none is
    /// given, except for stripe).
    #[arg(long)]
    secret: Option<String>,
    /// Subject prefix under hookwire.events.<tenant> (default: ...<tenant>.<name>).
    #[arg(long)]
    subject: Option<String>,
    /// The event type comes from this header.
    #[arg(long, group = "type_rule")]
    type_header: Option<String>,
    /// The event type comes from this JSON Pointer (/type, /data/object/type).
    #[arg(long, group = "type_rule")]
    type_field: Option<String>,
    /// Every event gets this type.
    #[arg(long, group = "type_rule")]
    type_fixed: Option<String>,
    /// The provider's delivery id (de-duplication) comes from this header.
    #[arg(long, group = "id_rule")]
    id_header: Option<String>,
    /// ... or from this JSON Pointer.
    #[arg(long, group = "id_rule")]
    id_field: Option<String>,
    /// Transform template: text or @FILE ("none" removes it).
    #[arg(long, value_parser = parse_text)]
    transform: Option<String>,
    /// Requests per minute (default 100).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Only these client networks (CIDR or address, repeatable).
    #[arg(long = "allow", value_name = "NETWORK")]
    allow: Vec<String>,
    /// Any client network (clears --allow lists).
    #[arg(long, conflicts_with = "allow")]
    allow_any: bool,
    /// Take requests (true) or refuse them (false).
    #[arg(long)]
    active: Option<bool>,
    /// Largest body in bytes (default 262144).
    #[arg(long)]
    max_body: Option<u32>,
}

impl SourceFields {
    /// The request body: the name and only what was given.
    fn body(&self, name: &str) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(name));
        if let Some(scheme) = self.scheme {
            body.insert("verification".into(), self.verification(scheme));
        }
        let rule = |header: &Option<String>, field: &Option<String>, fixed: Option<&String>| {
            header
                .as_ref()
                .map(|h| json!({"header": h}))
                .or_else(|| field.as_ref().map(|f| json!({"field": f})))
                .or_else(|| fixed.map(|f| json!({"fixed": f})))
        };
        let transform = self
            .transform
            .as_ref()
            .map(|t| if t == "none" { Value::Null } else { json!(t) });
        let networks = if self.allow_any {
            Some(json!([]))
        } else {
            (!self.allow.is_empty()).then(|| json!(self.allow))
        };
        for (key, value) in [
            ("secret", self.secret.as_ref().map(|s| json!(s))),
            ("subject", self.subject.as_ref().map(|s| json!(s))),
            (
                "type_from",
                rule(
                    &self.type_header,
                    &self.type_field,
                    self.type_fixed.as_ref(),
                ),
            ),
            ("id_from", rule(&self.id_header, &self.id_field, None)),
            ("transform", transform),
            ("rate_limit_per_minute", self.rate_limit.map(|r| json!(r))),
            ("allowed_networks", networks),
            ("active", self.active.map(Value::Bool)),
            ("max_body_bytes", self.max_body.map(|m| json!(m))),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        }
        Value::Object(body)
    }

    fn verification(&self, scheme: SchemeArg) -> Value {
        let name = match scheme {
            SchemeArg::None => "none",
            SchemeArg::Standard => "standard",
            SchemeArg::Github => "github",
            SchemeArg::Stripe => "stripe",
            SchemeArg::Gitlab => "gitlab",
            SchemeArg::Shopify => "shopify",
            SchemeArg::Slack => "slack",
            SchemeArg::Hmac => "hmac",
        };
        let mut verification = json!({"scheme": name});
        if matches!(
            scheme,
            SchemeArg::Standard | SchemeArg::Stripe | SchemeArg::Slack
        ) && let Some(tolerance) = self.tolerance
        {
            verification["tolerance_secs"] = json!(tolerance);
        }
        if matches!(scheme, SchemeArg::Hmac) {
            verification["header"] = json!(self.signature_header);
            if let Some(algorithm) = self.algorithm {
                verification["algorithm"] = json!(match algorithm {
                    AlgorithmArg::Sha256 => "sha256",
                    AlgorithmArg::Sha1 => "sha1",
                });
            }
            if let Some(encoding) = self.encoding {
                verification["encoding"] = json!(match encoding {
                    EncodingArg::Hex => "hex",
                    EncodingArg::Base64 => "base64",
                });
            }
            if let Some(prefix) = &self.prefix {
                verification["prefix"] = json!(prefix);
            }
        }
        verification
    }
}

impl SourceCommand {
    pub(crate) fn request(&self) -> Call {
        let named =
            |verb, name: &String, text: fn(&Value)| ("sources", verb, json!({"name": name}), text);
        match self {
            Self::Create { name, fields } => {
                ("sources", "create", fields.body(name), print_created)
            }
            Self::Update { name, fields } => {
                ("sources", "update", fields.body(name), print_created)
            }
            Self::Get { name } => named("get", name, print_json),
            Self::List => ("sources", "list", json!({}), print_sources),
            Self::Delete { name } => named("delete", name, |reply| {
                println!("deleted {}", reply["deleted"].as_str().unwrap_or("?"));
            }),
            Self::RotateToken { name } => named("rotate-token", name, print_path),
            Self::Stats { name } => named("stats", name, print_json),
            Self::Test {
                name,
                body,
                content_type,
                headers,
                query,
                transform,
            } => (
                "sources",
                "test",
                json!({
                    "name": name,
                    "body": body,
                    "content_type": content_type,
                    "headers": headers.iter().cloned().collect::<BTreeMap<_, _>>(),
                    "query": query.iter().cloned().collect::<BTreeMap<_, _>>(),
                    "transform": transform,
                }),
                print_json,
            ),
            Self::Requests {
                name,
                since,
                limit,
                cursor,
            } => (
                "sources",
                "requests",
                json!({"name": name, "since": since, "limit": limit, "cursor": cursor}),
                print_source_requests,
            ),
        }
    }
}

fn print_path(reply: &Value) {
    let shown = reply["url"].as_str().or_else(|| reply["path"].as_str());
    println!(
        "{}: {}",
        reply["name"].as_str().unwrap_or("?"),
        shown.unwrap_or("?")
    );
}

fn print_created(reply: &Value) {
    print_path(reply);
    if let Some(secret) = reply["secret"].as_str() {
        println!("secret (shown only now): {secret}");
    }
}

/// JSON text, other text, or `@FILE` holding either.
fn parse_body(text: &str) -> Result<Value, String> {
    let text = parse_text(text)?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Text, or `@FILE` to read it from a file.
fn parse_text(text: &str) -> Result<String, String> {
    match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}")),
        None => Ok(text.to_owned()),
    }
}

/// `NAME:VALUE` or `NAME=VALUE`.
fn parse_pair(text: &str) -> Result<(String, String), String> {
    let split = match (text.find(':'), text.find('=')) {
        (Some(colon), Some(equals)) => Some(colon.min(equals)),
        (colon, equals) => colon.or(equals),
    };
    split
        .map(|at| {
            (
                text[..at].trim().to_owned(),
                text[at + 1..].trim().to_owned(),
            )
        })
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("{text:?} is not NAME:VALUE"))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: SourceCommand,
    }

    fn body_of(args: &[&str]) -> Value {
        let cli =
            Cli::try_parse_from(std::iter::once("sources").chain(args.iter().copied())).unwrap();
        cli.command.request().2
    }

    #[test]
    fn create_sends_only_what_was_given() {
        assert_eq!(
            body_of(&[
                "create",
                "gh",
                "--scheme",
                "github",
                "--secret",
                "s",
                "--allow",
                "10.0.0.0/8",
                "--rate-limit",
                "5"
            ]),
            json!({"name": "gh", "verification": {"scheme": "github"}, "secret": "s", "allowed_networks": ["10.0.0.0/8"], "rate_limit_per_minute": 5})
        );
        assert_eq!(
            body_of(&[
                "create",
                "x",
                "--scheme",
                "hmac",
                "--signature-header",
                "X-Sig",
                "--algorithm",
                "sha1",
                "--prefix",
                "sha1=",
                "--type-fixed",
                "ping",
                "--id-header",
                "X-Id"
            ]),
            json!({"name": "x", "verification": {"scheme": "hmac", "header": "X-Sig", "algorithm": "sha1", "prefix": "sha1="}, "type_from": {"fixed": "ping"}, "id_from": {"header": "X-Id"}})
        );
    }

    #[test]
    fn update_clears_with_none_and_allow_any() {
        assert_eq!(
            body_of(&[
                "update",
                "gh",
                "--transform",
                "none",
                "--allow-any",
                "--active",
                "false"
            ]),
            json!({"name": "gh", "transform": null, "allowed_networks": [], "active": false})
        );
        assert!(
            Cli::try_parse_from([
                "sources",
                "update",
                "gh",
                "--type-header",
                "a",
                "--type-field",
                "/b"
            ])
            .is_err()
        );
    }

    #[test]
    fn test_takes_json_or_text_and_pairs() {
        assert_eq!(
            body_of(&[
                "test",
                "gh",
                "--body",
                r#"{"a":1}"#,
                "--header",
                "X-GitHub-Event: push",
                "--query",
                "env=prod"
            ])["headers"],
            json!({"X-GitHub-Event": "push"})
        );
        assert_eq!(
            body_of(&["test", "gh", "--body", "a=1&b=2"])["body"],
            json!("a=1&b=2")
        );
        assert!(parse_pair("novalue").is_err());
    }
}
