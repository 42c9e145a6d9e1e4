//! The bounded request queue and the embedding worker that drains it.
//!
//! HTTP handlers tokenize their texts (on tokio's blocking pool) and submit one [`Job`]
//! each; a dedicated worker thread takes whatever is waiting, up to a token budget, and
//! runs the model once over all of it, so concurrent small requests share the embedder's
//! length-sorted batches instead of each paying for a forward pass of its own. The model
//! never runs on the async runtime's threads.
//!
//! Admission is two-step: a handler first *reserves* a place ([`Queue::reserve`]), before
//! spending anything on tokenization, and then submits the job with that [`Ticket`]. A
//! reservation counts as waiting, so the queue's capacity bounds everything accepted but
//! not yet taken by the worker; the request beyond it is refused at once (HTTP 503).

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::embed::Embedder;

/// Longest wait for the requests of the last round to come back (see `Queue::take`):
/// short next to a model call (tens of milliseconds and more on a CPU), long enough for a
/// client to read its answer and send the next request.
const GATHER: Duration = Duration::from_millis(5);

/// Why a job got no vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobError {
    /// The server is stopping; the job was dropped unfinished.
    ShuttingDown,
    /// The model failed on this job's texts (the message says how).
    Failed(String),
}

/// Vectors for each row of a job, in order.
pub(crate) type JobResult = Result<Vec<Vec<f32>>, JobError>;

/// One request's texts, tokenized, and where to send its vectors.
pub(crate) struct Job {
    /// Token ids per text (framed and truncated by the model's tokenizer).
    pub rows: Vec<Vec<u32>>,
    /// The reply; a closed receiver means the client went away.
    pub reply: oneshot::Sender<JobResult>,
}

impl Job {
    fn tokens(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// As many requests as the queue holds are already waiting.
    Full,
    /// The server is stopping.
    Stopping,
    /// The queue's lock was poisoned (a bug elsewhere); this request fails, the server
    /// keeps running.
    Internal,
}

/// How busy the queue is, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct QueueStats {
    /// Requests admitted and not yet taken by the worker.
    pub waiting: usize,
    /// Requests the worker is embedding now.
    pub embedding: usize,
    /// Most requests that may wait.
    pub capacity: usize,
    /// Requests taken by the worker since the start.
    pub requests: u64,
    /// Rounds of the worker since the start (requests / rounds: how many requests share
    /// a model call on average).
    pub rounds: u64,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Places reserved by handlers that are still tokenizing.
    reserved: usize,
    /// Jobs the worker took and has not finished.
    embedding: usize,
    requests: u64,
    rounds: u64,
    /// Requests taken in the last round.
    last_round: usize,
    stopping: bool,
}

/// The queue between the HTTP handlers and the worker.
pub(crate) struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
}

/// A reserved place in the queue; dropping it unused gives the place back.
pub(crate) struct Ticket {
    queue: Arc<Queue>,
    used: bool,
}

impl Queue {
    /// An empty queue holding at most `capacity` waiting requests (at least one).
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        })
    }

    /// The state for a request path: a poisoned lock fails that request only.
    fn lock(&self) -> Result<MutexGuard<'_, State>, Refused> {
        self.state.lock().map_err(|_| Refused::Internal)
    }

    /// The state for the worker and shutdown, which must go on: the state is a few
    /// counters and a list, consistent after any single operation, so a poisoned lock's
    /// data is still usable.
    fn lock_anyway(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves a place for one request, or says why not.
    pub fn reserve(self: &Arc<Self>) -> Result<Ticket, Refused> {
        let mut s = self.lock()?;
        if s.stopping {
            return Err(Refused::Stopping);
        }
        if s.jobs.len() + s.reserved >= self.capacity {
            return Err(Refused::Full);
        }
        s.reserved += 1;
        Ok(Ticket {
            queue: Arc::clone(self),
            used: false,
        })
    }

    /// Stops the queue: waiting jobs are answered [`JobError::ShuttingDown`], new
    /// requests refused, and the worker ends after its current slice.
    pub fn stop(&self) {
        let jobs = {
            let mut s = self.lock_anyway();
            s.stopping = true;
            std::mem::take(&mut s.jobs)
        };
        for job in jobs {
            let _ = job.reply.send(Err(JobError::ShuttingDown));
        }
        self.ready.notify_all();
    }

    /// True once [`Queue::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.lock_anyway().stopping
    }

    /// Current counts.
    pub fn stats(&self) -> QueueStats {
        let s = self.lock_anyway();
        QueueStats {
            waiting: s.jobs.len() + s.reserved,
            embedding: s.embedding,
            capacity: self.capacity,
            requests: s.requests,
            rounds: s.rounds,
        }
    }

    /// Blocks until work is waiting, then takes the first job and every following one
    /// that still fits in `budget` tokens; `None` once stopped.
    ///
    /// When the last round merged several requests and fewer are waiting now, it first
    /// waits up to [`GATHER`] for them: clients answered together send their next
    /// requests together, and without the wait the first to arrive would get a round of
    /// its own and the rest the next one (measured with 4 and 16 concurrent clients:
    /// rounds alternated between 1 request and all the others).
    fn take(&self, budget: usize) -> Option<Vec<Job>> {
        let mut s = self.lock_anyway();
        while s.jobs.is_empty() && !s.stopping {
            s = self.ready.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        let deadline = Instant::now() + GATHER;
        while !s.stopping
            && s.jobs.len() < s.last_round
            && s.jobs.iter().map(Job::tokens).sum::<usize>() < budget
        {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = self
                .ready
                .wait_timeout(s, left)
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        if s.stopping {
            return None;
        }
        let mut taken = Vec::new();
        let mut tokens = 0;
        while let Some(job) = s.jobs.front() {
            let t = job.tokens();
            if !taken.is_empty() && tokens + t > budget {
                break;
            }
            tokens += t;
            taken.extend(s.jobs.pop_front());
        }
        s.embedding += taken.len();
        s.requests += taken.len() as u64;
        s.rounds += 1;
        s.last_round = taken.len();
        Some(taken)
    }

    fn finished(&self, jobs: usize) {
        let mut s = self.lock_anyway();
        s.embedding = s.embedding.saturating_sub(jobs);
    }
}

impl Ticket {
    /// Puts the job in the queue (the reserved place becomes the job's). If the server
    /// began stopping meanwhile, the job is answered [`JobError::ShuttingDown`] at once.
    pub fn submit(mut self, job: Job) {
        self.used = true;
        let refused = {
            let mut s = self.queue.lock_anyway();
            s.reserved = s.reserved.saturating_sub(1);
            if s.stopping {
                Some(job)
            } else {
                s.jobs.push_back(job);
                None
            }
        };
        match refused {
            Some(job) => {
                let _ = job.reply.send(Err(JobError::ShuttingDown));
            }
            None => self.queue.ready.notify_one(),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.used {
            let mut s = self.queue.lock_anyway();
            s.reserved = s.reserved.saturating_sub(1);
        }
    }
}

/// The worker loop: runs until the queue is stopped. `budget` is the most tokens taken
/// per round and embedded per model call.
pub(crate) fn run_worker(queue: &Queue, embedder: &Embedder, budget: usize) {
    let budget = budget.max(1);
    while let Some(jobs) = queue.take(budget) {
        let n = jobs.len();
        embed_jobs(queue, embedder, jobs, budget);
        queue.finished(n);
    }
}

/// A job being embedded: its vectors so far.
struct Running {
    reply: Option<oneshot::Sender<JobResult>>,
    vectors: Vec<Vec<f32>>,
    left: usize,
}

impl Running {
    fn answer(&mut self, result: JobResult) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(result);
        }
    }
    fn gone(&self) -> bool {
        self.reply.as_ref().is_none_or(|r| r.is_closed())
    }
}

/// Embeds the rows of `jobs` in slices of at most `budget` tokens (a longer row alone),
/// answering each job as soon as its last row is done. Between slices it checks for a
/// stop (so shutdown waits for one slice, not a whole request) and skips rows of clients
/// that went away.
fn embed_jobs(queue: &Queue, embedder: &Embedder, jobs: Vec<Job>, budget: usize) {
    let mut rows: Vec<(usize, usize, Vec<u32>)> = Vec::new();
    let mut running: Vec<Running> = Vec::with_capacity(jobs.len());
    for (j, job) in jobs.into_iter().enumerate() {
        let n = job.rows.len();
        rows.extend(job.rows.into_iter().enumerate().map(|(i, r)| (j, i, r)));
        running.push(Running {
            reply: Some(job.reply),
            vectors: vec![Vec::new(); n],
            left: n,
        });
    }
    for r in running.iter_mut().filter(|r| r.left == 0) {
        r.answer(Ok(Vec::new()));
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        if queue.is_stopping() {
            break;
        }
        let mut slice = Vec::new();
        let mut tokens = 0;
        while let Some((j, _, row)) = rows.peek() {
            if !slice.is_empty() && tokens + row.len() > budget {
                break;
            }
            let skip = running[*j].gone();
            tokens += row.len();
            let item = rows.next();
            if !skip {
                slice.extend(item);
            }
        }
        if slice.is_empty() {
            continue;
        }
        for (j, i, v) in embed_slice(embedder, &slice) {
            let r = &mut running[j];
            match v {
                Ok(v) => {
                    r.vectors[i] = v;
                    r.left -= 1;
                    if r.left == 0 {
                        let vectors = std::mem::take(&mut r.vectors);
                        r.answer(Ok(vectors));
                    }
                }
                Err(e) => r.answer(Err(e)),
            }
        }
    }
    // Stopped mid-way: whoever is still waiting hears why.
    for r in &mut running {
        r.answer(Err(JobError::ShuttingDown));
    }
}

/// Vectors for one slice, as (job, row, vector or error). A failure (an error or a
/// panic in the model) is retried job by job, so only the jobs whose own rows fail get
/// the error.
fn embed_slice(
    embedder: &Embedder,
    slice: &[(usize, usize, Vec<u32>)],
) -> Vec<(usize, usize, Result<Vec<f32>, JobError>)> {
    let run = |ids: Vec<Vec<u32>>| -> Result<Vec<Vec<f32>>, JobError> {
        let n = ids.len();
        match catch_unwind(AssertUnwindSafe(|| embedder.embed_token_ids(&ids))) {
            Ok(Ok(v)) if v.len() == n => Ok(v),
            Ok(Ok(v)) => Err(JobError::Failed(format!(
                "the model returned {} vectors for {n} texts",
                v.len()
            ))),
            Ok(Err(e)) => Err(JobError::Failed(e.to_string())),
            Err(_) => Err(JobError::Failed("the model panicked on these texts".into())),
        }
    };
    let ids: Vec<Vec<u32>> = slice.iter().map(|(_, _, r)| r.clone()).collect();
    let first_error = match run(ids) {
        Ok(vectors) => {
            return slice
                .iter()
                .zip(vectors)
                .map(|((j, i, _), v)| (*j, *i, Ok(v)))
                .collect();
        }
        Err(e) => e,
    };
    let mut jobs: Vec<usize> = slice.iter().map(|(j, _, _)| *j).collect();
    jobs.dedup();
    if jobs.len() == 1 {
        return slice
            .iter()
            .map(|(j, i, _)| (*j, *i, Err(first_error.clone())))
            .collect();
    }
    let mut out = Vec::with_capacity(slice.len());
    for job in jobs {
        let mine: Vec<&(usize, usize, Vec<u32>)> =
            slice.iter().filter(|(j, _, _)| *j == job).collect();
        match run(mine.iter().map(|(_, _, r)| r.clone()).collect()) {
            Ok(vectors) => out.extend(
                mine.iter()
                    .zip(vectors)
                    .map(|((j, i, _), v)| (*j, *i, Ok(v))),
            ),
            Err(e) => out.extend(mine.iter().map(|(j, i, _)| (*j, *i, Err(e.clone())))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(rows: Vec<Vec<u32>>) -> (Job, oneshot::Receiver<JobResult>) {
        let (reply, rx) = oneshot::channel();
        (Job { rows, reply }, rx)
    }

    #[test]
    fn capacity_counts_reserved_and_queued_requests() {
        let q = Queue::new(2);
        let a = q.reserve().expect("first place");
        let b = q.reserve().expect("second place");
        assert_eq!(q.reserve().err(), Some(Refused::Full));
        drop(a); // a handler that failed before submitting gives its place back
        let c = q.reserve().expect("freed place");
        let (j, _rx) = job(vec![vec![1, 2]]);
        b.submit(j);
        assert_eq!(q.stats().waiting, 2);
        assert_eq!(q.reserve().err(), Some(Refused::Full));
        drop(c);
        assert_eq!(
            q.stats(),
            QueueStats {
                waiting: 1,
                embedding: 0,
                capacity: 2,
                requests: 0,
                rounds: 0,
            }
        );
    }

    #[test]
    fn take_merges_waiting_jobs_up_to_the_budget() {
        let q = Queue::new(8);
        let mut rxs = Vec::new();
        for n in [3, 3, 3, 10] {
            let (j, rx) = job(vec![vec![0; n]]);
            q.reserve().expect("place").submit(j);
            rxs.push(rx);
        }
        let first = q.take(7).expect("work");
        assert_eq!(first.len(), 2, "3 + 3 fit in 7 tokens, a third does not");
        assert_eq!(
            (q.stats().embedding, q.stats().requests, q.stats().rounds),
            (2, 2, 1)
        );
        q.finished(2);
        assert_eq!(q.take(7).expect("work").len(), 1);
        // A job over the budget is still taken, alone.
        assert_eq!(q.take(7).expect("work")[0].rows[0].len(), 10);
    }

    #[test]
    fn a_round_waits_briefly_for_the_last_rounds_requests_never_forever() {
        let q = Queue::new(8);
        let mut rxs = Vec::new();
        for _ in 0..3 {
            let (j, rx) = job(vec![vec![0; 2]]);
            q.reserve().expect("place").submit(j);
            rxs.push(rx);
        }
        assert_eq!(q.take(100).expect("work").len(), 3);
        // Three last time, one now: the wait ends at its deadline with what there is.
        let (j, _rx) = job(vec![vec![0; 2]]);
        q.reserve().expect("place").submit(j);
        assert_eq!(q.take(100).expect("work").len(), 1);
        // Once stopped, the worker ends whatever was waiting.
        let (j, _rx) = job(vec![vec![0; 2]]);
        q.reserve().expect("place").submit(j);
        let (j, _rx2) = job(vec![vec![0; 2]]);
        q.reserve().expect("place").submit(j);
        assert_eq!(q.take(100).expect("work").len(), 2);
        let (j, _rx) = job(vec![vec![0; 2]]);
        q.reserve().expect("place").submit(j);
        q.stop();
        assert!(q.take(100).is_none());
    }

    #[test]
    fn stop_answers_waiting_jobs_and_refuses_new_ones() {
        let q = Queue::new(4);
        let (j, mut rx) = job(vec![vec![1]]);
        q.reserve().expect("place").submit(j);
        let late = q.reserve().expect("place");
        q.stop();
        assert_eq!(rx.try_recv().ok(), Some(Err(JobError::ShuttingDown)));
        let (j, mut rx) = job(vec![vec![1]]);
        late.submit(j);
        assert_eq!(rx.try_recv().ok(), Some(Err(JobError::ShuttingDown)));
        assert_eq!(q.reserve().err(), Some(Refused::Stopping));
        assert!(q.take(10).is_none(), "the worker ends");
    }
}

#[cfg(all(test, feature = "embed"))]
mod worker_tests {
    use super::*;
    use crate::embed::testkit::{write_tiny_model, TinySize};
    use crate::embed::{Arch, EmbedOptions};

    fn submit(q: &Arc<Queue>, rows: Vec<Vec<u32>>) -> oneshot::Receiver<JobResult> {
        let (reply, rx) = oneshot::channel();
        q.reserve().expect("place").submit(Job { rows, reply });
        rx
    }

    /// Rows of several requests share model calls (slices cross request boundaries) and
    /// each request still gets exactly its own vectors; rows the model cannot embed fail
    /// their own request only.
    #[test]
    fn merged_requests_get_their_own_vectors_and_failures() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write_tiny_model(tmp.path(), Arch::Bert, TinySize::tiny(), "").expect("tiny model");
        let path = tmp.path().to_str().expect("utf-8");
        let e = Embedder::load(path, &EmbedOptions::default()).expect("loads");
        let a = ["sort a list", "read the config file in python"];
        let b = ["fn main", "x", "parse config"];
        let q = Queue::new(8);
        let mut rx_a = submit(&q, e.tokenize(&a).expect("tokens"));
        let mut rx_b = submit(&q, e.tokenize(&b).expect("tokens"));
        let mut bad = e.tokenize(&["x"]).expect("tokens");
        bad[0][1] = 1_000_000; // no such row in the embedding table
        let mut rx_bad = submit(&q, bad);
        let mut rx_empty = submit(&q, Vec::new());
        let jobs = q.take(10_000).expect("work");
        assert_eq!(jobs.len(), 4, "everything waiting is taken together");
        // 8 tokens per call: slices hold rows of `a` and `b` together.
        embed_jobs(&q, &e, jobs, 8);
        for (rx, texts) in [(&mut rx_a, &a[..]), (&mut rx_b, &b[..])] {
            let got = rx.try_recv().expect("answered").expect("vectors");
            let want = e.embed_with_prefix(texts, "").expect("alone");
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                let diff = g
                    .iter()
                    .zip(w)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max);
                assert!(diff < 1e-5, "{texts:?}: differs by {diff}");
            }
        }
        assert!(
            matches!(rx_bad.try_recv(), Ok(Err(JobError::Failed(_)))),
            "the bad row fails its request"
        );
        assert_eq!(rx_empty.try_recv().ok(), Some(Ok(Vec::new())));
    }
}
