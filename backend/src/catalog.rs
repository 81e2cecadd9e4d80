//! The event-types catalog: definitions live in the configuration bucket under
//! `types.<tenant>.<name>`; every instance keeps them in memory with their schemas compiled,
//! loaded at start and kept current by a watch, so fan-out checks events without I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::catalog::{CreateType, EventTypeDef, UpdateType, validate_name};
use hookwire_protocol::filter::EventTypeFilter;
use hookwire_protocol::{EventType, Tenant};

/// One type with its compiled schema.
struct Entry {
    def: EventTypeDef,
    validator: Option<jsonschema::Validator>,
}

/// One tenant's types, by name.
type Types = BTreeMap<String, Arc<Entry>>;

/// The catalog of every tenant.
pub(crate) struct Catalog {
    types: RwLock<HashMap<Tenant, Types>>,
    strict: bool,
}

fn key(tenant: &Tenant, name: &str) -> String {
    format!("{KIND}.{tenant}.{name}")
}

/// Compiles `def`'s schema and checks its example against it.
fn compile(def: &EventTypeDef) -> Result<Option<jsonschema::Validator>, AdminError> {
    let Some(schema) = &def.schema else {
        return Ok(None);
    };
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| AdminError::invalid("schema", format!("not a usable JSON Schema: {e}")))?;
    if let Some(example) = &def.example
        && let Err(e) = validator.validate(example)
    {
        return Err(AdminError::invalid(
            "example",
            format!("does not match the schema: {e}"),
        ));
    }
    Ok(Some(validator))
}

impl Catalog {
    /// An empty catalog; `strict` limits endpoint filters to known types.
    #[must_use]
    pub(crate) fn new(strict: bool) -> Self {
        Self {
            types: RwLock::new(HashMap::new()),
            strict,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Tenant, Types>> {
        self.types
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One type with its compiled schema; looked up without allocating (fan-out asks for
    /// every event).
    fn entry(&self, tenant: &Tenant, name: &str) -> Option<Arc<Entry>> {
        self.read().get(tenant)?.get(name).cloned()
    }

    fn apply(&self, tenant: Tenant, name: String, def: Option<EventTypeDef>) {
        let entry = def.and_then(|def| match compile(&def) {
            Ok(validator) => Some(Arc::new(Entry { def, validator })),
            Err(e) => {
                tracing::error!(%tenant, name, error = %e.message, "unusable type in the bucket; ignoring it");
                None
            }
        });
        let mut types = self
            .types
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tenant_types = types.entry(tenant).or_default();
        match entry {
            Some(entry) => tenant_types.insert(name, entry),
            None => tenant_types.remove(&name),
        };
    }

    /// One type.
    #[must_use]
    pub(crate) fn get(&self, tenant: &Tenant, name: &str) -> Option<EventTypeDef> {
        self.entry(tenant, name).map(|e| e.def.clone())
    }

    /// A tenant's types in name order.
    #[must_use]
    pub(crate) fn list(&self, tenant: &Tenant) -> Vec<EventTypeDef> {
        self.read()
            .get(tenant)
            .map(|types| types.values().map(|e| e.def.clone()).collect())
            .unwrap_or_default()
    }

    /// The example payload of a type, if it has one.
    #[must_use]
    pub(crate) fn example(&self, tenant: &Tenant, name: &str) -> Option<serde_json::Value> {
        self.get(tenant, name).and_then(|def| def.example)
    }

    /// Checks a published event: fine unless its type validates and the payload fails.
    pub(crate) fn check_event(
        &self,
        tenant: &Tenant,
        event_type: &EventType,
        payload: &[u8],
    ) -> Result<(), String> {
        let entry = self.entry(tenant, event_type.as_str());
        let Some(entry) = entry.filter(|e| e.def.validate) else {
            return Ok(());
        };
        let Some(validator) = &entry.validator else {
            return Ok(());
        };
        let data: serde_json::Value =
            serde_json::from_slice(payload).map_err(|e| format!("payload is not JSON: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(&data)
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "payload does not match the schema of {event_type} v{}: {}",
                entry.def.version,
                errors.join("; ")
            ))
        }
    }

    /// In strict mode, every filter (other than `hookwire.` ones) must match a known type.
    pub(crate) fn check_filters(
        &self,
        tenant: &Tenant,
        filters: &[EventTypeFilter],
    ) -> Result<(), AdminError> {
        if !self.strict {
            return Ok(());
        }
        let types = self.read();
        let known: Vec<EventType> = types
            .get(tenant)
            .into_iter()
            .flat_map(BTreeMap::keys)
            .filter_map(|name| EventType::new(name).ok())
            .collect();
        if filters.is_empty() {
            return Err(AdminError::invalid(
                "event_types",
                "the catalog is strict: name the types this endpoint takes",
            ));
        }
        for filter in filters {
            if filter.as_str().starts_with("hookwire.") {
                continue;
            }
            if !known.iter().any(|t| filter.matches(t)) {
                return Err(AdminError::invalid(
                    "event_types",
                    format!(
                        "{} matches no type in the catalog (strict mode); create the type first",
                        filter.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn unavailable(e: impl std::fmt::Display) -> AdminError {
    AdminError::unavailable("the configuration bucket did not answer", e)
}

/// `not_found` for an event type.
pub(crate) fn not_found(name: &str) -> AdminError {
    AdminError::not_found(format!(
        "no type {name} in this tenant's catalog; `types.list` shows it"
    ))
}

/// The first token of the bucket keys of this kind of configuration.
pub(crate) const KIND: &str = "types";

/// Loads every type in the bucket, then follows changes forever; the receiver
/// tells the bucket revision applied.
pub(crate) async fn load_and_follow(
    bucket: kv::Store,
    catalog: Arc<Catalog>,
    bucket_stream_seq: u64,
) -> Result<tokio::sync::watch::Receiver<u64>, async_nats::Error> {
    crate::watched::load_and_follow(bucket, KIND, bucket_stream_seq, move |tenant, name, def| {
        catalog.apply(tenant, name.to_owned(), def);
    })
    .await
}

/// Writes `def` with compare-and-set (`revision` 0 creates) and applies it here at once,
/// so the caller reads its own write.
async fn write(
    bucket: &kv::Store,
    catalog: &Catalog,
    tenant: &Tenant,
    def: EventTypeDef,
    revision: Option<u64>,
) -> Result<EventTypeDef, AdminError> {
    compile(&def)?;
    let value =
        serde_json::to_vec(&def).map_err(|e| AdminError::internal("encoding the type", e))?;
    let key = key(tenant, &def.name);
    let written = match revision {
        None => bucket
            .create(key.as_str(), value.into())
            .await
            .map_err(|e| {
                if e.kind() == kv::CreateErrorKind::AlreadyExists {
                    AdminError::conflict(format!("type {} exists already; update it", def.name))
                } else {
                    unavailable(e)
                }
            }),
        Some(revision) => bucket
            .update(key.as_str(), value.into(), revision)
            .await
            .map_err(|e| {
                AdminError::conflict(format!(
                    "type {} changed concurrently ({e}); retry",
                    def.name
                ))
            }),
    };
    written?;
    catalog.apply(tenant.clone(), def.name.clone(), Some(def.clone()));
    Ok(def)
}

async fn read(
    bucket: &kv::Store,
    tenant: &Tenant,
    name: &str,
) -> Result<(EventTypeDef, u64), AdminError> {
    let name = validate_name(name)?;
    match bucket
        .entry(key(tenant, &name).as_str())
        .await
        .map_err(unavailable)?
    {
        Some(entry) if entry.operation == kv::Operation::Put => {
            let def = serde_json::from_slice(&entry.value)
                .map_err(|e| AdminError::internal(&format!("reading type {name}"), e))?;
            Ok((def, entry.revision))
        }
        _ => Err(not_found(&name)),
    }
}

/// `types.create`.
pub(crate) async fn create(
    bucket: &kv::Store,
    catalog: &Catalog,
    tenant: &Tenant,
    request: CreateType,
) -> Result<EventTypeDef, AdminError> {
    let def = request.into_def(chrono::Utc::now())?;
    write(bucket, catalog, tenant, def, None).await
}

/// `types.update`.
pub(crate) async fn update(
    bucket: &kv::Store,
    catalog: &Catalog,
    tenant: &Tenant,
    request: UpdateType,
) -> Result<EventTypeDef, AdminError> {
    let (current, revision) = read(bucket, tenant, &request.name).await?;
    let next = request.apply(&current, chrono::Utc::now())?;
    write(bucket, catalog, tenant, next, Some(revision)).await
}

/// `types.deprecate`: still delivered, marked as no longer to be used.
pub(crate) async fn deprecate(
    bucket: &kv::Store,
    catalog: &Catalog,
    tenant: &Tenant,
    name: &str,
) -> Result<EventTypeDef, AdminError> {
    let (mut def, revision) = read(bucket, tenant, name).await?;
    if def.deprecated_at.is_none() {
        let now = chrono::Utc::now();
        def.deprecated_at = Some(now);
        def.updated_at = now;
        return write(bucket, catalog, tenant, def, Some(revision)).await;
    }
    Ok(def)
}

/// `types.delete`.
pub(crate) async fn delete(
    bucket: &kv::Store,
    catalog: &Catalog,
    tenant: &Tenant,
    name: &str,
) -> Result<(), AdminError> {
    let (def, _) = read(bucket, tenant, name).await?;
    bucket
        .delete(key(tenant, &def.name).as_str())
        .await
        .map_err(unavailable)?;
    catalog.apply(tenant.clone(), def.name, None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, schema: Option<serde_json::Value>, validate: bool) -> EventTypeDef {
        CreateType {
            name: name.into(),
            schema,
            validate: Some(validate),
            ..CreateType::default()
        }
        .into_def(chrono::Utc::now())
        .unwrap()
    }

    fn order_schema() -> serde_json::Value {
        serde_json::json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}})
    }

    #[test]
    fn validating_types_reject_payloads_that_do_not_match() {
        let catalog = Catalog::new(false);
        let t = Tenant::default();
        catalog.apply(
            t.clone(),
            "orders.paid".into(),
            Some(def("orders.paid", Some(order_schema()), true)),
        );
        catalog.apply(
            t.clone(),
            "orders.seen".into(),
            Some(def("orders.seen", Some(order_schema()), false)),
        );
        let paid = EventType::new("orders.paid").unwrap();
        assert!(catalog.check_event(&t, &paid, br#"{"id": "o_1"}"#).is_ok());
        let refused = catalog.check_event(&t, &paid, br#"{"id": 5}"#).unwrap_err();
        assert!(
            refused.contains("v1") && refused.contains("/id"),
            "{refused}"
        );
        assert!(catalog.check_event(&t, &paid, b"{}").is_err());
        let seen = EventType::new("orders.seen").unwrap();
        assert!(
            catalog.check_event(&t, &seen, b"{}").is_ok(),
            "validation is opt-in"
        );
        let unknown = EventType::new("users.created").unwrap();
        assert!(catalog.check_event(&t, &unknown, b"[]").is_ok());
        let other = Tenant::new("other").unwrap();
        assert!(
            catalog.check_event(&other, &paid, b"{}").is_ok(),
            "catalogs are per tenant"
        );
    }

    #[test]
    fn unusable_schemas_and_bad_examples_are_refused() {
        let bad = def("a.b", Some(serde_json::json!({"type": 12})), false);
        assert_eq!(compile(&bad).unwrap_err().field.as_deref(), Some("schema"));
        let mut wrong_example = def("a.b", Some(order_schema()), false);
        wrong_example.example = Some(serde_json::json!({"id": 1}));
        assert_eq!(
            compile(&wrong_example).unwrap_err().field.as_deref(),
            Some("example")
        );
    }

    #[test]
    fn strict_mode_admits_only_filters_matching_known_types() {
        let t = Tenant::default();
        let filters = |list: &[&str]| -> Vec<EventTypeFilter> {
            list.iter()
                .map(|f| EventTypeFilter::new(f).unwrap())
                .collect()
        };
        let lenient = Catalog::new(false);
        assert!(lenient.check_filters(&t, &filters(&["any.thing"])).is_ok());
        let strict = Catalog::new(true);
        strict.apply(
            t.clone(),
            "orders.paid".into(),
            Some(def("orders.paid", None, false)),
        );
        assert!(strict.check_filters(&t, &filters(&["orders.paid"])).is_ok());
        assert!(
            strict
                .check_filters(&t, &filters(&["orders.*", "hookwire.>"]))
                .is_ok()
        );
        assert!(
            strict
                .check_filters(&t, &filters(&["orders.refunded"]))
                .is_err()
        );
        assert!(strict.check_filters(&t, &filters(&["users.>"])).is_err());
        assert!(
            strict.check_filters(&t, &[]).is_err(),
            "all types is not a known type"
        );
    }
}
