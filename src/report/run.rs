//! Where a run was made: the commit, machine, GPU and toolchain, recorded by each bench binary
//! as it starts (in `servebench-runs.json` beside Criterion's output), so a report rendered
//! later, elsewhere or on another checkout still names the run's, not its own.
//!
//! ```json
//! {"transport": {"commit": "5301e79a2b4c", "machine": "AMD EPYC 7B13, 2 cores, linux",
//!   "gpu": "none", "rustc": "rustc 1.95.0 (...)", "servebench": "0.1.0",
//!   "libtorch": "PyTorch 2.11.0+cu130, CUDA 13.0", "started": "2026-11-25 16:46 UTC"}}
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::attribution;
use crate::link::{Link, LinkCheck};

/// The file's name, at the top of Criterion's output folder.
pub const FILE_NAME: &str = "servebench-runs.json";

/// Where and on what one bench binary ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// `git describe`-like commit of the checkout, with `-dirty` when it has changes.
    pub commit: String,
    /// CPU model, core count and OS.
    pub machine: String,
    /// The cores the process may use (0 in records made before it was kept: see
    /// [`RunInfo::cores`]).
    #[serde(default)]
    pub cores: usize,
    /// The CUDA devices libtorch sees, by name where `nvidia-smi` tells it, or `none`.
    pub gpu: String,
    /// The compiler the binary was built with.
    pub rustc: String,
    /// servebench's version.
    pub servebench: String,
    /// The libtorch servebench links, its version read at build time (`none` without the
    /// `torch` feature).
    pub libtorch: String,
    /// When it started (UTC, to the minute).
    pub started: String,
}

impl RunInfo {
    /// This process's: the checkout it runs in (the current directory, as `cargo bench` sets
    /// it, else the one it was built from), this machine, now.
    pub fn here() -> Self {
        let commit = [Path::new("."), Path::new(env!("CARGO_MANIFEST_DIR"))]
            .iter()
            .find_map(|dir| output(dir, "git", &["describe", "--always", "--dirty", "--abbrev=12"]))
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
            cores,
            gpu: gpu(),
            rustc: env!("SERVEBENCH_RUSTC_VERSION").to_owned(),
            servebench: env!("CARGO_PKG_VERSION").to_owned(),
            libtorch: option_env!("SERVEBENCH_LIBTORCH_VERSION")
                .unwrap_or("none (built without the torch feature)")
                .to_owned(),
            started: super::utc_minute(SystemTime::now()),
        }
    }
}

impl RunInfo {
    /// The cores the run had: its record's, or, in a record made before they were kept, the
    /// count its machine names (`..., 2 cores, linux`); 0 where neither says.
    pub fn cores(&self) -> usize {
        if self.cores > 0 {
            return self.cores;
        }
        self.machine
            .split(", ")
            .find_map(|part| part.strip_suffix(" cores")?.parse().ok())
            .unwrap_or_default()
    }
}

/// Records [`RunInfo::here`] for `bench` in `criterion_home`'s [`FILE_NAME`], keeping the other
/// benches' entries.
pub fn record(criterion_home: &Path, bench: &str) -> io::Result<()> {
    attribution::merge(
        &criterion_home.join(FILE_NAME),
        [(bench.to_owned(), RunInfo::here())].into(),
    )
}

/// The file, beside Criterion's output, naming what each bench left out of its last measuring
/// run and why: `{"transport": {"transport/rest_h2": "http://127.0.0.1:8000 did not answer: ..."}}`.
pub const SKIPPED_FILE: &str = "servebench-skipped.json";

/// What each bench left out, by what it left out, and why.
pub type Skipped = BTreeMap<String, BTreeMap<String, String>>;

/// Records what `bench` left out of this run (nothing, when `skipped` is empty), replacing
/// what it left out before and keeping the other benches' records.
pub fn record_skipped(
    criterion_home: &Path,
    bench: &str,
    skipped: BTreeMap<String, String>,
) -> io::Result<()> {
    attribution::merge(&criterion_home.join(SKIPPED_FILE), [(bench.to_owned(), skipped)].into())
}

/// What the benches left out, as recorded; empty where nothing was.
pub fn skipped(criterion_home: &Path) -> io::Result<Skipped> {
    attribution::read(&criterion_home.join(SKIPPED_FILE))
}

/// The file, beside Criterion's output, keeping what each bench's link checks measured in its
/// last measuring run: `{"transport": {"100mbit": {"rate_mbit": 95.6, ...}}}`.
pub const LINKS_FILE: &str = "servebench-links.json";

/// Each bench's link checks, by link.
pub type LinkChecks = BTreeMap<String, BTreeMap<Link, LinkCheck>>;

/// Records `bench`'s link checks of this run, replacing its earlier checks of the same links
/// and keeping the rest (a run over `100mbit` leaves an earlier run's `1gbit` in place, as
/// Criterion leaves its results).
pub fn record_links(
    criterion_home: &Path,
    bench: &str,
    checks: BTreeMap<Link, LinkCheck>,
) -> io::Result<()> {
    let mut kept = link_checks(criterion_home)?.remove(bench).unwrap_or_default();
    kept.extend(checks);
    attribution::merge(&criterion_home.join(LINKS_FILE), [(bench.to_owned(), kept)].into())
}

/// The link checks the benches recorded; empty where none were.
pub fn link_checks(criterion_home: &Path) -> io::Result<LinkChecks> {
    attribution::read(&criterion_home.join(LINKS_FILE))
}

/// Every bench's recorded run in `criterion_home`, by bench name; none when no bench recorded.
pub fn recorded(criterion_home: &Path) -> io::Result<BTreeMap<String, RunInfo>> {
    attribution::read(&criterion_home.join(FILE_NAME))
}

/// One [`RunInfo`] for a report over `runs`: each field's value, or, where benches disagree
/// (a suite run in parts, on two machines), each value with the benches it holds for; the start
/// times as the span from the first to the last.
pub fn summarize(runs: &BTreeMap<String, RunInfo>) -> Option<RunInfo> {
    let field = |get: fn(&RunInfo) -> &String| {
        let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (bench, run) in runs {
            values.entry(get(run).as_str()).or_default().push(bench.as_str());
        }
        match values.len() {
            1 => values.into_keys().next().unwrap_or_default().to_owned(),
            _ => values
                .iter()
                .map(|(value, benches)| format!("{value} ({})", benches.join(", ")))
                .collect::<Vec<_>>()
                .join("; "),
        }
    };
    (!runs.is_empty()).then(|| RunInfo {
        commit: field(|run| &run.commit),
        machine: field(|run| &run.machine),
        cores: {
            let mut cores = runs.values().map(|run| run.cores);
            let first = cores.next().unwrap_or_default();
            if cores.all(|other| other == first) { first } else { 0 }
        },
        gpu: field(|run| &run.gpu),
        rustc: field(|run| &run.rustc),
        servebench: field(|run| &run.servebench),
        libtorch: field(|run| &run.libtorch),
        started: {
            let first = runs.values().map(|run| &run.started).min();
            let last = runs.values().map(|run| &run.started).max();
            match (first, last) {
                (Some(first), Some(last)) if first != last => format!("{first} to {last}"),
                _ => first.cloned().unwrap_or_default(),
            }
        },
    })
}

/// A command's trimmed standard output, when it runs and succeeds.
fn output(dir: &Path, program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(feature = "torch")]
fn gpu() -> String {
    let count = tch::Cuda::device_count();
    if count == 0 {
        return "none".to_owned();
    }
    output(Path::new("."), "nvidia-smi", &["--query-gpu=name", "--format=csv,noheader"])
        .filter(|names| !names.is_empty())
        .map(|names| names.lines().map(str::trim).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| format!("{count} CUDA device(s)"))
}

#[cfg(not(feature = "torch"))]
fn gpu() -> String {
    "not looked for (built without the torch feature)".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(commit: &str, machine: &str) -> RunInfo {
        RunInfo { commit: commit.into(), machine: machine.into(), ..RunInfo::here() }
    }

    #[test]
    fn an_old_record_s_cores_are_read_from_its_machine() {
        let old = RunInfo { cores: 0, ..run("abc", "Intel(R) Xeon(R) Processor, 2 cores, linux") };
        assert_eq!(old.cores(), 2);
        assert_eq!(RunInfo { cores: 16, ..old.clone() }.cores(), 16);
        assert_eq!(RunInfo { cores: 0, ..run("abc", "laptop") }.cores(), 0);
    }

    #[test]
    fn a_summary_names_benches_only_where_they_disagree() {
        assert_eq!(summarize(&BTreeMap::new()), None);
        let runs: BTreeMap<String, RunInfo> = [
            ("inference".to_owned(), run("abc", "gpu box")),
            ("transport".to_owned(), run("abc", "laptop")),
            ("vision".to_owned(), run("abc", "laptop")),
        ]
        .into();
        let summary = summarize(&runs).unwrap();
        assert_eq!(summary.commit, "abc");
        assert_eq!(summary.machine, "gpu box (inference); laptop (transport, vision)");
        let at = |started: &str| RunInfo { started: started.into(), ..run("abc", "laptop") };
        let runs: BTreeMap<String, RunInfo> = [
            ("b".to_owned(), at("2026-11-25 18:31 UTC")),
            ("a".to_owned(), at("2026-11-25 18:19 UTC")),
        ]
        .into();
        assert_eq!(
            summarize(&runs).unwrap().started,
            "2026-11-25 18:19 UTC to 2026-11-25 18:31 UTC"
        );
    }

    #[test]
    fn recording_keeps_other_benches_and_reads_back() {
        let home = std::env::temp_dir().join(format!("servebench-runs-{}", std::process::id()));
        record(&home, "vision").unwrap();
        record(&home, "transport").unwrap();
        let runs = recorded(&home).unwrap();
        assert_eq!(runs.keys().collect::<Vec<_>>(), ["transport", "vision"]);
        assert_eq!(runs["vision"].servebench, env!("CARGO_PKG_VERSION"));
        assert!(recorded(&home.join("nothing here")).unwrap().is_empty());
        std::fs::remove_dir_all(home).unwrap();
    }
}
