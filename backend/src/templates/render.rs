//! Rendering a template version into a request body: minijinja in a sandbox (no I/O, no
//! secrets in reach, a fuel limit), expressions escaped for the output format, and the
//! output checked (valid JSON, well-formed XML, a JSON object for forms). Pure: the caller
//! supplies the event and the endpoint.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::endpoint::Endpoint;
use hookwire_protocol::template::{BodyFormat, TemplateVersion};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::delivery::batch::Member;
use crate::delivery::request;

/// The one template of an environment.
const TEMPLATE: &str = "body";
/// Steps one rendering may take: a runaway loop is stopped, not run forever.
const FUEL: u64 = 200_000;
/// The largest rendered body.
const MAX_OUTPUT: usize = 4 * 1024 * 1024;

/// A template that does not compile, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line}, column {column})")]
pub(crate) struct CompileError {
    /// What is wrong.
    pub message: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

/// A rendering that failed: the message names the template version and, when known, the
/// line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template}: {message}")]
pub(crate) struct RenderError {
    /// `name vN`.
    pub template: String,
    /// What went wrong.
    pub message: String,
}

/// What a template renders from: one event as one endpoint gets it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventView<'a> {
    /// The event's data (JSON; anything else reads as `null`).
    pub data: &'a [u8],
    /// Its type.
    pub event_type: &'a str,
    /// Its id (the `webhook-id`).
    pub event_id: &'a str,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Its tenant.
    pub tenant: &'a Tenant,
    /// The correlation id it carried.
    pub correlation_id: Option<&'a str>,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// The endpoint it goes to.
    pub endpoint: &'a Endpoint,
    /// For a batch: its events (then `event_id` is the batch id and the other fields are
    /// its first event's).
    pub batch: Option<&'a [Member]>,
}

/// A template version ready to render.
pub(crate) struct Compiled {
    /// The version.
    pub version: TemplateVersion,
    /// Its body template; `None` for the automatic conversion.
    env: Option<Environment<'static>>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Compiled({})", self.version.pin())
    }
}

impl Compiled {
    /// Compiles `version`'s body for its format.
    pub(crate) fn compile(version: TemplateVersion) -> Result<Self, CompileError> {
        let env = match &version.body {
            None => None,
            Some(source) => Some(environment(version.format, source)?),
        };
        Ok(Self { version, env })
    }

    /// The body for `event`.
    pub(crate) fn render(&self, event: &EventView<'_>) -> Result<Bytes, RenderError> {
        let failed = |message: String| RenderError {
            template: self.version.pin().to_string(),
            message,
        };
        let Some(env) = &self.env else {
            return Ok(automatic(self.version.format, event));
        };
        let template = env
            .get_template(TEMPLATE)
            .map_err(|e| failed(describe(&e)))?;
        let rendered = template
            .render(context(event))
            .map_err(|e| failed(describe(&e)))?;
        if rendered.len() > MAX_OUTPUT {
            return Err(failed(format!(
                "the output is {} bytes, more than the {MAX_OUTPUT} a webhook may carry",
                rendered.len()
            )));
        }
        let body = match self.version.format {
            BodyFormat::Json => {
                serde_json::from_str::<serde::de::IgnoredAny>(&rendered)
                    .map_err(|e| failed(format!("the output is not JSON: {e}")))?;
                rendered
            }
            BodyFormat::Xml => {
                check_xml(&rendered).map_err(|e| failed(format!("the output is not XML: {e}")))?;
                rendered
            }
            BodyFormat::Form => {
                let object: serde_json::Value = serde_json::from_str(&rendered)
                    .map_err(|e| failed(format!("the output is not a JSON object: {e}")))?;
                form(&object).map_err(failed)?
            }
            BodyFormat::Text => rendered,
        };
        Ok(Bytes::from(body))
    }
}

/// An environment holding `source`, escaping for `format`.
fn environment(format: BodyFormat, source: &str) -> Result<Environment<'static>, CompileError> {
    let mut env = Environment::new();
    let escape = match format {
        // Forms are rendered as a JSON object, then encoded.
        BodyFormat::Json | BodyFormat::Form => AutoEscape::Json,
        BodyFormat::Xml => AutoEscape::Html,
        BodyFormat::Text => AutoEscape::None,
    };
    env.set_auto_escape_callback(move |_| escape);
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    env.add_template_owned(TEMPLATE, source.to_owned())
        .map_err(|e| compile_error(&e, source))?;
    Ok(env)
}

fn compile_error(error: &minijinja::Error, source: &str) -> CompileError {
    let message = error
        .detail()
        .map_or_else(|| error.kind().to_string(), std::borrow::ToOwned::to_owned);
    let (line, column) = match error.range() {
        Some(range) => {
            let before = &source[..range.start.min(source.len())];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            (line, before[line_start..].chars().count() + 1)
        }
        None => (error.line().unwrap_or(1), 1),
    };
    CompileError {
        message,
        line,
        column,
    }
}

fn describe(error: &minijinja::Error) -> String {
    let message = error
        .detail()
        .map_or_else(|| error.to_string(), std::borrow::ToOwned::to_owned);
    match error.line() {
        Some(line) => format!("{message} (line {line})"),
        None => message,
    }
}

/// The variables a template sees (documented in docs/templates.md).
fn context(event: &EventView<'_>) -> Value {
    let data: Value = serde_json::from_slice(event.data).unwrap_or(Value::from(()));
    let event_value = Value::from_iter([
        ("id", Value::from(event.event_id)),
        ("type", Value::from(event.event_type)),
        ("timestamp", Value::from(rfc3339(event.timestamp))),
        ("tenant", Value::from(event.tenant.as_str())),
        (
            "correlation_id",
            event.correlation_id.map_or(Value::from(()), Value::from),
        ),
    ]);
    let endpoint = Value::from_iter([
        ("id", Value::from(event.endpoint.id.as_str())),
        (
            "description",
            Value::from(event.endpoint.description.as_str()),
        ),
        ("metadata", Value::from_serialize(&event.endpoint.metadata)),
    ]);
    let mut variables = vec![
        ("data", data),
        ("event", event_value),
        ("endpoint", endpoint),
        ("attempt", Value::from(event.attempt)),
    ];
    if let Some(members) = event.batch {
        let events = members.iter().map(|m| {
            Value::from_iter([
                ("id", Value::from(m.id.as_str())),
                ("type", Value::from(m.event_type.as_str())),
                ("timestamp", Value::from(rfc3339(m.time()))),
                (
                    "correlation_id",
                    m.correlation_id
                        .as_deref()
                        .map_or(Value::from(()), Value::from),
                ),
                (
                    "data",
                    serde_json::from_str(m.data.get()).unwrap_or(Value::from(())),
                ),
            ])
        });
        variables.push(("events", events.collect::<Value>()));
        variables.push((
            "batch",
            Value::from_iter([
                ("id", Value::from(event.event_id)),
                ("size", Value::from(members.len())),
            ]),
        ));
    }
    Value::from_iter(variables)
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A version without a body: the standard envelope, as JSON, converted to XML (members
/// `type`, `timestamp`, `data` in that order) or sent as those three form fields.
fn automatic(format: BodyFormat, event: &EventView<'_>) -> Bytes {
    if let Some(members) = event.batch {
        return automatic_batch(format, event.event_id, members);
    }
    if matches!(format, BodyFormat::Json | BodyFormat::Text) {
        return request::body(event.event_type, event.timestamp, event.data);
    }
    let data: serde_json::Value =
        serde_json::from_slice(event.data).unwrap_or(serde_json::Value::Null);
    let timestamp = rfc3339(event.timestamp);
    if format == BodyFormat::Xml {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><webhook>");
        xml_element(&mut out, "type", &serde_json::Value::from(event.event_type));
        xml_element(&mut out, "timestamp", &serde_json::Value::from(timestamp));
        xml_element(&mut out, "data", &data);
        out.push_str("</webhook>");
        Bytes::from(out)
    } else {
        let mut fields = url::form_urlencoded::Serializer::new(String::new());
        fields.append_pair("type", event.event_type);
        fields.append_pair("timestamp", &timestamp);
        fields.append_pair("data", &data.to_string());
        Bytes::from(fields.finish())
    }
}

/// A batch without a body: the JSON array of envelopes, as XML `<webhooks>` of `<webhook>`
/// elements (`id`, `type`, `timestamp`, `data`), or the form fields `batch_id` and `events`
/// (the JSON array).
fn automatic_batch(format: BodyFormat, batch_id: &str, members: &[Member]) -> Bytes {
    let array = request::batch_body(members);
    match format {
        BodyFormat::Json | BodyFormat::Text => array,
        BodyFormat::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><webhooks>");
            for m in members {
                let data: serde_json::Value =
                    serde_json::from_str(m.data.get()).unwrap_or(serde_json::Value::Null);
                out.push_str("<webhook>");
                xml_element(&mut out, "id", &serde_json::Value::from(m.id.as_str()));
                xml_element(
                    &mut out,
                    "type",
                    &serde_json::Value::from(m.event_type.as_str()),
                );
                xml_element(
                    &mut out,
                    "timestamp",
                    &serde_json::Value::from(rfc3339(m.time())),
                );
                xml_element(&mut out, "data", &data);
                out.push_str("</webhook>");
            }
            out.push_str("</webhooks>");
            Bytes::from(out)
        }
        BodyFormat::Form => {
            let mut fields = url::form_urlencoded::Serializer::new(String::new());
            fields.append_pair("batch_id", batch_id);
            fields.append_pair("events", &String::from_utf8_lossy(&array));
            Bytes::from(fields.finish())
        }
    }
}

/// A JSON object as form fields: strings as they are, numbers and booleans as written in
/// JSON, `null` as an empty value, arrays and objects as JSON text.
fn form(value: &serde_json::Value) -> Result<String, String> {
    let serde_json::Value::Object(members) = value else {
        return Err(
            "a form template must render a JSON object (its members are the fields)".into(),
        );
    };
    let mut fields = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in members {
        match value {
            serde_json::Value::String(text) => fields.append_pair(name, text),
            serde_json::Value::Null => fields.append_pair(name, ""),
            other => fields.append_pair(name, &other.to_string()),
        };
    }
    Ok(fields.finish())
}

/// Checks that `text` is one well-formed XML element (with an optional prolog).
fn check_xml(text: &str) -> Result<(), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0_usize;
    let mut roots = 0_usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("{e} at byte {}", reader.error_position()))?;
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Empty(_) if depth == 0 => roots += 1,
            Event::Text(text) if depth == 0 && !text.trim().is_empty() => {
                return Err("text outside the root element".into());
            }
            Event::Eof => break,
            _ => {}
        }
        if roots > 1 {
            return Err("more than one root element".into());
        }
    }
    if depth > 0 {
        return Err("an element is not closed".into());
    }
    if roots == 0 {
        return Err("no root element".into());
    }
    Ok(())
}

/// `value` as the element `<key>`: members become elements named by their keys (in key
/// order), array items `<item>` elements, scalars text (`null`: an empty element). A key
/// that is not an XML name is made one (other characters become `_`, a leading `_` where it
/// must) and the original kept in a `key` attribute.
fn xml_element(out: &mut String, key: &str, value: &serde_json::Value) {
    let name = xml_name(key);
    out.push('<');
    out.push_str(&name);
    if name != key {
        out.push_str(" key=\"");
        escape_xml(out, key);
        out.push('"');
    }
    out.push('>');
    match value {
        serde_json::Value::Null => {}
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => out.push_str(&n.to_string()),
        serde_json::Value::String(text) => escape_xml(out, text),
        serde_json::Value::Array(items) => {
            for item in items {
                xml_element(out, "item", item);
            }
        }
        serde_json::Value::Object(members) => {
            for (key, member) in members {
                xml_element(out, key, member);
            }
        }
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// `key` as an XML element name.
fn xml_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_');
    if !starts_well || name.to_ascii_lowercase().starts_with("xml") {
        name.insert(0, '_');
    }
    name
}

fn escape_xml(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use hookwire_protocol::endpoint::CreateEndpoint;
    use hookwire_protocol::template::{CreateTemplate, presets};

    fn endpoint() -> Endpoint {
        let (endpoint, _, _) = CreateEndpoint {
            url: "https://example.com/hook".into(),
            description: Some("ops channel".into()),
            metadata: Some(BTreeMap::from([("channel".into(), "#ops".into())])),
            ..CreateEndpoint::default()
        }
        .into_endpoint(
            Tenant::default(),
            "ep_1".into(),
            hookwire_protocol::Secret::generate(),
            Utc::now(),
        )
        .expect("valid");
        endpoint
    }

    fn version(format: BodyFormat, body: Option<&str>) -> TemplateVersion {
        CreateTemplate {
            name: "t".into(),
            format: Some(format),
            body: body.map(str::to_owned),
            ..CreateTemplate::default()
        }
        .into_version(Utc::now())
        .expect("valid")
    }

    fn render_with(format: BodyFormat, body: Option<&str>, data: &[u8]) -> Result<String, String> {
        let compiled = Compiled::compile(version(format, body)).map_err(|e| e.to_string())?;
        let endpoint = endpoint();
        let tenant = Tenant::default();
        let event = EventView {
            data,
            event_type: "orders.paid",
            event_id: "evt_1",
            timestamp: DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            tenant: &tenant,
            correlation_id: Some("c-9"),
            attempt: 2,
            endpoint: &endpoint,
            batch: None,
        };
        compiled
            .render(&event)
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .map_err(|e| e.to_string())
    }

    fn json(body: &str, data: &[u8]) -> serde_json::Value {
        serde_json::from_str(&render_with(BodyFormat::Json, Some(body), data).unwrap()).unwrap()
    }

    #[test]
    fn every_documented_variable_is_there() {
        let out = json(
            r#"{"d": {{ data.order.id }}, "id": {{ event.id }}, "type": {{ event.type }}, "ts": {{ event.timestamp }}, "tenant": {{ event.tenant }}, "corr": {{ event.correlation_id }}, "ep": {{ endpoint.id }}, "desc": {{ endpoint.description }}, "ch": {{ endpoint.metadata.channel }}, "n": {{ attempt }}}"#,
            br#"{"order": {"id": "o \"1\""}}"#,
        );
        assert_eq!(
            out,
            serde_json::json!({"d": "o \"1\"", "id": "evt_1", "type": "orders.paid",
                "ts": "2026-11-28T10:00:00.000Z", "tenant": "default", "corr": "c-9",
                "ep": "ep_1", "desc": "ops channel", "ch": "#ops", "n": 2})
        );
    }

    #[test]
    fn json_expressions_are_escaped_and_the_output_checked() {
        let out = json(
            r#"{"text": {{ data.text }}}"#,
            br#"{"text": "a\",\"b\": \"c"}"#,
        );
        assert_eq!(
            out,
            serde_json::json!({"text": "a\",\"b\": \"c"}),
            "no injection"
        );
        let missing = json(r#"{"x": {{ data.nothing.deeper }}}"#, b"{}");
        assert_eq!(missing, serde_json::json!({"x": null}));
        let not_json = render_with(
            BodyFormat::Json,
            Some("{{ data.a | safe }} and"),
            br#"{"a": "x"}"#,
        )
        .unwrap_err();
        assert!(
            not_json.contains("not JSON") && not_json.contains("t v1"),
            "{not_json}"
        );
        let raw = json("{{ data | tojson }}", br#"{"b": [1, 2]}"#);
        assert_eq!(raw, serde_json::json!({"b": [1, 2]}));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let error = Compiled::compile(version(
            BodyFormat::Json,
            Some("{\n  \"a\": {{ data.a }\n}"),
        ))
        .unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        assert!(error.column > 1, "{error}");
        let unknown =
            Compiled::compile(version(BodyFormat::Text, Some("{{ data | nosuchfilter }}")));
        // Unknown filters are found when rendering in minijinja; either way it is reported.
        if let Ok(compiled) = unknown {
            let endpoint = endpoint();
            let tenant = Tenant::default();
            let event = EventView {
                data: b"{}",
                event_type: "a.b",
                event_id: "e",
                timestamp: Utc::now(),
                tenant: &tenant,
                correlation_id: None,
                attempt: 1,
                endpoint: &endpoint,
                batch: None,
            };
            let error = compiled.render(&event).unwrap_err();
            assert!(error.message.contains("nosuchfilter"), "{error}");
        }
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let error = render_with(
            BodyFormat::Text,
            Some(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            ),
            b"{}",
        )
        .unwrap_err();
        assert!(error.contains("fuel"), "{error}");
    }

    #[test]
    fn xml_templates_escape_and_must_be_well_formed() {
        let out = render_with(
            BodyFormat::Xml,
            Some("<order id=\"{{ data.id }}\"><note>{{ data.note }}</note></order>"),
            br#"{"id": "1\"", "note": "<b>&</b>"}"#,
        )
        .unwrap();
        assert!(check_xml(&out).is_ok(), "{out}");
        assert!(
            out.contains("&lt;b&gt;&amp;&lt;") && out.contains("id=\"1&quot;\""),
            "{out}"
        );
        for broken in ["<a><b></a>", "<a/><b/>", "just text", "<a>"] {
            let error = render_with(BodyFormat::Xml, Some(broken), b"{}").unwrap_err();
            assert!(error.contains("not XML"), "{broken}: {error}");
        }
    }

    #[test]
    fn the_envelope_converts_to_xml_by_the_documented_mapping() {
        let out = render_with(
            BodyFormat::Xml,
            None,
            br#"{"id": 7, "ok": true, "none": null, "tags": ["a", "b"], "2nd key": "<x>", "xmlns": 1}"#,
        )
        .unwrap();
        assert!(check_xml(&out).is_ok(), "{out}");
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><webhook><type>orders.paid</type>\
             <timestamp>2026-11-28T10:00:00.000Z</timestamp><data><_2nd_key key=\"2nd key\">&lt;x&gt;</_2nd_key>\
             <id>7</id><none></none><ok>true</ok><tags><item>a</item><item>b</item></tags>\
             <_xmlns key=\"xmlns\">1</_xmlns></data></webhook>"
        );
    }

    #[test]
    fn forms_come_from_a_json_object() {
        let out = render_with(
            BodyFormat::Form,
            Some(r#"{"title": {{ "New " ~ event.type }}, "n": {{ data.n }}, "list": {{ data.list }}, "none": null}"#),
            br#"{"n": 3, "list": [1, "a&b"]}"#,
        )
        .unwrap();
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(out.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            fields,
            [
                ("list".into(), r#"[1,"a&b"]"#.into()),
                ("n".into(), "3".into()),
                ("none".into(), String::new()),
                ("title".into(), "New orders.paid".into())
            ]
        );
        let not_object = render_with(BodyFormat::Form, Some("[1]"), b"{}").unwrap_err();
        assert!(not_object.contains("JSON object"), "{not_object}");
        let automatic = render_with(BodyFormat::Form, None, br#"{"a": 1}"#).unwrap();
        let fields: BTreeMap<String, String> = url::form_urlencoded::parse(automatic.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(fields["type"], "orders.paid");
        assert_eq!(fields["data"], r#"{"a":1}"#);
    }

    #[test]
    fn text_is_sent_as_rendered_and_json_without_a_body_is_the_envelope() {
        let out = render_with(
            BodyFormat::Text,
            Some("{{ event.type }}: {{ data.a }}"),
            br#"{"a": "<&>"}"#,
        )
        .unwrap();
        assert_eq!(out, "orders.paid: <&>");
        let envelope = render_with(BodyFormat::Json, None, br#"{"a": 1}"#).unwrap();
        assert_eq!(
            envelope.as_bytes(),
            &request::body(
                "orders.paid",
                DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
                br#"{"a": 1}"#
            )[..]
        );
    }

    #[test]
    fn every_preset_compiles_and_renders_what_its_receiver_takes() {
        let data = br#"{"order": "o_1", "note": "`quotes` \" and @everyone"}"#;
        for preset in presets() {
            let out = render_with(preset.format, Some(&preset.body), data)
                .unwrap_or_else(|e| panic!("{}: {e}", preset.name));
            let value: serde_json::Value = serde_json::from_str(&out).unwrap();
            let text = match preset.name.as_str() {
                "slack" => value["text"].as_str().map(str::to_owned),
                "discord" => {
                    assert_eq!(value["allowed_mentions"]["parse"], serde_json::json!([]));
                    let content = value["content"].as_str().unwrap().to_owned();
                    assert!(content.chars().count() <= 2000);
                    Some(content)
                }
                "teams" => {
                    let card = &value["attachments"][0]["content"];
                    assert_eq!(card["type"], "AdaptiveCard");
                    card["body"][2]["text"].as_str().map(str::to_owned)
                }
                "github-issue" => {
                    assert!(value["title"].as_str().unwrap().contains("orders.paid"));
                    value["body"].as_str().map(str::to_owned)
                }
                other => panic!("untested preset {other}"),
            };
            let text = text.unwrap_or_default();
            assert!(
                text.contains("o_1") && text.contains("@everyone"),
                "{}: {text}",
                preset.name
            );
        }
        let huge = format!(r#"{{"blob": "{}"}}"#, "x".repeat(10_000));
        let discord = presets().into_iter().find(|p| p.name == "discord").unwrap();
        let out = render_with(BodyFormat::Json, Some(&discord.body), huge.as_bytes()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(value["content"].as_str().unwrap().chars().count() <= 2000);
    }

    #[test]
    fn a_batch_renders_through_events_and_converts_without_a_body() {
        use serde_json::value::RawValue;
        let member = |id: &str, n: u32| Member {
            id: id.to_owned(),
            seq: 1,
            event_type: "orders.paid".to_owned(),
            time_ms: 1_795_000_000_000,
            correlation_id: None,
            data: RawValue::from_string(format!(r#"{{"n": {n}}}"#)).unwrap(),
        };
        let members = [member("e1", 1), member("e2", 2)];
        let endpoint = endpoint();
        let tenant = Tenant::default();
        let render = |format: BodyFormat, body: Option<&str>| {
            Compiled::compile(version(format, body))
                .unwrap()
                .render(&EventView {
                    data: members[0].data.get().as_bytes(),
                    event_type: "orders.paid",
                    event_id: "bat_1",
                    timestamp: members[0].time(),
                    tenant: &tenant,
                    correlation_id: None,
                    attempt: 1,
                    endpoint: &endpoint,
                    batch: Some(&members),
                })
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
        };
        let out = render(
            BodyFormat::Json,
            Some(r#"{"batch": {{ batch.id }}, "size": {{ batch.size }}, "sum": {{ events | map(attribute="data.n") | sum }}, "ids": {{ events | map(attribute="id") | list }}}"#),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&out).unwrap(),
            serde_json::json!({"batch": "bat_1", "size": 2, "sum": 3, "ids": ["e1", "e2"]})
        );
        let array: serde_json::Value =
            serde_json::from_str(&render(BodyFormat::Json, None).unwrap()).unwrap();
        assert_eq!(array[1]["id"], "e2");
        assert_eq!(array[1]["data"], serde_json::json!({"n": 2}));
        let xml = render(BodyFormat::Xml, None).unwrap();
        assert!(check_xml(&xml).is_ok(), "{xml}");
        assert!(
            xml.contains("<webhooks><webhook><id>e1</id><type>orders.paid</type>"),
            "{xml}"
        );
        let form = render(BodyFormat::Form, None).unwrap();
        let fields: std::collections::BTreeMap<String, String> =
            url::form_urlencoded::parse(form.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(fields["batch_id"], "bat_1");
        assert!(fields["events"].starts_with(r#"[{"id":"e1""#), "{form}");
    }

    #[test]
    fn xml_names_follow_the_documented_rules() {
        assert_eq!(xml_name("order_id"), "order_id");
        assert_eq!(xml_name("a b"), "a_b");
        assert_eq!(xml_name("1st"), "_1st");
        assert_eq!(xml_name(""), "_");
        assert_eq!(xml_name("XmlThing"), "_XmlThing");
        assert_eq!(xml_name("ünï"), "ünï");
    }
}
