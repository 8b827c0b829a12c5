//! Reading what Criterion wrote: under its output folder, every benchmark has a folder per
//! baseline (`new` for the latest run, or a `--save-baseline` name) holding `benchmark.json`
//! (its id and throughput), `estimates.json` (mean and median with confidence intervals, in
//! nanoseconds) and `sample.json` (every sample's iteration count and total time).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

/// The baseline Criterion writes the latest run to.
pub const LATEST: &str = "new";

const BENCHMARK: &str = "benchmark.json";
const ESTIMATES: &str = "estimates.json";
const SAMPLE: &str = "sample.json";

/// The files of an id's folder in a baseline that [`load`] reads.
pub const FILES: [&str; 3] = [BENCHMARK, ESTIMATES, SAMPLE];

/// A point estimate with its confidence interval, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct Estimate {
    /// The estimate.
    #[serde(rename = "point_estimate")]
    pub point: f64,
    /// Its interval.
    pub confidence_interval: Interval,
}

/// A confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct Interval {
    /// Usually 0.95.
    pub confidence_level: f64,
    /// Lower bound.
    pub lower_bound: f64,
    /// Upper bound.
    pub upper_bound: f64,
}

/// What one iteration processes, as the bench declared it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Throughput {
    /// Bytes (binary multiples).
    Bytes(u64),
    /// Bytes (decimal multiples).
    BytesDecimal(u64),
    /// Bits.
    Bits(u64),
    /// Elements (requests, images).
    Elements(u64),
}

/// One benchmark's results in one baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The full id, `<stage>/<variant>/<payload>`.
    pub id: String,
    /// Criterion's folder for it, relative to the output folder (its HTML report is
    /// `<folder>/report/index.html`).
    pub folder: PathBuf,
    /// What an iteration processes, if declared.
    pub throughput: Option<Throughput>,
    /// Mean time per iteration.
    pub mean: Estimate,
    /// Median time per iteration.
    pub median: Estimate,
    /// Every sample's time per iteration, in nanoseconds.
    pub samples: Vec<f64>,
    /// When Criterion wrote the estimates, if the file system says.
    pub written: Option<SystemTime>,
}

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
    directory_name: String,
    throughput: Option<Throughput>,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
}

#[derive(Deserialize)]
struct Sample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Every benchmark under `home` that has results in `baseline`, by id.
pub fn load(home: &Path, baseline: &str) -> io::Result<BTreeMap<String, Measurement>> {
    let mut found = BTreeMap::new();
    if home.is_dir() {
        visit(home, baseline, &mut found)?;
    }
    Ok(found)
}

fn visit(
    folder: &Path,
    baseline: &str,
    found: &mut BTreeMap<String, Measurement>,
) -> io::Result<()> {
    let results = folder.join(baseline);
    if results.join(BENCHMARK).is_file() {
        let measurement = read(&results)?;
        found.insert(measurement.id.clone(), measurement);
        return Ok(());
    }
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        // Criterion's own HTML lives in `report` folders; nothing to read there.
        if path.is_dir() && path.file_name().is_some_and(|name| name != "report") {
            visit(&path, baseline, found)?;
        }
    }
    Ok(())
}

fn read(results: &Path) -> io::Result<Measurement> {
    let json = |name: &str| -> io::Result<Vec<u8>> { std::fs::read(results.join(name)) };
    let invalid = |name: &str, error: serde_json::Error| {
        io::Error::other(format!("{}: {error}", results.join(name).display()))
    };
    let benchmark: Benchmark =
        serde_json::from_slice(&json(BENCHMARK)?).map_err(|e| invalid(BENCHMARK, e))?;
    let estimates: Estimates =
        serde_json::from_slice(&json(ESTIMATES)?).map_err(|e| invalid(ESTIMATES, e))?;
    let sample: Sample = serde_json::from_slice(&json(SAMPLE)?).map_err(|e| invalid(SAMPLE, e))?;
    let samples =
        sample.times.iter().zip(&sample.iters).map(|(time, iters)| time / iters).collect();
    let written = std::fs::metadata(results.join(ESTIMATES)).and_then(|m| m.modified()).ok();
    Ok(Measurement {
        id: benchmark.full_id,
        folder: benchmark.directory_name.into(),
        throughput: benchmark.throughput,
        mean: estimates.mean,
        median: estimates.median,
        samples,
        written,
    })
}
