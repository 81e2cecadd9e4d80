//! `keys.get`: the tenant's public keys for `v1a` signatures ([`crate::keys`]).

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, NoFields};
use hookwire_protocol::operation::ops;
use hookwire_protocol::v1a::Jwks;

use super::{Admin, Handler};

impl Handler for ops::KeysGet {
    /// Every live key of the tenant's `ed25519` endpoints.
    async fn handle(admin: &Admin, tenant: &Tenant, _: NoFields) -> Result<Jwks, AdminError> {
        Ok(crate::keys::jwks(
            &admin.engine.registry,
            tenant,
            chrono::Utc::now(),
        ))
    }
}
