//! A source's rules for reading an incoming request: where its event type and its delivery
//! id come from ([`ValueFrom`]), and routing by content ([`TypeRule`]): the first rule whose
//! filter the body passes names the event type, and so the subject.
//!
//! Validated at save, with the failing part named (`type_from.join[1]`,
//! `type_rules[0].when.all[2]`); read by [`crate::inbound`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::content_filter::ContentFilter;

/// The longest header name, pointer or fixed value in a rule.
pub(super) const MAX_RULE_LEN: usize = 256;
/// Parts one `join` or `first_of` may have.
pub const MAX_RULE_PARTS: usize = 8;
/// `join` and `first_of` nest at most this deep.
pub const MAX_RULE_DEPTH: usize = 3;
/// Routing rules one source may have.
pub const MAX_TYPE_RULES: usize = 32;
/// The most dot-separated tokens an incoming event type keeps (more are dropped).
pub const MAX_TYPE_TOKENS: usize = 8;
/// The longest incoming event type (tokens past it are dropped).
pub const MAX_TYPE_LEN: usize = 128;

/// Where a value (the event type, the delivery id) is read from a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueFrom {
    /// A request header (name matched case-insensitively).
    Header(String),
    /// A JSON Pointer into the body (`/type`, `/data/object/id`); form bodies are read as
    /// an object of their fields.
    Field(String),
    /// Always this value (types only).
    Fixed(String),
    /// The first of these that finds a value (`X-Request-UUID`, else `X-Request-Id`).
    FirstOf(Vec<ValueFrom>),
    /// These together. A type joins the values found with `.` (GitHub's event and action:
    /// `pull_request.opened`, or `ping` when there is no action); an id needs every one
    /// and joins them with `:` (a build's number and phase), else there is none.
    Join(Vec<ValueFrom>),
}

impl ValueFrom {
    /// Checks the rule; `field` names it in errors (`type_from`). A fixed value is for
    /// types only (`fixed_allowed`).
    pub(super) fn validate(self, field: &str, fixed_allowed: bool) -> Result<Self, AdminError> {
        self.check(field, fixed_allowed, 1)
    }

    fn check(self, at: &str, fixed_allowed: bool, depth: usize) -> Result<Self, AdminError> {
        let invalid = |message: &str| AdminError::invalid(at, message);
        match self {
            Self::Header(name) => {
                let name = name.to_ascii_lowercase();
                if name.len() > 64 || !crate::headers::is_token(&name) {
                    return Err(invalid("header: not a valid HTTP header name"));
                }
                Ok(Self::Header(name))
            }
            Self::Field(pointer) => {
                if pointer.len() > MAX_RULE_LEN || !pointer.starts_with('/') {
                    return Err(invalid(
                        "field: a JSON Pointer such as /type or /data/object/id",
                    ));
                }
                Ok(Self::Field(pointer))
            }
            Self::Fixed(_) if !fixed_allowed => Err(invalid(
                "fixed is for types only; a fixed id would make every request a duplicate",
            )),
            Self::Fixed(value) => {
                if value.len() > MAX_RULE_LEN || crate::EventType::new(&value).is_err() {
                    return Err(invalid(
                        "fixed: an event type of dot-separated tokens (A-Z a-z 0-9 - _)",
                    ));
                }
                Ok(Self::Fixed(value))
            }
            Self::FirstOf(parts) => {
                check_parts(parts, &format!("{at}.first_of"), fixed_allowed, depth)
                    .map(Self::FirstOf)
            }
            Self::Join(parts) => {
                check_parts(parts, &format!("{at}.join"), fixed_allowed, depth).map(Self::Join)
            }
        }
    }
}

fn check_parts(
    parts: Vec<ValueFrom>,
    at: &str,
    fixed_allowed: bool,
    depth: usize,
) -> Result<Vec<ValueFrom>, AdminError> {
    if depth >= MAX_RULE_DEPTH {
        return Err(AdminError::invalid(
            at,
            format!("join and first_of nest at most {MAX_RULE_DEPTH} deep"),
        ));
    }
    if !(1..=MAX_RULE_PARTS).contains(&parts.len()) {
        return Err(AdminError::invalid(at, format!("1-{MAX_RULE_PARTS} rules")));
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| part.check(&format!("{at}[{i}]"), fixed_allowed, depth + 1))
        .collect()
}

impl fmt::Display for ValueFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, parts: &[Self]| {
            write!(f, "{name}(")?;
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{part}")?;
            }
            f.write_str(")")
        };
        match self {
            Self::Header(name) => write!(f, "header {name}"),
            Self::Field(pointer) => write!(f, "field {pointer}"),
            Self::Fixed(value) => write!(f, "fixed {value}"),
            Self::FirstOf(parts) => list(f, "first_of", parts),
            Self::Join(parts) => list(f, "join", parts),
        }
    }
}

/// Routing by content: a request whose body passes `when` gets the event type `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeRule {
    /// The filter the body must pass (the content filters of endpoints: `{"all": [{"path":
    /// "/priority", "ge": 8}]}`); a form body is an object of its fields.
    pub when: ContentFilter,
    /// The event type it then gets (`leads.hot`).
    #[serde(rename = "type")]
    pub event_type: String,
}

/// Checks routing rules; `field` names them in errors (`type_rules`).
pub(super) fn validate_type_rules(
    rules: Vec<TypeRule>,
    field: &str,
) -> Result<Vec<TypeRule>, AdminError> {
    if rules.len() > MAX_TYPE_RULES {
        return Err(AdminError::invalid(
            field,
            format!("at most {MAX_TYPE_RULES} rules"),
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        rule.when.validate_at(&format!("{field}[{i}].when"))?;
        let type_ok = rule.event_type.len() <= MAX_TYPE_LEN
            && rule.event_type.split('.').count() <= MAX_TYPE_TOKENS
            && crate::EventType::new(&rule.event_type).is_ok();
        if !type_ok {
            return Err(AdminError::invalid(
                format!("{field}[{i}].type"),
                format!(
                    "an event type of at most {MAX_TYPE_TOKENS} dot-separated tokens \
                     (A-Z a-z 0-9 - _), {MAX_TYPE_LEN} characters"
                ),
            ));
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(value: serde_json::Value) -> ValueFrom {
        serde_json::from_value(value).unwrap()
    }

    fn field_of(error: &AdminError) -> String {
        error.field.clone().unwrap_or_default()
    }

    #[test]
    fn composite_rules_validate_each_part_and_name_the_failing_one() {
        let github = rule(json!({"join": [{"header": "X-GitHub-Event"}, {"field": "/action"}]}));
        assert_eq!(
            github.validate("type_from", true).unwrap(),
            ValueFrom::Join(vec![
                ValueFrom::Header("x-github-event".into()),
                ValueFrom::Field("/action".into()),
            ]),
            "header names are kept lowercase"
        );
        let bad = rule(json!({"first_of": [{"header": "x-a"}, {"field": "no-slash"}]}));
        let error = bad.validate("id_from", false).unwrap_err();
        assert_eq!(field_of(&error), "id_from.first_of[1]");

        let fixed_id = rule(json!({"join": [{"fixed": "build"}, {"field": "/n"}]}));
        let error = fixed_id.validate("id_from", false).unwrap_err();
        assert_eq!(field_of(&error), "id_from.join[0]");
        assert!(
            rule(json!({"join": [{"fixed": "lead"}, {"field": "/priority"}]}))
                .validate("type_from", true)
                .is_ok()
        );

        let empty = rule(json!({"join": []}));
        assert_eq!(
            field_of(&empty.validate("type_from", true).unwrap_err()),
            "type_from.join"
        );
        let many = ValueFrom::FirstOf(vec![ValueFrom::Field("/a".into()); MAX_RULE_PARTS + 1]);
        assert!(many.validate("type_from", true).is_err());
        let mut deep = ValueFrom::Field("/a".into());
        for _ in 0..MAX_RULE_DEPTH {
            deep = ValueFrom::Join(vec![deep]);
        }
        assert!(deep.validate("type_from", true).is_err(), "too deep");
        let mut allowed = ValueFrom::Field("/a".into());
        for _ in 1..MAX_RULE_DEPTH {
            allowed = ValueFrom::Join(vec![allowed]);
        }
        assert!(allowed.validate("type_from", true).is_ok());
    }

    #[test]
    fn rules_read_as_text() {
        let github = rule(
            json!({"join": [{"header": "x-github-event"}, {"first_of": [{"field": "/action"}, {"fixed": "none"}]}]}),
        );
        assert_eq!(
            github.to_string(),
            "join(header x-github-event, first_of(field /action, fixed none))"
        );
    }

    #[test]
    fn type_rules_validate_their_filters_and_types() {
        let rules = |value| serde_json::from_value::<Vec<TypeRule>>(value).unwrap();
        let good = rules(json!([
            {"when": {"all": [{"path": "/priority", "ge": 8}]}, "type": "leads.hot"},
            {"when": {"all": []}, "type": "leads.other"}
        ]));
        assert_eq!(
            validate_type_rules(good.clone(), "type_rules").unwrap(),
            good
        );

        let bad_filter = rules(json!([
            {"when": {"all": []}, "type": "a"},
            {"when": {"all": [{"path": "priority", "eq": 1}]}, "type": "b"}
        ]));
        let error = validate_type_rules(bad_filter, "type_rules").unwrap_err();
        assert!(
            field_of(&error).starts_with("type_rules[1].when"),
            "{error:?}"
        );

        for bad_type in ["", "a..b", "a b", "a.*", &["t"; 9].join(".")] {
            let bad = vec![TypeRule {
                when: ContentFilter::All(vec![]),
                event_type: bad_type.to_owned(),
            }];
            let error = validate_type_rules(bad, "type_rules").unwrap_err();
            assert_eq!(field_of(&error), "type_rules[0].type", "{bad_type:?}");
        }
        let too_many = vec![
            TypeRule {
                when: ContentFilter::All(vec![]),
                event_type: "a".into(),
            };
            MAX_TYPE_RULES + 1
        ];
        assert!(validate_type_rules(too_many, "type_rules").is_err());
        assert!(
            serde_json::from_value::<TypeRule>(json!({"when": {"all": []}, "type": "a", "x": 1}))
                .is_err(),
            "unknown fields are refused"
        );
    }
}
