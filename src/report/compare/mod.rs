//! `servebench compare`: base against head, judged id by id. Each side is a git ref built in its
//! own worktree ([`worktree`]), or the working tree itself (`.`); their bench binaries
//! ([`mod@bench`]) run in alternating rounds ([`schedule`]) so the machine's drift hits both, every
//! run into its own Criterion folder; then every id's samples, pooled per side, are
//! [judged](judge) and the [`outcome`] rendered. Two saved Criterion baselines can be compared
//! the same way without building anything.
//!
//! Ids are compared as Criterion recorded them, not parsed: either side may be another
//! version of servebench, whose ids this one does not know.

pub mod bench;
pub mod judge;
pub mod outcome;
pub mod schedule;
pub mod worktree;

use std::io;
use std::path::{Path, PathBuf};

pub use outcome::{Outcome, Row, Runs};
pub use worktree::WORKING_TREE;

use self::bench::RunOptions;
use self::judge::Judgement;
use self::schedule::Which;
use super::criterion::{self, LATEST};

/// One side of a comparison.
#[derive(Clone, Debug)]
pub struct Side {
    /// A git ref, or [`WORKING_TREE`].
    pub git_ref: String,
    /// Environment variables for its bench runs (`SERVEBENCH_TORCH_THREADS=1`, say).
    pub env: Vec<(String, String)>,
}

/// What to compare and how.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// The reference side.
    pub base: Side,
    /// The side under test.
    pub head: Side,
    /// Bench targets to run (`serialization`, `transport`, ...); empty: all of them.
    pub benches: Vec<String>,
    /// Criterion's filter, a regular expression over ids.
    pub filter: Option<String>,
    /// Runs per side.
    pub rounds: usize,
    /// Criterion's quick mode (`SERVEBENCH_QUICK=1`): minutes, not an hour.
    pub quick: bool,
    /// The statistical judgement.
    pub judgement: Judgement,
    /// Where worktrees, binaries, runs and the results go.
    pub work_dir: PathBuf,
}

impl CompareConfig {
    fn side(&self, which: Which) -> &Side {
        match which {
            Which::Base => &self.base,
            Which::Head => &self.head,
        }
    }
}

/// Builds both sides, runs them alternately and judges every id.
pub fn compare(config: &CompareConfig) -> io::Result<Outcome> {
    let root = worktree::repository_root()?;
    std::fs::create_dir_all(&config.work_dir)?;
    // Every tree builds into the checkout's target folder: dependencies build once.
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let mut binaries = Vec::new();
    for which in [Which::Base, Which::Head] {
        let side = config.side(which);
        let tree = worktree::checkout(&root, &side.git_ref, &config.work_dir)?;
        progress(&format!(
            "{}: building the benches of {} in {}",
            which.name(),
            side.git_ref,
            tree.display()
        ));
        let into = config.work_dir.join("bin").join(which.name());
        binaries.push(bench::build(&tree, &target, &config.benches, &into)?);
    }
    let runs = config.work_dir.join("runs");
    if runs.exists() {
        std::fs::remove_dir_all(&runs)?;
    }
    let mut samples: [Runs; 2] = Default::default();
    let options = [Which::Base, Which::Head].map(|which| RunOptions {
        filter: config.filter.clone(),
        quick: config.quick,
        env: config.side(which).env.clone(),
    });
    let steps = schedule::schedule(config.rounds);
    for (index, step) in steps.iter().enumerate() {
        let side = step.side as usize;
        let home = runs.join(format!("{}-{}", step.side.name(), step.round));
        for binary in &binaries[side] {
            progress(&format!(
                "[{}/{}] {} run {}: {}",
                index + 1,
                steps.len(),
                step.side.name(),
                step.round + 1,
                binary.name()
            ));
            bench::run(binary, &home, &options[side])?;
        }
        add_run(&mut samples[side], &home)?;
    }
    Ok(outcome::outcome(
        (&config.base.git_ref, &samples[0]),
        (&config.head.git_ref, &samples[1]),
        &config.judgement,
        config.rounds,
    ))
}

/// Adds the run whose Criterion output is in `home` to `runs`.
fn add_run(runs: &mut Runs, home: &Path) -> io::Result<()> {
    for (id, measurement) in criterion::load(home, LATEST)? {
        runs.entry(id).or_default().push(measurement.samples);
    }
    Ok(())
}

/// Judges again the runs an earlier [`compare`] kept in `work_dir` (its `runs/` and the names in
/// its `compare.json`), without building or running anything: another threshold or confidence
/// on the same measurements.
pub fn rejudge(work_dir: &Path, judgement: &Judgement) -> io::Result<Outcome> {
    let earlier: Outcome = serde_json::from_slice(&std::fs::read(work_dir.join("compare.json"))?)
        .map_err(|error| {
        io::Error::other(format!("{}/compare.json: {error}", work_dir.display()))
    })?;
    let mut samples: [Runs; 2] = Default::default();
    for step in schedule::schedule(earlier.rounds) {
        let home = work_dir.join("runs").join(format!("{}-{}", step.side.name(), step.round));
        add_run(&mut samples[step.side as usize], &home)?;
    }
    Ok(outcome::outcome(
        (&earlier.base, &samples[0]),
        (&earlier.head, &samples[1]),
        judgement,
        earlier.rounds,
    ))
}

/// Compares two saved Criterion baselines (`--save-baseline NAME`) under `criterion_home`: one
/// run each, so the verdict is on those two runs, not on the code (see [`judge`]).
pub fn compare_baselines(
    criterion_home: &Path,
    base: &str,
    head: &str,
    judgement: &Judgement,
) -> io::Result<Outcome> {
    let load = |name: &str| -> io::Result<Runs> {
        let found = criterion::load(criterion_home, name)?;
        if found.is_empty() {
            return Err(io::Error::other(format!(
                "no baseline {name:?} under {}",
                criterion_home.display()
            )));
        }
        Ok(found.into_iter().map(|(id, m)| (id, vec![m.samples])).collect())
    };
    Ok(outcome::outcome((base, &load(base)?), (head, &load(head)?), judgement, 1))
}

fn progress(message: &str) {
    eprintln!("compare: {message}");
}
