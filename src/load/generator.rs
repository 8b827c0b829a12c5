//! The two loops that send a point's requests, and the collector that files what comes back
//! into windows.
//!
//! - **Closed** (`c<n>`): `n` tasks, each sending its next request when its last is answered:
//!   requests in flight stay at `n`, with no barrier between rounds. A request's latency runs
//!   from when it left.
//! - **Open** (`r<rate>`): a schedule fixed before the first request (every 1/rate seconds,
//!   or Poisson gaps), each request spawned at its time whatever the server is doing. A
//!   request's latency runs from when it was *due*, so a server that stalls is charged for
//!   every request that waited behind the stall, not only the ones in flight (what wrk2 calls
//!   coordinated omission). At most `max_in_flight` requests are out at once; a request that
//!   left more than [`LATE`] after its time (no free slot, or a client starved of CPU) is
//!   counted as delayed.
//!
//! The collector runs beside the loop: it files each request under the window it was due in,
//! each answer under the window it came back in, and closes a window once the next has begun
//! and all its requests are back. It stops the loop when the last three windows agree (and,
//! for an open loop, keep up with its rate), when an open loop has been answered below 90% of
//! its rate three windows running (overloaded: no steady state to wait for), or when the most
//! windows allowed are closed, then lets the requests still out finish (each within the
//! timeout), uncounted: the next point starts on an idle server, and no request is cut off
//! mid-stream (an HTTP/2 server counts reset streams, and hyper's hangs up past a limit).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::window::{self, Window, WindowStats};
use super::{LoadConfig, Point};
use crate::client::{ClientError, Reply};
use crate::error::chain;
use crate::ids::{Arrivals, Load};
use crate::timing::{ClientTimings, StageTimings};

/// A request leaving later than this after its due time counts as delayed: well past tokio's
/// millisecond timer, so only a client that could not send is counted.
pub const LATE: Duration = Duration::from_millis(5);

/// What the loop tells the collector.
// Two events a request, moved through a channel: boxing the larger would cost an allocation
// each, moving it costs a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
enum Event {
    /// A request left; it was due at `due`.
    Sent { seq: u64, due: Instant, delayed: bool },
    /// A request came back.
    Done { seq: u64, due: Instant, at: Instant, outcome: Outcome },
}

type Outcome = Result<(ClientTimings, StageTimings), (String, String)>;

/// Measures one load point: drives `call` at `load` until the windows agree or run out.
/// `progress` hears of each window as it closes.
pub async fn measure<T, F, Fut>(
    load: Load,
    config: &LoadConfig,
    call: F,
    mut progress: impl FnMut(usize, &WindowStats),
) -> Point
where
    T: Send + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply<T>, ClientError>> + Send + 'static,
{
    let (events, mut inbox) = mpsc::unbounded_channel();
    let start = Instant::now();
    let call = Arc::new(call);
    let (stop, stopped) = watch::channel(false);
    let mut loops = JoinSet::new();
    match load {
        Load::Concurrency(n) => {
            // Numbered, timed and told under one lock, so the collector hears of requests in
            // the order they left.
            let next = Arc::new(Mutex::new(0u64));
            for _ in 0..n {
                let (call, events, stopped, next) =
                    (Arc::clone(&call), events.clone(), stopped.clone(), Arc::clone(&next));
                let timeout = config.timeout;
                loops.spawn(async move {
                    while !*stopped.borrow() {
                        let (seq, due) = {
                            let mut next = next.lock().unwrap_or_else(PoisonError::into_inner);
                            let (seq, due) = (*next, Instant::now());
                            *next += 1;
                            if events.send(Event::Sent { seq, due, delayed: false }).is_err() {
                                return;
                            }
                            (seq, due)
                        };
                        let outcome = send(&*call, timeout).await;
                        let done = Event::Done { seq, due, at: Instant::now(), outcome };
                        if events.send(done).is_err() {
                            return;
                        }
                    }
                });
            }
        }
        Load::Rate { per_second, arrivals } => {
            let schedule = Schedule::new(per_second, arrivals, config.seed);
            let open = open_loop(start, schedule, config.clone(), call, events.clone(), stopped);
            loops.spawn(open);
        }
    }
    drop(events);

    let mut collector = Collector::new(start, load, config);
    while let Some(event) = inbox.recv().await {
        let closed = collector.file(event);
        for index in closed {
            progress(index, &collector.closed[index]);
        }
        if collector.finished() {
            stop.send_replace(true);
            break;
        }
    }
    // The rest is drained, not counted: the channel closes once every request is back.
    while inbox.recv().await.is_some() {}
    loops.shutdown().await;
    collector.point()
}

/// Sends one request, within `timeout`.
async fn send<T, Fut>(call: &impl Fn() -> Fut, timeout: Duration) -> Outcome
where
    Fut: Future<Output = Result<Reply<T>, ClientError>>,
{
    match tokio::time::timeout(timeout, call()).await {
        Ok(Ok(reply)) => Ok((reply.client, reply.server)),
        Ok(Err(error)) => Err((kind(&error), chain(&error))),
        Err(_) => Err(("timeout".to_owned(), format!("no answer within {timeout:?}"))),
    }
}

/// The kind a failed request is counted under: the status a server answered with, or what
/// went wrong on the client.
fn kind(error: &ClientError) -> String {
    match error {
        ClientError::InvalidTarget { .. } => "invalid target".to_owned(),
        ClientError::Transport(_) => "transport".to_owned(),
        ClientError::Status { status, .. } => status.to_string(),
        ClientError::Codec(_) | ClientError::Oip(_) => "answer did not parse".to_owned(),
        ClientError::Image(_) => "image did not decode".to_owned(),
    }
}

/// The open loop: each request spawned at its due time, at most `max_in_flight` out.
async fn open_loop<T, F, Fut>(
    start: Instant,
    mut schedule: Schedule,
    config: LoadConfig,
    call: Arc<F>,
    events: mpsc::UnboundedSender<Event>,
    mut stopped: watch::Receiver<bool>,
) where
    T: Send + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply<T>, ClientError>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let mut requests = JoinSet::new();
    for seq in 0.. {
        let due = start + schedule.next_offset();
        let slot = tokio::select! {
            slot = async {
                tokio::time::sleep_until(due).await;
                Arc::clone(&slots).acquire_owned().await
            } => slot,
            _ = stopped.wait_for(|stopped| *stopped) => break,
        };
        let Ok(slot) = slot else { break };
        let delayed = Instant::now().saturating_duration_since(due) > LATE;
        if events.send(Event::Sent { seq, due, delayed }).is_err() {
            break;
        }
        let (call, events) = (Arc::clone(&call), events.clone());
        requests.spawn(async move {
            let outcome = send(&*call, config.timeout).await;
            drop(slot);
            let _ = events.send(Event::Done { seq, due, at: Instant::now(), outcome });
        });
        // Reap the finished, so a long run does not keep every task's result.
        while requests.try_join_next().is_some() {}
    }
    // Stopped: the requests out finish (or time out), and tell the collector, which drains.
    while requests.join_next().await.is_some() {}
}

/// An open loop's due times, as offsets from its start.
struct Schedule {
    per_second: f64,
    arrivals: Arrivals,
    sent: u64,
    offset: f64,
    random: SplitMix64,
}

impl Schedule {
    fn new(per_second: f64, arrivals: Arrivals, seed: u64) -> Self {
        Self { per_second, arrivals, sent: 0, offset: 0.0, random: SplitMix64(seed) }
    }

    /// The next request's due time: the first at the start, then a gap of 1/rate (constant)
    /// or an exponential gap of that mean (Poisson) after the last.
    fn next_offset(&mut self) -> Duration {
        let offset = match self.arrivals {
            // From the count, not a running sum, so rounding never drifts the rate.
            Arrivals::Constant => self.sent as f64 / self.per_second,
            Arrivals::Poisson => {
                if self.sent > 0 {
                    self.offset += -self.random.unit().ln() / self.per_second;
                }
                self.offset
            }
        };
        self.sent += 1;
        Duration::from_secs_f64(offset)
    }
}

/// A small, seeded generator (Steele, Lea and Flood's SplitMix64): a Poisson schedule is the
/// same for the same seed, run after run.
struct SplitMix64(u64);

impl SplitMix64 {
    /// A number in (0, 1].
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// Files events into windows.
struct Collector {
    start: Instant,
    load: Load,
    config: LoadConfig,
    /// Windows begun and not yet closed, from `closed.len()` on: each one's start, stats,
    /// and requests still out.
    open: Vec<(Instant, WindowStats, u64)>,
    closed: Vec<WindowStats>,
    /// The latest window a request has left in.
    sending: usize,
}

impl Collector {
    fn new(start: Instant, load: Load, config: &LoadConfig) -> Self {
        let config = config.clone();
        Self { start, load, config, open: Vec::new(), closed: Vec::new(), sending: 0 }
    }

    /// The window a request due at `due`, numbered `seq`, belongs to.
    fn index(&self, seq: u64, due: Instant) -> usize {
        match self.config.window {
            Window::Time(length) => self.at(due, length),
            Window::Requests(n) => (seq / n.max(1)) as usize,
        }
    }

    /// The time window holding `instant`.
    fn at(&self, instant: Instant, length: Duration) -> usize {
        let since = instant.saturating_duration_since(self.start).as_nanos();
        (since / length.as_nanos().max(1)) as usize
    }

    /// Begins every window up to `index`; a window of requests begins at `due`, its first
    /// request's due time.
    fn begin(&mut self, index: usize, due: Instant) {
        while self.closed.len() + self.open.len() <= index {
            let next = self.closed.len() + self.open.len();
            let begins = match self.config.window {
                Window::Time(length) => self.start + length * next as u32,
                Window::Requests(_) => due,
            };
            self.open.push((begins, WindowStats::default(), 0));
        }
    }

    /// The open window an answer at `at` came back in, if it is not one already closed.
    fn answered_in(&mut self, at: Instant) -> Option<usize> {
        let index = match self.config.window {
            Window::Time(length) => {
                let index = self.at(at, length);
                self.begin(index, at);
                index
            }
            Window::Requests(_) => {
                let position = self.open.iter().rposition(|(begins, _, _)| *begins <= at)?;
                self.closed.len() + position
            }
        };
        index.checked_sub(self.closed.len())
    }

    /// Files `event`; returns the windows it closed.
    fn file(&mut self, event: Event) -> Vec<usize> {
        match event {
            Event::Sent { seq, due, delayed } => {
                let index = self.index(seq, due);
                self.sending = self.sending.max(index);
                // Requests are told in the order they leave, and a window is closed only once
                // one leaves in a later window: none arrives for a closed one.
                let Some(position) = index.checked_sub(self.closed.len()) else {
                    return Vec::new();
                };
                self.begin(index, due);
                let (begins, stats, out) = &mut self.open[position];
                *begins = (*begins).min(due);
                stats.sent += 1;
                stats.delayed += u64::from(delayed);
                *out += 1;
            }
            Event::Done { seq, due, at, outcome } => {
                let index = self.index(seq, due);
                let Some(position) = index.checked_sub(self.closed.len()) else {
                    return Vec::new();
                };
                let (_, stats, out) = &mut self.open[position];
                *out -= 1;
                match outcome {
                    Ok((client, server)) => {
                        stats.succeeded(at.saturating_duration_since(due), &client, &server);
                        // It counts toward the throughput of the window it came back in.
                        if let Some(position) = self.answered_in(at) {
                            self.open[position].1.answered += 1;
                        }
                    }
                    Err((kind, error)) => stats.failed(kind, || error),
                }
            }
        }
        self.close()
    }

    /// Closes, in order, each window whose requests are all back and after which requests
    /// have left.
    fn close(&mut self) -> Vec<usize> {
        let mut closed = Vec::new();
        while self.open.len() >= 2
            && self.open[0].2 == 0
            && self.sending > self.closed.len()
            && !self.finished()
        {
            let (begins, mut stats, _) = self.open.remove(0);
            stats.span = self.open[0].0.saturating_duration_since(begins);
            closed.push(self.closed.len());
            self.closed.push(stats);
        }
        closed
    }

    /// Whether the point is measured: the last windows agree, or the most allowed are closed.
    fn finished(&self) -> bool {
        self.closed.len() >= self.config.max_windows.max(window::AGREEING)
            || window::overloaded(&self.closed, self.load.offered())
            || self.steady()
    }

    /// Whether the last windows agree, and an open loop's keep up with its rate.
    fn steady(&self) -> bool {
        window::agree(&self.closed, self.config.stability, self.config.tolerance)
            && !window::overloaded(&self.closed, self.load.offered())
    }

    /// The point, from the last windows closed.
    fn point(self) -> Point {
        let stable = self.steady();
        let first = self.closed.len().saturating_sub(window::AGREEING);
        let reported = &self.closed[first..];
        let mut total = WindowStats::default();
        for stats in reported {
            total.add(stats);
        }
        Point::new(self.load, &self.closed, stable, &total, self.config.stability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_schedule_keeps_its_rate_and_a_poisson_one_its_mean() {
        let mut constant = Schedule::new(100.0, Arrivals::Constant, 1);
        let offsets: Vec<Duration> = (0..1001).map(|_| constant.next_offset()).collect();
        assert_eq!(offsets[0], Duration::ZERO);
        assert_eq!(offsets[1], Duration::from_millis(10));
        assert_eq!(offsets[1000], Duration::from_secs(10));

        let mut poisson = Schedule::new(100.0, Arrivals::Poisson, 7);
        let offsets: Vec<f64> = (0..20_001).map(|_| poisson.next_offset().as_secs_f64()).collect();
        let gaps: Vec<f64> = offsets.windows(2).map(|pair| pair[1] - pair[0]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!((mean - 0.01).abs() < 0.0005, "mean gap {mean}");
        // Exponential gaps: about 1/e of them longer than the mean, and some far longer.
        let long = gaps.iter().filter(|gap| **gap > 0.01).count() as f64 / gaps.len() as f64;
        assert!((long - (-1.0f64).exp()).abs() < 0.02, "{long} longer than the mean");
        assert!(gaps.iter().any(|gap| *gap > 0.05));
        let mut again = Schedule::new(100.0, Arrivals::Poisson, 7);
        assert_eq!(again.next_offset().as_secs_f64(), offsets[0]);
        assert_eq!(
            again.next_offset().as_secs_f64(),
            offsets[1],
            "the same seed, the same schedule"
        );
    }
}
