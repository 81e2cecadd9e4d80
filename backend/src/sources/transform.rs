//! What a source publishes: the request body read as JSON, form fields or text, and the
//! source's template (minijinja) applied to it.
//!
//! Templates render with JSON auto-escaping: every `{{ expression }}` is written as JSON, so
//! `{"action": {{ body.action }}}` stays valid JSON whatever the provider sent. The output
//! must be JSON; anything else is a failure recorded for the request, never a crash.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// The one template of an environment.
const TEMPLATE: &str = "transform";
/// Steps one rendering may take (a runaway loop is stopped, not run forever).
const FUEL: u64 = 200_000;

/// A request's body, read by its content type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Body {
    /// What templates see as `body` and JSON Pointers read: JSON as is, form fields as an
    /// object of strings, text as a string.
    pub value: Value,
    /// Whether the body is JSON (then it is published byte for byte when no template).
    pub is_json: bool,
}

/// Reads `bytes` by `content_type`: JSON when it says so (or says nothing and it parses),
/// form fields for `application/x-www-form-urlencoded`, text otherwise.
#[must_use]
pub(crate) fn read_body(bytes: &[u8], content_type: Option<&str>) -> Body {
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    let says_json = media
        .as_deref()
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
    if (says_json || media.is_none())
        && let Ok(value) = serde_json::from_slice::<Value>(bytes)
    {
        return Body {
            value,
            is_json: true,
        };
    }
    if media.as_deref() == Some("application/x-www-form-urlencoded") {
        let fields: Map<String, Value> = url::form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Body {
            value: Value::Object(fields),
            is_json: false,
        };
    }
    Body {
        value: Value::String(String::from_utf8_lossy(bytes).into_owned()),
        is_json: false,
    }
}

/// The payload published without a template: a JSON body as is, anything else wrapped as
/// `{"content_type", "body"}` (plus `"form"` with the fields of a form, or `"body_base64"`
/// instead of `"body"` for bytes that are not UTF-8).
#[must_use]
pub(crate) fn default_payload(bytes: &[u8], content_type: Option<&str>, body: &Body) -> Vec<u8> {
    if body.is_json {
        return bytes.to_vec();
    }
    let mut wrapped = Map::new();
    wrapped.insert(
        "content_type".into(),
        content_type.map_or(Value::Null, |ct| Value::String(ct.to_owned())),
    );
    if let Ok(text) = std::str::from_utf8(bytes) {
        wrapped.insert("body".into(), Value::String(text.to_owned()));
    } else {
        use base64::Engine as _;
        wrapped.insert(
            "body_base64".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
    }
    if body.value.is_object() {
        wrapped.insert("form".into(), body.value.clone());
    }
    serde_json::to_vec(&Value::Object(wrapped)).unwrap_or_default()
}

/// What a template sees besides the body.
pub(crate) struct Request<'a> {
    /// Headers, lowercase names.
    pub headers: &'a BTreeMap<String, String>,
    /// Query parameters.
    pub query: &'a BTreeMap<String, String>,
    /// The content type sent.
    pub content_type: Option<&'a str>,
    /// The source's name.
    pub source: &'a str,
    /// The event type found.
    pub event_type: &'a str,
}

/// A compiled template.
pub(crate) struct Template {
    env: Environment<'static>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Template")
    }
}

impl Template {
    /// Compiles `source`; a syntax error names its line.
    pub(crate) fn compile(source: &str) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Json);
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        env.add_filter("fromjson", |text: String| {
            serde_json::from_str::<Value>(&text)
                .map(minijinja::Value::from_serialize)
                .map_err(|e| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("fromjson: {e}"),
                    )
                })
        });
        env.add_template_owned(TEMPLATE, source.to_owned())
            .map_err(|e| describe(&e))?;
        Ok(Self { env })
    }

    /// Renders the payload for `body` and `request`; the output must be JSON.
    pub(crate) fn render(&self, body: &Body, request: &Request<'_>) -> Result<Vec<u8>, String> {
        let template = self.env.get_template(TEMPLATE).map_err(|e| describe(&e))?;
        let context = minijinja::context! {
            body => minijinja::Value::from_serialize(&body.value),
            headers => request.headers,
            query => request.query,
            content_type => request.content_type,
            source => request.source,
            event_type => request.event_type,
        };
        let rendered = template.render(context).map_err(|e| describe(&e))?;
        serde_json::from_str::<serde::de::IgnoredAny>(&rendered)
            .map_err(|e| format!("the template's output is not JSON: {e}"))?;
        Ok(rendered.into_bytes())
    }
}

fn describe(error: &minijinja::Error) -> String {
    match error.line() {
        Some(line) => format!(
            "{} (line {line})",
            error.detail().unwrap_or(&error.to_string())
        ),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        headers: &'a BTreeMap<String, String>,
        query: &'a BTreeMap<String, String>,
    ) -> Request<'a> {
        Request {
            headers,
            query,
            content_type: Some("application/json"),
            source: "github",
            event_type: "push",
        }
    }

    fn render(template: &str, body: &[u8]) -> Result<Value, String> {
        let headers = BTreeMap::from([("x-github-event".to_owned(), "push".to_owned())]);
        let query = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        let body = read_body(body, Some("application/json"));
        let out = Template::compile(template)?.render(&body, &request(&headers, &query))?;
        Ok(serde_json::from_slice(&out).unwrap())
    }

    #[test]
    fn bodies_are_read_by_content_type() {
        assert!(read_body(br#"{"a":1}"#, None).is_json);
        assert!(
            read_body(
                br#"{"a":1}"#,
                Some("application/vnd.api+json; charset=utf-8")
            )
            .is_json
        );
        let form = read_body(
            b"a=1&b=two+words",
            Some("application/x-www-form-urlencoded"),
        );
        assert_eq!(form.value, serde_json::json!({"a": "1", "b": "two words"}));
        let xml = read_body(b"<a/>", Some("application/xml"));
        assert_eq!(xml.value, Value::String("<a/>".into()));
        assert!(!read_body(b"{not json", Some("application/json")).is_json);
    }

    #[test]
    fn without_a_template_json_passes_byte_for_byte_and_the_rest_is_wrapped() {
        let json = br#"{ "b": 1,  "a": 2 }"#;
        assert_eq!(default_payload(json, None, &read_body(json, None)), json);
        let ct = Some("application/x-www-form-urlencoded");
        let form = b"payload=%7B%7D&x=1";
        let wrapped: Value =
            serde_json::from_slice(&default_payload(form, ct, &read_body(form, ct))).unwrap();
        assert_eq!(
            wrapped,
            serde_json::json!({"content_type": ct, "body": "payload=%7B%7D&x=1", "form": {"payload": "{}", "x": "1"}})
        );
        let bytes = [0xff_u8, 0xfe];
        let ct = Some("application/octet-stream");
        let binary: Value =
            serde_json::from_slice(&default_payload(&bytes, ct, &read_body(&bytes, ct))).unwrap();
        assert_eq!(binary["body_base64"], "//4=");
    }

    #[test]
    fn templates_see_body_headers_query_and_escape_as_json() {
        let out = render(
            r#"{"repo": {{ body.repository.name }}, "event": {{ headers["x-github-event"] }}, "env": {{ query.env }}, "type": {{ event_type }}, "n": {{ body.commits | length }}}"#,
            br#"{"repository": {"name": "a \"quoted\" name"}, "commits": [1, 2]}"#,
        )
        .unwrap();
        assert_eq!(
            out,
            serde_json::json!({"repo": "a \"quoted\" name", "event": "push", "env": "prod", "type": "push", "n": 2})
        );
    }

    #[test]
    fn fromjson_reads_embedded_json() {
        let out = render(
            r"{{ (body.payload | fromjson).type }}",
            br#"{"payload": "{\"type\": \"block_actions\"}"}"#,
        )
        .unwrap();
        assert_eq!(out, Value::String("block_actions".into()));
    }

    #[test]
    fn errors_are_reported_not_raised() {
        let syntax = Template::compile("{{ body.a ").unwrap_err();
        assert!(syntax.contains("line 1"), "{syntax}");
        let not_json = render("{{ body.a | safe }} and more", br#"{"a": "x"}"#).unwrap_err();
        assert!(not_json.contains("not JSON"), "{not_json}");
        let runaway = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}1",
            b"{}",
        )
        .unwrap_err();
        assert!(runaway.contains("fuel"), "{runaway}");
        let missing = render(r#"{"x": {{ body.nothing.here }}}"#, b"{}").unwrap();
        assert_eq!(
            missing,
            serde_json::json!({"x": null}),
            "a missing field is null"
        );
    }
}
