//! Dynamic batching, as TorchServe does it: requests wait in a bounded queue (a full queue
//! refuses at once, which the server answers with 503), a worker takes up to `batch_size` of
//! them, waiting at most `max_batch_delay` after the first for the batch to fill, runs them as
//! one batch and hands every caller its own answer with the time it spent queued.
//!
//! Generic over the work, so it is tested without a model; workers run on their own threads
//! because the work (a forward pass) blocks.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How requests are grouped and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Most requests run together (TorchServe's `batch_size`; default 1: no batching).
    pub batch_size: usize,
    /// Longest a batch waits to fill after its first request (TorchServe's `max_batch_delay`;
    /// default 100 ms).
    pub max_batch_delay: Duration,
    /// Requests that may wait for a worker before new ones are refused (TorchServe's
    /// `job_queue_size`; default 100).
    pub queue_capacity: usize,
    /// Worker threads, each running whole batches (default 1).
    pub workers: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            batch_size: 1,
            max_batch_delay: Duration::from_millis(100),
            queue_capacity: 100,
            workers: 1,
        }
    }
}

/// Why a request got no answer from the batcher.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The queue is full: back off and retry.
    #[error("the queue is full ({capacity} requests waiting)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The batcher has shut down.
    #[error("the batcher has shut down")]
    Closed,
    /// The work panicked, or returned a different number of answers than it got requests.
    #[error("the worker failed on this batch: {0}")]
    WorkerFailed(String),
}

/// One caller's answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Batched<O> {
    /// What the work returned for this request.
    pub output: O,
    /// From submission to the start of its batch's work.
    pub queued: Duration,
    /// How many requests its batch held.
    pub batch_size: usize,
}

/// A queued request's answer to come: resolves once its batch has run (or the batcher stopped).
#[derive(Debug)]
pub struct Ticket<O>(oneshot::Receiver<Result<Batched<O>, BatchError>>);

impl<O> Future for Ticket<O> {
    type Output = Result<Batched<O>, BatchError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|answer| answer.unwrap_or(Err(BatchError::Closed)))
    }
}

struct Job<I, O> {
    input: I,
    submitted: Instant,
    reply: oneshot::Sender<Result<Batched<O>, BatchError>>,
}

/// A running batcher. Dropping it, like [`shutdown`](Self::shutdown), stops taking requests,
/// lets the workers finish the queued ones and waits for them: no worker is left running a
/// batch once its server is gone (a process exiting under one would tear libtorch down
/// beneath it).
pub struct Batcher<I, O> {
    /// `None` once stopping.
    queue: Option<SyncSender<Job<I, O>>>,
    capacity: usize,
    workers: Vec<JoinHandle<()>>,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts `config.workers` threads, each running batches with the work `make_work(index)`
    /// builds for it (a worker's own model, say). The work gets a batch's inputs in order and
    /// must return one output per input, in the same order.
    pub fn start<W>(config: BatchConfig, make_work: impl Fn(usize) -> W) -> Self
    where
        W: FnMut(Vec<I>) -> Vec<O> + Send + 'static,
    {
        let (queue, jobs) = sync_channel(config.queue_capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        let workers = (0..config.workers.max(1))
            .map(|index| {
                let (jobs, work) = (Arc::clone(&jobs), make_work(index));
                std::thread::Builder::new()
                    .name(format!("servebench-worker-{index}"))
                    .spawn(move || run_worker(config, &jobs, work))
                    .expect("the OS starts a worker thread")
            })
            .collect();
        Self { queue: Some(queue), capacity: config.queue_capacity, workers }
    }

    /// Queues `input`; the returned ticket resolves to its answer. Refuses at once, without
    /// waiting, when the queue is full.
    pub fn submit(&self, input: I) -> Result<Ticket<O>, BatchError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { input, submitted: Instant::now(), reply };
        let Some(queue) = &self.queue else { return Err(BatchError::Closed) };
        match queue.try_send(job) {
            Ok(()) => Ok(Ticket(answer)),
            Err(TrySendError::Full(_)) => Err(BatchError::QueueFull { capacity: self.capacity }),
            Err(TrySendError::Disconnected(_)) => Err(BatchError::Closed),
        }
    }

    /// Stops taking requests, lets the workers finish the queued ones and waits for them.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl<I, O> Drop for Batcher<I, O> {
    fn drop(&mut self) {
        self.queue = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn run_worker<I, O>(
    config: BatchConfig,
    jobs: &Mutex<Receiver<Job<I, O>>>,
    mut work: impl FnMut(Vec<I>) -> Vec<O>,
) {
    while let Some(batch) = next_batch(config, jobs) {
        let started = Instant::now();
        let size = batch.len();
        let (inputs, callers): (Vec<I>, Vec<_>) =
            batch.into_iter().map(|job| (job.input, (job.submitted, job.reply))).unzip();
        let outputs = catch_unwind(AssertUnwindSafe(|| work(inputs)));
        let outputs = match outputs {
            Ok(outputs) if outputs.len() == size => Ok(outputs),
            Ok(outputs) => Err(format!("{} answers for {size} requests", outputs.len())),
            Err(panic) => Err(panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "it panicked".to_owned())),
        };
        match outputs {
            Ok(outputs) => {
                for ((submitted, reply), output) in callers.into_iter().zip(outputs) {
                    let queued = started.saturating_duration_since(submitted);
                    // A caller that went away no longer wants its answer.
                    let _ = reply.send(Ok(Batched { output, queued, batch_size: size }));
                }
            }
            Err(reason) => {
                for (_, reply) in callers {
                    let _ = reply.send(Err(BatchError::WorkerFailed(reason.clone())));
                }
            }
        }
    }
}

/// Waits for a first job, then gathers more until the batch is full or its delay is over.
/// `None` once the batcher is dropped and the queue is empty.
fn next_batch<I, O>(
    config: BatchConfig,
    jobs: &Mutex<Receiver<Job<I, O>>>,
) -> Option<Vec<Job<I, O>>> {
    // One worker gathers at a time; the others wait here for the next batch.
    let jobs = jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let first = jobs.recv().ok()?;
    let deadline = Instant::now() + config.max_batch_delay;
    let mut batch = vec![first];
    while batch.len() < config.batch_size {
        match jobs.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(job) => batch.push(job),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(batch)
}
