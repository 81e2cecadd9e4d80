//! Payload templates: each version lives in the configuration bucket under
//! `templates.<tenant>.<name>.<version>`, written once with create-only semantics (so a
//! version never changes and two concurrent additions cannot both take a number). Every
//! instance keeps them compiled in memory, loaded at start and kept current by a watch, so
//! a delivery renders without I/O.

pub(crate) mod preview;
pub(crate) mod render;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::template::{
    AddTemplateVersion, CreateTemplate, PinnedBy, TemplateDetail, TemplatePin, TemplateSummary,
    TemplateVersion, validate_name,
};

pub(crate) use render::{Compiled, EventView, RenderError};

use crate::delivery::request::Payload;
use crate::engine::Engine;
use crate::registry::Registry;

/// One tenant's templates: name, then version.
type Versions = BTreeMap<String, BTreeMap<u32, Arc<Compiled>>>;

/// The compiled templates of every tenant.
#[derive(Default)]
pub(crate) struct Templates {
    tenants: RwLock<HashMap<Tenant, Versions>>,
}

fn key(tenant: &Tenant, name: &str, version: u32) -> String {
    format!("{KIND}.{tenant}.{name}.{version}")
}

impl Templates {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Tenant, Versions>> {
        self.tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One version, compiled.
    #[must_use]
    pub(crate) fn get(&self, tenant: &Tenant, pin: &TemplatePin) -> Option<Arc<Compiled>> {
        self.read()
            .get(tenant)?
            .get(&pin.name)?
            .get(&pin.version)
            .cloned()
    }

    /// Every version of a template, oldest first.
    #[must_use]
    pub(crate) fn versions(&self, tenant: &Tenant, name: &str) -> Vec<TemplateVersion> {
        self.read()
            .get(tenant)
            .and_then(|names| names.get(name))
            .map(|versions| versions.values().map(|c| c.version.clone()).collect())
            .unwrap_or_default()
    }

    /// The tenant's templates in name order, each described by its latest version.
    #[must_use]
    pub(crate) fn summaries(&self, tenant: &Tenant, registry: &Registry) -> Vec<TemplateSummary> {
        let pins = registry.template_pins(tenant);
        self.read()
            .get(tenant)
            .into_iter()
            .flat_map(BTreeMap::iter)
            .filter_map(|(name, versions)| {
                let latest = &versions.values().next_back()?.version;
                Some(TemplateSummary {
                    name: name.clone(),
                    description: latest.description.clone(),
                    latest: latest.version,
                    format: latest.format,
                    preset: latest.preset.clone(),
                    pinned_by: u32::try_from(pins.iter().filter(|(_, p)| &p.name == name).count())
                        .unwrap_or(u32::MAX),
                    updated_at: latest.created_at,
                })
            })
            .collect()
    }

    /// Applies a bucket entry (`rest` is `<name>.<version>`); unusable entries are logged
    /// and left out.
    fn apply(&self, tenant: Tenant, rest: &str, version: Option<TemplateVersion>) {
        let Some((name, number)) = rest
            .rsplit_once('.')
            .and_then(|(name, n)| Some((name.to_owned(), n.parse::<u32>().ok()?)))
        else {
            tracing::error!(%tenant, key = rest, "unreadable template key in the bucket; ignoring it");
            return;
        };
        let compiled = version.and_then(|version| match Compiled::compile(version) {
            Ok(compiled) => Some(Arc::new(compiled)),
            Err(e) => {
                tracing::error!(%tenant, name, version = number, error = %e, "template in the bucket does not compile; ignoring it");
                None
            }
        });
        self.insert(tenant, name, number, compiled);
    }

    fn insert(&self, tenant: Tenant, name: String, number: u32, compiled: Option<Arc<Compiled>>) {
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let names = tenants.entry(tenant).or_default();
        match compiled {
            Some(compiled) => {
                names.entry(name).or_default().insert(number, compiled);
            }
            None => {
                if let Some(versions) = names.get_mut(&name) {
                    versions.remove(&number);
                    if versions.is_empty() {
                        names.remove(&name);
                    }
                }
            }
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> AdminError {
    AdminError::unavailable("the configuration bucket did not answer", e)
}

/// `not_found` for a template.
pub(crate) fn not_found(name: &str) -> AdminError {
    AdminError::not_found(format!(
        "no template {name} in this tenant; `templates.list` shows them"
    ))
}

/// The first token of the bucket keys of this kind of configuration.
pub(crate) const KIND: &str = "templates";

/// Loads every template version in the bucket, then follows changes forever; the receiver
/// tells the bucket revision applied.
pub(crate) async fn load_and_follow(
    bucket: kv::Store,
    templates: Arc<Templates>,
    bucket_stream_seq: u64,
) -> Result<tokio::sync::watch::Receiver<u64>, async_nats::Error> {
    crate::watched::load_and_follow(
        bucket,
        KIND,
        bucket_stream_seq,
        move |tenant, rest, version| templates.apply(tenant, rest, version),
    )
    .await
}

/// The compiled version `pin`, from memory or, when this instance has not seen it yet (it
/// was added through another instance a moment ago), from the bucket.
pub(crate) async fn find(
    bucket: &kv::Store,
    templates: &Templates,
    tenant: &Tenant,
    pin: &TemplatePin,
) -> Result<Option<Arc<Compiled>>, AdminError> {
    if let Some(compiled) = templates.get(tenant, pin) {
        return Ok(Some(compiled));
    }
    let Some(entry) = bucket
        .entry(key(tenant, &pin.name, pin.version).as_str())
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    if entry.operation != kv::Operation::Put {
        return Ok(None);
    }
    let version: TemplateVersion = serde_json::from_slice(&entry.value)
        .map_err(|e| AdminError::internal(&format!("reading template {pin}"), e))?;
    let compiled = Arc::new(
        Compiled::compile(version)
            .map_err(|e| AdminError::internal(&format!("compiling template {pin}"), e))?,
    );
    templates.insert(
        tenant.clone(),
        pin.name.clone(),
        pin.version,
        Some(Arc::clone(&compiled)),
    );
    Ok(Some(compiled))
}

/// Why an endpoint's body could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// The template failed: the delivery cannot succeed until the template or the pin is
    /// fixed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The bucket did not answer while looking the version up: try again later.
    #[error(transparent)]
    Unavailable(AdminError),
}

/// What `event.endpoint` is sent for `event`: rendered by its pinned template version, or
/// the standard envelope (a batch's array of them) when it pins none.
pub(crate) async fn payload_for(
    engine: &Engine,
    event: &EventView<'_>,
) -> Result<Payload, BodyError> {
    match &event.endpoint.template {
        Some(pin) => render_with(engine, pin, event).await,
        None => Ok(Payload::standard(event)),
    }
}

/// What version `pin` renders for `event`.
pub(crate) async fn render_with(
    engine: &Engine,
    pin: &TemplatePin,
    event: &EventView<'_>,
) -> Result<Payload, BodyError> {
    let compiled = find(
        &engine.bucket,
        &engine.templates,
        &event.endpoint.tenant,
        pin,
    )
    .await
    .map_err(BodyError::Unavailable)?
    .ok_or_else(|| RenderError {
        template: pin.to_string(),
        message: "this version does not exist (was the template deleted?); pin another".to_owned(),
    })?;
    Ok(Payload {
        body: compiled.render(event)?,
        template: Some(compiled),
    })
}

/// Checks that an endpoint's pin names an existing version.
pub(crate) async fn check_pin(
    bucket: &kv::Store,
    templates: &Templates,
    tenant: &Tenant,
    pin: &TemplatePin,
) -> Result<(), AdminError> {
    match find(bucket, templates, tenant, pin).await? {
        Some(_) => Ok(()),
        None => Err(AdminError::invalid(
            "template",
            format!("no template {pin} in this tenant; `templates.get` lists its versions"),
        )),
    }
}

/// Compiles `version` (refusing a body that does not compile, with its line and column),
/// writes it create-only and applies it here at once, so the caller reads its own write.
async fn write(
    bucket: &kv::Store,
    templates: &Templates,
    tenant: &Tenant,
    version: TemplateVersion,
) -> Result<TemplateVersion, AdminError> {
    let compiled = Compiled::compile(version.clone())
        .map_err(|e| AdminError::invalid("body", format!("does not compile: {e}")))?;
    let value = serde_json::to_vec(&version)
        .map_err(|e| AdminError::internal("encoding the template", e))?;
    bucket
        .create(
            key(tenant, &version.name, version.version).as_str(),
            value.into(),
        )
        .await
        .map_err(|e| {
            if e.kind() == kv::CreateErrorKind::AlreadyExists {
                AdminError::conflict(format!(
                    "template {} v{} was added meanwhile; retry",
                    version.name, version.version
                ))
            } else {
                unavailable(e)
            }
        })?;
    templates.insert(
        tenant.clone(),
        version.name.clone(),
        version.version,
        Some(Arc::new(compiled)),
    );
    Ok(version)
}

/// `templates.create`.
pub(crate) async fn create(
    bucket: &kv::Store,
    templates: &Templates,
    tenant: &Tenant,
    request: CreateTemplate,
) -> Result<TemplateVersion, AdminError> {
    let version = request.into_version(chrono::Utc::now())?;
    if !templates.versions(tenant, &version.name).is_empty() {
        return Err(AdminError::conflict(format!(
            "template {} exists already; add a version to it",
            version.name
        )));
    }
    write(bucket, templates, tenant, version).await
}

/// `templates.add-version`.
pub(crate) async fn add_version(
    bucket: &kv::Store,
    templates: &Templates,
    tenant: &Tenant,
    request: AddTemplateVersion,
) -> Result<TemplateVersion, AdminError> {
    validate_name(&request.name)?;
    // Another instance may have added a version this one has not seen yet: then the
    // create-only write of the same number fails and the caller retries.
    let current = templates
        .versions(tenant, &request.name)
        .pop()
        .ok_or_else(|| not_found(&request.name))?;
    let next = request.next_version(&current, chrono::Utc::now())?;
    write(bucket, templates, tenant, next).await
}

/// `templates.get`.
pub(crate) fn detail(
    templates: &Templates,
    registry: &Registry,
    tenant: &Tenant,
    name: &str,
) -> Result<TemplateDetail, AdminError> {
    validate_name(name)?;
    let versions = templates.versions(tenant, name);
    if versions.is_empty() {
        return Err(not_found(name));
    }
    let pinned_by = registry
        .template_pins(tenant)
        .into_iter()
        .filter(|(_, pin)| pin.name == name)
        .map(|(endpoint_id, pin)| PinnedBy {
            endpoint_id,
            version: pin.version,
        })
        .collect();
    Ok(TemplateDetail {
        name: name.to_owned(),
        versions,
        pinned_by,
    })
}

/// `templates.delete`: refused while an endpoint pins one of its versions.
pub(crate) async fn delete(
    bucket: &kv::Store,
    templates: &Templates,
    registry: &Registry,
    tenant: &Tenant,
    name: &str,
) -> Result<(), AdminError> {
    validate_name(name)?;
    let pinning: Vec<String> = registry
        .template_pins(tenant)
        .into_iter()
        .filter(|(_, pin)| pin.name == name)
        .map(|(id, pin)| format!("{id} (v{})", pin.version))
        .collect();
    if !pinning.is_empty() {
        return Err(AdminError::conflict(format!(
            "template {name} is pinned by {}; move or remove their pins first",
            pinning.join(", ")
        )));
    }
    let versions = templates.versions(tenant, name);
    if versions.is_empty() {
        return Err(not_found(name));
    }
    for number in versions.iter().map(|v| v.version) {
        bucket
            .delete(key(tenant, name, number).as_str())
            .await
            .map_err(unavailable)?;
        templates.insert(tenant.clone(), name.to_owned(), number, None);
    }
    Ok(())
}
