//! What the console changes: every change is one `Action`, and the destructive ones pass
//! through the one confirmation ([`Action::confirmation`]) before they are sent.

use serde_json::{Value, json};

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
    /// A `replay.start` body, with the count `replay.preview` gave for it.
    Replay {
        request: Value,
        events: u64,
        complete: bool,
    },
    DeprecateType(String),
    DeleteType(String),
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
            Self::Pause(_)
            | Self::Resume(_)
            | Self::Enable(_)
            | Self::Verify(_)
            | Self::Redeliver { .. }
            | Self::Requeue(_) => None,
        }
    }

    /// The admin requests that carry it out, in order: (noun, verb, body).
    pub(crate) fn requests(&self) -> Vec<(&'static str, &'static str, Value)> {
        let endpoint = |verb, id: &String| vec![("endpoints", verb, json!({"id": id}))];
        let dead = |verb, seqs: &[u64]| {
            seqs.iter()
                .map(|seq| ("dead-letters", verb, json!({"seq": seq})))
                .collect()
        };
        match self {
            Self::Pause(id) => endpoint("pause", id),
            Self::Resume(id) => endpoint("resume", id),
            Self::Enable(id) => endpoint("enable", id),
            Self::Verify(id) => endpoint("verify", id),
            Self::Delete(id) => endpoint("delete", id),
            Self::RotateSecret(id) => endpoint("rotate-secret", id),
            Self::Redeliver {
                endpoint_id,
                event_id,
            } => vec![(
                "deliveries",
                "redeliver",
                json!({"endpoint_id": endpoint_id, "event_id": event_id}),
            )],
            Self::Requeue(seqs) => dead("requeue", seqs),
            Self::Purge(seqs) => dead("purge", seqs),
            Self::RequeueEndpoint(id) => {
                vec![("dead-letters", "requeue", json!({"endpoint_id": id}))]
            }
            Self::PurgeEndpoint(id) => vec![("dead-letters", "purge", json!({"endpoint_id": id}))],
            Self::Replay { request, .. } => vec![("replay", "start", request.clone())],
            Self::DeprecateType(name) => vec![("types", "deprecate", json!({"name": name}))],
            Self::DeleteType(name) => vec![("types", "delete", json!({"name": name}))],
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
            Self::Replay { request, .. } => {
                format!(
                    "replay to {}",
                    request["endpoint_id"].as_str().unwrap_or("?")
                )
            }
            Self::DeprecateType(name) => format!("deprecate {name}"),
            Self::DeleteType(name) => format!("delete type {name}"),
        }
    }

    /// What the replies say, for the status line once it is done.
    pub(crate) fn outcome(&self, replies: &[Value]) -> String {
        let sum = |key: &str| replies.iter().filter_map(|r| r[key].as_u64()).sum::<u64>();
        let what = self.describe();
        match self {
            Self::Verify(_) => match replies.first() {
                Some(reply) if reply["verified"] == true => format!("{what}: verified"),
                Some(reply) => strings::failed(
                    &what,
                    reply["error"]
                        .as_str()
                        .unwrap_or("the receiver did not answer the challenge"),
                ),
                None => strings::done(&what),
            },
            Self::Requeue(_) | Self::RequeueEndpoint(_) => {
                format!("{what}: {} requeued", sum("requeued"))
            }
            Self::Purge(_) | Self::PurgeEndpoint(_) => format!("{what}: {} purged", sum("purged")),
            Self::Replay { .. } => match replies.first() {
                Some(job) => format!("{what}: job {} started", job["id"].as_str().unwrap_or("?")),
                None => strings::done(&what),
            },
            Self::Redeliver { .. } => match replies.first() {
                Some(reply) => format!("{what}: queued as attempt {}", reply["attempt"]),
                None => strings::done(&what),
            },
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
            request: json!({"endpoint_id": "ep_1", "since": "2026-11-22T08:00:00Z"}),
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
        assert_eq!(
            Action::Delete("ep_1".into()).requests(),
            [("endpoints", "delete", json!({"id": "ep_1"}))]
        );
        assert_eq!(
            Action::Purge(vec![3, 9]).requests(),
            [
                ("dead-letters", "purge", json!({"seq": 3})),
                ("dead-letters", "purge", json!({"seq": 9}))
            ]
        );
        assert_eq!(
            Action::RequeueEndpoint("ep_2".into()).requests(),
            [("dead-letters", "requeue", json!({"endpoint_id": "ep_2"}))]
        );
    }

    #[test]
    fn outcomes_sum_the_replies() {
        let requeue = Action::Requeue(vec![1, 2]);
        let text = requeue.outcome(&[json!({"requeued": 1}), json!({"requeued": 1})]);
        assert!(text.ends_with("2 requeued"), "{text}");
        let verify = Action::Verify("ep_1".into());
        assert!(
            verify
                .outcome(&[json!({"verified": false, "error": "timeout"})])
                .contains("timeout")
        );
        assert!(
            verify
                .outcome(&[json!({"verified": true})])
                .ends_with("verified")
        );
    }
}
