//! The admin API's operations in one table: subject noun and verb, request and reply types,
//! and what each does. hookwired's dispatch and micro-service registration, the audit
//! log's action names, the CLI and the console are all derived from it, so an operation is
//! added by one row here plus its handler in hookwired; leaving either out does not
//! compile.
//!
//! Each row becomes a marker type in [`ops`] implementing [`Operation`] (for typed calls:
//! `client.send::<ops::EndpointsGet>(&request)`), a value of [`Op`] (for tables and
//! subjects), and a variant of [`AdminRequest`] and [`AdminReply`] (for callers that keep
//! requests of several operations in one list, as the console does).

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What an operation does, which decides whether it is audited and whether a read-only
/// console may send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads state; not audited.
    Read,
    /// Changes state other than configuration (deliveries, jobs); audited.
    Change,
    /// Changes the configuration every instance follows (endpoints, event types, templates,
    /// sources); audited, and answered once every instance has applied the change.
    Configure,
    /// Sends a request to a receiver without changing state; audited.
    Send,
}

impl Effect {
    /// Whether requests of this effect go to the audit log.
    #[must_use]
    pub fn audited(self) -> bool {
        self != Self::Read
    }
}

/// One admin operation at the type level.
pub trait Operation {
    /// The operation as a value.
    const OP: Op;
    /// Its request body.
    type Request: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + Sync + 'static;
    /// Its reply body on success.
    type Reply: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + Sync + 'static;
}

/// The table of admin operations. It calls `$callback!` with one row per operation:
/// `Name = "noun" "verb": Request => Reply, Effect;`, each row preceded by its doc. Crates
/// that derive code from the table (hookwired's dispatch) pass their own macro.
#[macro_export]
macro_rules! admin_operations {
    ($callback:ident) => {
        $callback! {
            /// Creates an endpoint; the reply carries its signing secret, shown only here.
            EndpointsCreate = "endpoints" "create":
                $crate::endpoint::CreateEndpoint => $crate::endpoint::CreatedEndpoint, Configure;
            /// One endpoint.
            EndpointsGet = "endpoints" "get":
                $crate::endpoint::EndpointId => $crate::endpoint::Endpoint, Read;
            /// A page of endpoints in id order.
            EndpointsList = "endpoints" "list":
                $crate::endpoint::ListEndpoints => $crate::endpoint::EndpointPage, Read;
            /// Changes an endpoint's fields.
            EndpointsUpdate = "endpoints" "update":
                $crate::endpoint::UpdateEndpoint => $crate::endpoint::Endpoint, Configure;
            /// Deletes an endpoint.
            EndpointsDelete = "endpoints" "delete":
                $crate::endpoint::EndpointId => $crate::admin::Deleted, Configure;
            /// Holds an endpoint's deliveries until it is resumed.
            EndpointsPause = "endpoints" "pause":
                $crate::endpoint::EndpointId => $crate::endpoint::Endpoint, Configure;
            /// Delivers again to a paused endpoint, releasing what it held.
            EndpointsResume = "endpoints" "resume":
                $crate::endpoint::EndpointId => $crate::endpoint::Endpoint, Configure;
            /// Delivers again to a disabled endpoint, with a fresh circuit.
            EndpointsEnable = "endpoints" "enable":
                $crate::endpoint::EndpointId => $crate::endpoint::Endpoint, Configure;
            /// A new signing secret; the previous one keeps signing for a grace period.
            EndpointsRotateSecret = "endpoints" "rotate-secret":
                $crate::endpoint::RotateSecret => $crate::endpoint::RotatedSecret, Configure;
            /// Runs subscription verification now and records the result.
            EndpointsVerify = "endpoints" "verify":
                $crate::endpoint::EndpointId => $crate::verification::VerificationReport, Configure;
            /// The last hour, day and week of attempts.
            EndpointsStats = "endpoints" "stats":
                $crate::endpoint::EndpointId => $crate::stats::EndpointStats, Read;
            /// Sends one signed test event now.
            EndpointsTest = "endpoints" "test":
                $crate::endpoint::TestEndpoint => $crate::attempt::AttemptRecord, Send;
            /// An ordered endpoint's keys whose head failed and waits.
            EndpointsBlockedKeys = "endpoints" "blocked-keys":
                $crate::endpoint::EndpointId => $crate::ordered::BlockedKeys, Read;
            /// Moves an ordered lane's head aside (dropped or dead-lettered) so its key goes on.
            EndpointsSkipHead = "endpoints" "skip-head":
                $crate::ordered::SkipHead => $crate::ordered::SkippedHead, Change;
            /// One delivery with every attempt.
            DeliveriesGet = "deliveries" "get":
                $crate::delivery::DeliveryId => $crate::delivery::DeliveryDetail, Read;
            /// Sends one delivery again now, with a fresh retry schedule.
            DeliveriesRedeliver = "deliveries" "redeliver":
                $crate::delivery::DeliveryId => $crate::delivery::Redelivered, Change;
            /// Sends every delivery of an endpoint that died since a time again.
            DeliveriesRedeliverFailed = "deliveries" "redeliver-failed":
                $crate::delivery::RedeliverFailed => $crate::delivery::RedeliveredFailed, Change;
            /// A page of deliveries, most recently attempted first.
            DeliveriesList = "deliveries" "list":
                $crate::delivery::ListDeliveries => $crate::delivery::DeliveryPage, Read;
            /// One event with the deliveries it caused.
            EventsGet = "events" "get":
                $crate::event::GetEvent => $crate::event::EventDetail, Read;
            /// A page of events in stream order.
            EventsList = "events" "list":
                $crate::event::ListEvents => $crate::event::EventPage, Read;
            /// A page of dead letters, oldest first.
            DeadLettersList = "dead-letters" "list":
                $crate::dead_letter::ListDeadLetters => $crate::dead_letter::DeadLetterPage, Read;
            /// Sends dead letters back for delivery.
            DeadLettersRequeue = "dead-letters" "requeue":
                $crate::dead_letter::DeadLetterSelection => $crate::dead_letter::Requeued, Change;
            /// Deletes dead letters.
            DeadLettersPurge = "dead-letters" "purge":
                $crate::dead_letter::DeadLetterSelection => $crate::dead_letter::Purged, Change;
            /// Starts a replay job.
            ReplayStart = "replay" "start":
                $crate::replay::StartReplay => $crate::replay::ReplayJob, Change;
            /// Counts what a replay would queue.
            ReplayPreview = "replay" "preview":
                $crate::replay::StartReplay => $crate::replay::ReplayPreview, Read;
            /// One replay job.
            ReplayGet = "replay" "get":
                $crate::replay::ReplayId => $crate::replay::ReplayJob, Read;
            /// The tenant's replay jobs, newest first.
            ReplayList = "replay" "list":
                $crate::admin::PageSize => $crate::replay::ReplayJobs, Read;
            /// Adds an event type to the catalog.
            TypesCreate = "types" "create":
                $crate::catalog::CreateType => $crate::catalog::EventTypeDef, Configure;
            /// One event type.
            TypesGet = "types" "get":
                $crate::catalog::TypeName => $crate::catalog::EventTypeDef, Read;
            /// The tenant's catalog.
            TypesList = "types" "list":
                $crate::admin::NoFields => $crate::catalog::TypeList, Read;
            /// Changes an event type.
            TypesUpdate = "types" "update":
                $crate::catalog::UpdateType => $crate::catalog::EventTypeDef, Configure;
            /// Marks an event type deprecated.
            TypesDeprecate = "types" "deprecate":
                $crate::catalog::TypeName => $crate::catalog::EventTypeDef, Configure;
            /// Removes an event type from the catalog.
            TypesDelete = "types" "delete":
                $crate::catalog::TypeName => $crate::admin::Deleted, Configure;
            /// Creates a payload template (version 1), from a body or a preset.
            TemplatesCreate = "templates" "create":
                $crate::template::CreateTemplate => $crate::template::TemplateVersion, Configure;
            /// Adds a version to a template; endpoints keep the version they pin.
            TemplatesAddVersion = "templates" "add-version":
                $crate::template::AddTemplateVersion => $crate::template::TemplateVersion, Configure;
            /// One template with every version and the endpoints pinning them.
            TemplatesGet = "templates" "get":
                $crate::template::TemplateName => $crate::template::TemplateDetail, Read;
            /// The tenant's templates.
            TemplatesList = "templates" "list":
                $crate::admin::NoFields => $crate::template::TemplateList, Read;
            /// Deletes a template that no endpoint pins.
            TemplatesDelete = "templates" "delete":
                $crate::template::TemplateName => $crate::admin::Deleted, Configure;
            /// The ready templates `templates.create` installs by name.
            TemplatesPresets = "templates" "presets":
                $crate::admin::NoFields => $crate::template::PresetList, Read;
            /// Renders what a template version would send, sending nothing.
            TemplatesPreview = "templates" "preview":
                $crate::template::PreviewTemplate => $crate::template::RenderedRequest, Read;
            /// The tenant's public keys for `v1a` signatures, as a JWKS document.
            KeysGet = "keys" "get":
                $crate::admin::NoFields => $crate::v1a::Jwks, Read;
            /// The tenant at a glance.
            OverviewGet = "overview" "get":
                $crate::admin::NoFields => $crate::overview::Overview, Read;
            /// Version, configuration and every stream's state.
            SystemInfo = "system" "info":
                $crate::admin::NoFields => $crate::system::SystemInfo, Read;
            /// Whether the answering instance can do its work.
            SystemHealth = "system" "health":
                $crate::admin::NoFields => $crate::system::Health, Read;
            /// A page of the audit log.
            AuditList = "audit" "list":
                $crate::audit::ListAudit => $crate::audit::AuditPage, Read;
            /// Creates an incoming-webhook source.
            SourcesCreate = "sources" "create":
                $crate::source::CreateSource => $crate::source::CreatedSource, Configure;
            /// One source.
            SourcesGet = "sources" "get":
                $crate::source::SourceName => $crate::source::SourceView, Read;
            /// The tenant's sources.
            SourcesList = "sources" "list":
                $crate::admin::NoFields => $crate::source::SourceList, Read;
            /// Changes a source.
            SourcesUpdate = "sources" "update":
                $crate::source::UpdateSource => $crate::source::CreatedSource, Configure;
            /// Deletes a source.
            SourcesDelete = "sources" "delete":
                $crate::source::SourceName => $crate::admin::Deleted, Configure;
            /// A new URL token for a source; the old URL stops working at once.
            SourcesRotateToken = "sources" "rotate-token":
                $crate::source::SourceName => $crate::source::SourceView, Configure;
            /// What a sample request would publish, without publishing it.
            SourcesTest = "sources" "test":
                $crate::source::TestSource => $crate::source::TestedSource, Read;
            /// A source's counters on the answering instance.
            SourcesStats = "sources" "stats":
                $crate::source::SourceName => $crate::source::SourceStats, Read;
            /// Recent requests to a source.
            SourcesRequests = "sources" "requests":
                $crate::source::ListSourceRequests => $crate::source::SourceRequestPage, Read;
        }
    };
}

macro_rules! define_operations {
    ($($(#[$doc:meta])* $name:ident = $noun:literal $verb:literal: $request:ty => $reply:ty, $effect:ident;)*) => {
        /// An admin operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op {
            $($(#[$doc])* $name,)*
        }

        impl Op {
            /// Every operation, in table order.
            pub const ALL: &'static [Op] = &[$(Op::$name,)*];

            /// The subject noun (`endpoints`).
            #[must_use]
            pub const fn noun(self) -> &'static str {
                match self { $(Op::$name => $noun,)* }
            }

            /// The subject verb (`rotate-secret`).
            #[must_use]
            pub const fn verb(self) -> &'static str {
                match self { $(Op::$name => $verb,)* }
            }

            /// `noun.verb`: how people, docs and the audit log name it.
            #[must_use]
            pub const fn action(self) -> &'static str {
                match self { $(Op::$name => concat!($noun, ".", $verb),)* }
            }

            /// What it does.
            #[must_use]
            pub const fn effect(self) -> Effect {
                match self { $(Op::$name => Effect::$effect,)* }
            }
        }

        /// The operations as types.
        pub mod ops {
            $(
                $(#[$doc])*
                #[derive(Debug, Clone, Copy)]
                pub struct $name;

                impl super::Operation for $name {
                    const OP: super::Op = super::Op::$name;
                    type Request = $request;
                    type Reply = $reply;
                }
            )*
        }

        /// A request of any operation.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant, reason = "requests are few and short-lived; boxing would cost every caller")]
        pub enum AdminRequest {
            $($(#[$doc])* $name($request),)*
        }

        impl AdminRequest {
            /// Its operation.
            #[must_use]
            pub fn op(&self) -> Op {
                match self { $(Self::$name(_) => Op::$name,)* }
            }

            /// Its body as sent.
            pub fn to_body(&self) -> Result<Vec<u8>, serde_json::Error> {
                match self { $(Self::$name(request) => serde_json::to_vec(request),)* }
            }
        }

        /// A reply of any operation.
        #[derive(Debug, Clone)]
        #[allow(clippy::large_enum_variant, reason = "replies are few and short-lived; boxing would cost every caller")]
        pub enum AdminReply {
            $($(#[$doc])* $name($reply),)*
        }

        impl AdminReply {
            /// `op`'s reply from its body.
            pub fn decode(op: Op, body: &[u8]) -> Result<Self, serde_json::Error> {
                Ok(match op { $(Op::$name => Self::$name(serde_json::from_slice(body)?),)* })
            }

            /// Its operation.
            #[must_use]
            pub fn op(&self) -> Op {
                match self { $(Self::$name(_) => Op::$name,)* }
            }
        }
    };
}

admin_operations!(define_operations);

impl Op {
    /// The operation a subject's noun and verb name.
    #[must_use]
    pub fn find(noun: &str, verb: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.noun() == noun && op.verb() == verb)
    }

    /// Why `noun.verb` is not an operation, naming the valid ones: the noun's verbs when
    /// the noun exists, else the nouns.
    #[must_use]
    pub fn unknown(noun: &str, verb: &str) -> String {
        let verbs: Vec<&str> = Self::ALL
            .iter()
            .filter(|op| op.noun() == noun)
            .map(|op| op.verb())
            .collect();
        if verbs.is_empty() {
            let mut nouns: Vec<&str> = Self::ALL.iter().map(|op| op.noun()).collect();
            nouns.dedup();
            format!(
                "unknown operation {noun}.{verb}: there is no noun {noun:?}; the nouns are {}",
                nouns.join(", ")
            )
        } else {
            format!(
                "unknown operation {noun}.{verb}: {noun} has the verbs {}",
                verbs.join(", ")
            )
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.action())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_named_once_with_subject_safe_tokens() {
        let mut actions: Vec<&str> = Op::ALL.iter().map(|op| op.action()).collect();
        let count = actions.len();
        actions.sort_unstable();
        actions.dedup();
        assert_eq!(actions.len(), count, "an operation is listed twice");
        for op in Op::ALL {
            assert!(
                crate::subject::validate_token("noun", op.noun()).is_ok(),
                "{op}"
            );
            assert!(
                crate::subject::validate_token("verb", op.verb()).is_ok(),
                "{op}"
            );
            assert_eq!(Op::find(op.noun(), op.verb()), Some(*op));
        }
        assert_eq!(Op::find("endpoints", "explode"), None);
    }

    #[test]
    fn reads_are_not_audited_changes_and_sends_are() {
        for op in [
            Op::EndpointsGet,
            Op::EndpointsList,
            Op::EndpointsStats,
            Op::ReplayPreview,
            Op::SystemHealth,
            Op::AuditList,
            Op::OverviewGet,
            Op::SourcesTest,
            Op::SourcesRequests,
        ] {
            assert!(!op.effect().audited(), "{op}");
        }
        for op in [
            Op::EndpointsCreate,
            Op::EndpointsRotateSecret,
            Op::EndpointsTest,
            Op::EndpointsVerify,
            Op::DeadLettersPurge,
            Op::ReplayStart,
            Op::TypesDeprecate,
            Op::SourcesRotateToken,
        ] {
            assert!(op.effect().audited(), "{op}");
        }
    }

    #[test]
    fn unknown_operations_are_explained() {
        let message = Op::unknown("endpoints", "explode");
        assert!(
            message.contains("create") && message.contains("rotate-secret"),
            "{message}"
        );
        let message = Op::unknown("widgets", "list");
        assert!(message.contains("no noun \"widgets\""), "{message}");
        assert!(
            message.contains("dead-letters") && message.contains("sources"),
            "{message}"
        );
    }

    #[test]
    fn requests_and_replies_round_trip_through_their_operation() {
        let request = AdminRequest::EndpointsGet(crate::endpoint::EndpointId {
            id: "ep_1".to_owned(),
        });
        assert_eq!(request.op(), Op::EndpointsGet);
        assert_eq!(request.to_body().unwrap(), br#"{"id":"ep_1"}"#);
        let reply = AdminReply::decode(Op::EndpointsDelete, br#"{"deleted":"ep_1"}"#).unwrap();
        assert!(matches!(reply, AdminReply::EndpointsDelete(d) if d.deleted == "ep_1"));
        assert!(AdminReply::decode(Op::EndpointsDelete, br#"{"purged":1}"#).is_err());
    }
}
