//! `dead-letters.*`: deliveries that used up their attempts.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, PageSize};
use hookwire_protocol::dead_letter::{
    DeadLetterPage, DeadLetterSelection, ListDeadLetters, Purged, Requeued,
};
use hookwire_protocol::operation::ops;

use super::{Admin, Handler};
use crate::dead_letters;

impl Handler for ops::DeadLettersList {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: ListDeadLetters,
    ) -> Result<DeadLetterPage, AdminError> {
        let limit = PageSize::resolve(request.limit)?;
        dead_letters::list(
            &admin.engine,
            tenant,
            request.endpoint_id.as_deref(),
            request.cursor,
            limit,
        )
        .await
    }
}

impl Handler for ops::DeadLettersRequeue {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: DeadLetterSelection,
    ) -> Result<Requeued, AdminError> {
        let requeued = dead_letters::requeue(&admin.engine, tenant, &request).await?;
        Ok(Requeued { requeued })
    }
}

impl Handler for ops::DeadLettersPurge {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: DeadLetterSelection,
    ) -> Result<Purged, AdminError> {
        let purged = dead_letters::purge(&admin.engine, tenant, &request).await?;
        Ok(Purged { purged })
    }
}
