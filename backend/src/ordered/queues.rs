//! The lanes' queues in memory, bounded: a partition's lanes keep at most `per_lane` tasks
//! each and `in_memory` in all; the rest stay in the lane stream ("left") and are read back
//! per lane ("refilled") once the lane's queue has drained. A lane whose head fails sheds all
//! but its head, so keys that wait do not hold memory the others need.
//!
//! Order: the stream is read in order, so what a lane has in memory is always a run of its
//! tasks from its head; a task is taken into memory only after every earlier one of its lane
//! (the reader skips what a refill already brought, by sequence), and a lane that left tasks
//! in the stream takes nothing from the reader until a refill has caught up with them.

use std::collections::{HashMap, VecDeque};

/// One lane.
struct Queue<T> {
    /// Its tasks in memory, head first, with their stream sequences.
    tasks: VecDeque<(u64, T)>,
    /// The last sequence taken into memory (what the reader and refills resume after).
    last: u64,
    /// The highest sequence left in the stream, while some are.
    left: Option<u64>,
    /// Whether it waits for a refill or one is running.
    queued: bool,
}

impl<T> Queue<T> {
    fn new() -> Self {
        Self {
            tasks: VecDeque::new(),
            last: 0,
            left: None,
            queued: false,
        }
    }
}

/// The queues of one partition's lanes.
pub(super) struct Queues<T> {
    lanes: HashMap<String, Queue<T>>,
    /// Tasks in memory in all.
    held: usize,
    per_lane: usize,
    in_memory: usize,
    refills_at_once: usize,
    /// Lanes waiting for a refill, and how many run.
    to_refill: VecDeque<String>,
    refilling: usize,
}

/// A refill to start: read `subject` from after sequence `after`, at most `count` tasks.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refill {
    pub(super) subject: String,
    pub(super) after: u64,
    pub(super) count: usize,
}

impl<T: Clone> Queues<T> {
    pub(super) fn new(per_lane: usize, in_memory: usize, refills_at_once: usize) -> Self {
        Self {
            lanes: HashMap::new(),
            held: 0,
            per_lane: per_lane.max(1),
            in_memory,
            refills_at_once: refills_at_once.max(1),
            to_refill: VecDeque::new(),
            refilling: 0,
        }
    }

    /// Tasks in memory.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.held
    }

    /// Whether the reader's task at `seq` on `subject` is to be taken (then [`Queues::push`]
    /// it); if not, it is either in memory already or left in the stream for a refill.
    pub(super) fn wants(&mut self, subject: &str, seq: u64) -> bool {
        let full = self.held >= self.in_memory;
        let lane = self
            .lanes
            .entry(subject.to_owned())
            .or_insert_with(Queue::new);
        if seq <= lane.last {
            return false;
        }
        if lane.left.is_none() && lane.tasks.len() < self.per_lane && !full {
            return true;
        }
        lane.left = lane.left.max(Some(seq));
        if lane.tasks.is_empty() && !lane.queued {
            lane.queued = true;
            self.to_refill.push_back(subject.to_owned());
        }
        false
    }

    /// Takes the reader's task (after [`Queues::wants`]); the lane's head to start when it
    /// has just become one.
    pub(super) fn push(&mut self, subject: &str, seq: u64, task: T) -> Option<(u64, T)> {
        let lane = self
            .lanes
            .entry(subject.to_owned())
            .or_insert_with(Queue::new);
        lane.tasks.push_back((seq, task));
        lane.last = seq;
        self.held += 1;
        match lane.tasks.len() {
            1 => lane.tasks.front().cloned(),
            _ => None,
        }
    }

    /// The first tasks of `subject` (its head and those behind it), at most `max_events`
    /// and, after the first, `max_bytes` by `size`: a head batched per key.
    pub(super) fn run_of(
        &self,
        subject: &str,
        max_events: usize,
        max_bytes: usize,
        size: impl Fn(&T) -> usize,
    ) -> Vec<(u64, T)> {
        let Some(lane) = self.lanes.get(subject) else {
            return Vec::new();
        };
        let mut bytes = 0;
        let mut run = Vec::new();
        for (seq, task) in lane.tasks.iter().take(max_events.max(1)) {
            bytes += size(task);
            if !run.is_empty() && bytes > max_bytes {
                break;
            }
            run.push((*seq, task.clone()));
        }
        run
    }

    /// The first `count` tasks of `subject` (its head, or a run of it) are settled (and
    /// deleted): its next head to start, if it has one in memory.
    pub(super) fn settled(&mut self, subject: &str, count: usize) -> Option<(u64, T)> {
        let lane = self.lanes.get_mut(subject)?;
        let count = count.min(lane.tasks.len());
        lane.tasks.drain(..count);
        self.held -= count;
        self.next_of(subject)
    }

    /// The head of `subject` failed and waits: all but it leave memory (read back later).
    pub(super) fn shed(&mut self, subject: &str) {
        let Some(lane) = self.lanes.get_mut(subject) else {
            return;
        };
        if lane.tasks.len() > 1 {
            let shed = lane.tasks.split_off(1);
            self.held -= shed.len();
            lane.left = lane.left.max(Some(lane.last));
            lane.last = lane.tasks.front().map_or(lane.last, |(seq, _)| *seq);
        }
    }

    /// A refill of `subject` brought `tasks` (in order), and `complete` when it read to
    /// the lane's end: the lane's head to start, if it has one now.
    pub(super) fn refilled(
        &mut self,
        subject: &str,
        tasks: Vec<(u64, T)>,
        complete: bool,
    ) -> Option<(u64, T)> {
        self.refilling = self.refilling.saturating_sub(1);
        let lane = self.lanes.get_mut(subject)?;
        lane.queued = false;
        for (seq, task) in tasks {
            if seq > lane.last {
                lane.tasks.push_back((seq, task));
                lane.last = seq;
                self.held += 1;
            }
        }
        if complete && lane.left.is_some_and(|left| left <= lane.last) {
            lane.left = None;
        }
        self.next_of(subject)
    }

    /// The refills that may start now: lanes waiting for one, while memory has room.
    pub(super) fn refills(&mut self) -> Vec<Refill> {
        let mut refills = Vec::new();
        while self.refilling < self.refills_at_once && self.held < self.in_memory {
            let Some(subject) = self.to_refill.pop_front() else {
                break;
            };
            let Some(lane) = self.lanes.get(&subject) else {
                continue;
            };
            self.refilling += 1;
            refills.push(Refill {
                after: lane.last,
                count: self.per_lane,
                subject,
            });
        }
        refills
    }

    /// What `subject` does once its queue changed: its head to start; or, empty, waits for
    /// a refill when it left tasks in the stream, or is forgotten.
    fn next_of(&mut self, subject: &str) -> Option<(u64, T)> {
        let lane = self.lanes.get_mut(subject)?;
        if let Some(head) = lane.tasks.front() {
            return Some(head.clone());
        }
        if lane.left.is_some() {
            if !lane.queued {
                lane.queued = true;
                self.to_refill.push_back(subject.to_owned());
            }
        } else if !lane.queued {
            self.lanes.remove(subject);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds the reader's `(subject, seq)` in; returns the heads started.
    fn read(queues: &mut Queues<u64>, messages: &[(&str, u64)]) -> Vec<(String, u64)> {
        let mut started = Vec::new();
        for (subject, seq) in messages {
            if queues.wants(subject, *seq)
                && let Some((head, _)) = queues.push(subject, *seq, *seq)
            {
                started.push(((*subject).to_owned(), head));
            }
        }
        started
    }

    #[test]
    fn lanes_start_their_first_task_and_go_on_in_order() {
        let mut queues = Queues::new(10, 100, 4);
        let started = read(&mut queues, &[("a", 1), ("b", 2), ("a", 3), ("a", 4)]);
        assert_eq!(started, vec![("a".into(), 1), ("b".into(), 2)]);
        assert_eq!(queues.held(), 4);
        assert_eq!(queues.settled("a", 1), Some((3, 3)));
        assert_eq!(queues.settled("a", 1), Some((4, 4)));
        assert_eq!(queues.settled("a", 1), None);
        assert_eq!(queues.settled("b", 1), None);
        assert_eq!(queues.held(), 0);
        assert!(queues.lanes.is_empty(), "drained lanes are forgotten");
        assert!(queues.refills().is_empty());
    }

    #[test]
    fn a_full_lane_leaves_the_rest_in_the_stream_and_reads_it_back_in_order() {
        let mut queues = Queues::new(2, 100, 4);
        read(
            &mut queues,
            &[("a", 1), ("a", 2), ("a", 3), ("b", 4), ("a", 5)],
        );
        assert_eq!(queues.held(), 3);
        assert_eq!(queues.settled("a", 1), Some((2, 2)));
        // Room again, but the lane left 3 in the stream: the reader's 6 waits too.
        read(&mut queues, &[("a", 6)]);
        assert_eq!(queues.held(), 2);
        assert_eq!(queues.settled("a", 1), None);
        let refills = queues.refills();
        assert_eq!(
            refills,
            vec![Refill {
                subject: "a".into(),
                after: 2,
                count: 2
            }]
        );
        assert_eq!(
            queues.refilled("a", vec![(3, 3), (5, 5)], false),
            Some((3, 3))
        );
        assert_eq!(queues.settled("a", 1), Some((5, 5)));
        assert_eq!(queues.settled("a", 1), None);
        let refills = queues.refills();
        assert_eq!(refills[0].after, 5);
        assert_eq!(queues.refilled("a", vec![(6, 6)], true), Some((6, 6)));
        // Caught up: the reader's next task is taken again.
        assert_eq!(read(&mut queues, &[("a", 7)]), vec![]);
        assert_eq!(queues.settled("a", 1), Some((7, 7)));
        assert_eq!(queues.settled("a", 1), None);
        assert_eq!(queues.settled("b", 1), None);
        assert!(queues.lanes.is_empty());
    }

    #[test]
    fn the_reader_skips_what_a_refill_already_brought() {
        let mut queues = Queues::new(2, 100, 4);
        read(&mut queues, &[("a", 1), ("a", 2), ("a", 3)]);
        assert_eq!(queues.settled("a", 1), Some((2, 2)));
        assert_eq!(queues.settled("a", 1), None);
        let refill = queues.refills().remove(0);
        // The refill reads 3 and 4 (4 stored meanwhile) before the reader gets to 4.
        assert_eq!(refill.after, 2);
        assert_eq!(
            queues.refilled("a", vec![(3, 3), (4, 4)], true),
            Some((3, 3))
        );
        assert_eq!(queues.settled("a", 1), Some((4, 4)));
        assert!(!queues.wants("a", 4), "4 is in memory already");
        assert!(queues.wants("a", 5));
    }

    #[test]
    fn a_refill_that_missed_a_task_the_reader_left_goes_again() {
        let mut queues = Queues::new(1, 100, 4);
        read(&mut queues, &[("a", 1), ("a", 2)]);
        queues.settled("a", 1);
        queues.refills();
        // While the refill runs, the reader leaves 3, which the refill did not see.
        assert!(!queues.wants("a", 3));
        assert_eq!(queues.refilled("a", vec![(2, 2)], true), Some((2, 2)));
        assert_eq!(queues.settled("a", 1), None);
        let refill = queues.refills().remove(0);
        assert_eq!(refill.after, 2);
        assert_eq!(queues.refilled("a", vec![(3, 3)], true), Some((3, 3)));
        assert_eq!(queues.settled("a", 1), None);
        assert!(queues.lanes.is_empty());
    }

    #[test]
    fn memory_holds_at_most_in_memory_tasks_and_new_lanes_wait_for_room() {
        let mut queues = Queues::new(10, 3, 4);
        let started = read(
            &mut queues,
            &[("a", 1), ("b", 2), ("c", 3), ("d", 4), ("a", 5)],
        );
        assert_eq!(started.len(), 3);
        assert_eq!(queues.held(), 3);
        assert!(queues.refills().is_empty(), "no room for d yet");
        assert_eq!(queues.settled("b", 1), None);
        let refills = queues.refills();
        assert_eq!(
            refills
                .iter()
                .map(|r| r.subject.as_str())
                .collect::<Vec<_>>(),
            ["d"]
        );
        assert_eq!(queues.refilled("d", vec![(4, 4)], true), Some((4, 4)));
        // a left 5 in the stream: it is read back once a's head is done.
        assert_eq!(queues.settled("a", 1), None);
        assert_eq!(queues.refills()[0].subject, "a");
    }

    #[test]
    fn refills_run_a_few_at_once() {
        let mut queues = Queues::new(10, 1, 2);
        read(&mut queues, &[("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
        assert_eq!(queues.settled("a", 1), None);
        assert_eq!(queues.refills().len(), 2);
        assert!(queues.refills().is_empty());
        queues.refilled("b", vec![], false);
        // b read nothing (an error): it waits again, behind d.
        let again = queues.refills();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].subject, "d");
    }

    #[test]
    fn a_failing_head_sheds_its_followers_and_they_come_back_in_order() {
        let mut queues = Queues::new(10, 100, 4);
        read(&mut queues, &[("a", 1), ("a", 2), ("b", 3), ("a", 4)]);
        queues.shed("a");
        assert_eq!(queues.held(), 2, "a's head and b's");
        assert!(!queues.wants("a", 5), "a left tasks in the stream");
        assert_eq!(queues.settled("a", 1), None);
        let refill = queues.refills().remove(0);
        assert_eq!((refill.subject.as_str(), refill.after), ("a", 1));
        assert_eq!(
            queues.refilled("a", vec![(2, 2), (4, 4), (5, 5)], true),
            Some((2, 2))
        );
        assert_eq!(queues.settled("a", 1), Some((4, 4)));
        assert_eq!(queues.settled("a", 1), Some((5, 5)));
        queues.shed("b");
        assert_eq!(queues.settled("b", 1), None, "a lone head sheds nothing");
        assert!(queues.refills().is_empty());
    }

    #[test]
    fn a_run_of_a_lane_is_bounded_by_events_and_bytes_and_settles_as_one() {
        let mut queues = Queues::new(10, 100, 4);
        read(
            &mut queues,
            &[("a", 1), ("a", 2), ("b", 3), ("a", 4), ("a", 5)],
        );
        let seqs = |run: Vec<(u64, u64)>| run.into_iter().map(|(seq, _)| seq).collect::<Vec<_>>();
        assert_eq!(seqs(queues.run_of("a", 3, 1_000, |_| 1)), [1, 2, 4]);
        assert_eq!(seqs(queues.run_of("a", 10, 1_000, |_| 1)), [1, 2, 4, 5]);
        assert_eq!(seqs(queues.run_of("a", 10, 2, |_| 1)), [1, 2]);
        assert_eq!(
            seqs(queues.run_of("a", 10, 5, |seq| usize::try_from(*seq).unwrap() * 10)),
            [1],
            "a first task larger than the bytes still goes, alone"
        );
        assert_eq!(seqs(queues.run_of("a", 0, 1_000, |_| 1)), [1]);
        assert!(queues.run_of("x", 10, 1_000, |_| 1).is_empty());
        assert_eq!(queues.settled("a", 3), Some((5, 5)));
        assert_eq!(queues.held(), 2);
        assert_eq!(
            queues.settled("a", 5),
            None,
            "more than it has settles what it has"
        );
        assert_eq!(queues.held(), 1);
    }

    #[test]
    fn unknown_lanes_are_ignored() {
        let mut queues: Queues<u64> = Queues::new(10, 100, 4);
        assert_eq!(queues.settled("x", 1), None);
        queues.shed("x");
        assert_eq!(queues.refilled("x", vec![(1, 1)], true), None);
        assert_eq!(queues.held(), 0);
    }
}
