//! `servebench compare`: base against head, judged id by id. Each side is a git ref built in its
//! own worktree (or the working tree itself, `.`); their bench binaries run in alternating
//! rounds (base, head, head, base, ...) so the machine's drift hits both, every run into its
//! own Criterion folder; then every id's samples, pooled per side, are [`judged`](super::judge).
//! Two saved Criterion baselines can be compared the same way without building anything.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::criterion::{self, LATEST};
use super::judge::{Change, Judgement, Verdict};
use super::render::duration;
use super::templates;

/// The ref that means the working tree, uncommitted changes included.
pub const WORKING_TREE: &str = ".";

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

/// One id's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The bench id.
    pub id: String,
    /// Base's median, formatted.
    pub base: String,
    /// Head's median, formatted.
    pub head: String,
    /// The change, `+12.3%`.
    pub change: String,
    /// Its bounds at the confidence, `+10.1% .. +14.0%`.
    pub interval: String,
    /// The verdict (`regressed`, `improved`, `unchanged`, or `only in base` / `only in head`).
    pub verdict: String,
    /// The numbers behind it, when both sides have the id.
    #[serde(skip)]
    pub judged: Option<Change>,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// What base was.
    pub base: String,
    /// What head was.
    pub head: String,
    /// The judgement's threshold and confidence, in words.
    pub rule: String,
    /// Runs per side.
    pub rounds: usize,
    /// Every id.
    pub rows: Vec<Row>,
    /// The ids that regressed.
    pub regressed: Vec<String>,
}

/// Builds both sides, runs them alternately and judges every id.
pub fn compare(config: &CompareConfig) -> io::Result<Outcome> {
    let root = repository_root()?;
    std::fs::create_dir_all(&config.work_dir)?;
    // Every tree builds into the checkout's target folder: dependencies build once.
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let mut binaries = Vec::new();
    for (label, side) in [("base", &config.base), ("head", &config.head)] {
        let tree = checkout(&root, &side.git_ref, &config.work_dir)?;
        progress(&format!(
            "{label}: building the benches of {} in {}",
            side.git_ref,
            tree.display()
        ));
        let into = config.work_dir.join("bin").join(label);
        binaries.push(build(&tree, &target, &config.benches, &into)?);
    }
    let runs = config.work_dir.join("runs");
    if runs.exists() {
        std::fs::remove_dir_all(&runs)?;
    }
    let mut samples: [BTreeMap<String, Vec<f64>>; 2] = Default::default();
    let total = config.rounds * 2;
    for round in 0..config.rounds {
        // base, head, then head, base: a steady drift lands on both sides alike.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for (step, index) in order.into_iter().enumerate() {
            let (label, side) =
                if index == 0 { ("base", &config.base) } else { ("head", &config.head) };
            let home = runs.join(format!("{label}-{round}"));
            let step = round * 2 + step + 1;
            for (tree, binary) in &binaries[index] {
                let bench = binary.file_name().unwrap_or_default().to_string_lossy();
                progress(&format!("[{step}/{total}] {label} run {}: {bench}", round + 1));
                run(tree, binary, &home, config, &side.env)?;
            }
            for (id, measurement) in criterion::load(&home, LATEST)? {
                samples[index].entry(id).or_default().extend(measurement.samples);
            }
        }
    }
    Ok(outcome(
        &config.base.git_ref,
        &config.head.git_ref,
        &samples[0],
        &samples[1],
        &config.judgement,
        config.rounds,
    ))
}

/// Compares two saved Criterion baselines (`--save-baseline NAME`) under `criterion_home`.
pub fn compare_baselines(
    criterion_home: &Path,
    base: &str,
    head: &str,
    judgement: &Judgement,
) -> io::Result<Outcome> {
    let load = |name: &str| -> io::Result<BTreeMap<String, Vec<f64>>> {
        let found = criterion::load(criterion_home, name)?;
        if found.is_empty() {
            return Err(io::Error::other(format!(
                "no baseline {name:?} under {}",
                criterion_home.display()
            )));
        }
        Ok(found.into_iter().map(|(id, m)| (id, m.samples)).collect())
    };
    Ok(outcome(base, head, &load(base)?, &load(head)?, judgement, 1))
}

/// Judges every id of either side.
pub fn outcome(
    base_name: &str,
    head_name: &str,
    base: &BTreeMap<String, Vec<f64>>,
    head: &BTreeMap<String, Vec<f64>>,
    judgement: &Judgement,
    rounds: usize,
) -> Outcome {
    let percent = |value: f64| format!("{:+.1}%", value * 100.0);
    let mut ids: Vec<&String> = base.keys().chain(head.keys()).collect();
    ids.sort();
    ids.dedup();
    let rows: Vec<Row> = ids
        .into_iter()
        .map(|id| {
            let judged = base.get(id).zip(head.get(id)).and_then(|(b, h)| judgement.judge(b, h));
            match &judged {
                Some(change) => Row {
                    id: id.clone(),
                    base: duration(change.base),
                    head: duration(change.head),
                    change: percent(change.change),
                    interval: format!("{} .. {}", percent(change.lower), percent(change.upper)),
                    verdict: match change.verdict {
                        Verdict::Regressed => "regressed",
                        Verdict::Improved => "improved",
                        Verdict::Unchanged => "unchanged",
                    }
                    .to_owned(),
                    judged,
                },
                None => Row {
                    id: id.clone(),
                    base: String::new(),
                    head: String::new(),
                    change: String::new(),
                    interval: String::new(),
                    verdict: if base.contains_key(id) { "only in base" } else { "only in head" }
                        .to_owned(),
                    judged,
                },
            }
        })
        .collect();
    let regressed = rows
        .iter()
        .filter(|row| row.judged.as_ref().is_some_and(|c| c.verdict == Verdict::Regressed))
        .map(|row| row.id.clone())
        .collect();
    Outcome {
        base: base_name.to_owned(),
        head: head_name.to_owned(),
        rule: format!(
            "regressed: slower by more than {:.0}% with {:.0}% confidence",
            judgement.threshold * 100.0,
            judgement.confidence * 100.0
        ),
        rounds,
        rows,
        regressed,
    }
}

impl Outcome {
    /// The outcome as a plain-text table, for the terminal.
    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|row| row.id.len()).max().unwrap_or(2).max(2);
        let mut table = format!(
            "{:width$}  {:>10}  {:>10}  {:>8}  {:>18}  verdict\n",
            "id", "base", "head", "change", "interval"
        );
        for row in &self.rows {
            table.push_str(&format!(
                "{:width$}  {:>10}  {:>10}  {:>8}  {:>18}  {}\n",
                row.id, row.base, row.head, row.change, row.interval, row.verdict
            ));
        }
        table
    }

    /// The outcome as Markdown for a pull-request comment, through `compare.md.j2`.
    pub fn markdown(&self, templates_folder: Option<&Path>) -> io::Result<String> {
        templates::environment(templates_folder)?
            .get_template("compare.md.j2")
            .and_then(|template| template.render(minijinja::value::Serde(self)))
            .map_err(|error| io::Error::other(format!("compare.md.j2: {error:#}")))
    }
}

fn progress(message: &str) {
    eprintln!("compare: {message}");
}

fn git(root: &Path, args: &[&str]) -> io::Result<String> {
    let output = Command::new("git").args(args).current_dir(root).output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn repository_root() -> io::Result<PathBuf> {
    git(Path::new(env!("CARGO_MANIFEST_DIR")), &["rev-parse", "--show-toplevel"]).map(PathBuf::from)
}

/// The source tree for `git_ref`: the working tree for [`WORKING_TREE`], or for a ref naming
/// the checked-out commit when nothing is changed; otherwise a worktree of that commit (made
/// once, reused), sharing the checkout's generated fixtures and models.
fn checkout(root: &Path, git_ref: &str, work_dir: &Path) -> io::Result<PathBuf> {
    if git_ref == WORKING_TREE {
        return Ok(root.to_owned());
    }
    let commit = git(root, &["rev-parse", "--verify", &format!("{git_ref}^{{commit}}")])?;
    let clean = git(root, &["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    if clean && commit == git(root, &["rev-parse", "HEAD"])? {
        return Ok(root.to_owned());
    }
    let tree = std::path::absolute(work_dir.join("trees").join(&commit))?;
    if !tree.join("Cargo.toml").is_file() {
        progress(&format!("making a worktree of {git_ref} ({commit}) at {}", tree.display()));
        git(root, &["worktree", "add", "--detach", "--force", &tree.to_string_lossy(), &commit])?;
    }
    for shared in ["fixtures/generated", "fixtures/models"] {
        let (from, to) = (root.join(shared), tree.join(shared));
        if from.exists() && !to.exists() {
            std::os::unix::fs::symlink(&from, &to)?;
        }
    }
    Ok(tree)
}

/// Builds the bench binaries of `tree` and copies them into `into`, so the other side's build
/// cannot overwrite them. Returns (tree, binary) per bench.
fn build(
    tree: &Path,
    target: &Path,
    benches: &[String],
    into: &Path,
) -> io::Result<Vec<(PathBuf, PathBuf)>> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(tree).env("CARGO_TARGET_DIR", target).args([
        "bench",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    if benches.is_empty() {
        command.arg("--benches");
    }
    for bench in benches {
        command.args(["--bench", bench]);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
    let mut built = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let message: serde_json::Value = serde_json::from_str(&line?).unwrap_or_default();
        let is_bench = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bench"));
        if let (true, Some(executable), Some(name)) =
            (is_bench, message["executable"].as_str(), message["target"]["name"].as_str())
        {
            built.push((name.to_owned(), PathBuf::from(executable)));
        }
    }
    if !child.wait()?.success() {
        return Err(io::Error::other(format!("cargo bench --no-run failed in {}", tree.display())));
    }
    std::fs::create_dir_all(into)?;
    built
        .into_iter()
        .map(|(name, executable)| {
            let copy = into.join(name);
            std::fs::copy(&executable, &copy)?;
            Ok((tree.to_owned(), copy))
        })
        .collect()
}

/// One run of one bench binary, its results into `home`.
fn run(
    tree: &Path,
    binary: &Path,
    home: &Path,
    config: &CompareConfig,
    env: &[(String, String)],
) -> io::Result<()> {
    let mut command = Command::new(binary);
    command.current_dir(tree).arg("--bench").arg("--noplot").env("CRITERION_HOME", home);
    if let Some(filter) = &config.filter {
        command.arg(filter);
    }
    if config.quick {
        command.env("SERVEBENCH_QUICK", "1");
    }
    command.envs(env.iter().map(|(key, value)| (key, value)));
    let output = command.stdin(Stdio::null()).output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}
