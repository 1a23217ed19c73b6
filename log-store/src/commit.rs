//! The group commit's wait queue (`fsync always`): appenders waiting for a flush that covers their
//! batch. Each waiter parks on its own and is woken only when its bytes are published, or when it
//! is handed the job of flushing; a flush never wakes waiters it does not cover (issue 3: waking
//! every waiter after every flush cost more than the flush on a 2-core machine).
//!
//! Invariants: `published` never decreases; every parked waiter's end is above `published`
//! (a publish removes and wakes the waiters it covers in the same critical section that advances
//! it, so no wake-up is lost); at most one leader at a time, and leadership passes straight from
//! the leader to the parked waiter with the lowest end, so no flush waits for a race to decide
//! who flushes next. The queue holds at most one entry per appender blocked in `append`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, Thread};

/// A parked waiter's wake-up word: still waiting, or why it was woken.
const WAITING: u8 = 0;
/// Its end is published: the append is durable.
const PUBLISHED: u8 = 1;
/// It is the leader now (`leader` stays set on its behalf): it must flush.
const LEAD: u8 = 2;
/// The leader gave up after a failed flush: look again (and fail the same way).
const RECHECK: u8 = 3;

/// What a waiter must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// The waited-for end is published.
    Published,
    /// Nobody else is flushing: flush, then call [`GroupCommit::step_down`].
    Lead,
}

#[derive(Debug)]
struct Parked {
    end: u64,
    thread: Thread,
    wake: Arc<AtomicU8>,
}

#[derive(Debug)]
struct State {
    published: u64,
    leader: bool,
    /// Waiters ordered by end offset (ties in arrival order).
    parked: VecDeque<Parked>,
}

#[derive(Debug)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
}

/// Waiters already told why they are woken; dropping this unparks them. Callers drop it after
/// releasing their own locks, so the woken threads do not wake into a held mutex.
#[must_use = "dropping it wakes the waiters; drop it after releasing locks"]
#[derive(Debug, Default)]
pub(crate) struct Woken(Vec<Thread>);

impl Drop for Woken {
    fn drop(&mut self) {
        for t in self.0.drain(..) {
            t.unpark();
        }
    }
}

impl GroupCommit {
    pub(crate) fn new(published: u64) -> GroupCommit {
        GroupCommit {
            state: Mutex::new(State {
                published,
                leader: false,
                parked: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every step under this lock leaves the state consistent; a panic elsewhere is a bug that
        // already failed loudly, so keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until `end` is published, or returns [`Turn::Lead`] when this caller must flush.
    pub(crate) fn wait(&self, end: u64) -> Turn {
        let mut s = self.lock();
        loop {
            if s.published >= end {
                return Turn::Published;
            }
            if !s.leader {
                s.leader = true;
                return Turn::Lead;
            }
            let wake = Arc::new(AtomicU8::new(WAITING));
            let at = s.parked.partition_point(|p| p.end <= end);
            s.parked.insert(
                at,
                Parked {
                    end,
                    thread: thread::current(),
                    wake: wake.clone(),
                },
            );
            drop(s);
            // `park` may return spuriously (or for an earlier wait's token): the word decides.
            let why = loop {
                match wake.load(Ordering::Acquire) {
                    WAITING => thread::park(),
                    why => break why,
                }
            };
            match why {
                PUBLISHED => return Turn::Published,
                LEAD => return Turn::Lead,
                _ => s = self.lock(),
            }
        }
    }

    /// Records that everything below `end` is published and takes the waiters it covers off the
    /// queue. Wake them by dropping the result.
    ///
    /// The leader wakes them all itself. Tried (issue 3): a wake tree, each woken waiter waking
    /// two more so the leader could flush again at once. The disk was busy 90 % of the time
    /// instead of 50 %, but on 2 cores the woken threads then competed with the flush for CPU:
    /// groups halved and appends/s fell by a third.
    pub(crate) fn publish(&self, end: u64) -> Woken {
        let mut s = self.lock();
        assert!(end >= s.published, "the published end moves backwards");
        s.published = end;
        let covered = s.parked.partition_point(|p| p.end <= end);
        let woken = s
            .parked
            .drain(..covered)
            .map(|p| {
                p.wake.store(PUBLISHED, Ordering::Release);
                p.thread
            })
            .collect();
        Woken(woken)
    }

    /// True while someone waits for bytes the last flush did not cover: the leader should flush
    /// again rather than hand over.
    pub(crate) fn waiting(&self) -> bool {
        !self.lock().parked.is_empty()
    }

    /// The leader is done. After a successful flush, leadership passes to the waiter with the
    /// lowest end, if any; after a failed one every waiter looks again (and meets the failure).
    pub(crate) fn step_down(&self, flushed: bool) {
        let mut s = self.lock();
        let woken = if !flushed {
            s.leader = false;
            s.parked
                .drain(..)
                .map(|p| {
                    p.wake.store(RECHECK, Ordering::Release);
                    p.thread
                })
                .collect()
        } else if let Some(next) = s.parked.pop_front() {
            next.wake.store(LEAD, Ordering::Release);
            vec![next.thread]
        } else {
            s.leader = false;
            Vec::new()
        };
        drop(s);
        drop(Woken(woken));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    #[test]
    fn publish_wakes_only_covered_waiters() {
        let gc = Arc::new(GroupCommit::new(0));
        assert_eq!(gc.wait(1), Turn::Lead);
        let done = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = [2u64, 3, 4]
            .into_iter()
            .map(|end| {
                let (gc, done) = (gc.clone(), done.clone());
                thread::spawn(move || {
                    assert_eq!(gc.wait(end), Turn::Published);
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        while gc.lock().parked.len() < 3 {
            thread::sleep(Duration::from_millis(1));
        }
        drop(gc.publish(3));
        while done.load(Ordering::SeqCst) < 2 {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(20));
        assert_eq!(done.load(Ordering::SeqCst), 2, "end 4 is not covered yet");
        assert_eq!(gc.lock().parked.len(), 1);
        drop(gc.publish(4));
        for h in handles {
            h.join().expect("waiter");
        }
        gc.step_down(true);
        assert!(!gc.lock().leader);
    }

    #[test]
    fn step_down_hands_leadership_to_the_lowest_waiter() {
        let gc = Arc::new(GroupCommit::new(0));
        assert_eq!(gc.wait(1), Turn::Lead);
        let g = gc.clone();
        let follower = thread::spawn(move || g.wait(5));
        while gc.lock().parked.is_empty() {
            thread::sleep(Duration::from_millis(1));
        }
        drop(gc.publish(1));
        assert!(gc.waiting());
        gc.step_down(true);
        assert_eq!(follower.join().expect("follower"), Turn::Lead);
        assert!(gc.lock().leader, "leadership is handed over, never dropped");
        gc.step_down(false);
        assert!(!gc.lock().leader);
    }
}
