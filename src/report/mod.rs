//! Reading the suite's output back: Criterion's results ([`criterion`]), rendered into one
//! report ([`render`], through `report-templates/`), and judged between two runs ([`judge`],
//! driven by [`compare`]) so a branch's regressions are found by a command, not by eye.

pub mod chart;
pub mod compare;
pub mod criterion;
pub mod judge;
pub mod render;
pub mod templates;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use self::criterion::Measurement;

/// What a report says about where and on what its numbers were made.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// `git describe`-like commit of the checkout, with `-dirty` when it has changes.
    pub commit: String,
    /// CPU model and core count.
    pub machine: String,
    /// `rustc --version`.
    pub rustc: String,
    /// servebench's version.
    pub servebench: String,
    /// The libtorch servebench links (`none` without the `torch` feature).
    pub libtorch: String,
    /// When the oldest and newest of the reported results were written (UTC).
    pub results_written: String,
}

impl RunInfo {
    /// Gathers it for `measurements`, from the machine and checkout it runs on (the ones the
    /// benches ran on, when a report follows its run).
    pub fn collect<'a>(measurements: impl IntoIterator<Item = &'a Measurement>) -> Self {
        let output = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let commit = output("git", &["describe", "--always", "--dirty", "--abbrev=12"])
            .unwrap_or_else(|| "unknown (not a git checkout)".to_owned());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|line| line.strip_prefix("model name"))
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        Self {
            commit,
            machine: format!("{cpu}, {cores} cores, {}", std::env::consts::OS),
            rustc: output("rustc", &["--version"]).unwrap_or_else(|| "unknown".to_owned()),
            servebench: env!("CARGO_PKG_VERSION").to_owned(),
            libtorch: if cfg!(feature = "torch") {
                "PyTorch 2.11.0 (tch 0.24)".to_owned()
            } else {
                "none (built without the torch feature)".to_owned()
            },
            results_written: written_span(measurements),
        }
    }
}

/// The span of the measurements' write times, as UTC dates.
fn written_span<'a>(measurements: impl IntoIterator<Item = &'a Measurement>) -> String {
    let times: Vec<SystemTime> = measurements.into_iter().filter_map(|m| m.written).collect();
    let utc = |time: &SystemTime| {
        let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (days, rest) = (seconds / 86_400, seconds % 86_400);
        let (year, month, day) = civil_from_days(days as i64);
        format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
    };
    match (times.iter().min(), times.iter().max()) {
        (Some(first), Some(last)) => format!("{} to {}", utc(first), utc(last)),
        _ => "no results".to_owned(),
    }
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_782), (2026, 11, 25));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}
