//! Measurement windows and the rule that ends a load point. A window is a stretch of the
//! schedule: its requests are those due in it (their latencies, delays and errors), its
//! throughput the successful answers that came back within it. A point is measured window
//! after window until the last three agree (perf_analyzer's rule: each window's throughput and
//! latency within a tolerance of the three's mean) or the most windows allowed have passed, and
//! is then reported from those three, stable or not.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::latency::{Latencies, Statistic};
use crate::timing::{ClientStage, ClientTimings, Stage, StageTimings};

/// How many windows must agree.
pub const AGREEING: usize = 3;

/// The share of an open loop's rate its answers must keep up with: below it, requests queue
/// faster than they are answered and latency grows without end.
pub const SUSTAINED: f64 = 0.9;

/// How long a window is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// A stretch of time.
    Time(#[serde(with = "super::seconds")] Duration),
    /// A number of requests.
    Requests(u64),
}

/// A failed request's kind, and how often it happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    /// How many requests failed this way.
    pub count: u64,
    /// The first one's error, cause by cause.
    pub example: String,
}

/// What one window saw.
#[derive(Clone, Debug, Default)]
pub struct WindowStats {
    /// How long it lasted: from its first request's due time to the next window's.
    pub span: Duration,
    /// Requests due in it.
    pub sent: u64,
    /// Of those, the ones that left late (open loop only).
    pub delayed: u64,
    /// Successful answers that came back within it.
    pub answered: u64,
    /// The latencies of its requests that succeeded.
    pub latencies: Latencies,
    /// Its requests that failed, by kind.
    pub errors: BTreeMap<String, Errors>,
    client: [Duration; ClientStage::ALL.len()],
    server: [Latencies; Stage::ALL.len()],
}

impl WindowStats {
    /// Records a request of this window that succeeded, with both sides' timings.
    pub fn succeeded(&mut self, latency: Duration, client: &ClientTimings, server: &StageTimings) {
        self.latencies.record(latency);
        for stage in ClientStage::ALL {
            self.client[stage as usize] += client.get(stage);
        }
        for stage in Stage::ALL {
            if let Some(duration) = server.get(stage) {
                self.server[stage as usize].record(duration);
            }
        }
    }

    /// Records a request of this window that failed.
    pub fn failed(&mut self, kind: String, error: impl FnOnce() -> String) {
        let errors = self.errors.entry(kind).or_default();
        if errors.count == 0 {
            errors.example = error();
        }
        errors.count += 1;
    }

    /// Successful answers a second.
    pub fn throughput(&self) -> f64 {
        if self.span.is_zero() { 0.0 } else { self.answered as f64 / self.span.as_secs_f64() }
    }

    /// Adds `other`'s counts and distributions to this one's.
    pub fn add(&mut self, other: &Self) {
        self.span += other.span;
        self.sent += other.sent;
        self.delayed += other.delayed;
        self.answered += other.answered;
        self.latencies.add(&other.latencies);
        for (kind, errors) in &other.errors {
            let mine = self.errors.entry(kind.clone()).or_default();
            if mine.count == 0 {
                mine.example.clone_from(&errors.example);
            }
            mine.count += errors.count;
        }
        for (mine, theirs) in self.client.iter_mut().zip(&other.client) {
            *mine += *theirs;
        }
        for (mine, theirs) in self.server.iter_mut().zip(&other.server) {
            mine.add(theirs);
        }
    }

    /// The mean time of each client stage over the successful requests, in milliseconds.
    pub fn client_means(&self) -> BTreeMap<ClientStage, f64> {
        let requests = self.latencies.count().max(1) as f64;
        ClientStage::ALL
            .into_iter()
            .map(|stage| (stage, self.client[stage as usize].as_secs_f64() * 1000.0 / requests))
            .collect()
    }

    /// Each server stage the answers reported: its mean and 99th percentile, in milliseconds.
    pub fn server_stages(&self) -> BTreeMap<Stage, StageSummary> {
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        Stage::ALL
            .into_iter()
            .filter(|&stage| self.server[stage as usize].count() > 0)
            .map(|stage| {
                let latencies = &self.server[stage as usize];
                let summary = StageSummary {
                    mean: ms(latencies.mean()),
                    p99: ms(latencies.percentile(99.0)),
                };
                (stage, summary)
            })
            .collect()
    }
}

/// A server stage over a point's requests, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageSummary {
    /// The mean.
    pub mean: f64,
    /// The 99th percentile.
    pub p99: f64,
}

/// Whether the last [`AGREEING`] windows agree: each one's throughput and latency `statistic`
/// within `tolerance` (0.1: 10%) of the three's mean.
pub fn agree(windows: &[WindowStats], statistic: Statistic, tolerance: f64) -> bool {
    let Some(last) = windows.len().checked_sub(AGREEING).map(|first| &windows[first..]) else {
        return false;
    };
    let within = |values: [f64; AGREEING]| {
        let mean = values.iter().sum::<f64>() / AGREEING as f64;
        values.iter().all(|value| (value - mean).abs() <= tolerance * mean)
    };
    let throughputs = [0, 1, 2].map(|i| last[i].throughput());
    let latencies = [0, 1, 2].map(|i| statistic.of(&last[i].latencies).as_secs_f64());
    throughputs[0] > 0.0 && within(throughputs) && within(latencies)
}

/// Whether an open loop offering `offered` a second has been answered below [`SUSTAINED`] of
/// it in each of the last [`AGREEING`] windows: it is past the server's capacity, and no
/// number of windows will settle it.
pub fn overloaded(windows: &[WindowStats], offered: Option<f64>) -> bool {
    let (Some(rate), Some(first)) = (offered, windows.len().checked_sub(AGREEING)) else {
        return false;
    };
    windows[first..].iter().all(|window| window.throughput() < SUSTAINED * rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(answered: u64, latency_ms: u64) -> WindowStats {
        let mut window =
            WindowStats { span: Duration::from_secs(1), answered, ..Default::default() };
        window.succeeded(
            Duration::from_millis(latency_ms),
            &ClientTimings::default(),
            &StageTimings::default(),
        );
        window
    }

    #[test]
    fn three_windows_agree_within_the_tolerance_and_not_beyond() {
        let rule = |windows: &[WindowStats]| agree(windows, Statistic::Mean, 0.1);
        assert!(!rule(&[window(100, 10), window(100, 10)]), "two windows are not three");
        assert!(rule(&[window(10, 90), window(100, 10), window(105, 10), window(95, 11)]));
        assert!(!rule(&[window(100, 10), window(130, 10), window(100, 10)]), "throughput");
        assert!(!rule(&[window(100, 10), window(100, 10), window(100, 13)]), "latency");
        assert!(!rule(&[window(0, 10), window(0, 10), window(0, 10)]), "nothing answered");
    }

    #[test]
    fn an_open_loop_answered_below_its_rate_three_times_is_overloaded() {
        let answered = |counts: &[u64]| counts.iter().map(|&n| window(n, 10)).collect::<Vec<_>>();
        assert!(overloaded(&answered(&[100, 80, 85, 70]), Some(100.0)));
        assert!(!overloaded(&answered(&[50, 80, 95, 70]), Some(100.0)), "one window kept up");
        assert!(!overloaded(&answered(&[80, 85]), Some(100.0)), "two windows are not three");
        assert!(!overloaded(&answered(&[1, 1, 1]), None), "a closed loop sets its own pace");
    }

    #[test]
    fn windows_add_up() {
        let mut total = window(100, 10);
        total.failed("timeout".into(), || "first".into());
        let mut other = window(50, 30);
        other.failed("timeout".into(), || "second".into());
        total.add(&other);
        assert_eq!(total.answered, 150);
        assert_eq!(total.span, Duration::from_secs(2));
        assert_eq!(total.latencies.count(), 2);
        assert_eq!(total.errors["timeout"], Errors { count: 2, example: "first".into() });
        assert_eq!(total.throughput(), 75.0);
    }
}
