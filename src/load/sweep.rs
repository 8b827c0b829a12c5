//! Sweeps: a range of loads measured one after another, and the search for the highest rate a
//! route sustains under a latency budget (perf_analyzer's `--latency-threshold`, wrk2's
//! question).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::window::SUSTAINED;
use super::{Point, Statistic, Summary};
use crate::ids::{Arrivals, Load};

/// A latency a route must hold: `p99` under 100 ms, say.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// The latency held to the limit: the mean or one of the reported percentiles.
    pub statistic: Statistic,
    /// The limit, in milliseconds.
    pub limit_ms: f64,
}

/// Why a budget names a statistic a point does not report.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("a budget holds the mean, p50, p90, p95, p99, p99.9 or p100, not {0}")]
pub struct UnreportedStatistic(pub Statistic);

impl Budget {
    /// A budget on `statistic`, which a point must report.
    pub fn new(statistic: Statistic, limit: Duration) -> Result<Self, UnreportedStatistic> {
        let budget = Self { statistic, limit_ms: limit.as_secs_f64() * 1000.0 };
        match Summary::default().get(statistic) {
            Some(_) => Ok(budget),
            None => Err(UnreportedStatistic(statistic)),
        }
    }

    /// The point's value of the budget's statistic, in milliseconds.
    pub fn value(&self, point: &Point) -> Result<f64, UnreportedStatistic> {
        point.latency.get(self.statistic).ok_or(UnreportedStatistic(self.statistic))
    }

    /// Whether `point` sustains its load within the budget: a steady state (its windows
    /// agreed), every request answered, the statistic under the limit, and (open loop) at
    /// least [`SUSTAINED`] of the rate offered answered.
    pub fn met(&self, point: &Point) -> bool {
        let keeps_up = point.load.offered().is_none_or(|rate| point.throughput >= SUSTAINED * rate);
        let within = self.value(point).is_ok_and(|value| value <= self.limit_ms);
        point.stable && point.failed() == 0 && keeps_up && within
    }
}

/// `from` to `to` (both included) by `step`, or doubling from `from` when `step` is `None`:
/// the levels of a sweep. Empty when the range is.
pub fn levels(from: f64, to: f64, step: Option<f64>) -> Vec<f64> {
    let mut levels = Vec::new();
    let mut level = from;
    // A hair over `to`, so 0.1 steps reach it whatever the rounding.
    while level > 0.0 && level <= to * (1.0 + 1e-9) && levels.len() < 10_000 {
        levels.push(level);
        level = match step {
            Some(step) if step > 0.0 => round(from + step * levels.len() as f64),
            Some(_) => break,
            None => level * 2.0,
        };
    }
    levels
}

/// `value` to three significant digits, so the rates a search tries read as their ids do.
pub fn round(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return value;
    }
    let scale = 10f64.powi(2 - value.log10().floor() as i32);
    (value * scale).round() / scale
}

/// Measures `loads` in order, each with `measure`; with a `budget`, stops after the first point
/// that misses it (the curve has passed its knee).
pub async fn sweep<F, Fut>(loads: &[Load], budget: Option<Budget>, mut measure: F) -> Vec<Point>
where
    F: FnMut(Load) -> Fut,
    Fut: Future<Output = Point>,
{
    let mut points = Vec::new();
    for &load in loads {
        let point = measure(load).await;
        let missed = budget.is_some_and(|budget| !budget.met(&point));
        points.push(point);
        if missed {
            break;
        }
    }
    points
}

/// What a search for the highest rate under a budget found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// The budget searched under.
    pub budget: Budget,
    /// The highest rate measured that met it; `None` when even the lowest did not.
    pub sustained: Option<f64>,
    /// Whether that is the top of the range searched (the route may sustain more).
    pub at_top: bool,
    /// Every point measured, in the order measured.
    pub points: Vec<Point>,
}

/// Searches rates from `low` to `high` for the highest one that meets `budget`, bisecting
/// until the rates met and missed are within `precision` (0.05: 5%) of each other.
pub async fn search<F, Fut>(
    low: f64,
    high: f64,
    arrivals: Arrivals,
    budget: Budget,
    precision: f64,
    mut measure: F,
) -> Search
where
    F: FnMut(Load) -> Fut,
    Fut: Future<Output = Point>,
{
    let rate = |per_second| Load::Rate { per_second, arrivals };
    let mut points = Vec::new();
    let met = |point: Point, points: &mut Vec<Point>| {
        let met = budget.met(&point);
        points.push(point);
        met
    };
    let none = |points| Search { budget, sustained: None, at_top: false, points };
    if !met(measure(rate(low)).await, &mut points) {
        return none(points);
    }
    if met(measure(rate(high)).await, &mut points) {
        return Search { budget, sustained: Some(high), at_top: true, points };
    }
    let (mut good, mut bad) = (low, high);
    while bad - good > precision * good {
        let middle = round((good + bad) / 2.0);
        if middle <= good || middle >= bad {
            break;
        }
        if met(measure(rate(middle)).await, &mut points) {
            good = middle;
        } else {
            bad = middle;
        }
    }
    Search { budget, sustained: Some(good), at_top: false, points }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::WindowStats;

    fn point(load: Load, throughput: f64, p99: f64) -> Point {
        let empty = WindowStats::default();
        let mut point = Point::new(Load::Concurrency(1), &[], false, &empty, Statistic::Mean);
        point.load = load;
        point.stable = true;
        point.throughput = throughput;
        point.latency = Summary { p99, ..Summary::default() };
        point
    }

    fn p99_under(ms: f64) -> Budget {
        Budget::new(Statistic::Percentile(99.0), Duration::from_secs_f64(ms / 1000.0)).unwrap()
    }

    #[test]
    fn levels_step_or_double() {
        assert_eq!(levels(1.0, 16.0, None), [1.0, 2.0, 4.0, 8.0, 16.0]);
        assert_eq!(levels(10.0, 50.0, Some(20.0)), [10.0, 30.0, 50.0]);
        assert_eq!(levels(0.1, 0.3, Some(0.1)), [0.1, 0.2, 0.3]);
        assert!(levels(5.0, 1.0, None).is_empty());
        assert_eq!(round(123.456), 123.0);
        assert_eq!(round(0.012345), 0.0123);
    }

    #[test]
    fn a_budget_is_met_by_every_answer_in_time_at_the_rate_offered() {
        let budget = p99_under(100.0);
        let rate = Load::Rate { per_second: 50.0, arrivals: Arrivals::Constant };
        assert!(budget.met(&point(rate, 50.0, 80.0)));
        assert!(!budget.met(&point(rate, 50.0, 120.0)), "too slow");
        assert!(!budget.met(&point(rate, 40.0, 80.0)), "not keeping up");
        let unsteady = Point { stable: false, ..point(rate, 50.0, 80.0) };
        assert!(!budget.met(&unsteady), "never settled");
        let mut failing = point(rate, 50.0, 80.0);
        failing.errors.insert("HTTP 503".into(), Default::default());
        failing.errors.get_mut("HTTP 503").unwrap().count = 1;
        assert!(!budget.met(&failing), "errors");
        assert!(Budget::new(Statistic::Percentile(97.0), Duration::from_millis(1)).is_err());
    }

    /// A server whose p99 is 1 ms per request a second: it holds 100 ms up to 100/s.
    fn linear(load: Load) -> std::future::Ready<Point> {
        let rate = load.offered().unwrap();
        std::future::ready(point(load, rate, rate))
    }

    #[tokio::test]
    async fn the_search_finds_the_knee_within_its_precision() {
        let found = search(10.0, 400.0, Arrivals::Constant, p99_under(100.0), 0.05, linear).await;
        let sustained = found.sustained.unwrap();
        assert!((95.0..=100.0).contains(&sustained), "{sustained}");
        assert!(!found.at_top);
        assert!(found.points.len() < 12, "{} points", found.points.len());

        let all = search(10.0, 50.0, Arrivals::Constant, p99_under(100.0), 0.05, linear).await;
        assert_eq!((all.sustained, all.at_top, all.points.len()), (Some(50.0), true, 2));
        let none = search(200.0, 400.0, Arrivals::Constant, p99_under(100.0), 0.05, linear).await;
        assert_eq!((none.sustained, none.points.len()), (None, 1));
    }

    #[tokio::test]
    async fn a_sweep_under_a_budget_stops_past_the_knee() {
        let loads: Vec<Load> = levels(25.0, 400.0, None)
            .into_iter()
            .map(|per_second| Load::Rate { per_second, arrivals: Arrivals::Constant })
            .collect();
        let points = sweep(&loads, Some(p99_under(100.0)), linear).await;
        let rates: Vec<f64> = points.iter().map(|point| point.throughput).collect();
        assert_eq!(rates, [25.0, 50.0, 100.0, 200.0]);
        assert_eq!(sweep(&loads, None, linear).await.len(), 5);
    }
}
