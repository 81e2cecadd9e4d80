//! `types.*`: the event-types catalog.

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, Deleted, NoFields};
use hookwire_protocol::catalog::{
    CreateType, EventTypeDef, TypeList, TypeName, UpdateType, validate_name,
};
use hookwire_protocol::operation::ops;

use super::{Admin, Handler};
use crate::catalog;

impl Handler for ops::TypesCreate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: CreateType,
    ) -> Result<EventTypeDef, AdminError> {
        let engine = &admin.engine;
        catalog::create(&engine.bucket, &engine.catalog, tenant, request).await
    }
}

impl Handler for ops::TypesUpdate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: UpdateType,
    ) -> Result<EventTypeDef, AdminError> {
        let engine = &admin.engine;
        catalog::update(&engine.bucket, &engine.catalog, tenant, request).await
    }
}

impl Handler for ops::TypesGet {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: TypeName,
    ) -> Result<EventTypeDef, AdminError> {
        let name = validate_name(&request.name)?;
        admin
            .engine
            .catalog
            .get(tenant, &name)
            .ok_or_else(|| catalog::not_found(&name))
    }
}

impl Handler for ops::TypesList {
    async fn handle(admin: &Admin, tenant: &Tenant, _: NoFields) -> Result<TypeList, AdminError> {
        Ok(TypeList {
            types: admin.engine.catalog.list(tenant),
        })
    }
}

impl Handler for ops::TypesDeprecate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: TypeName,
    ) -> Result<EventTypeDef, AdminError> {
        let engine = &admin.engine;
        catalog::deprecate(&engine.bucket, &engine.catalog, tenant, &request.name).await
    }
}

impl Handler for ops::TypesDelete {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: TypeName,
    ) -> Result<Deleted, AdminError> {
        let engine = &admin.engine;
        catalog::delete(&engine.bucket, &engine.catalog, tenant, &request.name).await?;
        Ok(Deleted {
            deleted: request.name,
        })
    }
}
