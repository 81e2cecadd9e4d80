//! Forms: create and edit endpoints, event types and templates, send a test event, preview
//! a template, replay a window.
//! A form checks what it can before sending (required fields, numbers, JSON, times) and
//! shows the API's own errors in place, on the field the API names.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hookwire_protocol::catalog::{CreateType, EventTypeDef, JsonChange, UpdateType};
use hookwire_protocol::content_filter::ContentFilter;
use hookwire_protocol::endpoint::{
    BatchSettings, Compression, CreateEndpoint, DeliveryMode, Endpoint, KeyBatch, OrderKey,
    OrderSettings, TestEndpoint, UpdateEndpoint, VerificationMode,
};
use hookwire_protocol::operation::AdminRequest;
use hookwire_protocol::replay::StartReplay;
use hookwire_protocol::template::{
    AddTemplateVersion, BodyFormat, CreateTemplate, PreviewTemplate, TemplatePin,
};
use serde_json::Value;

use super::error::ApiError;
use crate::when;

/// What the batch field of an ordered endpoint says.
const ORDERED: &str = "ordered";

/// The type a test send proposes when the endpoint names no concrete one.
const PING: &str = "test.ping";

/// What a form does when submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormKind {
    CreateEndpoint,
    EditEndpoint(String),
    TestSend(String),
    Replay,
    CreateType,
    EditType(String),
    CreateTemplate,
    /// A new version of the named template.
    AddTemplateVersion(String),
    /// A preview of this version.
    PreviewTemplate(TemplatePin),
}

/// One input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// What the operator reads.
    pub(crate) label: &'static str,
    /// The request field it fills (API errors naming it land here).
    pub(crate) key: &'static str,
    pub(crate) value: String,
    /// What may be typed, shown while the field is empty.
    pub(crate) hint: &'static str,
    pub(crate) error: Option<String>,
}

fn field(label: &'static str, key: &'static str, value: String, hint: &'static str) -> Field {
    Field {
        label,
        key,
        value,
        hint,
        error: None,
    }
}

/// A form being filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Form {
    pub(crate) kind: FormKind,
    pub(crate) fields: Vec<Field>,
    pub(crate) focus: usize,
    /// An error not tied to one field.
    pub(crate) error: Option<String>,
    /// Sent and waiting for the reply.
    pub(crate) sending: bool,
}

impl Form {
    fn new(kind: FormKind, fields: Vec<Field>) -> Self {
        Self {
            kind,
            fields,
            focus: 0,
            error: None,
            sending: false,
        }
    }

    /// A new endpoint.
    pub(crate) fn create_endpoint() -> Self {
        Self::new(FormKind::CreateEndpoint, endpoint_fields(None))
    }

    /// Changes to `endpoint`, prefilled.
    pub(crate) fn edit_endpoint(endpoint: &Endpoint) -> Self {
        Self::new(
            FormKind::EditEndpoint(endpoint.id.clone()),
            endpoint_fields(Some(endpoint)),
        )
    }

    /// A test send to endpoint `id`; the type defaults to its first concrete filter.
    pub(crate) fn test_send(id: &str, endpoint: Option<&Endpoint>) -> Self {
        let concrete = endpoint
            .into_iter()
            .flat_map(|e| e.event_types.iter())
            .map(hookwire_protocol::EventTypeFilter::as_str)
            .find(|t| !t.contains(['*', '>']));
        // The catalog has no example for the fallback ping: it is sent with `{}`.
        let (event_type, payload) = match concrete {
            Some(event_type) => (event_type.to_owned(), String::new()),
            None => (PING.to_owned(), "{}".to_owned()),
        };
        Self::new(
            FormKind::TestSend(id.to_owned()),
            vec![
                field("event type", "event_type", event_type, "orders.paid"),
                field(
                    "payload",
                    "payload",
                    payload,
                    "JSON; empty sends the catalog's example",
                ),
            ],
        )
    }

    /// A replay of a time window to `endpoint_id`.
    pub(crate) fn replay(endpoint_id: &str) -> Self {
        Self::new(
            FormKind::Replay,
            vec![
                field("endpoint", "endpoint_id", endpoint_id.to_owned(), "ep_…"),
                field(
                    "since",
                    "since",
                    "1h".to_owned(),
                    "RFC 3339 or an age: 90m, 2h, 7d",
                ),
                field("until", "until", String::new(), "empty: now"),
                field(
                    "types",
                    "event_types",
                    String::new(),
                    "comma-separated filters; empty: all",
                ),
            ],
        )
    }

    /// A new event type.
    pub(crate) fn create_type() -> Self {
        let mut fields = vec![field("name", "name", String::new(), "orders.paid")];
        fields.extend(type_fields(None));
        Self::new(FormKind::CreateType, fields)
    }

    /// Changes to event type `definition`, prefilled.
    pub(crate) fn edit_type(definition: &EventTypeDef) -> Self {
        Self::new(
            FormKind::EditType(definition.name.clone()),
            type_fields(Some(definition)),
        )
    }

    /// A new template, from a preset or a one-line body.
    pub(crate) fn create_template() -> Self {
        let mut fields = vec![
            field("name", "name", String::new(), "a-z 0-9 - _"),
            field(
                "preset",
                "preset",
                String::new(),
                "slack, discord, teams, github-issue; empty: give a body",
            ),
        ];
        fields.extend(template_fields());
        Self::new(FormKind::CreateTemplate, fields)
    }

    /// The next version of template `name`; empty fields keep the latest version's.
    pub(crate) fn add_template_version(name: &str) -> Self {
        Self::new(
            FormKind::AddTemplateVersion(name.to_owned()),
            template_fields(),
        )
    }

    /// A preview of `pin` against an event.
    pub(crate) fn preview_template(pin: TemplatePin, event_type: Option<&str>) -> Self {
        Self::new(
            FormKind::PreviewTemplate(pin),
            vec![
                field(
                    "event type",
                    "event_type",
                    event_type.unwrap_or(PING).to_owned(),
                    "orders.paid",
                ),
                field(
                    "data",
                    "data",
                    "{}".to_owned(),
                    "JSON; empty: the catalog's example",
                ),
                field(
                    "event id",
                    "event_id",
                    String::new(),
                    "a past event instead (its id)",
                ),
                field(
                    "endpoint",
                    "endpoint_id",
                    String::new(),
                    "sign as this endpoint; empty: unsigned",
                ),
            ],
        )
    }

    /// The title of the form's box.
    pub(crate) fn title(&self) -> String {
        match &self.kind {
            FormKind::CreateEndpoint => "new endpoint".to_owned(),
            FormKind::EditEndpoint(id) => format!("edit {id}"),
            FormKind::TestSend(id) => format!("send a test event to {id}"),
            FormKind::Replay => "replay a time window".to_owned(),
            FormKind::CreateType => "new event type".to_owned(),
            FormKind::EditType(name) => format!("edit {name}"),
            FormKind::CreateTemplate => "new template".to_owned(),
            FormKind::AddTemplateVersion(name) => format!("new version of {name}"),
            FormKind::PreviewTemplate(pin) => format!("preview {pin}"),
        }
    }

    /// Types a character into the focused field (`\u{8}` deletes one).
    pub(crate) fn type_char(&mut self, c: char) {
        let Some(field) = self.fields.get_mut(self.focus) else {
            return;
        };
        if c == '\u{8}' {
            field.value.pop();
        } else {
            field.value.push(c);
        }
        field.error = None;
    }

    /// Moves the focus one field down (`forward`) or up, wrapping around.
    pub(crate) fn move_focus(&mut self, forward: bool) {
        let n = self.fields.len().max(1);
        self.focus = if forward {
            (self.focus + 1) % n
        } else {
            (self.focus + n - 1) % n
        };
    }

    /// The request, or the first field's problem (and focus moves there).
    pub(crate) fn request(&mut self, now: DateTime<Utc>) -> Option<AdminRequest> {
        for field in &mut self.fields {
            field.error = None;
        }
        self.error = None;
        match self.build(now) {
            Ok(request) => Some(request),
            Err((key, message)) => {
                self.blame(key, message);
                None
            }
        }
    }

    /// Shows an API error: on the field it names, else above the fields.
    pub(crate) fn apply_error(&mut self, error: &ApiError) {
        self.sending = false;
        // `event_types[2]`, `headers.X` and the like belong to their field.
        let named = error
            .field
            .as_deref()
            .map(|f| f.split(['[', '.']).next().unwrap_or(f));
        match named.filter(|key| self.fields.iter().any(|f| f.key == *key)) {
            Some(key) => {
                let key = self.fields.iter().find(|f| f.key == key).map(|f| f.key);
                self.blame(key.unwrap_or_default(), error.message.clone());
            }
            None => self.error = Some(error.message.clone()),
        }
    }

    fn blame(&mut self, key: &str, message: String) {
        if let Some(index) = self.fields.iter().position(|f| f.key == key) {
            self.focus = index;
            self.fields[index].error = Some(message);
        } else {
            self.error = Some(message);
        }
    }

    fn value(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map_or("", |f| f.value.trim())
    }

    fn build(&self, now: DateTime<Utc>) -> Result<AdminRequest, (&'static str, String)> {
        Ok(match &self.kind {
            FormKind::CreateEndpoint => {
                let types = list(self.value("event_types"));
                AdminRequest::EndpointsCreate(CreateEndpoint {
                    url: self.url()?,
                    description: Some(self.value("description").to_owned()),
                    event_types: (!types.is_empty()).then_some(types),
                    headers: Some(headers(self.value("headers"))?),
                    timeout_ms: number(self.value("timeout_ms"), "timeout_ms")?,
                    retry_schedule_secs: self.retry_schedule()?,
                    verification: Some(self.verification()?),
                    confirm_destination: self.optional("confirm_destination"),
                    filter: self.content_filter()?,
                    compression: self.compression()?,
                    template: self.pin()?,
                    delivery: self.delivery()?,
                    ..CreateEndpoint::default()
                })
            }
            // Clearing the types on edit means every type.
            FormKind::EditEndpoint(id) => AdminRequest::EndpointsUpdate(UpdateEndpoint {
                id: id.clone(),
                url: Some(self.url()?),
                description: Some(self.value("description").to_owned()),
                event_types: Some(list(self.value("event_types"))),
                headers: Some(headers(self.value("headers"))?),
                timeout_ms: number(self.value("timeout_ms"), "timeout_ms")?,
                retry_schedule_secs: self.retry_schedule()?,
                verification: Some(self.verification()?),
                confirm_destination: self.optional("confirm_destination"),
                // Emptied on edit: removed.
                filter: Some(self.content_filter()?),
                compression: Some(self.compression()?),
                template: Some(self.pin()?),
                delivery: self.delivery()?,
                ..UpdateEndpoint::default()
            }),
            FormKind::TestSend(id) => AdminRequest::EndpointsTest(TestEndpoint {
                id: id.clone(),
                event_type: self.value("event_type").to_owned(),
                payload: json_value(self.value("payload"), "payload")?,
            }),
            FormKind::Replay => {
                let since = when::parse(self.value("since"), now).map_err(|e| ("since", e))?;
                let until = match self.value("until") {
                    "" => None,
                    text => Some(when::parse(text, now).map_err(|e| ("until", e))?),
                };
                let types = list(self.value("event_types"));
                AdminRequest::ReplayPreview(StartReplay {
                    endpoint_id: self.value("endpoint_id").to_owned(),
                    since,
                    until,
                    event_types: (!types.is_empty()).then_some(types),
                    job_id: None,
                })
            }
            FormKind::CreateType => AdminRequest::TypesCreate(CreateType {
                name: self.value("name").to_owned(),
                description: Some(self.value("description").to_owned()),
                schema: json_value(self.value("schema"), "schema")?,
                example: json_value(self.value("example"), "example")?,
                validate: Some(self.validate()?),
            }),
            // Emptied on edit: cleared.
            FormKind::EditType(name) => {
                let change = |key| {
                    json_value(self.value(key), key)
                        .map(|value| value.map_or(JsonChange::Clear, JsonChange::Set))
                };
                AdminRequest::TypesUpdate(UpdateType {
                    name: name.clone(),
                    description: Some(self.value("description").to_owned()),
                    schema: change("schema")?,
                    example: change("example")?,
                    validate: Some(self.validate()?),
                })
            }
            FormKind::CreateTemplate => self.create_template_request()?,
            FormKind::AddTemplateVersion(name) => self.add_version_request(name)?,
            FormKind::PreviewTemplate(pin) => self.preview_request(pin)?,
        })
    }

    /// `templates.create`.
    fn create_template_request(&self) -> Result<AdminRequest, (&'static str, String)> {
        Ok(AdminRequest::TemplatesCreate(CreateTemplate {
            name: self.value("name").to_owned(),
            preset: self.optional("preset"),
            description: self.optional("description"),
            format: self.format()?,
            body: self.optional("body"),
            headers: Some(headers(self.value("headers"))?).filter(|h| !h.is_empty()),
        }))
    }

    /// `templates.add-version`: empty fields keep the latest version's.
    fn add_version_request(&self, name: &str) -> Result<AdminRequest, (&'static str, String)> {
        Ok(AdminRequest::TemplatesAddVersion(AddTemplateVersion {
            name: name.to_owned(),
            description: self.optional("description"),
            format: self.format()?,
            body: self.optional("body").map(Some),
            headers: Some(headers(self.value("headers"))?).filter(|h| !h.is_empty()),
        }))
    }

    /// `templates.preview` of `pin`: a past event when its id is given, else the data.
    fn preview_request(&self, pin: &TemplatePin) -> Result<AdminRequest, (&'static str, String)> {
        let event_id = self.optional("event_id");
        let new_event = event_id.is_none();
        Ok(AdminRequest::TemplatesPreview(PreviewTemplate {
            template: Some(pin.clone()),
            endpoint_id: self.optional("endpoint_id"),
            event_type: Some(self.value("event_type").to_owned()).filter(|_| new_event),
            data: json_value(self.value("data"), "data")?.filter(|_| new_event),
            event_id,
            ..PreviewTemplate::default()
        }))
    }

    /// A field's text, `None` when empty.
    fn optional(&self, key: &str) -> Option<String> {
        Some(self.value(key).to_owned()).filter(|v| !v.is_empty())
    }

    /// `EVENTS[,WAIT_MS]` for batches; `ordered KEY[,EVENTS]` (at creation: a key
    /// `pointer:/PATH` or `header:NAME`, batched per key with EVENTS); empty: one request
    /// per event. An ordered endpoint's mode (fixed when it was made) is kept.
    fn delivery(&self) -> Result<Option<DeliveryMode>, (&'static str, String)> {
        let text = self.value("delivery");
        if let Some(ordered) = text.strip_prefix(ORDERED) {
            return match self.kind {
                FormKind::EditEndpoint(_) => Ok(None),
                _ => ordered_mode(ordered).map(Some),
            };
        }
        if text.is_empty() {
            return Ok(Some(DeliveryMode::Single));
        }
        let parts = list(text);
        let number = |i: usize| number(parts.get(i).map_or("", String::as_str), "delivery");
        let defaults = BatchSettings::default();
        Ok(Some(DeliveryMode::Batch(BatchSettings {
            max_events: number(0)?.unwrap_or(defaults.max_events),
            max_wait_ms: number(1)?.unwrap_or(defaults.max_wait_ms),
            ..defaults
        })))
    }

    /// `NAME:VERSION`; `None` when empty.
    fn pin(&self) -> Result<Option<TemplatePin>, (&'static str, String)> {
        let text = self.value("template");
        if text.is_empty() {
            return Ok(None);
        }
        let (name, version) = text
            .split_once(':')
            .and_then(|(name, v)| Some((name, v.parse().ok()?)))
            .ok_or_else(|| {
                (
                    "template",
                    format!("{text:?} is not NAME:VERSION (slack:1)"),
                )
            })?;
        Ok(Some(TemplatePin {
            name: name.to_owned(),
            version,
        }))
    }

    fn format(&self) -> Result<Option<BodyFormat>, (&'static str, String)> {
        match self.value("format") {
            "" => Ok(None),
            name => BodyFormat::named(name)
                .map(Some)
                .ok_or_else(|| ("format", "json, xml, form or text".to_owned())),
        }
    }

    fn url(&self) -> Result<String, (&'static str, String)> {
        let url = self.value("url");
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url.to_owned())
        } else {
            Err(("url", "an http:// or https:// URL is required".into()))
        }
    }

    fn retry_schedule(&self) -> Result<Option<Vec<u32>>, (&'static str, String)> {
        let retry = self.value("retry_schedule_secs");
        if retry.is_empty() {
            return Ok(None);
        }
        list(retry)
            .iter()
            .map(|s| number(s, "retry_schedule_secs").map(Option::unwrap_or_default))
            .collect::<Result<Vec<u32>, _>>()
            .map(Some)
    }

    /// Gzip from this many bytes; `None` when the field is empty.
    fn compression(&self) -> Result<Option<Compression>, (&'static str, String)> {
        Ok(number(self.value("compression"), "compression")?
            .map(|min_bytes| Compression { min_bytes }))
    }

    /// The content filter typed as JSON; `None` when the field is empty.
    fn content_filter(&self) -> Result<Option<ContentFilter>, (&'static str, String)> {
        json_value(self.value("filter"), "filter")?
            .map(|value| {
                serde_json::from_value(value).map_err(|e| {
                    (
                        "filter",
                        format!("not a filter ({e}); e.g. {{\"all\":[{{\"path\":\"/severity\",\"eq\":\"high\"}}]}}"),
                    )
                })
            })
            .transpose()
    }

    fn verification(&self) -> Result<VerificationMode, (&'static str, String)> {
        match self.value("verification") {
            "echo" => Ok(VerificationMode::Echo),
            "status" => Ok(VerificationMode::Status),
            "confirmed" => Ok(VerificationMode::Confirmed),
            _ => Err(("verification", "echo, status or confirmed".into())),
        }
    }

    fn validate(&self) -> Result<bool, (&'static str, String)> {
        match self.value("validate") {
            "yes" | "true" => Ok(true),
            "no" | "false" | "" => Ok(false),
            _ => Err(("validate", "yes or no".into())),
        }
    }
}

fn endpoint_fields(endpoint: Option<&Endpoint>) -> Vec<Field> {
    let joined = |items: Vec<String>, sep: &str| items.join(sep);
    let compression = endpoint
        .and_then(|e| e.compression)
        .map(|c| c.min_bytes.to_string())
        .unwrap_or_default();
    let filter = endpoint
        .and_then(|e| e.filter.as_ref())
        .and_then(|f| serde_json::to_string(f).ok())
        .unwrap_or_default();
    let (url, types, description, headers, timeout, retry, verification) = match endpoint {
        Some(e) => (
            e.url.clone(),
            joined(
                e.event_types.iter().map(ToString::to_string).collect(),
                ", ",
            ),
            e.description.clone(),
            joined(
                e.headers.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                ", ",
            ),
            e.timeout_ms.to_string(),
            e.retry_schedule_secs
                .as_ref()
                .map_or_else(String::new, |s| {
                    joined(s.iter().map(ToString::to_string).collect(), ",")
                }),
            e.verification.as_str(),
        ),
        None => Default::default(),
    };
    vec![
        field("url", "url", url, "https://example.com/hooks"),
        field(
            "event types",
            "event_types",
            types,
            "orders.>, users.created; empty: all",
        ),
        field("description", "description", description, "optional"),
        field("headers", "headers", headers, "Name=value, …"),
        field("timeout ms", "timeout_ms", timeout, "empty: the default"),
        field(
            "retry secs",
            "retry_schedule_secs",
            retry,
            "5,30,120; empty: the default",
        ),
        field(
            "verification",
            "verification",
            if verification.is_empty() {
                "echo"
            } else {
                verification
            }
            .to_owned(),
            "echo, status or confirmed (then the confirm host)",
        ),
        field(
            "confirm host",
            "confirm_destination",
            String::new(),
            "with confirmed: the URL's host, typed to confirm it",
        ),
        field(
            "filter",
            "filter",
            filter,
            "content filter JSON; empty: every event",
        ),
        field(
            "gzip from",
            "compression",
            compression,
            "bytes; empty: never compress",
        ),
        field(
            "delivery",
            "delivery",
            match endpoint.map(|e| &e.delivery) {
                Some(DeliveryMode::Batch(b)) => format!("{},{}", b.max_events, b.max_wait_ms),
                Some(DeliveryMode::Ordered(o)) => format!("{ORDERED} {} (kept)", o.key),
                _ => String::new(),
            },
            "EVENTS,WAIT_MS | ordered pointer:/P[,EVENTS] | empty: single",
        ),
        field(
            "template",
            "template",
            endpoint
                .and_then(|e| e.template.as_ref())
                .map(|pin| format!("{}:{}", pin.name, pin.version))
                .unwrap_or_default(),
            "NAME:VERSION; empty: the standard envelope",
        ),
    ]
}

/// What follows `ordered` in the delivery field: ` KEY[,EVENTS]`.
fn ordered_mode(text: &str) -> Result<DeliveryMode, (&'static str, String)> {
    let parts = list(text);
    let key = parts.first().map_or("", String::as_str);
    let key = key.parse::<OrderKey>().map_err(|why| ("delivery", why))?;
    let batch =
        number(parts.get(1).map_or("", String::as_str), "delivery")?.map(|max_events| KeyBatch {
            max_events,
            ..KeyBatch::default()
        });
    Ok(DeliveryMode::Ordered(OrderSettings { key, batch }))
}

/// What a template version is made of; every field may stay empty.
fn template_fields() -> Vec<Field> {
    vec![
        field("format", "format", String::new(), "json, xml, form or text"),
        field(
            "body",
            "body",
            String::new(),
            "one line of minijinja; longer ones: hookwire templates … --body @FILE",
        ),
        field("headers", "headers", String::new(), "Name=value, …"),
        field("description", "description", String::new(), "optional"),
    ]
}

fn type_fields(definition: Option<&EventTypeDef>) -> Vec<Field> {
    let compact = |value: Option<&Value>| value.map_or_else(String::new, Value::to_string);
    vec![
        field(
            "description",
            "description",
            definition.map_or_else(String::new, |d| d.description.clone()),
            "optional",
        ),
        field(
            "schema",
            "schema",
            compact(definition.and_then(|d| d.schema.as_ref())),
            "JSON Schema; empty: none",
        ),
        field(
            "example",
            "example",
            compact(definition.and_then(|d| d.example.as_ref())),
            "JSON; must match the schema",
        ),
        field(
            "validate",
            "validate",
            if definition.is_some_and(|d| d.validate) {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            "yes: reject events that do not match",
        ),
    ]
}

/// Comma-separated items, trimmed, empty ones dropped.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn headers(text: &str) -> Result<BTreeMap<String, String>, (&'static str, String)> {
    list(text)
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| ("headers", format!("{pair:?} is not Name=value")))
        })
        .collect()
}

fn number(text: &str, key: &'static str) -> Result<Option<u32>, (&'static str, String)> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| (key, format!("{text:?} is not a whole number")))
}

fn json_value(text: &str, key: &'static str) -> Result<Option<Value>, (&'static str, String)> {
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| (key, format!("not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn fill(form: &mut Form, key: &str, value: &str) {
        let field = form.fields.iter_mut().find(|f| f.key == key).unwrap();
        value.clone_into(&mut field.value);
    }

    fn body(form: &mut Form) -> Option<Value> {
        let request = form.request(now())?;
        Some(serde_json::from_slice(&request.to_body().unwrap()).unwrap())
    }

    #[test]
    fn an_endpoint_form_builds_the_create_request() {
        let mut form = Form::create_endpoint();
        assert!(form.request(now()).is_none(), "the url is required");
        assert_eq!(form.fields[form.focus].key, "url");
        assert!(form.fields[0].error.is_some());
        fill(&mut form, "url", "https://example.com/hooks");
        fill(&mut form, "event_types", "orders.>, users.created");
        fill(&mut form, "headers", "X-Team=billing");
        fill(&mut form, "retry_schedule_secs", "5, 30");
        let Some(AdminRequest::EndpointsCreate(create)) = form.request(now()) else {
            panic!("not a create");
        };
        assert_eq!(create.url, "https://example.com/hooks");
        assert_eq!(
            create.event_types,
            Some(vec!["orders.>".to_owned(), "users.created".to_owned()])
        );
        assert_eq!(
            create.headers,
            Some(BTreeMap::from([(
                "X-Team".to_owned(),
                "billing".to_owned()
            )]))
        );
        assert_eq!(create.retry_schedule_secs, Some(vec![5, 30]));
        assert_eq!(create.verification, Some(VerificationMode::Echo));
        assert_eq!(create.timeout_ms, None);
        assert!(form.fields.iter().all(|f| f.error.is_none()));
    }

    #[test]
    fn the_delivery_field_makes_batches_and_ordered_endpoints_and_keeps_an_ordered_mode() {
        let create = |delivery: &str| {
            let mut form = Form::create_endpoint();
            fill(&mut form, "url", "https://example.com");
            fill(&mut form, "delivery", delivery);
            match form.request(now()) {
                Some(AdminRequest::EndpointsCreate(create)) => Ok(create.delivery),
                _ => Err(form.fields[form.focus].error.clone()),
            }
        };
        assert_eq!(create(""), Ok(Some(DeliveryMode::Single)));
        let Ok(Some(DeliveryMode::Batch(batch))) = create("50,200") else {
            panic!("a batch");
        };
        assert_eq!((batch.max_events, batch.max_wait_ms), (50, 200));
        assert_eq!(
            create("ordered pointer:/order_id"),
            Ok(Some(DeliveryMode::Ordered(OrderSettings {
                key: OrderKey::Pointer("/order_id".into()),
                batch: None
            })))
        );
        assert_eq!(
            create("ordered header:Order-Id, 20"),
            Ok(Some(DeliveryMode::Ordered(OrderSettings {
                key: OrderKey::Header("Order-Id".into()),
                batch: Some(KeyBatch {
                    max_events: 20,
                    ..KeyBatch::default()
                })
            })))
        );
        for bad in ["ordered", "ordered order_id", "ordered pointer:/a,x"] {
            assert!(create(bad).unwrap_err().is_some(), "{bad}");
        }

        let mut endpoint = crate::console::fixtures::endpoint("ep_1", "http://127.0.0.1/x");
        endpoint.delivery = DeliveryMode::Ordered(OrderSettings {
            key: OrderKey::Pointer("/k".into()),
            batch: None,
        });
        let mut form = Form::edit_endpoint(&endpoint);
        let field = form.fields.iter().find(|f| f.key == "delivery").unwrap();
        assert_eq!(field.value, "ordered pointer:/k (kept)");
        assert_eq!(body_of(&mut form)["delivery"], Value::Null, "kept");
    }

    #[test]
    fn bad_values_are_caught_on_their_field() {
        let mut form = Form::create_endpoint();
        fill(&mut form, "url", "https://example.com");
        for (key, value) in [
            ("timeout_ms", "soon"),
            ("headers", "no-equals"),
            ("retry_schedule_secs", "5,x"),
            ("verification", "maybe"),
        ] {
            let mut form = form.clone();
            fill(&mut form, key, value);
            assert!(form.request(now()).is_none(), "{key}");
            assert_eq!(form.fields[form.focus].key, key);
        }
    }

    #[test]
    fn editing_prefills_and_clearing_types_means_all() {
        let mut endpoint = crate::console::fixtures::endpoint("ep_1", "http://127.0.0.1/x");
        endpoint.event_types = vec![hookwire_protocol::EventTypeFilter::new("a.>").unwrap()];
        endpoint.headers = BTreeMap::from([("x-a".to_owned(), "1".to_owned())]);
        endpoint.timeout_ms = 5000;
        endpoint.retry_schedule_secs = Some(vec![1, 2]);
        endpoint.verification = VerificationMode::Status;
        let mut form = Form::edit_endpoint(&endpoint);
        assert_eq!(form.kind, FormKind::EditEndpoint("ep_1".into()));
        let body = body(&mut form).unwrap();
        assert_eq!(body["id"], "ep_1");
        assert_eq!(body["headers"], serde_json::json!({"x-a": "1"}));
        assert_eq!(body["timeout_ms"], 5000);
        assert_eq!(body["retry_schedule_secs"], serde_json::json!([1, 2]));
        assert_eq!(body["verification"], "status");
        fill(&mut form, "event_types", "");
        assert_eq!(body_of(&mut form)["event_types"], serde_json::json!([]));
    }

    fn body_of(form: &mut Form) -> Value {
        body(form).unwrap()
    }

    #[test]
    fn api_errors_land_on_the_field_they_name() {
        let mut form = Form::create_endpoint();
        form.sending = true;
        form.apply_error(&ApiError {
            message: "event_types: bad filter".into(),
            field: Some("event_types[1]".into()),
        });
        assert!(!form.sending);
        assert_eq!(form.fields[form.focus].key, "event_types");
        assert_eq!(
            form.fields[form.focus].error.as_deref(),
            Some("event_types: bad filter")
        );
        form.type_char('x');
        assert!(form.fields[form.focus].error.is_none(), "typing clears it");
        form.apply_error(&ApiError::new("no hookwired answered"));
        assert_eq!(form.error.as_deref(), Some("no hookwired answered"));
    }

    #[test]
    fn replay_and_type_forms() {
        let mut replay = Form::replay("ep_1");
        fill(&mut replay, "event_types", "orders.>");
        let Some(AdminRequest::ReplayPreview(preview)) = replay.request(now()) else {
            panic!("not a preview");
        };
        assert_eq!(preview.since, now() - chrono::TimeDelta::hours(1));
        assert_eq!(preview.until, None);
        assert_eq!(preview.event_types, Some(vec!["orders.>".to_owned()]));
        fill(&mut replay, "since", "last week");
        assert!(replay.request(now()).is_none());

        let mut create = Form::create_type();
        fill(&mut create, "name", "orders.paid");
        fill(&mut create, "schema", "{\"type\": \"object\"");
        assert!(create.request(now()).is_none(), "broken JSON");
        fill(&mut create, "schema", "{\"type\": \"object\"}");
        let body = body_of(&mut create);
        assert_eq!(body["schema"], serde_json::json!({"type": "object"}));
        assert_eq!(body["example"], Value::Null);
        assert_eq!(body["validate"], false);

        let mut definition = crate::console::fixtures::event_type("orders.paid");
        definition.schema = Some(serde_json::json!({"type": "object"}));
        definition.validate = true;
        let mut edit = Form::edit_type(&definition);
        assert_eq!(edit.fields[1].value, "{\"type\":\"object\"}");
        fill(&mut edit, "schema", "");
        let body = body_of(&mut edit);
        assert_eq!(body["schema"], Value::Null, "emptied: cleared");
        assert!(body.as_object().unwrap().contains_key("schema"));
        assert_eq!(body["validate"], true);

        let mut endpoint = crate::console::fixtures::endpoint("ep_1", "http://127.0.0.1/x");
        endpoint.event_types = ["a.>", "orders.paid"]
            .iter()
            .map(|t| hookwire_protocol::EventTypeFilter::new(t).unwrap())
            .collect();
        let mut test = Form::test_send("ep_1", Some(&endpoint));
        assert_eq!(test.fields[0].value, "orders.paid");
        assert_eq!(
            body_of(&mut test)["payload"],
            Value::Null,
            "the catalog's example"
        );
        // No concrete type: the ping goes with `{}` (the catalog has no example for it).
        let mut ping = Form::test_send("ep_1", None);
        assert_eq!(ping.fields[0].value, "test.ping");
        assert_eq!(body_of(&mut ping)["payload"], serde_json::json!({}));
    }

    #[test]
    fn the_content_filter_is_json_checked_in_place_and_prefilled() {
        let mut form = Form::create_endpoint();
        fill(&mut form, "url", "https://example.com/hooks");
        fill(
            &mut form,
            "filter",
            r#"{"all":[{"path":"/severity","eq":"high"}]}"#,
        );
        let Some(AdminRequest::EndpointsCreate(create)) = form.request(now()) else {
            panic!("not a create");
        };
        let filter = create.filter.unwrap();
        assert!(filter.matches(&serde_json::json!({"severity": "high"})));
        fill(&mut form, "filter", r#"{"some":[]}"#);
        assert!(form.request(now()).is_none());
        assert_eq!(form.fields[form.focus].key, "filter");

        let mut endpoint = crate::console::fixtures::endpoint("ep_1", "http://127.0.0.1/x");
        endpoint.filter = Some(filter);
        let mut edit = Form::edit_endpoint(&endpoint);
        let field = edit.fields.iter().find(|f| f.key == "filter").unwrap();
        assert!(field.value.contains("/severity"), "{}", field.value);
        fill(&mut edit, "filter", "");
        assert_eq!(
            body_of(&mut edit)["filter"],
            Value::Null,
            "emptied: removed"
        );
        fill(&mut edit, "compression", "2048");
        assert_eq!(
            body_of(&mut edit)["compression"],
            serde_json::json!({"min_bytes": 2048})
        );
        fill(&mut edit, "compression", "lots");
        assert!(edit.request(now()).is_none());
        assert_eq!(edit.fields[edit.focus].key, "compression");
    }

    #[test]
    fn focus_wraps_around() {
        let mut form = Form::replay("ep_1");
        form.move_focus(false);
        assert_eq!(form.focus, 3);
        form.move_focus(true);
        assert_eq!(form.focus, 0);
    }
}
