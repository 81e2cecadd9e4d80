//! `deliveries.*`: one event for one endpoint, from this instance's index; redelivery.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, PageSize};
use hookwire_protocol::attempt::Outcome;
use hookwire_protocol::delivery::{
    DeliveryDetail, DeliveryId, DeliveryPage, ListDeliveries, RedeliverFailed, Redelivered,
    RedeliveredFailed,
};
use hookwire_protocol::operation::ops;

use super::{Admin, Handler};
use crate::store::{DeliveryCursor, StoreError};
use crate::{events, redeliver};

/// The most deliveries one `redeliver-failed` sends.
const MAX_REDELIVER: usize = 10_000;

impl Handler for ops::DeliveriesGet {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: DeliveryId,
    ) -> Result<DeliveryDetail, AdminError> {
        let store = admin.store.clone();
        let tenant = tenant.clone();
        let (delivery, attempts) = tokio::task::spawn_blocking(move || {
            let delivery = store.delivery(&tenant, &request.endpoint_id, &request.event_id)?;
            let attempts = store.attempts(&tenant, &request.endpoint_id, &request.event_id)?;
            Ok::<_, StoreError>((delivery, attempts))
        })
        .await
        .map_err(|e| AdminError::internal("reading the delivery", e))?
        .map_err(|e| AdminError::internal("reading the delivery", e))?;
        let delivery = delivery.ok_or_else(super::delivery_not_found)?;
        // The body every attempt sent wraps the event's data, read back from the stream.
        let event_data = events::data(&admin.engine, delivery.event_seq).await;
        Ok(DeliveryDetail {
            delivery,
            attempts,
            event_data,
        })
    }
}

impl Handler for ops::DeliveriesList {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: ListDeliveries,
    ) -> Result<DeliveryPage, AdminError> {
        let query = request.query()?;
        let limit = PageSize::resolve(request.limit)?;
        let cursor = request
            .cursor
            .as_deref()
            .map(|c| {
                DeliveryCursor::decode(c).ok_or_else(|| {
                    AdminError::invalid("cursor", "not a cursor from a previous page")
                })
            })
            .transpose()?;
        let (store, owner) = (admin.store.clone(), tenant.clone());
        let (deliveries, next) = tokio::task::spawn_blocking(move || {
            store.list_deliveries(&owner, &query, cursor.as_ref(), limit)
        })
        .await
        .map_err(|e| AdminError::internal("listing deliveries", e))?
        .map_err(|e| AdminError::internal("listing deliveries", e))?;
        Ok(DeliveryPage {
            deliveries,
            next_cursor: next.map(|c| c.encode()),
        })
    }
}

impl Handler for ops::DeliveriesRedeliver {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: DeliveryId,
    ) -> Result<Redelivered, AdminError> {
        let attempt = redeliver::redeliver(
            &admin.engine,
            &admin.store,
            tenant,
            &request.endpoint_id,
            &request.event_id,
        )
        .await?;
        Ok(Redelivered {
            queued: true,
            attempt,
        })
    }
}

impl Handler for ops::DeliveriesRedeliverFailed {
    /// Every dead delivery of an endpoint since a time, sent again now (at most
    /// [`MAX_REDELIVER`] per request).
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: RedeliverFailed,
    ) -> Result<RedeliveredFailed, AdminError> {
        admin.endpoint(tenant, &request.endpoint_id)?;
        let query = ListDeliveries {
            endpoint_id: Some(request.endpoint_id.clone()),
            state: Some(Outcome::Dead),
            since: Some(request.since),
            ..ListDeliveries::default()
        }
        .query()?;
        let (store, owner) = (admin.store.clone(), tenant.clone());
        let dead = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            let mut cursor = None;
            loop {
                let (page, next) = store.list_deliveries(&owner, &query, cursor.as_ref(), 500)?;
                all.extend(page);
                match next {
                    Some(next) if all.len() < MAX_REDELIVER => cursor = Some(next),
                    _ => return Ok::<_, StoreError>(all),
                }
            }
        })
        .await
        .map_err(|e| AdminError::internal("listing dead deliveries", e))?
        .map_err(|e| AdminError::internal("listing dead deliveries", e))?;
        let mut redelivered = 0;
        // A batch goes again once, as a unit, for all of its events.
        let mut batches = std::collections::HashSet::new();
        for delivery in dead.iter().take(MAX_REDELIVER) {
            if let Some(batch) = &delivery.batch_id
                && !batches.insert(batch.clone())
            {
                continue;
            }
            redeliver::redeliver(
                &admin.engine,
                &admin.store,
                tenant,
                &delivery.endpoint_id,
                &delivery.event_id,
            )
            .await?;
            redelivered += 1;
        }
        Ok(RedeliveredFailed {
            redelivered,
            more: dead.len() > MAX_REDELIVER,
        })
    }
}
