//! `audit.list`: the audit log.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, PageSize};
use hookwire_protocol::audit::{AuditPage, ListAudit};
use hookwire_protocol::operation::ops;

use super::{Admin, Handler};

impl Handler for ops::AuditList {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: ListAudit,
    ) -> Result<AuditPage, AdminError> {
        let limit = PageSize::resolve(request.limit)?;
        crate::audit::list(&admin.engine, tenant, &request, limit).await
    }
}
