//! Building a tree's bench binaries and running one of them, for `servebench compare`.

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, TargetKind};

use super::outcome::Counts;
use crate::report::instructions;

/// One built bench binary and the tree it runs in (benches read the tree's fixtures).
#[derive(Clone, Debug)]
pub struct BenchBinary {
    /// The source tree.
    pub tree: PathBuf,
    /// A copy of the binary, safe from the other side's builds.
    pub binary: PathBuf,
}

impl BenchBinary {
    /// The bench's name (`serialization`, ...).
    pub fn name(&self) -> String {
        self.binary.file_name().unwrap_or_default().to_string_lossy().into_owned()
    }
}

/// Builds the bench binaries of `tree` (all of them, or `benches`) into the shared `target`
/// folder, then copies them into `into`, so the other side's build cannot overwrite them.
pub fn build(
    tree: &Path,
    target: &Path,
    benches: &[String],
    into: &Path,
) -> io::Result<Vec<BenchBinary>> {
    let mut args: Vec<&str> = if benches.is_empty() { vec!["--benches"] } else { Vec::new() };
    for bench in benches {
        args.extend(["--bench", bench]);
    }
    cargo_bench_no_run(tree, target, &args, into)
}

/// Builds `tree`'s instruction-count bench (without libtorch, see `benches/instructions.rs`)
/// and copies it into `into`; `None` when the tree has none (an older commit).
pub fn build_instructions(
    tree: &Path,
    target: &Path,
    into: &Path,
) -> io::Result<Option<BenchBinary>> {
    let has_bench = root_package(tree)?
        .targets
        .iter()
        .any(|target| target.is_bench() && target.name == instructions::BENCH);
    if !has_bench {
        return Ok(None);
    }
    let args = ["--no-default-features", "--features", "instructions", "--bench", "instructions"];
    Ok(cargo_bench_no_run(tree, target, &args, into)?.into_iter().next())
}

/// Makes the next build in `target` compile `tree`'s own package afresh, from `tree`, and notes
/// whether that build is of a tree other than the checkout (`another`), until forgotten again.
///
/// Every tree compare builds shares `target` (dependencies build once), and with them the
/// package's own compiled units: cargo names those the same from any folder and judges them
/// fresh when the source files it recorded are older than the build. So after base's worktree
/// was built, head's tree, edited before that, got base's binaries: a comparison of two
/// commits ran one of them twice and found no change. Removing the package's fingerprints
/// (`<target>/release/.fingerprint/<package>-<hash>`) rebuilds it, and only it. The note
/// ([`holds_another_build`]) is a file, so a comparison interrupted after building another
/// tree is noticed by the next one.
pub fn forget_package_builds(tree: &Path, target: &Path, another: bool) -> io::Result<()> {
    let package = root_package(tree)?.name.to_string();
    let release = target.join("release");
    if let Ok(entries) = std::fs::read_dir(release.join(".fingerprint")) {
        for entry in entries {
            let entry = entry?;
            if is_unit_of(&entry.file_name().to_string_lossy(), &package) {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
    }
    let note = release.join(ANOTHER_BUILD);
    if another {
        std::fs::create_dir_all(&release)?;
        std::fs::write(&note, tree.to_string_lossy().as_bytes())?;
    } else if note.exists() {
        std::fs::remove_file(&note)?;
    }
    Ok(())
}

/// Whether `target` may hold another tree's build of the package, not the checkout's.
pub fn holds_another_build(target: &Path) -> bool {
    target.join("release").join(ANOTHER_BUILD).exists()
}

/// The note [`forget_package_builds`] leaves while `target` holds another tree's build.
const ANOTHER_BUILD: &str = "servebench-compare-another-tree";

/// Whether a fingerprint folder's name is one of `package`'s units: `<package>-<16 hex digits>`
/// (not `<package>-macros-...`, another package).
fn is_unit_of(folder: &str, package: &str) -> bool {
    folder
        .strip_prefix(package)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// The package at `tree`'s root, as cargo reads its manifest.
fn root_package(tree: &Path) -> io::Result<cargo_metadata::Package> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .current_dir(tree)
        .manifest_path(tree.join("Cargo.toml"))
        .no_deps()
        .exec()
        .map_err(io::Error::other)?;
    metadata
        .root_package()
        .cloned()
        .ok_or_else(|| io::Error::other(format!("{}: no root package", tree.display())))
}

/// `cargo bench --no-run` with `args` in `tree`, every bench binary it built copied into `into`.
fn cargo_bench_no_run(
    tree: &Path,
    target: &Path,
    args: &[&str],
    into: &Path,
) -> io::Result<Vec<BenchBinary>> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(tree).env("CARGO_TARGET_DIR", target).args([
        "bench",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    command.args(args);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
    let mut built = Vec::new();
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    for message in Message::parse_stream(stdout) {
        if let Message::CompilerArtifact(artifact) = message? {
            let is_bench = artifact.target.kind.contains(&TargetKind::Bench);
            if let (true, Some(executable)) = (is_bench, artifact.executable) {
                built.push((artifact.target.name, PathBuf::from(executable)));
            }
        }
    }
    if !child.wait()?.success() {
        return Err(io::Error::other(format!(
            "cargo bench --no-run {} failed in {}",
            args.join(" "),
            tree.display()
        )));
    }
    std::fs::create_dir_all(into)?;
    built
        .into_iter()
        .map(|(name, executable)| {
            let binary = into.join(name);
            std::fs::copy(&executable, &binary)?;
            Ok(BenchBinary { tree: tree.to_owned(), binary })
        })
        .collect()
}

/// How a bench runs.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Criterion's filter, a regular expression over ids.
    pub filter: Option<String>,
    /// Criterion's quick mode (`SERVEBENCH_QUICK=1`).
    pub quick: bool,
    /// Further environment variables.
    pub env: Vec<(String, String)>,
}

/// One run of `bench`, its results into the Criterion folder `home`.
///
/// The run executes a fresh copy of the binary, made for it and removed after it. In A/A
/// comparisons where each side ran its own copy every time, some ids were 30-90 % slower on
/// every run of one side (`codec/json_decode/base64_1080x1920`: 1.2-1.4 ms on base's three
/// runs, 2.0-2.4 ms on head's, the same bytes at two paths): whatever a copy's placement does,
/// it then moved a whole side, which runs as the unit cannot tell from a change. A copy per run
/// makes it one more thing a run varies by, as the judge expects.
pub fn run(bench: &BenchBinary, home: &Path, options: &RunOptions) -> io::Result<()> {
    std::fs::create_dir_all(home)?;
    let copy = home.join(format!(".{}", bench.name()));
    std::fs::copy(&bench.binary, &copy)?;
    let ran = run_binary(bench, &copy, home, options);
    std::fs::remove_file(&copy)?;
    ran
}

fn run_binary(
    bench: &BenchBinary,
    binary: &Path,
    home: &Path,
    options: &RunOptions,
) -> io::Result<()> {
    let mut command = Command::new(binary);
    command.current_dir(&bench.tree).arg("--bench").arg("--noplot").env("CRITERION_HOME", home);
    if let Some(filter) = &options.filter {
        command.arg(filter);
    }
    if options.quick {
        command.env("SERVEBENCH_QUICK", "1");
    }
    command.envs(options.env.iter().map(|(key, value)| (key, value)));
    checked(&bench.binary, command.stdin(Stdio::null()).output()?).map(drop)
}

/// Why instructions cannot be counted here, if they cannot: gungraun's runner and Valgrind must
/// be on the `PATH` (scripts/setup installs them, scripts/env puts the runner there).
pub fn instructions_unavailable() -> Option<String> {
    let missing: Vec<&str> = ["gungraun-runner", "valgrind"]
        .into_iter()
        .filter(|tool| Command::new(tool).arg("--version").output().is_err())
        .collect();
    (!missing.is_empty()).then(|| format!("{} not on the PATH", missing.join(" and ")))
}

/// One run of the instruction bench `bench`, gungraun's output into `home`, counting the ids
/// `filter` (a regular expression) matches; its list of ids is kept beside (`ids.txt`) for
/// [`load_instructions`].
pub fn run_instructions(
    bench: &BenchBinary,
    home: &Path,
    filter: &str,
    env: &[(String, String)],
) -> io::Result<Counts> {
    let command = || {
        let mut command = Command::new(&bench.binary);
        command.current_dir(&bench.tree).envs(env.iter().map(|(key, value)| (key, value)));
        command.env(instructions::FILTER_ENV, filter).stdin(Stdio::null());
        command
    };
    let listing = checked(&bench.binary, command().arg(instructions::IDS_FLAG).output()?)?;
    std::fs::create_dir_all(home)?;
    std::fs::write(home.join(IDS_FILE), &listing)?;
    let mut run = command();
    run.arg("--bench").env("GUNGRAUN_HOME", home).env("GUNGRAUN_SAVE_SUMMARY", "json");
    checked(&bench.binary, run.output()?)?;
    load_instructions(home)
}

/// The counts a [`run_instructions`] left in `home`.
pub fn load_instructions(home: &Path) -> io::Result<Counts> {
    let listing = std::fs::read_to_string(home.join(IDS_FILE))?;
    instructions::load(home, &listing)
}

/// Where [`run_instructions`] keeps the bench's list of ids.
const IDS_FILE: &str = "ids.txt";

/// The output's standard output, or an error with its standard error if it failed.
fn checked(binary: &Path, output: std::process::Output) -> io::Result<String> {
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::is_unit_of;

    #[test]
    fn only_the_packages_own_fingerprints_are_forgotten() {
        assert!(is_unit_of("servebench-04c5ffa66deafcc0", "servebench"));
        for other in [
            "servebench-macros-04c5ffa66deafcc0",
            "servebenchx-04c5ffa66deafcc0",
            "servebench-04c5ffa66deafcc",
            "servebench-04c5ffa66deafczz",
            "serde-04c5ffa66deafcc0",
        ] {
            assert!(!is_unit_of(other, "servebench"), "{other}");
        }
    }
}
