//! Read-your-writes across instances: an admin change to the configuration is answered only
//! once every instance on the [roster](crate::roster) has applied it, so an event published
//! after the answer is fanned out with the change whichever instance takes it.
//!
//! The instance that made the change reads the revision of the latest bucket entry of each
//! kind every instance follows and asks on `<prefix>.internal.sync`; every instance (itself
//! included) answers once what it has applied reaches those revisions. Changes are rare,
//! so the cost is theirs; fan-out checks nothing per event. See docs/architecture.md,
//! "Several instances", for what an instance that cannot answer means.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_nats::jetstream::stream::LastRawMessageErrorKind;
use futures_util::StreamExt as _;
use futures_util::future::join_all;
use hookwire_protocol::cluster::{FOLLOWED_KINDS, SyncReply, SyncRequest};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::engine::Engine;

/// How long an instance waits to catch up with a sync request before leaving it unanswered.
const CATCH_UP_FOR: Duration = Duration::from_secs(2);
/// How long the changing instance waits for every instance's answer.
const ANSWERS_WITHIN: Duration = Duration::from_millis(2_500);

/// Per kind of configuration this instance follows, the bucket revision it has applied.
#[derive(Clone, Default)]
pub(crate) struct Applied {
    kinds: BTreeMap<&'static str, watch::Receiver<u64>>,
}

impl Applied {
    /// Adds `kind`, whose applied revision `revision` follows.
    pub(crate) fn follow(&mut self, kind: &'static str, revision: watch::Receiver<u64>) {
        self.kinds.insert(kind, revision);
    }

    /// Waits up to `within` until every kind of `wanted` is applied up to its revision.
    async fn reach(&self, wanted: &BTreeMap<String, u64>, within: Duration) -> bool {
        let all = join_all(wanted.iter().filter_map(|(kind, &revision)| {
            let mut applied = self.kinds.get(kind.as_str())?.clone();
            Some(async move { applied.wait_for(|r| *r >= revision).await.is_ok() })
        }));
        tokio::time::timeout(within, all)
            .await
            .is_ok_and(|reached| reached.into_iter().all(|ok| ok))
    }
}

/// The instances of `members` that have not answered.
fn unanswered<'a>(members: &'a [String], answered: &BTreeSet<String>) -> Vec<&'a str> {
    members
        .iter()
        .filter(|m| !answered.contains(*m))
        .map(String::as_str)
        .collect()
}

/// Answers sync requests for this instance until the connection closes.
pub(crate) async fn serve(engine: &std::sync::Arc<Engine>) -> Result<(), async_nats::Error> {
    let mut requests = engine
        .client
        .subscribe(engine.topology.subjects.internal_sync())
        .await?;
    let engine = std::sync::Arc::clone(engine);
    tokio::spawn(async move {
        while let Some(message) = requests.next().await {
            let Some(reply_to) = message.reply else {
                continue;
            };
            let Ok(request) = serde_json::from_slice::<SyncRequest>(&message.payload) else {
                tracing::warn!("an unreadable configuration sync request; ignoring it");
                continue;
            };
            let engine = std::sync::Arc::clone(&engine);
            tokio::spawn(async move {
                if !engine.applied.reach(&request.revisions, CATCH_UP_FOR).await {
                    tracing::warn!(wanted = ?request.revisions, "this instance did not apply a configuration change in time");
                    return;
                }
                let reply = SyncReply {
                    instance: engine.instance.clone(),
                };
                let Ok(body) = serde_json::to_vec(&reply) else {
                    return;
                };
                if let Err(e) = engine.client.publish(reply_to, body.into()).await {
                    tracing::warn!(error = %e, "cannot answer a configuration sync request");
                }
            });
        }
    });
    Ok(())
}

/// Waits until every instance on the roster has applied the configuration as it is now
/// (at most [`ANSWERS_WITHIN`]); names those that did not answer in a warning.
pub(crate) async fn everywhere(engine: &Engine) {
    let deadline = Instant::now() + ANSWERS_WITHIN;
    match tokio::time::timeout_at(deadline, ask_everyone(engine, deadline)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot confirm that every instance applied a configuration change");
        }
        Err(_) => tracing::warn!(
            "confirming that every instance applied a configuration change took too long"
        ),
    }
}

async fn ask_everyone(engine: &Engine, deadline: Instant) -> Result<(), async_nats::Error> {
    let request = SyncRequest {
        revisions: latest_revisions(engine).await?,
    };
    let members = crate::roster::members(&engine.bucket).await?;
    let inbox = engine.client.new_inbox();
    let mut answers = engine.client.subscribe(inbox.clone()).await?;
    engine
        .client
        .publish_with_reply(
            engine.topology.subjects.internal_sync(),
            inbox,
            serde_json::to_vec(&request)?.into(),
        )
        .await?;
    let mut answered = BTreeSet::new();
    while !unanswered(&members, &answered).is_empty() {
        match tokio::time::timeout_at(deadline, answers.next()).await {
            Ok(Some(answer)) => {
                if let Ok(reply) = serde_json::from_slice::<SyncReply>(&answer.payload) {
                    answered.insert(reply.instance);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    let missing = unanswered(&members, &answered);
    if !missing.is_empty() {
        tracing::warn!(
            instances = ?missing,
            "instances did not confirm a configuration change in time; events they fan out in the next moments may miss it"
        );
    }
    Ok(())
}

/// Per followed kind, the revision of its latest entry in the bucket (read from the
/// stream's leader, which has every acknowledged write).
async fn latest_revisions(engine: &Engine) -> Result<BTreeMap<String, u64>, async_nats::Error> {
    let bucket = &engine.topology.config_bucket;
    let stream = engine.js.get_stream_no_info(format!("KV_{bucket}")).await?;
    let latest = join_all(FOLLOWED_KINDS.map(|kind| {
        let stream = &stream;
        async move {
            match stream
                .get_last_raw_message_by_subject(&format!("$KV.{bucket}.{kind}.>"))
                .await
            {
                Ok(message) => Ok(Some((kind.to_owned(), message.sequence))),
                Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
                Err(e) => Err(e),
            }
        }
    }))
    .await;
    let mut revisions = BTreeMap::new();
    for found in latest {
        revisions.extend(found?);
    }
    Ok(revisions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, r)| ((*k).to_owned(), *r)).collect()
    }

    #[tokio::test]
    async fn applied_reaches_the_wanted_revisions_of_the_kinds_it_follows() {
        let endpoints = watch::Sender::new(10);
        let types = watch::Sender::new(4);
        let mut applied = Applied::default();
        applied.follow("endpoints", endpoints.subscribe());
        applied.follow("types", types.subscribe());
        let short = Duration::from_millis(20);

        assert!(applied.reach(&wanted(&[("endpoints", 10)]), short).await);
        assert!(
            applied
                .reach(&wanted(&[("endpoints", 9), ("types", 4)]), short)
                .await
        );
        assert!(!applied.reach(&wanted(&[("endpoints", 11)]), short).await);
        assert!(
            !applied
                .reach(&wanted(&[("endpoints", 1), ("types", 5)]), short)
                .await,
            "one kind behind is behind"
        );
        assert!(
            applied.reach(&wanted(&[("sources", 99)]), short).await,
            "a kind it does not follow holds nothing up"
        );
        assert!(applied.reach(&BTreeMap::new(), short).await);

        let later = {
            let applied = applied.clone();
            tokio::spawn(async move {
                applied
                    .reach(&wanted(&[("types", 7)]), Duration::from_secs(5))
                    .await
            })
        };
        tokio::task::yield_now().await;
        types.send_replace(6);
        types.send_replace(7);
        assert!(later.await.unwrap(), "it waits for the revision to arrive");
    }

    #[test]
    fn unanswered_are_the_members_without_an_answer() {
        let members = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let answered = BTreeSet::from(["b".to_owned(), "z".to_owned()]);
        assert_eq!(unanswered(&members, &answered), vec!["a", "c"]);
        assert!(unanswered(&[], &answered).is_empty());
        let all = members.iter().cloned().collect();
        assert!(unanswered(&members, &all).is_empty());
    }
}
