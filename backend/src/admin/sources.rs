//! `sources.*`: incoming-webhook sources.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, Deleted, NoFields, PageSize};
use hookwire_protocol::operation::ops;
use hookwire_protocol::source::{
    CreateSource, CreatedSource, ListSourceRequests, SourceList, SourceName, SourceRequestPage,
    SourceStats, SourceView, TestSource, TestedSource, UpdateSource,
};

use super::{Admin, Handler};

impl Handler for ops::SourcesCreate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: CreateSource,
    ) -> Result<CreatedSource, AdminError> {
        let engine = &admin.engine;
        engine.sources.create(&engine.bucket, tenant, request).await
    }
}

impl Handler for ops::SourcesUpdate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: UpdateSource,
    ) -> Result<CreatedSource, AdminError> {
        let engine = &admin.engine;
        engine.sources.update(&engine.bucket, tenant, request).await
    }
}

impl Handler for ops::SourcesGet {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: SourceName,
    ) -> Result<SourceView, AdminError> {
        admin.engine.sources.view_of(tenant, &request.name)
    }
}

impl Handler for ops::SourcesList {
    async fn handle(admin: &Admin, tenant: &Tenant, _: NoFields) -> Result<SourceList, AdminError> {
        Ok(SourceList {
            sources: admin.engine.sources.list(tenant),
        })
    }
}

impl Handler for ops::SourcesDelete {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: SourceName,
    ) -> Result<Deleted, AdminError> {
        let engine = &admin.engine;
        engine
            .sources
            .delete(&engine.bucket, tenant, &request.name)
            .await?;
        Ok(Deleted {
            deleted: request.name,
        })
    }
}

impl Handler for ops::SourcesRotateToken {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: SourceName,
    ) -> Result<SourceView, AdminError> {
        let engine = &admin.engine;
        engine
            .sources
            .rotate_token(&engine.bucket, tenant, &request.name)
            .await
    }
}

impl Handler for ops::SourcesTest {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: TestSource,
    ) -> Result<TestedSource, AdminError> {
        admin.engine.sources.test(tenant, &request)
    }
}

impl Handler for ops::SourcesStats {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: SourceName,
    ) -> Result<SourceStats, AdminError> {
        let sources = &admin.engine.sources;
        sources.view_of(tenant, &request.name)?;
        Ok(sources.counters(tenant, &request.name).snapshot())
    }
}

impl Handler for ops::SourcesRequests {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: ListSourceRequests,
    ) -> Result<SourceRequestPage, AdminError> {
        let limit = PageSize::resolve(request.limit)?;
        crate::sources::requests(&admin.engine, tenant, &request, limit).await
    }
}
