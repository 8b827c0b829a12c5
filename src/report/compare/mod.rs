//! `servebench compare`: base against head, judged id by id. Each side is a git ref built in its
//! own worktree ([`worktree`]), or the working tree itself (`.`); their bench binaries
//! ([`mod@bench`]) run in alternating rounds ([`schedule`]) so the machine's drift hits both, every
//! run into its own Criterion folder; then every id's runs are [judged](judge), the ids called
//! changed by time run again in confirmation rounds of their own and are judged on those, and
//! the [`outcome`] is rendered. Where the benches of the codec, vision or postprocess stages run, their
//! ids are also counted in instructions, once a side (`benches/instructions.rs`: a count does
//! not drift), and judged by the count's change. Two saved Criterion baselines can be compared
//! the same way without building anything.
//!
//! Ids are compared as Criterion recorded them, not parsed: either side may be another
//! version of servebench, whose ids this one does not know.

pub mod bench;
pub mod judge;
pub mod noise;
pub mod outcome;
pub mod schedule;
pub mod student_t;
pub mod worktree;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

pub use outcome::{Counts, Measure, Measured, Outcome, Row, Runs};
pub use worktree::WORKING_TREE;

use self::bench::{BenchBinary, RunOptions};
use self::judge::Judgement;
use self::noise::NoiseProfile;
use self::schedule::Which;
use super::criterion::{self, LATEST};
use super::instructions;
use crate::ids::Group;

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
    /// Runs per side again, afterwards, for each id the rounds called changed by time, judged
    /// on their own (0: none; see [`judge`]).
    pub confirm_rounds: usize,
    /// Criterion's quick mode (`SERVEBENCH_QUICK=1`): minutes, not an hour.
    pub quick: bool,
    /// The statistical judgement.
    pub judgement: Judgement,
    /// Each timed id's threshold from this machine's noise (`--calibrate`); `None`: the
    /// judgement's one threshold for all.
    pub noise: Option<NoiseProfile>,
    /// Whether the ids of the codec, vision and postprocess stages run are also counted in
    /// instructions (where Valgrind and gungraun's runner are on the `PATH`).
    pub instructions: bool,
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

    /// The stages whose ids are counted in instructions: those of the benches run.
    fn counted_stages(&self) -> Vec<Group> {
        if !self.instructions {
            return Vec::new();
        }
        let chosen = |group: Group| {
            self.benches.is_empty()
                || self.benches.iter().any(|b| b == group.bench() || b == instructions::BENCH)
        };
        instructions::GROUPS.into_iter().filter(|&group| chosen(group)).collect()
    }

    /// The instruction bench's filter: the user's, or the counted stages.
    fn instruction_filter(&self, stages: &[Group]) -> String {
        self.filter.clone().unwrap_or_else(|| {
            let names: Vec<&str> = stages.iter().map(|group| group.name()).collect();
            format!("^(?:{})/", names.join("|"))
        })
    }
}

/// Builds both sides, runs them alternately and judges every id.
pub fn compare(config: &CompareConfig) -> io::Result<Outcome> {
    // Each side builds and runs in its own tree: every path it is given must be absolute.
    let config =
        &CompareConfig { work_dir: std::path::absolute(&config.work_dir)?, ..config.clone() };
    let root = worktree::repository_root()?;
    std::fs::create_dir_all(&config.work_dir)?;
    // Every tree builds into the checkout's target folder: dependencies build once.
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::absolute(dir)?,
        None => root.join("target"),
    };
    let stages = config.counted_stages();
    let mut count = !stages.is_empty();
    if let Some(reason) = count.then(bench::instructions_unavailable).flatten() {
        progress(&format!("instructions are not counted: {reason}"));
        count = false;
    }
    let timed: Vec<String> =
        config.benches.iter().filter(|b| *b != instructions::BENCH).cloned().collect();
    let mut binaries: Vec<Vec<BenchBinary>> = Vec::new();
    let mut counters = Vec::new();
    // Whose build of the package `target` holds: the checkout's, unless an earlier comparison
    // was interrupted with another tree's there (see `bench::forget_package_builds`).
    let mut holds = (!bench::holds_another_build(&target)).then(|| root.clone());
    for which in [Which::Base, Which::Head] {
        let side = config.side(which);
        let tree = worktree::checkout(&root, &side.git_ref, &config.work_dir)?;
        if !binaries.is_empty() && holds.as_ref() == Some(&tree) {
            // One tree on both sides (an A/A): its binaries serve both.
            progress(&format!(
                "{}: {} is base's tree, its benches serve both",
                which.name(),
                side.git_ref
            ));
            binaries.push(binaries[0].clone());
            counters.extend(counters.first().cloned());
            continue;
        }
        if holds.as_ref() != Some(&tree) {
            bench::forget_package_builds(&tree, &target, tree != root)?;
        }
        holds = Some(tree.clone());
        progress(&format!(
            "{}: building the benches of {} in {}",
            which.name(),
            side.git_ref,
            tree.display()
        ));
        let into = config.work_dir.join("bin").join(which.name());
        let counted_only = !config.benches.is_empty() && timed.is_empty();
        binaries.push(if counted_only {
            Vec::new()
        } else {
            bench::build(&tree, &target, &timed, &into)?
        });
        if count {
            counters.push(bench::build_instructions(&tree, &target, &into)?);
        }
    }
    if holds.is_some_and(|tree| tree != root) {
        // Leave no other tree's build for the checkout's next `cargo build` to take as its own.
        bench::forget_package_builds(&root, &target, false)?;
    }
    let counters: Option<Vec<BenchBinary>> = counters.into_iter().collect();
    if count && counters.is_none() {
        progress("instructions are not counted: a side has no instruction bench");
    }
    let runs = config.work_dir.join("runs");
    if runs.exists() {
        std::fs::remove_dir_all(&runs)?;
    }
    let options = [Which::Base, Which::Head].map(|which| RunOptions {
        filter: config.filter.clone(),
        quick: config.quick,
        env: config.side(which).env.clone(),
    });
    // Only the instruction bench asked for: no timed rounds.
    let timed_rounds = if binaries.iter().all(Vec::is_empty) { 0 } else { config.rounds };
    let main = run_rounds(&runs, Rounds::Main, timed_rounds, &binaries, &options)?;
    let mut measured = main.runs.map(|times| Measured { times, ..Measured::default() });
    let suspects = if config.confirm_rounds > 0 {
        outcome::outcome(
            (&config.base.git_ref, &measured[0]),
            (&config.head.git_ref, &measured[1]),
            &config.judgement,
            config.noise.as_ref(),
            config.rounds,
            0,
        )
        .changed_times()
    } else {
        Vec::new()
    };
    if !suspects.is_empty() {
        progress(&format!(
            "{} called changed by time, each confirmed in {} rounds of its own: {}",
            suspects.len(),
            config.confirm_rounds,
            suspects.join(", ")
        ));
        let filter = exact(&suspects);
        let options =
            options.clone().map(|options| RunOptions { filter: Some(filter.clone()), ..options });
        // Only the benches that made a suspect run again.
        let binaries: Vec<Vec<BenchBinary>> = binaries
            .iter()
            .zip(&main.made_by)
            .map(|(binaries, made_by)| {
                let makers: Vec<usize> =
                    suspects.iter().filter_map(|id| made_by.get(id).copied()).collect();
                let chosen =
                    binaries.iter().enumerate().filter(|(index, _)| makers.contains(index));
                chosen.map(|(_, binary)| binary.clone()).collect()
            })
            .collect();
        let confirmation =
            run_rounds(&runs, Rounds::Confirmation, config.confirm_rounds, &binaries, &options)?;
        for (side, runs) in measured.iter_mut().zip(confirmation.runs) {
            side.confirmation = runs;
        }
    }
    if let Some(counters) = counters.filter(|_| count) {
        let filter = config.instruction_filter(&stages);
        for (which, counter) in [Which::Base, Which::Head].into_iter().zip(&counters) {
            progress(&format!("{}: counting instructions under Valgrind", which.name()));
            let home = runs.join(instructions_home(which));
            let counts =
                bench::run_instructions(counter, &home, &filter, &options[which as usize].env)?;
            measured[which as usize].instructions = of_stages(counts, &stages);
        }
    }
    Ok(outcome::outcome(
        (&config.base.git_ref, &measured[0]),
        (&config.head.git_ref, &measured[1]),
        &config.judgement,
        config.noise.as_ref(),
        config.rounds,
        config.confirm_rounds,
    ))
}

/// Which of a comparison's rounds: the comparison's own, or the confirmation rounds its
/// suspects get after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rounds {
    Main,
    Confirmation,
}

impl Rounds {
    /// The folder of a run of these rounds under `runs/`: `base-0`, `confirm-head-2`.
    fn home(self, runs: &Path, step: &schedule::Step) -> PathBuf {
        let prefix = match self {
            Self::Main => "",
            Self::Confirmation => "confirm-",
        };
        runs.join(format!("{prefix}{}-{}", step.side.name(), step.round))
    }
}

/// What alternating rounds measured: each side's runs, and which of its benches made each id.
struct Ran {
    runs: [Runs; 2],
    made_by: [BTreeMap<String, usize>; 2],
}

/// Runs `rounds` alternating rounds of each side's `binaries`, every bench of a run into its
/// own Criterion folder (`runs/base-0/serialization`).
fn run_rounds(
    runs: &Path,
    which_rounds: Rounds,
    rounds: usize,
    binaries: &[Vec<BenchBinary>],
    options: &[RunOptions; 2],
) -> io::Result<Ran> {
    let mut ran = Ran { runs: Default::default(), made_by: Default::default() };
    let steps = schedule::schedule(rounds);
    let confirming = if which_rounds == Rounds::Confirmation { "confirming, " } else { "" };
    for (index, step) in steps.iter().enumerate() {
        let side = step.side as usize;
        let home = which_rounds.home(runs, step);
        for (number, binary) in binaries[side].iter().enumerate() {
            progress(&format!(
                "[{}/{}] {confirming}{} run {}: {}",
                index + 1,
                steps.len(),
                step.side.name(),
                step.round + 1,
                binary.name()
            ));
            let home = home.join(binary.name());
            bench::run(binary, &home, &options[side])?;
            for id in add_run(&mut ran.runs[side], &home)? {
                ran.made_by[side].entry(id).or_insert(number);
            }
        }
    }
    Ok(ran)
}

/// Criterion's filter for exactly `ids`.
fn exact(ids: &[String]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| regex::escape(id)).collect();
    format!("^(?:{})$", ids.join("|"))
}

/// Calibrates this machine's noise: `config`'s base against itself (head is ignored), then
/// every run of both sides, one build, makes the profile. The A/A outcome comes with it.
/// Instructions are not counted: a count has no noise to calibrate.
pub fn calibrate(config: &CompareConfig) -> io::Result<(Outcome, NoiseProfile)> {
    let config = CompareConfig {
        head: config.base.clone(),
        noise: None,
        instructions: false,
        ..config.clone()
    };
    let outcome = compare(&config)?;
    let [base, head] = kept(&config.work_dir, config.rounds, 0, false)?;
    let mut times = base.times;
    for (id, runs) in head.times {
        times.entry(id).or_default().extend(runs);
    }
    let here = super::run::RunInfo::here();
    let profile = NoiseProfile::from_runs(&here.machine, &here.started, config.quick, &times);
    Ok((outcome, profile))
}

/// The folder of a side's instruction counts under `runs/`.
fn instructions_home(which: Which) -> String {
    format!("instructions-{}", which.name())
}

/// The counts of ids in `stages` (a user's filter may match ids of other stages).
fn of_stages(counts: Counts, stages: &[Group]) -> Counts {
    let in_stages = |id: &str| stages.iter().any(|group| id.starts_with(&format!("{group}/")));
    counts.into_iter().filter(|(id, _)| in_stages(id)).collect()
}

/// Adds the run whose Criterion output is in `home` to `runs`; the ids it had.
fn add_run(runs: &mut Runs, home: &Path) -> io::Result<Vec<String>> {
    let mut ids = Vec::new();
    for (id, measurement) in criterion::load(home, LATEST)? {
        runs.entry(id.clone()).or_default().push(measurement.samples);
        ids.push(id);
    }
    Ok(ids)
}

/// Judges again the runs an earlier [`compare`] kept in `work_dir` (its `runs/` and the names in
/// its `compare.json`), without building or running anything: another threshold or confidence
/// on the same measurements.
pub fn rejudge(
    work_dir: &Path,
    judgement: &Judgement,
    noise: Option<&NoiseProfile>,
) -> io::Result<Outcome> {
    let earlier: Outcome = serde_json::from_slice(&std::fs::read(work_dir.join("compare.json"))?)
        .map_err(|error| {
        io::Error::other(format!("{}/compare.json: {error}", work_dir.display()))
    })?;
    let counted = earlier.rows.iter().any(|row| row.measure == Measure::Instructions);
    let measured = kept(work_dir, earlier.rounds, earlier.confirm_rounds, counted)?;
    Ok(outcome::outcome(
        (&earlier.base, &measured[0]),
        (&earlier.head, &measured[1]),
        judgement,
        noise,
        earlier.rounds,
        earlier.confirm_rounds,
    ))
}

/// What a [`compare`] of `rounds` (and `confirm_rounds` for its suspects) kept in
/// `work_dir/runs`, the instruction counts too where `counted`.
fn kept(
    work_dir: &Path,
    rounds: usize,
    confirm_rounds: usize,
    counted: bool,
) -> io::Result<[Measured; 2]> {
    let mut measured: [Measured; 2] = Default::default();
    let runs = work_dir.join("runs");
    for step in schedule::schedule(rounds) {
        let home = Rounds::Main.home(&runs, &step);
        add_run(&mut measured[step.side as usize].times, &home)?;
    }
    for step in schedule::schedule(confirm_rounds) {
        let home = Rounds::Confirmation.home(&runs, &step);
        add_run(&mut measured[step.side as usize].confirmation, &home)?;
    }
    for which in [Which::Base, Which::Head].into_iter().filter(|_| counted) {
        let home = work_dir.join("runs").join(instructions_home(which));
        measured[which as usize].instructions = bench::load_instructions(&home)?;
    }
    Ok(measured)
}

/// Compares two saved Criterion baselines (`--save-baseline NAME`) under `criterion_home`: one
/// run each, so the verdict is on those two runs, not on the code (see [`judge`]).
pub fn compare_baselines(
    criterion_home: &Path,
    base: &str,
    head: &str,
    judgement: &Judgement,
    noise: Option<&NoiseProfile>,
) -> io::Result<Outcome> {
    let load = |name: &str| -> io::Result<Measured> {
        let found = criterion::load(criterion_home, name)?;
        if found.is_empty() {
            return Err(io::Error::other(format!(
                "no baseline {name:?} under {}",
                criterion_home.display()
            )));
        }
        let times = found.into_iter().map(|(id, m)| (id, vec![m.samples])).collect();
        Ok(Measured { times, ..Measured::default() })
    };
    Ok(outcome::outcome((base, &load(base)?), (head, &load(head)?), judgement, noise, 1, 0))
}

fn progress(message: &str) {
    eprintln!("compare: {message}");
}

#[cfg(test)]
mod tests {
    use super::exact;

    #[test]
    fn confirmation_runs_exactly_the_ids_called() {
        let ids = [
            "transport/grpc+window_16m/basic/c20".to_owned(),
            "codec/json_decode/basic".to_owned(),
        ];
        let filter = regex::Regex::new(&exact(&ids)).unwrap();
        for id in &ids {
            assert!(filter.is_match(id), "{id}");
        }
        for other in [
            "transport/grpc+window_16m/basic/c2",
            "transport/grpcxwindow_16m/basic/c20",
            "codec/json_decode/basic_720x1280",
            "x/codec/json_decode/basic",
        ] {
            assert!(!filter.is_match(other), "{other}");
        }
    }
}
