//! `hookwire sources ...`: incoming-webhook sources (see docs/incoming.md).

use clap::{Args, Subcommand, ValueEnum};
use hookwire_protocol::admin::NoFields;
use hookwire_protocol::operation::AdminRequest;
use hookwire_protocol::source::{
    CreateSource, HmacAlgorithm, ListSourceRequests, MacEncoding, SourceName, TestSource, TypeRule,
    UpdateSource, ValueFrom, Verification,
};
use serde_json::Value;

use super::{parse_pair, parse_text, parse_time};
use crate::output::Failure;

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
    /// Bitbucket (X-Hub-Signature sha256).
    Bitbucket,
    /// Jira (X-Hub-Signature sha256).
    Jira,
    /// Confluence (X-Hub-Signature sha256).
    Confluence,
    /// CircleCI (circleci-signature v1).
    Circleci,
    /// Travis CI (Signature, RSA; needs --public-key).
    Travis,
    /// Jenkins (signs nothing: the URL token and --allow are the guard).
    Jenkins,
    /// Docker Hub (signs nothing: the URL token is the guard).
    #[value(name = "docker_hub", alias = "docker-hub")]
    DockerHub,
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
    /// travis: Travis CI's public key, PEM text or @FILE (from its API's /config).
    #[arg(long, value_parser = parse_text)]
    public_key: Option<String>,
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
    /// The type rule as JSON or @FILE, e.g. {"join": [{"header": "x-github-event"},
    /// {"field": "/action"}]}.
    #[arg(long, group = "type_rule", value_parser = parse_json::<ValueFrom>)]
    type_from: Option<ValueFrom>,
    /// Routing by content, a JSON list or @FILE: [{"when": {"all": [{"path": "/priority",
    /// "ge": 8}]}, "type": "leads.hot"}] ([] removes them).
    #[arg(long, value_parser = parse_json::<TypeRules>)]
    type_rules: Option<TypeRules>,
    /// The provider's delivery id (de-duplication) comes from this header.
    #[arg(long, group = "id_rule")]
    id_header: Option<String>,
    /// ... or from this JSON Pointer.
    #[arg(long, group = "id_rule")]
    id_field: Option<String>,
    /// ... or by this rule, JSON or @FILE, e.g. {"join": [{"field": "/id"}, {"field": "/state"}]}.
    #[arg(long, group = "id_rule", value_parser = parse_json::<ValueFrom>)]
    id_from: Option<ValueFrom>,
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
    fn create(&self, name: &str) -> Result<CreateSource, Failure> {
        Ok(CreateSource {
            name: name.to_owned(),
            subject: self.subject.clone(),
            verification: self.verification()?,
            secret: self.secret.clone(),
            type_from: self.type_rule(),
            type_rules: self.type_rules.clone().map(|rules| rules.0),
            id_from: self.id_rule(),
            transform: self.transform.clone().filter(|t| t != "none"),
            rate_limit_per_minute: self.rate_limit,
            allowed_networks: self.networks(),
            active: self.active,
            max_body_bytes: self.max_body,
        })
    }

    /// Only what was given changes; `--transform none` removes the template.
    fn update(&self, name: &str) -> Result<UpdateSource, Failure> {
        Ok(UpdateSource {
            name: name.to_owned(),
            subject: self.subject.clone(),
            verification: self.verification()?,
            secret: self.secret.clone(),
            type_from: self.type_rule().map(Some),
            type_rules: self.type_rules.clone().map(|rules| rules.0),
            id_from: self.id_rule().map(Some),
            transform: self
                .transform
                .clone()
                .map(|t| Some(t).filter(|t| t != "none")),
            rate_limit_per_minute: self.rate_limit,
            allowed_networks: self.networks(),
            active: self.active,
            max_body_bytes: self.max_body,
        })
    }

    fn type_rule(&self) -> Option<ValueFrom> {
        (self.type_header.clone().map(ValueFrom::Header))
            .or_else(|| self.type_field.clone().map(ValueFrom::Field))
            .or_else(|| self.type_fixed.clone().map(ValueFrom::Fixed))
            .or_else(|| self.type_from.clone())
    }

    fn id_rule(&self) -> Option<ValueFrom> {
        (self.id_header.clone().map(ValueFrom::Header))
            .or_else(|| self.id_field.clone().map(ValueFrom::Field))
            .or_else(|| self.id_from.clone())
    }

    /// `--allow-any` is the empty list (any network); no `--allow` leaves them as they are.
    fn networks(&self) -> Option<Vec<String>> {
        if self.allow_any {
            Some(Vec::new())
        } else {
            (!self.allow.is_empty()).then(|| self.allow.clone())
        }
    }

    fn verification(&self) -> Result<Option<Verification>, Failure> {
        let Some(scheme) = self.scheme else {
            return Ok(None);
        };
        let tolerance_secs = self
            .tolerance
            .unwrap_or(hookwire_protocol::source::DEFAULT_TOLERANCE_SECS);
        Ok(Some(match scheme {
            SchemeArg::None => Verification::None,
            SchemeArg::Standard => Verification::Standard { tolerance_secs },
            SchemeArg::Github => Verification::Github,
            SchemeArg::Stripe => Verification::Stripe { tolerance_secs },
            SchemeArg::Gitlab => Verification::Gitlab,
            SchemeArg::Shopify => Verification::Shopify,
            SchemeArg::Slack => Verification::Slack { tolerance_secs },
            SchemeArg::Bitbucket => Verification::Bitbucket,
            SchemeArg::Jira => Verification::Jira,
            SchemeArg::Confluence => Verification::Confluence,
            SchemeArg::Circleci => Verification::Circleci,
            SchemeArg::Travis => Verification::Travis {
                public_key: self.public_key.clone().ok_or_else(|| {
                    Failure::Usage(
                        "--scheme travis needs --public-key (Travis CI's, from its API's /config)"
                            .to_owned(),
                    )
                })?,
            },
            SchemeArg::Jenkins => Verification::Jenkins,
            SchemeArg::DockerHub => Verification::DockerHub,
            SchemeArg::Hmac => Verification::Hmac {
                header: self.signature_header.clone().ok_or_else(|| {
                    Failure::Usage("--scheme hmac needs --signature-header".to_owned())
                })?,
                algorithm: match self.algorithm {
                    Some(AlgorithmArg::Sha1) => HmacAlgorithm::Sha1,
                    Some(AlgorithmArg::Sha256) | None => HmacAlgorithm::Sha256,
                },
                encoding: match self.encoding {
                    Some(EncodingArg::Base64) => MacEncoding::Base64,
                    Some(EncodingArg::Hex) | None => MacEncoding::Hex,
                },
                prefix: self.prefix.clone().unwrap_or_default(),
            },
        }))
    }
}

impl SourceCommand {
    pub(crate) fn request(&self) -> Result<AdminRequest, Failure> {
        let named = |name: &String| SourceName { name: name.clone() };
        Ok(match self {
            Self::Create { name, fields } => AdminRequest::SourcesCreate(fields.create(name)?),
            Self::Update { name, fields } => AdminRequest::SourcesUpdate(fields.update(name)?),
            Self::Get { name } => AdminRequest::SourcesGet(named(name)),
            Self::List => AdminRequest::SourcesList(NoFields {}),
            Self::Delete { name } => AdminRequest::SourcesDelete(named(name)),
            Self::RotateToken { name } => AdminRequest::SourcesRotateToken(named(name)),
            Self::Stats { name } => AdminRequest::SourcesStats(named(name)),
            Self::Test {
                name,
                body,
                content_type,
                headers,
                query,
                transform,
            } => AdminRequest::SourcesTest(TestSource {
                name: name.clone(),
                body: body.clone(),
                content_type: content_type.clone(),
                headers: headers.iter().cloned().collect(),
                query: query.iter().cloned().collect(),
                transform: transform.clone(),
            }),
            Self::Requests {
                name,
                since,
                limit,
                cursor,
            } => AdminRequest::SourcesRequests(ListSourceRequests {
                name: name.clone(),
                since: *since,
                cursor: *cursor,
                limit: *limit,
            }),
        })
    }
}

/// `--type-rules`: one JSON list (clap would take a `Vec` for repeated flags).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct TypeRules(Vec<TypeRule>);

/// A JSON value of `T`, as text or `@FILE`.
fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(&parse_text(text)?).map_err(|e| format!("not the JSON expected: {e}"))
}

/// JSON text, other text, or `@FILE` holding either.
fn parse_body(text: &str) -> Result<Value, String> {
    let text = parse_text(text)?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
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

    fn request_of(args: &[&str]) -> AdminRequest {
        let cli =
            Cli::try_parse_from(std::iter::once("sources").chain(args.iter().copied())).unwrap();
        cli.command.request().unwrap()
    }

    fn body_of(args: &[&str]) -> Value {
        serde_json::from_slice(&request_of(args).to_body().unwrap()).unwrap()
    }

    #[test]
    fn create_sends_what_was_given() {
        let AdminRequest::SourcesCreate(create) = request_of(&[
            "create",
            "gh",
            "--scheme",
            "github",
            "--secret",
            "s",
            "--allow",
            "10.0.0.0/8",
            "--rate-limit",
            "5",
        ]) else {
            panic!("not a create");
        };
        assert_eq!(create.name, "gh");
        assert_eq!(create.verification, Some(Verification::Github));
        assert_eq!(create.secret.as_deref(), Some("s"));
        assert_eq!(create.allowed_networks, Some(vec!["10.0.0.0/8".to_owned()]));
        assert_eq!(create.rate_limit_per_minute, Some(5));
        assert_eq!(create.transform, None);
        let AdminRequest::SourcesCreate(create) = request_of(&[
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
            "X-Id",
        ]) else {
            panic!("not a create");
        };
        assert_eq!(
            create.verification,
            Some(Verification::Hmac {
                header: "X-Sig".to_owned(),
                algorithm: HmacAlgorithm::Sha1,
                encoding: MacEncoding::Hex,
                prefix: "sha1=".to_owned(),
            })
        );
        assert_eq!(create.type_from, Some(ValueFrom::Fixed("ping".to_owned())));
        assert_eq!(create.id_from, Some(ValueFrom::Header("X-Id".to_owned())));
        let cli = Cli::try_parse_from(["sources", "create", "x", "--scheme", "hmac"]).unwrap();
        assert!(matches!(cli.command.request(), Err(Failure::Usage(_))));
        let cli = Cli::try_parse_from(["sources", "create", "x", "--scheme", "travis"]).unwrap();
        assert!(matches!(cli.command.request(), Err(Failure::Usage(_))));
    }

    #[test]
    fn composite_rules_and_routing_go_as_json() {
        let body = body_of(&[
            "create",
            "gh",
            "--scheme",
            "github",
            "--type-from",
            r#"{"join": [{"header": "x-github-event"}, {"field": "/action"}]}"#,
            "--id-from",
            r#"{"first_of": [{"header": "x-github-delivery"}, {"field": "/id"}]}"#,
            "--type-rules",
            r#"[{"when": {"all": [{"path": "/priority", "ge": 8}]}, "type": "leads.hot"}]"#,
        ]);
        assert_eq!(
            body["type_from"],
            serde_json::json!({"join": [{"header": "x-github-event"}, {"field": "/action"}]})
        );
        assert_eq!(body["id_from"]["first_of"][1]["field"], "/id");
        assert_eq!(body["type_rules"][0]["type"], "leads.hot");
        let AdminRequest::SourcesCreate(create) =
            request_of(&["create", "hub", "--scheme", "docker-hub"])
        else {
            panic!("not a create");
        };
        assert_eq!(create.verification, Some(Verification::DockerHub));
        let cleared = body_of(&["update", "crm", "--type-rules", "[]"]);
        assert_eq!(cleared["type_rules"], serde_json::json!([]));
        assert!(
            Cli::try_parse_from(["sources", "create", "x", "--type-from", "{\"nope\": 1}"])
                .is_err(),
            "a rule that does not read is refused before sending"
        );
    }

    #[test]
    fn update_clears_with_none_and_allow_any() {
        let body = body_of(&[
            "update",
            "gh",
            "--transform",
            "none",
            "--allow-any",
            "--active",
            "false",
        ]);
        assert_eq!(body["transform"], Value::Null);
        assert!(body.as_object().unwrap().contains_key("transform"));
        assert!(!body.as_object().unwrap().contains_key("type_from"));
        assert_eq!(body["allowed_networks"], serde_json::json!([]));
        assert_eq!(body["active"], false);
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
        let AdminRequest::SourcesTest(test) = request_of(&[
            "test",
            "gh",
            "--body",
            r#"{"a":1}"#,
            "--header",
            "X-GitHub-Event: push",
            "--query",
            "env=prod",
        ]) else {
            panic!("not a test");
        };
        assert_eq!(test.headers["X-GitHub-Event"], "push");
        assert_eq!(test.query["env"], "prod");
        assert_eq!(test.body, serde_json::json!({"a": 1}));
        assert_eq!(
            body_of(&["test", "gh", "--body", "a=1&b=2"])["body"],
            serde_json::json!("a=1&b=2")
        );
        assert!(parse_pair("novalue").is_err());
    }
}
