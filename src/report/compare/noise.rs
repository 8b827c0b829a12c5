//! A machine's noise profile: how far each id's runs scatter when nothing changed, measured by
//! `servebench compare --calibrate` (A/A rounds of one build) and kept in
//! `target/servebench/noise.json`, so later comparisons on the same machine hold each id to its
//! own noise instead of one threshold for all.
//!
//! An id's **spread** is the standard deviation of the natural log of its runs' medians: 0.02
//! is runs about 2 % apart. Its threshold is then [`MULTIPLE`] times that, and never under
//! [`FLOOR`]: a quiet id (`codec/protobuf_encode/basic`, say) is caught at a few percent, a
//! noisy one (a 1080p JSON decode that moves with memory placement) needs more. The run, not
//! the sample, is what scatters (see [`super::judge`]), so the spread is between runs.
//!
//! The spread also joins the runs' own in the judge's t-test ([`NoiseProfile::prior`]): with
//! the calibration's degrees of freedom added, three runs a side are enough to be sure of a
//! small change on a quiet id.
//!
//! Why three times: the change `compare` estimates from three runs a side has a standard
//! deviation of about `spread * sqrt(2/3)`, so three spreads is about 3.7 of those, where an
//! A/A estimate lands about once in ten thousand ids; and the judge must still be sure of it.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::judge::{Prior, Summary, log_medians};
use super::outcome::Runs;

/// An id's threshold is this many of its spreads.
pub const MULTIPLE: f64 = 3.0;

/// No threshold is under this: a change of 1 % is not one anyone acts on by wall time.
pub const FLOOR: f64 = 0.01;

/// The fewest runs a spread is computed from.
pub const MIN_RUNS: usize = 4;

/// What `--calibrate` measured on one machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseProfile {
    /// The machine it was measured on (CPU model, cores, OS): a profile holds only there.
    pub machine: String,
    /// When (UTC, to the minute).
    pub calibrated: String,
    /// Whether the runs were in the quick mode (a profile holds for the mode it was made in).
    pub quick: bool,
    /// Each id's spread: the standard deviation of the log of its runs' medians.
    pub spread: BTreeMap<String, f64>,
    /// How many runs each id's spread is from.
    pub runs: BTreeMap<String, usize>,
}

impl NoiseProfile {
    /// The profile of `runs`: every id with at least [`MIN_RUNS`] runs.
    pub fn from_runs(machine: &str, calibrated: &str, quick: bool, runs: &Runs) -> Self {
        let mut spread = BTreeMap::new();
        let mut counts = BTreeMap::new();
        for (id, id_runs) in runs {
            let logs = log_medians(id_runs);
            if logs.len() >= MIN_RUNS {
                spread.insert(id.clone(), Summary::of(&logs).variance.sqrt());
                counts.insert(id.clone(), logs.len());
            }
        }
        Self {
            machine: machine.to_owned(),
            calibrated: calibrated.to_owned(),
            quick,
            spread,
            runs: counts,
        }
    }

    /// `id`'s threshold: [`MULTIPLE`] spreads, at least [`FLOOR`]; `None` for an id the
    /// profile did not measure.
    pub fn threshold(&self, id: &str) -> Option<f64> {
        self.spread.get(id).map(|spread| (MULTIPLE * spread).max(FLOOR))
    }

    /// What the profile knows of `id`'s noise, for the judge to pool with the runs' own.
    pub fn prior(&self, id: &str) -> Option<Prior> {
        let spread = self.spread.get(id)?;
        let runs = *self.runs.get(id)? as f64;
        Some(Prior { variance: spread * spread, df: runs - 1.0 })
    }

    /// Reads a profile written by [`NoiseProfile::save`].
    pub fn load(path: &Path) -> io::Result<Self> {
        serde_json::from_slice(&std::fs::read(path)?).map_err(|error| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{}: {error}", path.display()))
        })
    }

    /// Writes the profile as JSON.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self).map_err(io::Error::other)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(entries: &[(&str, &[f64])]) -> Runs {
        entries
            .iter()
            .map(|(id, medians)| {
                let id_runs = medians.iter().map(|&m| vec![m * 0.99, m, m * 1.01]).collect();
                (id.to_string(), id_runs)
            })
            .collect()
    }

    #[test]
    fn a_noisy_id_gets_a_higher_threshold_and_a_quiet_one_the_floor() {
        let profile = NoiseProfile::from_runs(
            "test machine",
            "2026-11-28 05:00 UTC",
            true,
            &runs(&[
                ("quiet", &[100.0, 100.1, 99.9, 100.0, 100.2, 99.8]),
                ("noisy", &[100.0, 130.0, 95.0, 170.0, 110.0, 100.0]),
                ("too_few", &[100.0, 200.0]),
            ]),
        );
        assert_eq!(profile.threshold("quiet"), Some(FLOOR));
        let noisy = profile.threshold("noisy").unwrap();
        let logs: Vec<f64> = [100.0f64, 130.0, 95.0, 170.0, 110.0, 100.0].map(f64::ln).to_vec();
        let mean = logs.iter().sum::<f64>() / 6.0;
        let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
        assert!((noisy - 3.0 * sd).abs() < 1e-12, "{noisy}");
        assert!(noisy > 0.5, "{noisy}");
        assert_eq!(profile.threshold("too_few"), None);
        assert_eq!(profile.threshold("unknown"), None);
        assert_eq!(profile.runs["noisy"], 6);
    }

    #[test]
    fn a_profile_reads_back_as_written() {
        let path =
            std::env::temp_dir().join(format!("servebench-noise-{}.json", std::process::id()));
        let profile =
            NoiseProfile::from_runs("m", "t", false, &runs(&[("a", &[1.0, 2.0, 3.0, 4.0])]));
        profile.save(&path).unwrap();
        assert_eq!(NoiseProfile::load(&path).unwrap(), profile);
        std::fs::remove_file(&path).unwrap();
    }
}
