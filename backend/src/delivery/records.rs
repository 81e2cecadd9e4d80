//! Attempt records are stored in groups: one message per endpoint
//! (`protocol::attempt::grouped_records`) carries the records of the attempts that settled
//! within a few milliseconds of each other, so JetStream stores, acknowledges and hands the
//! indexer one message per group instead of one per attempt, and with `sync_interval:
//! always` fsyncs once per group. A group leaves once it has [`LEAVES_AT_RECORDS`] records
//! or its first record has waited [`LINGER`]; while two groups wait for JetStream the next
//! one goes on growing, up to [`MAX_GROUP_RECORDS`].
//! Each settling attempt waits until its own record is stored (its event or task is acked
//! only then); the delivery itself is not delayed, as the record follows the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

use super::durable::{Outgoing, publish_durably};
use crate::engine::Engine;

/// Groups being stored at once; the next one grows meanwhile.
const GROUPS_IN_FLIGHT: usize = 2;
/// How long a group's first record waits for others to share its message. At paced rates
/// this is what makes groups (at 250 settling attempts a second a group carries about
/// five); it delays the ack of the attempt's event or task, never the delivery.
const LINGER: Duration = Duration::from_millis(20);
/// A group this large leaves without waiting out [`LINGER`]: in a flood groups fill in a
/// few milliseconds anyway, and every record not yet stored is an attempt made again if the
/// instance dies (its event or task is not acked yet).
const LEAVES_AT_RECORDS: usize = 16;
/// Records one group carries at most (it grows past [`LEAVES_AT_RECORDS`] while two groups
/// await JetStream).
const MAX_GROUP_RECORDS: usize = 128;
/// The encoded size a group stops growing at (well under NATS's 1 MiB default payload).
const MAX_GROUP_BYTES: usize = 256 * 1024;

/// Where settling attempts hand their records; [`run`] stores them. Unbounded, yet never
/// holds more than one record per attempt in flight: each attempt waits for its own.
pub(crate) struct RecordLog {
    queue: mpsc::UnboundedSender<Pending>,
    waiting: Mutex<Option<mpsc::UnboundedReceiver<Pending>>>,
}

/// One record waiting to be stored, and who waits for it.
struct Pending {
    subject: String,
    json: Vec<u8>,
    stored: oneshot::Sender<Result<(), String>>,
}

impl Default for RecordLog {
    fn default() -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        Self {
            queue,
            waiting: Mutex::new(Some(waiting)),
        }
    }
}

impl RecordLog {
    /// Stores one attempt record (`json`) on `subject` (the endpoint's live subject) with
    /// whatever else settles meanwhile; returns once JetStream has it.
    pub(crate) async fn store(
        &self,
        subject: String,
        json: Vec<u8>,
    ) -> Result<(), async_nats::Error> {
        let (stored, done) = oneshot::channel();
        self.queue
            .send(Pending {
                subject,
                json,
                stored,
            })
            .map_err(|_| "the attempt-record log has stopped")?;
        done.await
            .map_err(|_| "the attempt-record log stopped before storing the record")?
            .map_err(Into::into)
    }
}

/// Stores what [`RecordLog::store`] is handed, in groups, for the daemon's life.
pub(crate) async fn run(engine: Arc<Engine>) {
    let taken = engine
        .records
        .waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let Some(queue) = taken else {
        tracing::error!("the attempt-record log was started twice");
        return;
    };
    form_groups(queue, |group| store_group(&engine, group)).await;
}

/// Forms groups of what arrives on `queue` and hands each to `store`, at most
/// [`GROUPS_IN_FLIGHT`] at a time, until `queue` closes and the last group is stored.
async fn form_groups<F, Stored>(mut queue: mpsc::UnboundedReceiver<Pending>, mut store: F)
where
    F: FnMut(Vec<Pending>) -> Stored,
    Stored: Future<Output = ()>,
{
    let mut in_flight = FuturesUnordered::new();
    let mut forming = Group::default();
    // One timer, set again for each group's first record.
    let due = tokio::time::sleep(LINGER);
    tokio::pin!(due);
    let mut open = true;
    while open || !forming.records.is_empty() || !in_flight.is_empty() {
        let may_leave = in_flight.len() < GROUPS_IN_FLIGHT && !forming.records.is_empty();
        if may_leave && (forming.records.len() >= LEAVES_AT_RECORDS || forming.is_full() || !open) {
            in_flight.push(store(std::mem::take(&mut forming).records));
            continue;
        }
        tokio::select! {
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            pending = queue.recv(), if open && !forming.is_full() => match pending {
                Some(pending) => {
                    if forming.records.is_empty() {
                        due.as_mut().reset(tokio::time::Instant::now() + LINGER);
                    }
                    forming.add(pending);
                }
                None => open = false,
            },
            () = &mut due, if may_leave => {
                in_flight.push(store(std::mem::take(&mut forming).records));
            }
        }
    }
}

/// The records of the group being formed, up to a group's bounds.
#[derive(Default)]
struct Group {
    records: Vec<Pending>,
    bytes: usize,
}

impl Group {
    fn add(&mut self, pending: Pending) {
        self.bytes += pending.json.len();
        self.records.push(pending);
    }

    fn is_full(&self) -> bool {
        self.records.len() >= MAX_GROUP_RECORDS || self.bytes >= MAX_GROUP_BYTES
    }
}

/// Publishes `group` as one message per subject and tells each record's waiter the result.
async fn store_group(engine: &Engine, group: Vec<Pending>) {
    let mut by_subject: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let mut waiting = Vec::with_capacity(group.len());
    for Pending {
        subject,
        json,
        stored,
    } in group
    {
        by_subject.entry(subject).or_default().push(json);
        waiting.push(stored);
    }
    let outgoing: Vec<Outgoing> = by_subject
        .into_iter()
        .map(|(subject, records)| Outgoing {
            subject,
            headers: None,
            payload: hookwire_protocol::attempt::grouped_records(&records).into(),
        })
        .collect();
    engine
        .metrics
        .attempt_record_messages
        .inc_by(outgoing.len() as u64);
    let result = publish_durably(engine, &outgoing)
        .await
        .map_err(|e| e.to_string());
    for waiter in waiting {
        // A waiter that is gone (its attempt's task was cancelled) needs no answer.
        let _ = waiter.send(result.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use tokio::time::Instant;

    /// What the store saw: when each group left (ms after the start) and its size, and the
    /// most groups it held at once.
    #[derive(Default)]
    struct Seen {
        groups: Mutex<Vec<(u128, usize)>>,
        storing: AtomicUsize,
        most_at_once: AtomicUsize,
    }

    /// Runs [`form_groups`] over records of `bytes` sent at `offsets_ms`, each group taking
    /// `store_ms` to store, and returns what the store saw.
    async fn groups_of(offsets_ms: &[u64], bytes: usize, store_ms: u64) -> Arc<Seen> {
        let start = Instant::now();
        let seen = Arc::new(Seen::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let sending = {
            let offsets_ms = offsets_ms.to_vec();
            tokio::spawn(async move {
                for offset in offsets_ms {
                    tokio::time::sleep_until(start + Duration::from_millis(offset)).await;
                    let stored = oneshot::channel().0;
                    let subject = "hookwire.live.default.ep_1".into();
                    let json = vec![b'x'; bytes];
                    tx.send(Pending {
                        subject,
                        json,
                        stored,
                    })
                    .unwrap();
                }
                // The log closing would store what it has at once: not yet.
                tokio::time::sleep(Duration::from_secs(1)).await;
            })
        };
        let store_seen = Arc::clone(&seen);
        form_groups(rx, move |group| {
            let seen = Arc::clone(&store_seen);
            async move {
                let at_once = seen.storing.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most_at_once.fetch_max(at_once, Ordering::SeqCst);
                let left = start.elapsed().as_millis();
                seen.groups.lock().unwrap().push((left, group.len()));
                tokio::time::sleep(Duration::from_millis(store_ms)).await;
                seen.storing.fetch_sub(1, Ordering::SeqCst);
            }
        })
        .await;
        sending.await.unwrap();
        seen
    }

    fn groups(seen: &Seen) -> Vec<(u128, usize)> {
        seen.groups.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn at_a_paced_rate_records_wait_for_company_up_to_the_linger() {
        // A record every 3 ms for 105 ms: a group every 20-odd ms of the records that
        // arrived meanwhile (7 each, too few to leave sooner), not one message per record.
        let offsets: Vec<u64> = (0..35).map(|i| i * 3).collect();
        let seen = groups_of(&offsets, 100, 1).await;
        assert_eq!(
            groups(&seen),
            vec![(20, 7), (41, 7), (62, 7), (83, 7), (104, 7)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_record_goes_after_the_linger() {
        let seen = groups_of(&[0, 500], 100, 1).await;
        assert_eq!(groups(&seen), vec![(20, 1), (520, 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn in_a_flood_groups_leave_at_once_and_no_more_than_two_are_stored_at_a_time() {
        // 300 records at once: two groups leave at once at their leaving size; the next
        // grows to a full group while they are stored (50 ms each), then one goes at its
        // leaving size beside it, and the rest grow until those are stored.
        let seen = groups_of(&[0; 300], 100, 50).await;
        let (leaving, full) = (LEAVES_AT_RECORDS, MAX_GROUP_RECORDS);
        let rest = 300 - 3 * leaving - full;
        assert_eq!(
            groups(&seen),
            vec![
                (0, leaving),
                (0, leaving),
                (50, full),
                (50, leaving),
                (100, rest)
            ]
        );
        assert_eq!(seen.most_at_once.load(Ordering::SeqCst), GROUPS_IN_FLIGHT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_stops_growing_at_its_size() {
        // Large records: three fill a group, which goes at once; one record larger than a
        // group still goes, alone, and at once.
        let big = MAX_GROUP_BYTES / 3 + 1;
        let seen = groups_of(&[0; 5], big, 1).await;
        assert_eq!(groups(&seen), vec![(0, 3), (20, 2)]);
        let seen = groups_of(&[0, 0], MAX_GROUP_BYTES * 2, 1).await;
        assert_eq!(groups(&seen), vec![(0, 1), (0, 1)]);
    }
}
