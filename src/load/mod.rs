//! Load: how a route holds up as requests keep coming, rather than the study's 20 at once.
//! What `servebench load` runs, over the same clients the benches use, against servebench's
//! servers or anyone's.
//!
//! A load point drives one [`Workload`](crate::ids::Workload) at one [`Load`]: a closed loop
//! keeping `n` requests in flight, or an open loop sending at a rate on a fixed schedule and
//! timing each request from when it was due (so a stall is charged to every request behind it,
//! as wrk2 and vegeta do). Latencies go into HDR histograms ([`latency`]); the point is
//! measured window after window until the last three agree, perf_analyzer's rule
//! ([`window`]), and carries the server's stages from each answer's `server-timing`, so a
//! curve shows which stage grows at the knee. [`sweep`] runs ranges of points and searches for
//! the highest rate under a latency budget; [`sender`] makes any workload's requests; the
//! report writes runs as a table, CSV and JSON (`report::load`).
//!
//! ```
//! use servebench::client::StudyClient;
//! use servebench::ids::{Load, Payload};
//! use servebench::load::{self, LoadConfig, Window};
//! use servebench::server::{ListenConfig, study};
//! use servebench::transport::{Protocol, TransportConfig};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = study::start(ListenConfig::default()).await?;
//! let client =
//!     StudyClient::connect(Protocol::RestH1, TransportConfig::default(), &server.target()).await?;
//! let request = Arc::new(Payload::Basic.request());
//! let config = LoadConfig { window: Window::Time(Duration::from_millis(100)), ..Default::default() };
//! let rate = Load::Rate { per_second: 200.0, arrivals: Default::default() };
//! let point = load::measure(rate, &config, move || {
//!     let (client, request) = (client.clone(), Arc::clone(&request));
//!     async move { client.send(&request).await }
//! }, |_, _| {}).await;
//! assert!(point.errors.is_empty());
//! println!("{:.0} answers/s, p99 {:.2} ms", point.throughput, point.latency.p99);
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

mod generator;
pub mod latency;
pub mod sender;
pub mod sweep;
pub mod window;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use generator::{LATE, measure};
pub use latency::{Latencies, Statistic, Summary};
pub use window::{Errors, StageSummary, Window, WindowStats};

use crate::ids::Load;
use crate::timing::{ClientStage, Stage};

/// How a load point is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadConfig {
    /// How long each measurement window is.
    pub window: Window,
    /// The most windows a point is measured for before it is reported unstable.
    pub max_windows: usize,
    /// How close the last three windows must be (0.1: each within 10% of their mean).
    pub tolerance: f64,
    /// The latency the windows must agree on, beside throughput (perf_analyzer: the mean).
    pub stability: Statistic,
    /// Open loop: the most requests out at once; later ones wait, and count as delayed.
    pub max_in_flight: usize,
    /// A request unanswered after this long fails as `timeout`.
    #[serde(with = "seconds")]
    pub timeout: Duration,
    /// The seed of a Poisson schedule.
    pub seed: u64,
}

impl Default for LoadConfig {
    /// Windows of 2 s, at most 10 of them, agreeing within 10% on throughput and mean latency;
    /// up to 256 requests out at once, each given 30 s.
    fn default() -> Self {
        Self {
            window: Window::Time(Duration::from_secs(2)),
            max_windows: 10,
            tolerance: 0.1,
            stability: Statistic::Mean,
            max_in_flight: 256,
            timeout: Duration::from_secs(30),
            seed: 1,
        }
    }
}

/// One load point, as measured: its last three windows together, and every window's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// How hard it drove the server.
    pub load: Load,
    /// Whether the last three windows agreed; if not, the figures are the last three's anyway.
    pub stable: bool,
    /// Successful answers a second over the last three windows.
    pub throughput: f64,
    /// Requests due in those windows.
    pub sent: u64,
    /// Of them, the ones that left more than [`LATE`] after their due time (open loop).
    pub delayed: u64,
    /// Of them, the ones answered: their latencies are the point's.
    pub succeeded: u64,
    /// Of them, the ones that failed, by kind: never retried, never timed.
    pub errors: BTreeMap<String, Errors>,
    /// The latencies of the ones that succeeded, from their due time, in milliseconds.
    pub latency: Summary,
    /// The client's stages: mean milliseconds of encode, wait and decode.
    pub client: BTreeMap<ClientStage, f64>,
    /// The server's stages as its answers reported them.
    pub server: BTreeMap<Stage, StageSummary>,
    /// Every window closed, in order: its throughput and its stability latency.
    pub windows: Vec<WindowFigures>,
}

/// A window's figures, kept so a reader can see how a point settled (or did not).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowFigures {
    /// Successful answers a second.
    pub throughput: f64,
    /// The stability latency, in milliseconds.
    pub latency: f64,
}

impl Point {
    /// The point from its windows (`closed`, every one), the last three added up in `total`.
    fn new(
        load: Load,
        closed: &[WindowStats],
        stable: bool,
        total: &WindowStats,
        stability: Statistic,
    ) -> Self {
        let windows = closed
            .iter()
            .map(|window| WindowFigures {
                throughput: window.throughput(),
                latency: stability.of(&window.latencies).as_secs_f64() * 1000.0,
            })
            .collect();
        Self {
            load,
            stable,
            throughput: total.throughput(),
            sent: total.sent,
            delayed: total.delayed,
            succeeded: total.latencies.count(),
            errors: total.errors.clone(),
            latency: total.latencies.summary(),
            client: total.client_means(),
            server: total.server_stages(),
            windows,
        }
    }

    /// How many requests failed.
    pub fn failed(&self) -> u64 {
        self.errors.values().map(|errors| errors.count).sum()
    }
}

/// A duration as seconds in JSON.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}
