//! `events.*`: events read back from the events stream.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, PageSize};
use hookwire_protocol::event::{EventDetail, EventPage, GetEvent, ListEvents};
use hookwire_protocol::operation::ops;

use super::{Admin, Handler};
use crate::events;

impl Handler for ops::EventsGet {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: GetEvent,
    ) -> Result<EventDetail, AdminError> {
        events::get(&admin.engine, &admin.store, tenant, request).await
    }
}

impl Handler for ops::EventsList {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: ListEvents,
    ) -> Result<EventPage, AdminError> {
        let limit = PageSize::resolve(request.limit)?;
        events::list(&admin.engine, tenant, &request, limit).await
    }
}
