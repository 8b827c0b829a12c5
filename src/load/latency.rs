//! Latencies in an HDR histogram (Gil Tene's, through the `hdrhistogram` crate): every value
//! kept to three significant digits from a microsecond to an hour, in a fixed 200 KB or so,
//! however many requests a run sends; merged across windows by adding counts, so a point's
//! percentiles are the percentiles of all its requests, not an average of windows' percentiles.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The longest latency recorded as itself; longer ones count as this.
const HIGHEST: Duration = Duration::from_secs(3600);

/// Latencies, in microseconds.
#[derive(Clone, Debug)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        let highest = HIGHEST.as_micros() as u64;
        Self(Histogram::new_with_bounds(1, highest, 3).expect("the bounds are valid"))
    }
}

impl Latencies {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    /// Adds every latency `other` holds.
    pub fn add(&mut self, other: &Self) {
        self.0.add(&other.0).expect("histograms of the same bounds add");
    }

    /// How many latencies it holds.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The latency at `percentile` (0 to 100), zero when empty.
    pub fn percentile(&self, percentile: f64) -> Duration {
        Duration::from_micros(self.0.value_at_percentile(percentile))
    }

    /// The mean, zero when empty.
    pub fn mean(&self) -> Duration {
        Duration::from_secs_f64(self.0.mean() / 1e6)
    }

    /// What a report shows of it.
    pub fn summary(&self) -> Summary {
        let ms = |latency: Duration| latency.as_secs_f64() * 1000.0;
        Summary {
            mean: ms(self.mean()),
            p50: ms(self.percentile(50.0)),
            p90: ms(self.percentile(90.0)),
            p95: ms(self.percentile(95.0)),
            p99: ms(self.percentile(99.0)),
            p999: ms(self.percentile(99.9)),
            max: ms(Duration::from_micros(self.0.max())),
        }
    }
}

/// A distribution of latencies as a report shows it, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The 99.9th percentile.
    pub p999: f64,
    /// The longest.
    pub max: f64,
}

impl Summary {
    /// Its value of `statistic`, where it reports it: the mean, p50, p90, p95, p99, p99.9 or
    /// p100 (the longest).
    pub fn get(&self, statistic: Statistic) -> Option<f64> {
        Some(match statistic {
            Statistic::Mean => self.mean,
            Statistic::Percentile(50.0) => self.p50,
            Statistic::Percentile(90.0) => self.p90,
            Statistic::Percentile(95.0) => self.p95,
            Statistic::Percentile(99.0) => self.p99,
            Statistic::Percentile(99.9) => self.p999,
            Statistic::Percentile(100.0) => self.max,
            Statistic::Percentile(_) => return None,
        })
    }
}

/// What a latency budget or the stability rule looks at: the mean or a percentile.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Statistic {
    /// `mean`.
    Mean,
    /// `p<percentile>`: `p50`, `p99`, `p99.9`.
    Percentile(f64),
}

impl Statistic {
    /// Its value over `latencies`.
    pub fn of(self, latencies: &Latencies) -> Duration {
        match self {
            Self::Mean => latencies.mean(),
            Self::Percentile(percentile) => latencies.percentile(percentile),
        }
    }
}

impl std::fmt::Display for Statistic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Mean => f.write_str("mean"),
            Self::Percentile(percentile) => write!(f, "p{percentile}"),
        }
    }
}

impl std::str::FromStr for Statistic {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "mean" {
            return Ok(Self::Mean);
        }
        text.strip_prefix('p')
            .and_then(|digits| digits.parse::<f64>().ok())
            .filter(|percentile| *percentile > 0.0 && *percentile <= 100.0)
            .map(Self::Percentile)
            .ok_or_else(|| format!("{text:?} is neither `mean` nor a percentile such as p99"))
    }
}

impl From<Statistic> for String {
    fn from(statistic: Statistic) -> Self {
        statistic.to_string()
    }
}

impl TryFrom<String> for Statistic {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_the_requests_own_to_three_digits() {
        let mut latencies = Latencies::default();
        for ms in 1..=1000 {
            latencies.record(Duration::from_millis(ms));
        }
        let summary = latencies.summary();
        for (value, expected) in [
            (summary.p50, 500.0),
            (summary.p90, 900.0),
            (summary.p99, 990.0),
            (summary.p999, 999.0),
            (summary.max, 1000.0),
            (summary.mean, 500.5),
        ] {
            // Three significant digits: a value is its bucket's, within one part in a thousand
            // (two, where a percentile falls on the boundary between two values).
            assert!((value - expected).abs() <= expected * 2e-3, "{value} for {expected}");
        }
        let mut merged = Latencies::default();
        merged.add(&latencies);
        merged.add(&latencies);
        assert_eq!(merged.count(), 2000);
        assert_eq!(merged.summary(), summary);
    }

    #[test]
    fn statistics_read_as_written() {
        for text in ["mean", "p50", "p99", "p99.9", "p100"] {
            assert_eq!(text.parse::<Statistic>().unwrap().to_string(), text);
        }
        for wrong in ["p0", "p101", "median", "99", "p"] {
            assert!(wrong.parse::<Statistic>().is_err(), "{wrong}");
        }
    }
}
