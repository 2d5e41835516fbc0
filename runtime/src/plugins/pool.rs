//! The worker threads that run the input plugins' calls: one per core, plus one more whenever
//! calls wait behind a stuck one, so a plugin that runs to its deadline never holds up the
//! others.
//!
//! A thread per plugin would wake twenty threads every tick, and on a small VM those wake-ups
//! and switches cost more than the plugins' own work. Here a tick wakes a worker or two that
//! run the calls back to back.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A call to run.
pub type Job = Box<dyn FnOnce() + Send>;

/// How long an extra worker (one started for a stuck call) waits for work before it ends:
/// long enough to serve the next few ticks, short enough that a burst does not leave threads.
const EXTRA_WORKER_IDLE: Duration = Duration::from_secs(30);

/// Most workers at once: a call has a deadline (500 ms by default), so even a tick where every
/// plugin is stuck needs no more than one per plugin; 64 bounds it however many are loaded.
const MAX_WORKERS: usize = 64;

/// A shared queue of jobs and the threads that run them.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    work: Condvar,
    /// Workers that never end (one per core).
    core_workers: usize,
}

struct State {
    jobs: VecDeque<Job>,
    workers: usize,
    idle: usize,
    stop: bool,
}

impl Pool {
    /// A pool of `core_workers` threads (at least one), started as work comes.
    pub fn new(core_workers: usize) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    workers: 0,
                    idle: 0,
                    stop: false,
                }),
                work: Condvar::new(),
                core_workers: core_workers.max(1),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock, so a poisoned lock still holds a consistent queue.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues jobs (a tick's) at once: one lock, and each idle worker woken once. Queued one
    /// by one, every job woke a worker that then fought the submitter for the lock; batched,
    /// an idle tick makes about 30 futex calls instead of 57 (`strace -f -c`).
    pub fn submit_all(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let mut state = self.lock();
        let count = jobs.len();
        state.jobs.extend(jobs);
        // Idle workers first; new ones only while there are fewer than one per core.
        let woken = count.min(state.idle);
        for _ in 0..woken {
            self.inner.work.notify_one();
        }
        for _ in woken..count {
            if state.workers >= self.inner.core_workers || !self.start_worker(&mut state) {
                break;
            }
        }
    }

    /// Starts one more worker if jobs are waiting and no worker is free: the caller saw no
    /// progress for a while, so some call is stuck until its deadline. Returns whether it did.
    pub fn unstick(&self) -> bool {
        let mut state = self.lock();
        if state.jobs.is_empty() || state.idle > 0 || state.workers >= MAX_WORKERS {
            return false;
        }
        self.start_worker(&mut state)
    }

    /// Worker threads alive now.
    pub fn workers(&self) -> usize {
        self.lock().workers
    }

    fn start_worker(&self, state: &mut State) -> bool {
        let pool = self.clone();
        let spawned = std::thread::Builder::new()
            .name("glint-plugins".into())
            .spawn(move || pool.work())
            .is_ok();
        if spawned {
            state.workers += 1;
        } else {
            tracing::warn!("cannot start a plugin worker thread; the running ones carry on");
        }
        spawned
    }

    fn work(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = self.lock();
                continue;
            }
            if state.stop {
                break;
            }
            state.idle += 1;
            let (next, wait) = self
                .inner
                .work
                .wait_timeout(state, EXTRA_WORKER_IDLE)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if wait.timed_out() && state.jobs.is_empty() && state.workers > self.inner.core_workers
            {
                break;
            }
        }
        state.workers -= 1;
    }

    /// Lets the workers end once the queue is empty.
    pub fn stop(&self) {
        self.lock().stop = true;
        self.inner.work.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    #[test]
    fn jobs_run_on_few_threads_and_a_stuck_one_gets_a_worker_beside_it() {
        let pool = Pool::new(1);
        let (tx, rx) = mpsc::channel();
        // The only core worker is stuck for 300 ms...
        let slow = tx.clone();
        pool.submit_all(vec![Box::new(move || {
            std::thread::sleep(Duration::from_millis(300));
            let _ = slow.send("slow");
        })]);
        std::thread::sleep(Duration::from_millis(20));
        let quick = tx.clone();
        pool.submit_all(vec![Box::new(move || {
            let _ = quick.send("quick");
        })]);
        assert_eq!(pool.workers(), 1);
        // ...so the quick job waits, until the caller asks for another worker.
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        let asked = Instant::now();
        assert!(pool.unstick());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("quick"));
        assert!(
            asked.elapsed() < Duration::from_millis(250),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("slow"));
        // Nothing waits: no worker is added.
        assert!(!pool.unstick());
        pool.stop();
    }

    #[test]
    fn many_jobs_share_the_core_workers() {
        let pool = Pool::new(2);
        let (tx, rx) = mpsc::channel();
        // One batch (a tick's), then jobs one by one onto workers that are already idle.
        let job = |i: usize| -> Job {
            let tx = tx.clone();
            Box::new(move || {
                let _ = tx.send((i, std::thread::current().id()));
            })
        };
        pool.submit_all((0..40).map(job).collect());
        std::thread::sleep(Duration::from_millis(50));
        for i in 40..50 {
            pool.submit_all(vec![job(i)]);
        }
        let mut threads = std::collections::HashSet::new();
        for _ in 0..50 {
            let (_, thread) = rx.recv_timeout(Duration::from_secs(5)).expect("job ran");
            threads.insert(thread);
        }
        assert!(threads.len() <= 2, "{} threads", threads.len());
        assert!(pool.workers() <= 2);
        pool.stop();
    }
}
