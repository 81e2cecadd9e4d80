//! What the console changes: every change is one `Action`, and the destructive ones pass
//! through the one confirmation ([`Action::confirmation`]) before they are sent.

use hookwire_protocol::catalog::TypeName;
use hookwire_protocol::dead_letter::DeadLetterSelection;
use hookwire_protocol::delivery::DeliveryId;
use hookwire_protocol::endpoint::{EndpointId, RotateSecret};
use hookwire_protocol::operation::{AdminReply, AdminRequest};
use hookwire_protocol::ordered::SkipHead;
use hookwire_protocol::replay::StartReplay;
use hookwire_protocol::template::TemplateName;

use super::strings;

/// A change to make, always naming its targets by id (never by row: a live list moves).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Pause(String),
    Resume(String),
    Enable(String),
    Verify(String),
    Delete(String),
    RotateSecret(String),
    Redeliver {
        endpoint_id: String,
        event_id: String,
    },
    /// Dead letters by sequence.
    Requeue(Vec<u64>),
    /// Every dead letter of an endpoint.
    RequeueEndpoint(String),
    Purge(Vec<u64>),
    PurgeEndpoint(String),
    /// A `replay.start` request, with the count `replay.preview` gave for it.
    Replay {
        request: StartReplay,
        events: u64,
        complete: bool,
    },
    DeprecateType(String),
    DeleteType(String),
    DeleteTemplate(String),
    /// Moves an ordered endpoint's blocked key's head aside: dropped, or kept as a dead
    /// letter.
    SkipHead {
        endpoint_id: String,
        lane: String,
        key: String,
        event_id: String,
        dead_letter: bool,
    },
}

impl Action {
    /// The question to ask first, for destructive actions: it names exactly what happens.
    pub(crate) fn confirmation(&self) -> Option<String> {
        match self {
            Self::Delete(id) => Some(strings::confirm_delete(id)),
            Self::RotateSecret(id) => Some(strings::confirm_rotate(id)),
            Self::Requeue(seqs) if seqs.len() > 1 => Some(strings::confirm_requeue(seqs.len())),
            Self::RequeueEndpoint(id) => Some(strings::confirm_requeue_endpoint(id)),
            Self::Purge(seqs) => Some(strings::confirm_purge(seqs.len())),
            Self::PurgeEndpoint(id) => Some(strings::confirm_purge_endpoint(id)),
            Self::Replay {
                request,
                events,
                complete,
            } => Some(strings::confirm_replay(request, *events, *complete)),
            Self::DeprecateType(name) => Some(strings::confirm_deprecate(name)),
            Self::DeleteType(name) => Some(strings::confirm_delete_type(name)),
            Self::DeleteTemplate(name) => Some(strings::confirm_delete_template(name)),
            Self::SkipHead {
                endpoint_id,
                key,
                event_id,
                dead_letter,
                ..
            } => Some(strings::confirm_skip_head(
                endpoint_id,
                key,
                event_id,
                *dead_letter,
            )),
            Self::Pause(_)
            | Self::Resume(_)
            | Self::Enable(_)
            | Self::Verify(_)
            | Self::Redeliver { .. }
            | Self::Requeue(_) => None,
        }
    }

    /// The admin requests that carry it out, in order.
    pub(crate) fn requests(&self) -> Vec<AdminRequest> {
        let id = |id: &String| EndpointId { id: id.clone() };
        let seq = |seq: &u64| DeadLetterSelection {
            seq: Some(*seq),
            endpoint_id: None,
        };
        let all_of = |id: &String| DeadLetterSelection {
            seq: None,
            endpoint_id: Some(id.clone()),
        };
        let name = |name: &String| TypeName { name: name.clone() };
        match self {
            Self::Pause(i) => vec![AdminRequest::EndpointsPause(id(i))],
            Self::Resume(i) => vec![AdminRequest::EndpointsResume(id(i))],
            Self::Enable(i) => vec![AdminRequest::EndpointsEnable(id(i))],
            Self::Verify(i) => vec![AdminRequest::EndpointsVerify(id(i))],
            Self::Delete(i) => vec![AdminRequest::EndpointsDelete(id(i))],
            Self::RotateSecret(i) => vec![AdminRequest::EndpointsRotateSecret(RotateSecret {
                id: i.clone(),
                ..RotateSecret::default()
            })],
            Self::Redeliver {
                endpoint_id,
                event_id,
            } => vec![AdminRequest::DeliveriesRedeliver(DeliveryId {
                endpoint_id: endpoint_id.clone(),
                event_id: event_id.clone(),
            })],
            Self::Requeue(seqs) => seqs
                .iter()
                .map(|s| AdminRequest::DeadLettersRequeue(seq(s)))
                .collect(),
            Self::Purge(seqs) => seqs
                .iter()
                .map(|s| AdminRequest::DeadLettersPurge(seq(s)))
                .collect(),
            Self::RequeueEndpoint(i) => vec![AdminRequest::DeadLettersRequeue(all_of(i))],
            Self::PurgeEndpoint(i) => vec![AdminRequest::DeadLettersPurge(all_of(i))],
            Self::Replay { request, .. } => vec![AdminRequest::ReplayStart(request.clone())],
            Self::DeprecateType(n) => vec![AdminRequest::TypesDeprecate(name(n))],
            Self::DeleteType(n) => vec![AdminRequest::TypesDelete(name(n))],
            Self::DeleteTemplate(n) => vec![AdminRequest::TemplatesDelete(TemplateName {
                name: n.clone(),
            })],
            Self::SkipHead {
                endpoint_id,
                lane,
                dead_letter,
                ..
            } => vec![AdminRequest::EndpointsSkipHead(SkipHead {
                id: endpoint_id.clone(),
                lane: lane.clone(),
                dead_letter: *dead_letter,
            })],
        }
    }

    /// Short words for the status line.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Pause(id) => format!("pause {id}"),
            Self::Resume(id) => format!("resume {id}"),
            Self::Enable(id) => format!("enable {id}"),
            Self::Verify(id) => format!("verify {id}"),
            Self::Delete(id) => format!("delete {id}"),
            Self::RotateSecret(id) => format!("rotate the secret of {id}"),
            Self::Redeliver {
                endpoint_id,
                event_id,
            } => format!("redeliver {event_id} to {endpoint_id}"),
            Self::Requeue(seqs) => format!("requeue {} dead letter(s)", seqs.len()),
            Self::RequeueEndpoint(id) => format!("requeue the dead letters of {id}"),
            Self::Purge(seqs) => format!("purge {} dead letter(s)", seqs.len()),
            Self::PurgeEndpoint(id) => format!("purge the dead letters of {id}"),
            Self::Replay { request, .. } => format!("replay to {}", request.endpoint_id),
            Self::DeprecateType(name) => format!("deprecate {name}"),
            Self::DeleteType(name) => format!("delete type {name}"),
            Self::DeleteTemplate(name) => format!("delete template {name}"),
            Self::SkipHead {
                event_id,
                dead_letter: true,
                ..
            } => format!("move {event_id} to the dead letters"),
            Self::SkipHead { event_id, .. } => format!("drop {event_id}"),
        }
    }

    /// What the replies say, for the status line once it is done.
    pub(crate) fn outcome(&self, replies: &[AdminReply]) -> String {
        let what = self.describe();
        let requeued: u64 = replies
            .iter()
            .map(|r| match r {
                AdminReply::DeadLettersRequeue(r) => r.requeued,
                _ => 0,
            })
            .sum();
        let purged: u64 = replies
            .iter()
            .map(|r| match r {
                AdminReply::DeadLettersPurge(p) => p.purged,
                _ => 0,
            })
            .sum();
        match (self, replies.first()) {
            (Self::Verify(_), Some(AdminReply::EndpointsVerify(report))) => {
                if report.verified {
                    format!("{what}: verified")
                } else {
                    strings::failed(
                        &what,
                        report
                            .error
                            .as_deref()
                            .unwrap_or("the receiver did not answer the challenge"),
                    )
                }
            }
            (Self::Requeue(_) | Self::RequeueEndpoint(_), _) => {
                format!("{what}: {requeued} requeued")
            }
            (Self::Purge(_) | Self::PurgeEndpoint(_), _) => format!("{what}: {purged} purged"),
            (Self::Replay { .. }, Some(AdminReply::ReplayStart(job))) => {
                format!("{what}: job {} started", job.id)
            }
            (Self::Redeliver { .. }, Some(AdminReply::DeliveriesRedeliver(queued))) => {
                format!("{what}: queued as attempt {}", queued.attempt)
            }
            _ => strings::done(&what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_actions_ask_first_naming_their_target() {
        for action in [
            Action::Delete("ep_1".into()),
            Action::RotateSecret("ep_1".into()),
            Action::RequeueEndpoint("ep_1".into()),
            Action::PurgeEndpoint("ep_1".into()),
        ] {
            assert!(
                action.confirmation().unwrap().contains("ep_1"),
                "{action:?}"
            );
        }
        assert!(Action::Purge(vec![4]).confirmation().is_some());
        assert!(
            Action::DeleteType("a.b".into())
                .confirmation()
                .unwrap()
                .contains("a.b")
        );
        // Bulk requeue asks; requeueing one does not.
        assert!(
            Action::Requeue(vec![1, 2])
                .confirmation()
                .unwrap()
                .contains('2')
        );
        assert!(Action::Requeue(vec![1]).confirmation().is_none());
        assert!(Action::Pause("ep_1".into()).confirmation().is_none());
        let replay = Action::Replay {
            request: StartReplay {
                endpoint_id: "ep_1".into(),
                since: "2026-11-22T08:00:00Z".parse().unwrap(),
                ..StartReplay::default()
            },
            events: 42,
            complete: true,
        };
        let question = replay.confirmation().unwrap();
        assert!(
            question.contains("42 events") && question.contains("ep_1"),
            "{question}"
        );
    }

    #[test]
    fn actions_become_requests_by_id() {
        let bodies = |action: Action| -> Vec<(String, serde_json::Value)> {
            action
                .requests()
                .iter()
                .map(|r| {
                    let body = serde_json::from_slice(&r.to_body().unwrap()).unwrap();
                    (r.op().action().to_owned(), body)
                })
                .collect()
        };
        assert_eq!(
            bodies(Action::Delete("ep_1".into())),
            [(
                "endpoints.delete".to_owned(),
                serde_json::json!({"id": "ep_1"})
            )]
        );
        assert_eq!(
            bodies(Action::Purge(vec![3, 9])),
            [
                (
                    "dead-letters.purge".to_owned(),
                    serde_json::json!({"seq": 3, "endpoint_id": null})
                ),
                (
                    "dead-letters.purge".to_owned(),
                    serde_json::json!({"seq": 9, "endpoint_id": null})
                )
            ]
        );
        assert_eq!(
            bodies(Action::RequeueEndpoint("ep_2".into())),
            [(
                "dead-letters.requeue".to_owned(),
                serde_json::json!({"seq": null, "endpoint_id": "ep_2"})
            )]
        );
    }

    #[test]
    fn outcomes_sum_the_replies() {
        use hookwire_protocol::dead_letter::Requeued;
        let requeue = Action::Requeue(vec![1, 2]);
        let text = requeue.outcome(&[
            AdminReply::DeadLettersRequeue(Requeued { requeued: 1 }),
            AdminReply::DeadLettersRequeue(Requeued { requeued: 1 }),
        ]);
        assert!(text.ends_with("2 requeued"), "{text}");
    }
}
