//! `templates.*`: payload templates and their versions, presets and previews.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, Deleted, NoFields};
use hookwire_protocol::operation::ops;
use hookwire_protocol::template::{
    AddTemplateVersion, CreateTemplate, PresetList, PreviewTemplate, RenderedRequest,
    TemplateDetail, TemplateList, TemplateName, TemplateVersion, presets,
};

use super::{Admin, Handler};
use crate::templates::{self, preview};

impl Handler for ops::TemplatesCreate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: CreateTemplate,
    ) -> Result<TemplateVersion, AdminError> {
        let engine = &admin.engine;
        templates::create(&engine.bucket, &engine.templates, tenant, request).await
    }
}

impl Handler for ops::TemplatesAddVersion {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: AddTemplateVersion,
    ) -> Result<TemplateVersion, AdminError> {
        let engine = &admin.engine;
        templates::add_version(&engine.bucket, &engine.templates, tenant, request).await
    }
}

impl Handler for ops::TemplatesGet {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: TemplateName,
    ) -> Result<TemplateDetail, AdminError> {
        let engine = &admin.engine;
        templates::detail(&engine.templates, &engine.registry, tenant, &request.name)
    }
}

impl Handler for ops::TemplatesList {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        _: NoFields,
    ) -> Result<TemplateList, AdminError> {
        let engine = &admin.engine;
        Ok(TemplateList {
            templates: engine.templates.summaries(tenant, &engine.registry),
        })
    }
}

impl Handler for ops::TemplatesDelete {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: TemplateName,
    ) -> Result<Deleted, AdminError> {
        let engine = &admin.engine;
        templates::delete(
            &engine.bucket,
            &engine.templates,
            &engine.registry,
            tenant,
            &request.name,
        )
        .await?;
        Ok(Deleted {
            deleted: request.name,
        })
    }
}

impl Handler for ops::TemplatesPresets {
    async fn handle(_: &Admin, _: &Tenant, _: NoFields) -> Result<PresetList, AdminError> {
        Ok(PresetList { presets: presets() })
    }
}

impl Handler for ops::TemplatesPreview {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: PreviewTemplate,
    ) -> Result<RenderedRequest, AdminError> {
        preview::preview(&admin.engine, &admin.store, tenant, request).await
    }
}
