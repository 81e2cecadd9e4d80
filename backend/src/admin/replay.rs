//! `replay.*`: every event of a time window re-delivered to one endpoint, as a job.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, PageSize};
use hookwire_protocol::operation::ops;
use hookwire_protocol::replay::{ReplayId, ReplayJob, ReplayJobs, ReplayPreview, StartReplay};

use super::{Admin, Handler};
use crate::replay;

impl Handler for ops::ReplayStart {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: StartReplay,
    ) -> Result<ReplayJob, AdminError> {
        replay::start(&admin.engine, &admin.store, tenant, &request).await
    }
}

impl Handler for ops::ReplayPreview {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: StartReplay,
    ) -> Result<ReplayPreview, AdminError> {
        replay::preview(&admin.engine, tenant, &request).await
    }
}

impl Handler for ops::ReplayGet {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: ReplayId,
    ) -> Result<ReplayJob, AdminError> {
        replay::get(&admin.engine, tenant, &request.job_id).await
    }
}

impl Handler for ops::ReplayList {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: PageSize,
    ) -> Result<ReplayJobs, AdminError> {
        let limit = PageSize::resolve(request.limit)?;
        let jobs = replay::list(&admin.engine, tenant, limit).await?;
        Ok(ReplayJobs { jobs })
    }
}
