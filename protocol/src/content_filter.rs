//! Content filters: an endpoint takes only the events whose data passes its predicates
//! (`{"all": [{"path": "/severity", "eq": "high"}]}`), beside its event-type filters.
//! Pure: validated at save with the failing predicate named, evaluated by fan-out on the
//! event's parsed data without I/O.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::AdminError;

/// Predicates one filter may hold in all, nested groups included.
pub const MAX_PREDICATES: usize = 32;
/// Groups nest at most this deep.
pub const MAX_DEPTH: usize = 4;
const MAX_PATH_LEN: usize = 256;
const MAX_IN_VALUES: usize = 64;

/// All or any of its parts must pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ContentFilter {
    /// Every part passes (an empty list passes everything).
    All(Vec<Part>),
    /// At least one part passes (an empty list passes nothing).
    Any(Vec<Part>),
}

/// A predicate or a nested group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Part {
    /// A test of one value of the data.
    Predicate(Predicate),
    /// A nested `all` or `any`.
    Group(ContentFilter),
}

/// One test of the value at a JSON Pointer into the event's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Predicate {
    /// A JSON Pointer (RFC 6901): `/severity`, `/order/lines/0/sku`; `""` is the whole data.
    pub path: String,
    /// The test.
    #[serde(flatten)]
    pub test: Test,
}

/// What a predicate checks. Numbers compare as numbers (`1` equals `1.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The value equals this one.
    Eq(Value),
    /// The value is absent or differs from this one.
    Ne(Value),
    /// The value equals one of these.
    In(Vec<Value>),
    /// The path is present (`true`) or absent (`false`); a `null` value is present.
    Exists(bool),
    /// Less than: both numbers, or both strings (by code point).
    Lt(Value),
    /// Less than or equal (as `lt`).
    Le(Value),
    /// Greater than (as `lt`).
    Gt(Value),
    /// Greater than or equal (as `lt`).
    Ge(Value),
    /// A string starting with this.
    Prefix(String),
}

impl ContentFilter {
    /// Checks the filter: pointers well formed, comparisons against a number or a string,
    /// limits kept. The error names the failing part as `filter.all[1].any[0]`.
    pub fn validate(&self) -> Result<(), AdminError> {
        self.validate_at("filter")
    }

    /// [`Self::validate`] for a filter found at `at` in a request (`type_rules[0].when`).
    pub fn validate_at(&self, at: &str) -> Result<(), AdminError> {
        let mut count = 0;
        self.check(at, 1, &mut count)
    }

    fn check(&self, at: &str, depth: usize, count: &mut usize) -> Result<(), AdminError> {
        if depth > MAX_DEPTH {
            return Err(AdminError::invalid(
                at,
                format!("groups nest at most {MAX_DEPTH} deep"),
            ));
        }
        let (name, parts) = self.parts();
        for (i, part) in parts.iter().enumerate() {
            let here = format!("{at}.{name}[{i}]");
            match part {
                Part::Group(group) => group.check(&here, depth + 1, count)?,
                Part::Predicate(predicate) => {
                    *count += 1;
                    if *count > MAX_PREDICATES {
                        return Err(AdminError::invalid(
                            here,
                            format!("a filter holds at most {MAX_PREDICATES} predicates"),
                        ));
                    }
                    predicate
                        .check()
                        .map_err(|why| AdminError::invalid(here, why))?;
                }
            }
        }
        Ok(())
    }

    fn parts(&self) -> (&'static str, &[Part]) {
        match self {
            Self::All(parts) => ("all", parts),
            Self::Any(parts) => ("any", parts),
        }
    }

    /// Whether `data` (the event's parsed JSON) passes.
    #[must_use]
    pub fn matches(&self, data: &Value) -> bool {
        let passes = |part: &Part| match part {
            Part::Predicate(predicate) => predicate.matches(data),
            Part::Group(group) => group.matches(data),
        };
        match self {
            Self::All(parts) => parts.iter().all(passes),
            Self::Any(parts) => parts.iter().any(passes),
        }
    }
}

/// Checks a JSON Pointer (RFC 6901) into event data.
pub(crate) fn check_pointer(path: &str) -> Result<(), String> {
    if path.len() > MAX_PATH_LEN {
        return Err(format!("path: at most {MAX_PATH_LEN} characters"));
    }
    if !path.is_empty() && !path.starts_with('/') {
        return Err(format!(
            "path {path:?} is not a JSON Pointer: write /{path}"
        ));
    }
    if let Some(bad) = bad_escape(path) {
        return Err(format!(
            "path {path:?}: `~` must be followed by 0 or 1 (found {bad:?})"
        ));
    }
    Ok(())
}

impl Predicate {
    fn check(&self) -> Result<(), String> {
        check_pointer(&self.path)?;
        match &self.test {
            Test::Lt(bound) | Test::Le(bound) | Test::Gt(bound) | Test::Ge(bound)
                if !(bound.is_number() || bound.is_string()) =>
            {
                Err("lt, le, gt and ge compare with a number or a string".to_owned())
            }
            Test::In(values) if values.len() > MAX_IN_VALUES => {
                Err(format!("in: at most {MAX_IN_VALUES} values"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the value at the path passes the test.
    #[must_use]
    pub fn matches(&self, data: &Value) -> bool {
        let value = data.pointer(&self.path);
        match (&self.test, value) {
            (Test::Exists(wanted), value) => value.is_some() == *wanted,
            (Test::Ne(other), value) => !value.is_some_and(|v| same(v, other)),
            (_, None) => false,
            (Test::Eq(other), Some(v)) => same(v, other),
            (Test::In(others), Some(v)) => others.iter().any(|other| same(v, other)),
            (Test::Lt(bound), Some(v)) => order(v, bound).is_some_and(std::cmp::Ordering::is_lt),
            (Test::Le(bound), Some(v)) => order(v, bound).is_some_and(std::cmp::Ordering::is_le),
            (Test::Gt(bound), Some(v)) => order(v, bound).is_some_and(std::cmp::Ordering::is_gt),
            (Test::Ge(bound), Some(v)) => order(v, bound).is_some_and(std::cmp::Ordering::is_ge),
            (Test::Prefix(prefix), Some(v)) => v.as_str().is_some_and(|s| s.starts_with(prefix)),
        }
    }
}

/// A `~` in a pointer not followed by `0` or `1`.
fn bad_escape(path: &str) -> Option<String> {
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.peek() {
                Some('0' | '1') => {}
                Some(other) => return Some(format!("~{other}")),
                None => return Some("~".to_owned()),
            }
        }
    }
    None
}

/// JSON equality, numbers by value.
#[allow(
    clippy::float_cmp,
    reason = "JSON numbers are equal when their values are; a margin would make distinct values equal"
)]
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

/// How `value` orders against `bound`: numbers by value, strings by code point, else not.
fn order(value: &Value, bound: &Value) -> Option<std::cmp::Ordering> {
    match (value, bound) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filter(value: Value) -> ContentFilter {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn every_operator_as_documented() {
        let data = json!({"severity": "high", "agent_name": "production_agent", "score": 7,
            "ratio": 0.5, "tags": ["a"], "none": null, "a/b": 1, "t~x": 2});
        for (test, passes) in [
            (json!({"path": "/severity", "eq": "high"}), true),
            (json!({"path": "/severity", "eq": "low"}), false),
            (json!({"path": "/score", "eq": 7.0}), true),
            (json!({"path": "/missing", "eq": null}), false),
            (json!({"path": "/none", "eq": null}), true),
            (json!({"path": "/severity", "ne": "low"}), true),
            (json!({"path": "/severity", "ne": "high"}), false),
            (json!({"path": "/missing", "ne": "x"}), true),
            (
                json!({"path": "/agent_name", "in": ["x", "production_agent"]}),
                true,
            ),
            (json!({"path": "/agent_name", "in": []}), false),
            (json!({"path": "/none", "exists": true}), true),
            (json!({"path": "/missing", "exists": false}), true),
            (json!({"path": "/missing", "exists": true}), false),
            (json!({"path": "/score", "gt": 5}), true),
            (json!({"path": "/score", "ge": 7}), true),
            (json!({"path": "/score", "lt": 7}), false),
            (json!({"path": "/ratio", "le": 0.5}), true),
            (json!({"path": "/severity", "gt": "alpha"}), true),
            (json!({"path": "/severity", "gt": 1}), false),
            (json!({"path": "/missing", "lt": 1}), false),
            (json!({"path": "/agent_name", "prefix": "prod"}), true),
            (json!({"path": "/score", "prefix": "7"}), false),
            (json!({"path": "/tags/0", "eq": "a"}), true),
            (json!({"path": "/a~1b", "eq": 1}), true),
            (json!({"path": "/t~0x", "eq": 2}), true),
            (json!({"path": "", "exists": true}), true),
        ] {
            let f = filter(json!({"all": [test.clone()]}));
            assert!(f.validate().is_ok(), "{test}");
            assert_eq!(f.matches(&data), passes, "{test}");
        }
    }

    #[test]
    fn groups_combine_with_all_and_any() {
        let f = filter(json!({"all": [
            {"path": "/severity", "eq": "high"},
            {"any": [{"path": "/agent", "eq": "a"}, {"path": "/agent", "eq": "b"}]}
        ]}));
        assert!(f.validate().is_ok());
        assert!(f.matches(&json!({"severity": "high", "agent": "b"})));
        assert!(!f.matches(&json!({"severity": "high", "agent": "c"})));
        assert!(!f.matches(&json!({"severity": "low", "agent": "a"})));
        assert!(filter(json!({"all": []})).matches(&json!({})));
        assert!(!filter(json!({"any": []})).matches(&json!({})));
    }

    #[test]
    fn bad_filters_name_the_failing_part() {
        for (value, field) in [
            (
                json!({"all": [{"path": "severity", "eq": 1}]}),
                "filter.all[0]",
            ),
            (
                json!({"any": [{"path": "/a", "eq": 1}, {"path": "/~2", "eq": 1}]}),
                "filter.any[1]",
            ),
            (
                json!({"all": [{"any": [{"path": "/a", "lt": [1]}]}]}),
                "filter.all[0].any[0]",
            ),
            (
                json!({"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]}),
                "filter.all[0].all[0].all[0].all[0]",
            ),
        ] {
            let error = filter(value.clone()).validate().unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{value}: {error}");
        }
        let many: Vec<Value> = (0..=MAX_PREDICATES)
            .map(|i| json!({"path": format!("/{i}"), "exists": true}))
            .collect();
        let error = filter(json!({"all": many})).validate().unwrap_err();
        assert!(error.message.contains("at most 32"), "{error}");
        assert!(serde_json::from_value::<ContentFilter>(json!({"some": []})).is_err());
        assert!(
            serde_json::from_value::<ContentFilter>(json!({"all": [{"path": "/a", "like": 1}]}))
                .is_err()
        );
    }
}
