//! `hookwire templates ...`: payload templates, their versions, presets and previews.

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};
use hookwire_protocol::admin::NoFields;
use hookwire_protocol::operation::AdminRequest;
use hookwire_protocol::template::{
    AddTemplateVersion, BodyFormat, CreateTemplate, PreviewTemplate, TemplateName, TemplatePin,
};
use serde_json::Value;

use super::endpoints::{PinArg, parse_pin};
use super::{parse_header, parse_json_arg, parse_text, parse_time};
use crate::output::Failure;

#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// Creates a template (version 1) from a body or a preset.
    Create {
        /// The template's name (a-z 0-9 - _).
        name: String,
        /// Install a preset instead of a body (see `hookwire templates presets`).
        #[arg(long, conflicts_with_all = ["body", "format"])]
        preset: Option<String>,
        #[command(flatten)]
        fields: TemplateFields,
    },
    /// Adds a version; endpoints keep the version they pin until you move the pin.
    AddVersion {
        /// The template.
        name: String,
        /// Convert the standard envelope instead of rendering a body (json, xml, form).
        #[arg(long, conflicts_with = "body")]
        automatic: bool,
        /// Send no extra headers in the new version.
        #[arg(long, conflicts_with = "headers")]
        no_headers: bool,
        #[command(flatten)]
        fields: TemplateFields,
    },
    /// Shows every version and the endpoints pinning them.
    Get {
        /// The template.
        name: String,
    },
    /// Lists the tenant's templates.
    List,
    /// Deletes a template no endpoint pins.
    Delete {
        /// The template.
        name: String,
    },
    /// Lists the presets (Slack, Discord, Teams, GitHub issues).
    Presets,
    /// Shows what would be sent, headers and body, sending nothing.
    Preview(PreviewArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TemplateFields {
    /// What it is for.
    #[arg(long)]
    description: Option<String>,
    /// The output format.
    #[arg(long)]
    format: Option<FormatArg>,
    /// The body template (minijinja), or @FILE.
    #[arg(long, value_parser = parse_text)]
    body: Option<String>,
    /// An extra header NAME=VALUE, repeatable (replaces all on add-version).
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    /// JSON (expressions are written as JSON).
    Json,
    /// XML (expressions are XML-escaped; without a body, the envelope converted).
    Xml,
    /// application/x-www-form-urlencoded from a rendered JSON object.
    Form,
    /// Plain text.
    Text,
}

impl From<FormatArg> for BodyFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Json => Self::Json,
            FormatArg::Xml => Self::Xml,
            FormatArg::Form => Self::Form,
            FormatArg::Text => Self::Text,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct PreviewArgs {
    /// The version to render, NAME:VERSION (default: the endpoint's pin).
    #[arg(long, value_name = "NAME:VERSION", value_parser = parse_pin)]
    template: Option<PinArg>,
    /// Sign and address as this endpoint does.
    #[arg(long)]
    endpoint: Option<String>,
    /// A past event by id.
    #[arg(long, conflicts_with_all = ["event_seq", "data"])]
    event_id: Option<String>,
    /// A past event by stream sequence.
    #[arg(long, conflicts_with = "data")]
    event_seq: Option<u64>,
    /// The event type of --data (alone: the catalog's example of that type).
    #[arg(long = "type")]
    event_type: Option<String>,
    /// The event's data as JSON or @FILE.
    #[arg(long, value_parser = parse_json_arg, requires = "event_type")]
    data: Option<Value>,
    /// The webhook-id to sign with (default: the event's id).
    #[arg(long)]
    webhook_id: Option<String>,
    /// The signing time, RFC 3339 or an age (default: now).
    #[arg(long, value_parser = parse_time)]
    timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// The attempt number templates see (default 1).
    #[arg(long)]
    attempt: Option<u32>,
}

impl TemplateFields {
    fn headers(&self) -> Option<BTreeMap<String, String>> {
        (!self.headers.is_empty()).then(|| self.headers.iter().cloned().collect())
    }
}

impl TemplateCommand {
    pub(crate) fn request(&self) -> Result<AdminRequest, Failure> {
        let named = |name: &String| TemplateName { name: name.clone() };
        Ok(match self {
            Self::Create {
                name,
                preset,
                fields,
            } => AdminRequest::TemplatesCreate(CreateTemplate {
                name: name.clone(),
                description: fields.description.clone(),
                format: fields.format.map(BodyFormat::from),
                body: fields.body.clone(),
                headers: fields.headers(),
                preset: preset.clone(),
            }),
            Self::AddVersion {
                name,
                automatic,
                no_headers,
                fields,
            } => AdminRequest::TemplatesAddVersion(AddTemplateVersion {
                name: name.clone(),
                description: fields.description.clone(),
                format: fields.format.map(BodyFormat::from),
                body: if *automatic {
                    Some(None)
                } else {
                    fields.body.clone().map(Some)
                },
                headers: if *no_headers {
                    Some(BTreeMap::new())
                } else {
                    fields.headers()
                },
            }),
            Self::Get { name } => AdminRequest::TemplatesGet(named(name)),
            Self::List => AdminRequest::TemplatesList(NoFields {}),
            Self::Delete { name } => AdminRequest::TemplatesDelete(named(name)),
            Self::Presets => AdminRequest::TemplatesPresets(NoFields {}),
            Self::Preview(args) => AdminRequest::TemplatesPreview(args.request()?),
        })
    }
}

impl PreviewArgs {
    fn request(&self) -> Result<PreviewTemplate, Failure> {
        let template: Option<TemplatePin> = match &self.template {
            Some(PinArg::Pin(pin)) => Some(pin.clone()),
            Some(PinArg::None) => {
                return Err(Failure::Usage(
                    "--template takes NAME:VERSION here".to_owned(),
                ));
            }
            None => None,
        };
        Ok(PreviewTemplate {
            endpoint_id: self.endpoint.clone(),
            template,
            event_id: self.event_id.clone(),
            event_seq: self.event_seq,
            event_type: self.event_type.clone(),
            data: self.data.clone(),
            webhook_id: self.webhook_id.clone(),
            timestamp: self.timestamp,
            attempt: self.attempt,
        })
    }
}
