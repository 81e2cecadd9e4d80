//! `sources.*`: incoming-webhook sources.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, Deleted, NoFields, PageSize};
use hookwire_protocol::operation::ops;
use hookwire_protocol::source::{
    CreateSource, CreatedSource, ListSourceRequests, SourceList, SourceName, SourceRequestPage,
    SourceStats, SourceView, TestSource, TestedSource, UpdateSource,
};

use super::{Admin, Handler};
use crate::stream_page::{self, Start};

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
        requests(&admin.engine, tenant, &request, limit).await
    }
}

/// `sources.requests`: up to `limit` recorded requests to one source, from `since` (default:
/// the last hour) or after the cursor.
async fn requests(
    engine: &crate::engine::Engine,
    tenant: &Tenant,
    request: &ListSourceRequests,
    limit: usize,
) -> Result<SourceRequestPage, AdminError> {
    let name = hookwire_protocol::source::validate_name(&request.name)?;
    engine.sources.view_of(tenant, &name)?;
    let subject = engine
        .topology
        .subjects
        .source_live(tenant, &name)
        .map_err(|e| AdminError::invalid("name", e.to_string()))?;
    let start = match (request.cursor, request.since) {
        (Some(cursor), _) => Start::After(cursor),
        (None, Some(since)) => Start::Since(since),
        (None, None) => Start::Since(chrono::Utc::now() - chrono::TimeDelta::hours(1)),
    };
    let page = stream_page::read(
        &engine.js,
        &engine.topology.attempts,
        vec![subject],
        start,
        limit,
    )
    .await?;
    let mut requests = Vec::with_capacity(page.messages.len());
    let mut last_seq = None;
    for message in &page.messages {
        last_seq = Some(
            message
                .info()
                .map_err(|e| AdminError::internal("reading a request record's metadata", e))?
                .stream_sequence,
        );
        if let Ok(record) = serde_json::from_slice(&message.payload) {
            requests.push(record);
        }
    }
    Ok(SourceRequestPage {
        requests,
        next_cursor: if page.more { last_seq } else { None },
    })
}
