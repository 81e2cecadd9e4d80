//! The event-types catalog on the wire: what each event type means, its JSON Schema and an
//! example, and the checks on the requests that change it (pure; schemas are compiled by
//! the daemon).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::endpoint::validate_description;
use crate::subject::EventType;

/// One event type as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTypeDef {
    /// The type, e.g. `orders.paid`.
    pub name: String,
    /// What it means, for people.
    pub description: String,
    /// A JSON Schema (draft 2020-12 unless `$schema` says otherwise) for the event's data.
    pub schema: Option<serde_json::Value>,
    /// An example of the event's data; `endpoints.test` sends it by default.
    pub example: Option<serde_json::Value>,
    /// Whether published events of this type are checked against `schema` (and rejected
    /// when they fail).
    pub validate: bool,
    /// Starts at 1; goes up by one each time the schema changes.
    pub version: u32,
    /// When it was deprecated: still delivered, but no longer to be used.
    pub deprecated_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// `types.create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateType {
    /// The type.
    pub name: String,
    /// What it means.
    #[serde(default)]
    pub description: Option<String>,
    /// Its JSON Schema.
    #[serde(default)]
    pub schema: Option<serde_json::Value>,
    /// An example payload (checked against the schema).
    #[serde(default)]
    pub example: Option<serde_json::Value>,
    /// Check published events against the schema (default false).
    #[serde(default)]
    pub validate: Option<bool>,
}

/// `types.update`: absent fields keep their value; `null` clears `schema` or `example`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateType {
    /// The type.
    pub name: String,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// New schema (`null` removes it).
    #[serde(default, skip_serializing_if = "JsonChange::is_keep")]
    pub schema: JsonChange,
    /// New example (`null` removes it).
    #[serde(default, skip_serializing_if = "JsonChange::is_keep")]
    pub example: JsonChange,
    /// Check published events against the schema.
    #[serde(default)]
    pub validate: Option<bool>,
}

/// The reply to `types.list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeList {
    /// The tenant's catalog in name order.
    pub types: Vec<EventTypeDef>,
}

/// `types.get`, `types.deprecate`, `types.delete`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TypeName {
    /// The type.
    pub name: String,
}

impl CreateType {
    /// The new catalog entry, checked (the schema is compiled by the caller).
    pub fn into_def(self, now: DateTime<Utc>) -> Result<EventTypeDef, AdminError> {
        let def = EventTypeDef {
            name: validate_name(&self.name)?,
            description: validate_description(self.description.unwrap_or_default())?,
            schema: self.schema,
            example: self.example,
            validate: self.validate.unwrap_or(false),
            version: 1,
            deprecated_at: None,
            created_at: now,
            updated_at: now,
        };
        check_consistent(&def)?;
        Ok(def)
    }
}

impl UpdateType {
    /// `current` with this request's changes, checked.
    pub fn apply(
        self,
        current: &EventTypeDef,
        now: DateTime<Utc>,
    ) -> Result<EventTypeDef, AdminError> {
        let mut next = current.clone();
        if let Some(description) = self.description {
            next.description = validate_description(description)?;
        }
        next.schema = self.schema.applied_to(current.schema.as_ref());
        if next.schema != current.schema {
            next.version += 1;
        }
        next.example = self.example.applied_to(current.example.as_ref());
        if let Some(validate) = self.validate {
            next.validate = validate;
        }
        check_consistent(&next)?;
        next.updated_at = now;
        Ok(next)
    }
}

/// Checks a type name: a valid event type, not one of Hookwire's own.
pub fn validate_name(name: &str) -> Result<String, AdminError> {
    let event_type =
        EventType::new(name).map_err(|e| AdminError::invalid("name", e.to_string()))?;
    if event_type.is_operational() {
        return Err(AdminError::invalid(
            "name",
            "hookwire.* types are Hookwire's own and documented in docs/protocol.md",
        ));
    }
    Ok(event_type.to_string())
}

fn check_consistent(def: &EventTypeDef) -> Result<(), AdminError> {
    if def.validate && def.schema.is_none() {
        return Err(AdminError::invalid(
            "validate",
            "needs a schema to validate against",
        ));
    }
    Ok(())
}

/// An optional JSON field in an update: absent keeps it, `null` clears it, a value sets it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum JsonChange {
    /// Absent: keep the current value.
    #[default]
    Keep,
    /// `null`: remove the value.
    Clear,
    /// The new value.
    Set(serde_json::Value),
}

impl JsonChange {
    /// Whether the field was absent.
    #[must_use]
    pub fn is_keep(&self) -> bool {
        *self == Self::Keep
    }

    /// The field's value after this change to `current`.
    #[must_use]
    pub fn applied_to(self, current: Option<&serde_json::Value>) -> Option<serde_json::Value> {
        match self {
            Self::Keep => current.cloned(),
            Self::Clear => None,
            Self::Set(value) => Some(value),
        }
    }
}

impl<'de> Deserialize<'de> for JsonChange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Self::Clear,
            value => Self::Set(value),
        })
    }
}

impl Serialize for JsonChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Keep | Self::Clear => s.serialize_none(),
            Self::Set(value) => value.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn created() -> EventTypeDef {
        CreateType {
            name: "orders.paid".into(),
            schema: Some(serde_json::json!({"type": "object"})),
            ..CreateType::default()
        }
        .into_def(now())
        .unwrap()
    }

    #[test]
    fn names_are_event_types_but_not_hookwires() {
        assert_eq!(validate_name("orders.paid").unwrap(), "orders.paid");
        for bad in [
            "",
            "orders..paid",
            "orders.*",
            "hookwire.endpoint.disabled",
            "a b",
        ] {
            assert_eq!(
                validate_name(bad).unwrap_err().field.as_deref(),
                Some("name"),
                "{bad}"
            );
        }
    }

    #[test]
    fn validation_needs_a_schema() {
        let refused = CreateType {
            name: "a.b".into(),
            validate: Some(true),
            ..CreateType::default()
        }
        .into_def(now())
        .unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("validate"));
        let current = created();
        let clearing = serde_json::from_str::<UpdateType>(
            r#"{"name": "orders.paid", "schema": null, "validate": true}"#,
        )
        .unwrap();
        assert_eq!(
            clearing
                .apply(&current, now())
                .unwrap_err()
                .field
                .as_deref(),
            Some("validate")
        );
    }

    #[test]
    fn the_version_counts_schema_changes_only() {
        let current = created();
        assert_eq!(current.version, 1);
        let described = UpdateType {
            name: current.name.clone(),
            description: Some("paid".into()),
            ..UpdateType::default()
        }
        .apply(&current, now())
        .unwrap();
        assert_eq!(described.version, 1);
        let same_schema = serde_json::from_str::<UpdateType>(
            r#"{"name": "orders.paid", "schema": {"type": "object"}}"#,
        )
        .unwrap()
        .apply(&current, now())
        .unwrap();
        assert_eq!(same_schema.version, 1);
        let changed = serde_json::from_str::<UpdateType>(
            r#"{"name": "orders.paid", "schema": {"type": "array"}}"#,
        )
        .unwrap()
        .apply(&current, now())
        .unwrap();
        assert_eq!(changed.version, 2);
        let absent = serde_json::from_str::<UpdateType>(r#"{"name": "orders.paid"}"#).unwrap();
        assert_eq!(absent.schema, JsonChange::Keep);
        let cleared =
            serde_json::from_str::<UpdateType>(r#"{"name": "orders.paid", "schema": null}"#)
                .unwrap()
                .apply(&current, now())
                .unwrap();
        assert_eq!((cleared.schema, cleared.version), (None, 2));
    }
}
