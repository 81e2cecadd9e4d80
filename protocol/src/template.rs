//! Payload templates on the wire: a template is a named list of immutable, numbered
//! versions (a body template, an output format, extra headers); an endpoint pins one
//! version, so editing a template never changes live deliveries until the pin moves. The
//! requests that create and preview them, their checks (pure; hookwired compiles the
//! bodies), and the presets for chat and issue trackers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::endpoint::validate_description;

/// The longest template name.
const MAX_NAME_LEN: usize = 64;
/// The largest body template.
pub const MAX_BODY_LEN: usize = 64 * 1024;
/// The most versions a template keeps.
pub const MAX_VERSIONS: u32 = 1_000;

/// Headers a template may not set: Hookwire's own, the transport's, and credentials
/// (which belong on the endpoint, where they are sealed and redacted).
const RESERVED_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    crate::schemes::GITHUB_HEADER,
    "content-length",
    "content-encoding",
    "host",
    "transfer-encoding",
    "connection",
    "user-agent",
    "authorization",
    "proxy-authorization",
    "cookie",
];

/// What a template's output is, which decides how expressions are escaped, how the output
/// is checked and the request's `Content-Type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// JSON: expressions are written as JSON values; the output must parse as JSON.
    #[default]
    Json,
    /// XML: expressions are XML-escaped; the output must be well-formed. Without a body
    /// template the standard envelope is converted (see docs/templates.md).
    Xml,
    /// `application/x-www-form-urlencoded`: the template renders a JSON object whose
    /// members become the fields. Without a body template the envelope's members are sent.
    Form,
    /// Plain text, as rendered.
    Text,
}

impl BodyFormat {
    /// The name on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Xml => "xml",
            Self::Form => "form",
            Self::Text => "text",
        }
    }

    /// The `Content-Type` of its requests (a template's headers may name another).
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Xml => "application/xml; charset=utf-8",
            Self::Form => "application/x-www-form-urlencoded",
            Self::Text => "text/plain; charset=utf-8",
        }
    }

    /// Every format, for help texts and forms.
    pub const ALL: [Self; 4] = [Self::Json, Self::Xml, Self::Form, Self::Text];

    /// The format named `name`.
    #[must_use]
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// One immutable version of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateVersion {
    /// The template's name.
    pub name: String,
    /// 1, 2, ...: one more than the template's latest version when it was added.
    pub version: u32,
    /// What this version is for, for people.
    pub description: String,
    /// The output format.
    pub format: BodyFormat,
    /// The body template (minijinja); absent for an automatic conversion of the standard
    /// envelope (`json`: the envelope itself, `xml` and `form`: see docs/templates.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Extra headers sent with it (lowercase names); `content-type` replaces the format's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The preset it was installed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl TemplateVersion {
    /// The `Content-Type` its requests carry.
    #[must_use]
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map_or_else(|| self.format.content_type(), String::as_str)
    }

    /// Where an endpoint pins this version.
    #[must_use]
    pub fn pin(&self) -> TemplatePin {
        TemplatePin {
            name: self.name.clone(),
            version: self.version,
        }
    }
}

/// A template version an endpoint uses: `{"name": "slack", "version": 2}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatePin {
    /// The template.
    pub name: String,
    /// Its version.
    pub version: u32,
}

impl TemplatePin {
    /// Checks the name and version's form (whether they exist is for hookwired to say).
    pub fn validate(self, field: &str) -> Result<Self, AdminError> {
        check_name(&self.name).map_err(|m| AdminError::invalid(format!("{field}.name"), m))?;
        if self.version == 0 {
            return Err(AdminError::invalid(
                format!("{field}.version"),
                "versions count from 1",
            ));
        }
        Ok(self)
    }
}

impl std::fmt::Display for TemplatePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.name, self.version)
    }
}

/// `templates.create`: version 1 of a new template, from a body or a preset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    /// 1–64 of `a-z 0-9 - _`.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `json` (default), `xml`, `form` or `text`.
    #[serde(default)]
    pub format: Option<BodyFormat>,
    /// The body template.
    #[serde(default)]
    pub body: Option<String>,
    /// Extra headers.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Install a preset (`slack`, `discord`, `teams`, `github-issue`) instead of giving a
    /// body; `description` and `headers` still apply.
    #[serde(default)]
    pub preset: Option<String>,
}

/// `templates.add-version`: a new version; absent fields keep the latest version's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AddTemplateVersion {
    /// The template.
    pub name: String,
    /// What the new version changes.
    #[serde(default)]
    pub description: Option<String>,
    /// New format.
    #[serde(default)]
    pub format: Option<BodyFormat>,
    /// New body template; `null` for the automatic conversion.
    #[serde(
        default,
        deserialize_with = "crate::auth::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub body: Option<Option<String>>,
    /// New headers (replace all).
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
}

/// `templates.get` and `templates.delete`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TemplateName {
    /// The template.
    pub name: String,
}

/// The reply to `templates.get`: every version, and who pins which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDetail {
    /// The template.
    pub name: String,
    /// Its versions, oldest first.
    pub versions: Vec<TemplateVersion>,
    /// The endpoints that pin one of them.
    pub pinned_by: Vec<PinnedBy>,
}

/// An endpoint pinning a template version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedBy {
    /// The endpoint.
    pub endpoint_id: String,
    /// The version it pins.
    pub version: u32,
}

/// One template in `templates.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSummary {
    /// The template.
    pub name: String,
    /// The latest version's description.
    pub description: String,
    /// The latest version.
    pub latest: u32,
    /// The latest version's format.
    pub format: BodyFormat,
    /// The preset it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// How many endpoints pin one of its versions.
    pub pinned_by: u32,
    /// When the latest version was added.
    pub updated_at: DateTime<Utc>,
}

/// The reply to `templates.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateList {
    /// The tenant's templates in name order.
    pub templates: Vec<TemplateSummary>,
}

/// The reply to `templates.presets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetList {
    /// Every preset.
    pub presets: Vec<Preset>,
}

/// `templates.preview`: what a template version would send, sending nothing. The template is
/// `template`, else the endpoint's pin; the event is a past one (`event_id` or
/// `event_seq`), else `data` as `event_type`, else the catalog's example of `event_type`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    /// Sign and address as this endpoint does (its secrets, URL, headers, compression).
    #[serde(default, with = "crate::endpoint::id_option")]
    pub endpoint_id: Option<String>,
    /// The version to render (needed without an endpoint that pins one).
    #[serde(default)]
    pub template: Option<TemplatePin>,
    /// A past event by id.
    #[serde(default)]
    pub event_id: Option<String>,
    /// A past event by stream sequence.
    #[serde(default)]
    pub event_seq: Option<u64>,
    /// The event type of `data` (or whose catalog example to use).
    #[serde(default)]
    pub event_type: Option<String>,
    /// The event's data.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// The `webhook-id` to sign with: the event's id by default; for `data` (or an
    /// example) also the event's id, else a new one.
    #[serde(default)]
    pub webhook_id: Option<String>,
    /// The signing time (`webhook-timestamp`): now by default.
    #[serde(default, with = "crate::time::rfc3339_option")]
    pub timestamp: Option<DateTime<Utc>>,
    /// The attempt number templates see (default 1).
    #[serde(default)]
    pub attempt: Option<u32>,
}

/// The reply to `templates.preview`: the request exactly as it would leave, before any
/// compression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedRequest {
    /// The version rendered; absent for the standard envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplatePin>,
    /// The endpoint's URL, when previewed for an endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The headers, signature included (an endpoint's own header values redacted, as in
    /// attempt records); without an endpoint there is no signature.
    pub headers: BTreeMap<String, String>,
    /// The body, byte for byte (templates produce UTF-8 text).
    pub body: String,
    /// Whether the endpoint's compression would gzip it on the wire.
    pub compressed: bool,
}

/// A ready template for a well-known receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    /// What `templates.create` takes as `preset`.
    pub name: String,
    /// What it posts to.
    pub description: String,
    /// Its format.
    pub format: BodyFormat,
    /// Its body template.
    pub body: String,
    /// Headers it sends.
    pub headers: BTreeMap<String, String>,
    /// The hosts such URLs have, to confirm as the destination.
    pub hosts: Vec<String>,
    /// How to set up the endpoint (verification, authentication).
    pub setup: String,
}

/// The presets, by name.
#[must_use]
pub fn presets() -> Vec<Preset> {
    let preset = |name: &str, description: &str, body: &str, hosts: &[&str], setup: &str| Preset {
        name: name.to_owned(),
        description: description.to_owned(),
        format: BodyFormat::Json,
        body: body.to_owned(),
        headers: BTreeMap::new(),
        hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        setup: setup.to_owned(),
    };
    let confirmed = "--verification confirmed --confirm-destination <host>: these receivers \
        cannot answer a challenge";
    let mut github = preset(
        "github-issue",
        "opens a GitHub issue per event (POST https://api.github.com/repos/OWNER/REPO/issues)",
        GITHUB_ISSUE,
        &["api.github.com"],
        &format!("{confirmed}; --auth bearer with a fine-grained token allowed to write issues"),
    );
    github.headers = BTreeMap::from([
        (
            "accept".to_owned(),
            "application/vnd.github+json".to_owned(),
        ),
        ("x-github-api-version".to_owned(), "2022-11-28".to_owned()),
    ]);
    vec![
        preset(
            "slack",
            "posts to a Slack incoming webhook (a channel's Incoming WebHooks URL)",
            SLACK,
            &["hooks.slack.com"],
            &format!("{confirmed}; the URL is the credential: keep it in the endpoint"),
        ),
        preset(
            "discord",
            "posts to a Discord channel webhook (mentions disabled)",
            DISCORD,
            &["discord.com", "discordapp.com"],
            &format!("{confirmed}; the URL is the credential: keep it in the endpoint"),
        ),
        preset(
            "teams",
            "posts an Adaptive Card to a Microsoft Teams workflow (\"When a Teams webhook request is received\")",
            TEAMS,
            &["*.logic.azure.com", "*.environment.api.powerplatform.com"],
            &format!(
                "{confirmed}; the URL carries the workflow's signature: keep it in the endpoint"
            ),
        ),
        github,
    ]
}

/// The preset named `name`.
#[must_use]
pub fn preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.name == name)
}

const SLACK: &str = r#"{"text": {{ "*" ~ event.type ~ "* `" ~ event.id ~ "`\n```" ~ (data | tojson(indent=2))[:3500] ~ "```" }}}"#;

const DISCORD: &str = r#"{"content": {{ "**" ~ event.type ~ "** `" ~ event.id ~ "`\n```json\n" ~ (data | tojson(indent=2))[:1700] ~ "\n```" }}, "allowed_mentions": {"parse": []}}"#;

const TEAMS: &str = r#"{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": {{ event.type }}}, {"type": "TextBlock", "isSubtle": true, "wrap": true, "text": {{ event.id ~ " at " ~ event.timestamp }}}, {"type": "TextBlock", "fontType": "Monospace", "wrap": true, "text": {{ (data | tojson(indent=2))[:20000] }}}]}}]}"#;

const GITHUB_ISSUE: &str = r#"{"title": {{ ("[" ~ event.type ~ "] " ~ event.id)[:250] }}, "body": {{ "Event `" ~ event.id ~ "` of type `" ~ event.type ~ "` at " ~ event.timestamp ~ ".\n\n```json\n" ~ (data | tojson(indent=2))[:60000] ~ "\n```" }}}"#;

/// Checks a template name: 1–64 of `a-z 0-9 - _`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err("must be 1 to 64 characters".to_owned());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(format!("{c:?} is not allowed; use a-z 0-9 - _"));
    }
    Ok(())
}

/// Checks a template name in a request.
pub fn validate_name(name: &str) -> Result<(), AdminError> {
    check_name(name).map_err(|m| AdminError::invalid("name", m))
}

fn validate_body(format: BodyFormat, body: Option<String>) -> Result<Option<String>, AdminError> {
    match body {
        Some(body) if body.len() > MAX_BODY_LEN => Err(AdminError::invalid(
            "body",
            format!("at most {MAX_BODY_LEN} bytes"),
        )),
        Some(body) if body.trim().is_empty() => Err(AdminError::invalid(
            "body",
            "is empty; leave it out for the automatic conversion",
        )),
        None if format == BodyFormat::Text => Err(AdminError::invalid(
            "body",
            "a text template needs a body (only json, xml and form convert the envelope)",
        )),
        body => Ok(body),
    }
}

fn validate_headers(
    headers: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AdminError> {
    crate::endpoint::validate_headers(headers, RESERVED_HEADERS)
}

impl CreateTemplate {
    /// Version 1, checked (hookwired then compiles its body).
    pub fn into_version(self, now: DateTime<Utc>) -> Result<TemplateVersion, AdminError> {
        validate_name(&self.name)?;
        let (format, body, mut headers) = match &self.preset {
            Some(name) => {
                if self.body.is_some() || self.format.is_some() {
                    return Err(AdminError::invalid(
                        "preset",
                        "give a preset or a body and format, not both",
                    ));
                }
                let preset = preset(name).ok_or_else(|| {
                    AdminError::invalid(
                        "preset",
                        format!(
                            "no preset {name:?}; `templates.presets` lists them: {}",
                            presets()
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
                (preset.format, Some(preset.body), preset.headers)
            }
            None => (self.format.unwrap_or_default(), self.body, BTreeMap::new()),
        };
        headers.extend(validate_headers(self.headers.unwrap_or_default())?);
        Ok(TemplateVersion {
            version: 1,
            description: validate_description(self.description.unwrap_or_default())?,
            body: validate_body(format, body)?,
            format,
            headers,
            preset: self.preset,
            name: self.name,
            created_at: now,
        })
    }
}

impl AddTemplateVersion {
    /// The version after `latest`, checked.
    pub fn next_version(
        self,
        latest: &TemplateVersion,
        now: DateTime<Utc>,
    ) -> Result<TemplateVersion, AdminError> {
        if latest.version >= MAX_VERSIONS {
            return Err(AdminError::conflict(format!(
                "template {} has {MAX_VERSIONS} versions, the most it keeps; create a new template",
                latest.name
            )));
        }
        let format = self.format.unwrap_or(latest.format);
        let body = self.body.unwrap_or_else(|| latest.body.clone());
        Ok(TemplateVersion {
            name: latest.name.clone(),
            version: latest.version + 1,
            description: validate_description(
                self.description
                    .unwrap_or_else(|| latest.description.clone()),
            )?,
            body: validate_body(format, body)?,
            format,
            headers: match self.headers {
                Some(headers) => validate_headers(headers)?,
                None => latest.headers.clone(),
            },
            preset: latest.preset.clone(),
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn names_are_lowercase_tokens() {
        for good in ["slack", "a", "orders-v2_x", &"x".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Slack", "a.b", "a b", "é", &"x".repeat(65)] {
            let error = validate_name(bad).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("name"), "{bad}");
        }
    }

    #[test]
    fn a_template_is_a_body_or_a_preset() {
        let plain = CreateTemplate {
            name: "t".into(),
            body: Some(r#"{"a": {{ data.a }}}"#.into()),
            headers: Some(BTreeMap::from([("X-Team".into(), "ops".into())])),
            ..CreateTemplate::default()
        }
        .into_version(now())
        .unwrap();
        assert_eq!(
            (plain.version, plain.format, plain.content_type()),
            (1, BodyFormat::Json, "application/json")
        );
        assert_eq!(plain.headers["x-team"], "ops", "names are lowercased");

        let slack = CreateTemplate {
            name: "chat".into(),
            preset: Some("slack".into()),
            ..CreateTemplate::default()
        }
        .into_version(now())
        .unwrap();
        assert_eq!(slack.preset.as_deref(), Some("slack"));
        assert!(slack.body.is_some_and(|b| b.contains("\"text\"")));

        let github = CreateTemplate {
            name: "gh".into(),
            preset: Some("github-issue".into()),
            ..CreateTemplate::default()
        }
        .into_version(now())
        .unwrap();
        assert_eq!(github.headers["accept"], "application/vnd.github+json");

        let both = CreateTemplate {
            name: "t".into(),
            preset: Some("slack".into()),
            body: Some("{}".into()),
            ..CreateTemplate::default()
        };
        assert_eq!(
            both.into_version(now()).unwrap_err().field.as_deref(),
            Some("preset")
        );
        let unknown = CreateTemplate {
            name: "t".into(),
            preset: Some("irc".into()),
            ..CreateTemplate::default()
        };
        assert!(
            unknown
                .into_version(now())
                .unwrap_err()
                .message
                .contains("slack, discord")
        );
    }

    #[test]
    fn bodies_headers_and_formats_are_checked() {
        let create = |format: BodyFormat, body: Option<&str>, headers: &[(&str, &str)]| {
            CreateTemplate {
                name: "t".into(),
                format: Some(format),
                body: body.map(str::to_owned),
                headers: Some(
                    headers
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..CreateTemplate::default()
            }
            .into_version(now())
        };
        assert!(create(BodyFormat::Xml, None, &[]).is_ok(), "xml converts");
        assert!(create(BodyFormat::Form, None, &[]).is_ok(), "form converts");
        assert!(
            create(BodyFormat::Json, None, &[]).is_ok(),
            "json is the envelope"
        );
        assert_eq!(
            create(BodyFormat::Text, None, &[])
                .unwrap_err()
                .field
                .as_deref(),
            Some("body")
        );
        assert!(create(BodyFormat::Text, Some("  "), &[]).is_err());
        let huge = "x".repeat(MAX_BODY_LEN + 1);
        assert!(create(BodyFormat::Text, Some(&huge), &[]).is_err());
        for reserved in [
            "Authorization",
            "webhook-signature",
            "content-encoding",
            "host",
        ] {
            let error = create(BodyFormat::Json, None, &[(reserved, "x")]).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("headers"), "{reserved}");
        }
        let typed = create(
            BodyFormat::Json,
            None,
            &[("Content-Type", "application/vnd.api+json")],
        )
        .unwrap();
        assert_eq!(typed.content_type(), "application/vnd.api+json");
        assert!(create(BodyFormat::Json, None, &[("x-a", "line\nbreak")]).is_err());
    }

    #[test]
    fn new_versions_inherit_what_they_do_not_change() {
        let v1 = CreateTemplate {
            name: "t".into(),
            description: Some("first".into()),
            format: Some(BodyFormat::Xml),
            body: Some("<a>{{ data.a }}</a>".into()),
            headers: Some(BTreeMap::from([("x-a".into(), "1".into())])),
            ..CreateTemplate::default()
        }
        .into_version(now())
        .unwrap();
        let v2 = AddTemplateVersion {
            name: "t".into(),
            headers: Some(BTreeMap::new()),
            ..AddTemplateVersion::default()
        }
        .next_version(&v1, now())
        .unwrap();
        assert_eq!(v2.version, 2);
        assert_eq!(
            (v2.format, v2.body.as_deref()),
            (BodyFormat::Xml, v1.body.as_deref())
        );
        assert!(v2.headers.is_empty());
        assert_eq!(v2.description, "first");
        let automatic = AddTemplateVersion {
            name: "t".into(),
            body: Some(None),
            ..AddTemplateVersion::default()
        }
        .next_version(&v2, now())
        .unwrap();
        assert_eq!((automatic.version, automatic.body), (3, None));
        let text_without_body = AddTemplateVersion {
            name: "t".into(),
            format: Some(BodyFormat::Text),
            body: Some(None),
            ..AddTemplateVersion::default()
        };
        assert!(text_without_body.next_version(&v2, now()).is_err());
        let full = TemplateVersion {
            version: MAX_VERSIONS,
            ..v1
        };
        assert!(
            AddTemplateVersion::default()
                .next_version(&full, now())
                .is_err()
        );
    }

    #[test]
    fn pins_and_requests_read_as_documented() {
        let pin: TemplatePin = serde_json::from_str(r#"{"name": "slack", "version": 2}"#).unwrap();
        assert_eq!(pin.to_string(), "slack v2");
        assert!(pin.clone().validate("template").is_ok());
        let zero = TemplatePin { version: 0, ..pin };
        assert_eq!(
            zero.validate("template").unwrap_err().field.as_deref(),
            Some("template.version")
        );
        let add: AddTemplateVersion =
            serde_json::from_str(r#"{"name": "t", "body": null}"#).unwrap();
        assert_eq!(
            add.body,
            Some(None),
            "null asks for the automatic conversion"
        );
        assert!(serde_json::from_str::<CreateTemplate>(r#"{"name": "t", "bogus": 1}"#).is_err());
        assert_eq!(BodyFormat::named("form"), Some(BodyFormat::Form));
        assert_eq!(BodyFormat::named("yaml"), None);
    }
}
