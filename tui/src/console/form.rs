//! Forms: create and edit endpoints and event types, send a test event, replay a window.
//! A form checks what it can before sending (required fields, numbers, JSON, times) and
//! shows the API's own errors in place, on the field the API names.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::request::ApiError;
use crate::when;

/// What a form does when submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormKind {
    CreateEndpoint,
    EditEndpoint(String),
    TestSend(String),
    Replay,
    CreateType,
    EditType(String),
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
        Self::new(FormKind::CreateEndpoint, endpoint_fields(&Value::Null))
    }

    /// Changes to `endpoint` (as the API shows it), prefilled.
    pub(crate) fn edit_endpoint(endpoint: &Value) -> Self {
        let id = endpoint["id"].as_str().unwrap_or_default().to_owned();
        Self::new(FormKind::EditEndpoint(id), endpoint_fields(endpoint))
    }

    /// A test send to endpoint `id`; the type defaults to its first concrete filter.
    pub(crate) fn test_send(id: &str, endpoint: Option<&Value>) -> Self {
        let event_type = endpoint
            .and_then(|e| e["event_types"].as_array())
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|t| !t.contains(['*', '>']))
            .unwrap_or("test.ping")
            .to_owned();
        Self::new(
            FormKind::TestSend(id.to_owned()),
            vec![
                field("event type", "event_type", event_type, "orders.paid"),
                field(
                    "payload",
                    "payload",
                    String::new(),
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
        fields.extend(type_fields(&Value::Null));
        Self::new(FormKind::CreateType, fields)
    }

    /// Changes to event type `definition`, prefilled.
    pub(crate) fn edit_type(definition: &Value) -> Self {
        let name = definition["name"].as_str().unwrap_or_default().to_owned();
        Self::new(FormKind::EditType(name), type_fields(definition))
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

    /// The request body, or the first field's problem (and focus moves there).
    pub(crate) fn body(&mut self, now: DateTime<Utc>) -> Option<Value> {
        for field in &mut self.fields {
            field.error = None;
        }
        self.error = None;
        match self.build(now) {
            Ok(body) => Some(body),
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

    fn build(&self, now: DateTime<Utc>) -> Result<Value, (&'static str, String)> {
        let mut body = Map::new();
        match &self.kind {
            FormKind::CreateEndpoint | FormKind::EditEndpoint(_) => {
                if let FormKind::EditEndpoint(id) = &self.kind {
                    body.insert("id".into(), json!(id));
                }
                let url = self.value("url");
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(("url", "an http:// or https:// URL is required".into()));
                }
                body.insert("url".into(), json!(url));
                body.insert("description".into(), json!(self.value("description")));
                let types = list(self.value("event_types"));
                if !types.is_empty() || self.kind != FormKind::CreateEndpoint {
                    body.insert("event_types".into(), json!(types));
                }
                body.insert("headers".into(), json!(headers(self.value("headers"))?));
                if let Some(ms) = number(self.value("timeout_ms"), "timeout_ms")? {
                    body.insert("timeout_ms".into(), json!(ms));
                }
                let retry = self.value("retry_schedule_secs");
                if !retry.is_empty() {
                    let schedule = list(retry)
                        .iter()
                        .map(|s| number(s, "retry_schedule_secs").map(Option::unwrap_or_default))
                        .collect::<Result<Vec<u32>, _>>()?;
                    body.insert("retry_schedule_secs".into(), json!(schedule));
                }
                match self.value("verification") {
                    mode @ ("echo" | "status") => {
                        body.insert("verification".into(), json!(mode));
                    }
                    _ => return Err(("verification", "echo or status".into())),
                }
            }
            FormKind::TestSend(id) => {
                body.insert("id".into(), json!(id));
                body.insert("event_type".into(), json!(self.value("event_type")));
                if let Some(payload) = json_value(self.value("payload"), "payload")? {
                    body.insert("payload".into(), payload);
                }
            }
            FormKind::Replay => {
                body.insert("endpoint_id".into(), json!(self.value("endpoint_id")));
                let since = when::parse(self.value("since"), now).map_err(|e| ("since", e))?;
                body.insert("since".into(), json!(since));
                if !self.value("until").is_empty() {
                    let until = when::parse(self.value("until"), now).map_err(|e| ("until", e))?;
                    body.insert("until".into(), json!(until));
                }
                let types = list(self.value("event_types"));
                if !types.is_empty() {
                    body.insert("event_types".into(), json!(types));
                }
            }
            FormKind::CreateType | FormKind::EditType(_) => {
                let name = match &self.kind {
                    FormKind::EditType(name) => name.as_str(),
                    _ => self.value("name"),
                };
                body.insert("name".into(), json!(name));
                body.insert("description".into(), json!(self.value("description")));
                for key in ["schema", "example"] {
                    match json_value(self.value(key), key)? {
                        Some(value) => {
                            body.insert(key.into(), value);
                        }
                        // Emptied on edit: cleared.
                        None if self.kind != FormKind::CreateType => {
                            body.insert(key.into(), Value::Null);
                        }
                        None => {}
                    }
                }
                let validate = match self.value("validate") {
                    "yes" | "true" => true,
                    "no" | "false" | "" => false,
                    _ => return Err(("validate", "yes or no".into())),
                };
                body.insert("validate".into(), json!(validate));
            }
        }
        Ok(Value::Object(body))
    }
}

fn endpoint_fields(endpoint: &Value) -> Vec<Field> {
    let text = |key: &str| endpoint[key].as_str().unwrap_or_default().to_owned();
    let joined = |key: &str, sep: &str| {
        endpoint[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(sep)
            })
            .unwrap_or_default()
    };
    let headers = endpoint["headers"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let verification = endpoint["verification"]
        .as_str()
        .unwrap_or("echo")
        .to_owned();
    vec![
        field("url", "url", text("url"), "https://example.com/hooks"),
        field(
            "event types",
            "event_types",
            joined("event_types", ", "),
            "orders.>, users.created; empty: all",
        ),
        field(
            "description",
            "description",
            text("description"),
            "optional",
        ),
        field("headers", "headers", headers, "Name=value, …"),
        field(
            "timeout ms",
            "timeout_ms",
            endpoint["timeout_ms"]
                .as_u64()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            "empty: the default",
        ),
        field(
            "retry secs",
            "retry_schedule_secs",
            joined("retry_schedule_secs", ","),
            "5,30,120; empty: the default",
        ),
        field(
            "verification",
            "verification",
            verification,
            "echo or status",
        ),
    ]
}

fn type_fields(definition: &Value) -> Vec<Field> {
    let compact = |key: &str| match &definition[key] {
        Value::Null => String::new(),
        value => value.to_string(),
    };
    let validate = if definition["validate"] == true {
        "yes"
    } else {
        "no"
    };
    vec![
        field(
            "description",
            "description",
            definition["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            "optional",
        ),
        field(
            "schema",
            "schema",
            compact("schema"),
            "JSON Schema; empty: none",
        ),
        field(
            "example",
            "example",
            compact("example"),
            "JSON; must match the schema",
        ),
        field(
            "validate",
            "validate",
            validate.to_owned(),
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

    #[test]
    fn an_endpoint_form_builds_the_create_request() {
        let mut form = Form::create_endpoint();
        assert!(form.body(now()).is_none(), "the url is required");
        assert_eq!(form.fields[form.focus].key, "url");
        assert!(form.fields[0].error.is_some());
        fill(&mut form, "url", "https://example.com/hooks");
        fill(&mut form, "event_types", "orders.>, users.created");
        fill(&mut form, "headers", "X-Team=billing");
        fill(&mut form, "retry_schedule_secs", "5, 30");
        let body = form.body(now()).unwrap();
        assert_eq!(body["url"], "https://example.com/hooks");
        assert_eq!(body["event_types"], json!(["orders.>", "users.created"]));
        assert_eq!(body["headers"], json!({"X-Team": "billing"}));
        assert_eq!(body["retry_schedule_secs"], json!([5, 30]));
        assert_eq!(body["verification"], "echo");
        assert!(body.get("timeout_ms").is_none());
        assert!(form.fields.iter().all(|f| f.error.is_none()));
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
            assert!(form.body(now()).is_none(), "{key}");
            assert_eq!(form.fields[form.focus].key, key);
        }
    }

    #[test]
    fn editing_prefills_and_clearing_types_means_all() {
        let endpoint = json!({"id": "ep_1", "url": "http://127.0.0.1/x", "event_types": ["a.>"],
            "headers": {"X-A": "1"}, "timeout_ms": 5000, "retry_schedule_secs": [1, 2], "verification": "status"});
        let mut form = Form::edit_endpoint(&endpoint);
        assert_eq!(form.kind, FormKind::EditEndpoint("ep_1".into()));
        let body = form.body(now()).unwrap();
        assert_eq!(body["id"], "ep_1");
        assert_eq!(body["headers"], json!({"X-A": "1"}));
        assert_eq!(body["timeout_ms"], 5000);
        assert_eq!(body["retry_schedule_secs"], json!([1, 2]));
        assert_eq!(body["verification"], "status");
        fill(&mut form, "event_types", "");
        assert_eq!(form.body(now()).unwrap()["event_types"], json!([]));
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
        let body = replay.body(now()).unwrap();
        assert_eq!(body["since"], json!(now() - chrono::TimeDelta::hours(1)));
        assert!(body.get("until").is_none());
        assert_eq!(body["event_types"], json!(["orders.>"]));
        fill(&mut replay, "since", "last week");
        assert!(replay.body(now()).is_none());

        let mut create = Form::create_type();
        fill(&mut create, "name", "orders.paid");
        fill(&mut create, "schema", "{\"type\": \"object\"");
        assert!(create.body(now()).is_none(), "broken JSON");
        fill(&mut create, "schema", "{\"type\": \"object\"}");
        let body = create.body(now()).unwrap();
        assert_eq!(body["schema"], json!({"type": "object"}));
        assert!(body.get("example").is_none());
        assert_eq!(body["validate"], false);

        let mut edit = Form::edit_type(
            &json!({"name": "orders.paid", "schema": {"type": "object"}, "validate": true}),
        );
        assert_eq!(edit.fields[1].value, "{\"type\":\"object\"}");
        fill(&mut edit, "schema", "");
        let body = edit.body(now()).unwrap();
        assert_eq!(body["schema"], Value::Null, "emptied: cleared");
        assert_eq!(body["validate"], true);

        let mut test = Form::test_send(
            "ep_1",
            Some(&json!({"event_types": ["a.>", "orders.paid"]})),
        );
        assert_eq!(test.fields[0].value, "orders.paid");
        assert!(test.body(now()).unwrap().get("payload").is_none());
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
