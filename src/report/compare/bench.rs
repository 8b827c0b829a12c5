//! Building a tree's bench binaries and running one of them, for `servebench compare`.

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, TargetKind};

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
        return Err(io::Error::other(format!("cargo bench --no-run failed in {}", tree.display())));
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
pub fn run(bench: &BenchBinary, home: &Path, options: &RunOptions) -> io::Result<()> {
    let mut command = Command::new(&bench.binary);
    command.current_dir(&bench.tree).arg("--bench").arg("--noplot").env("CRITERION_HOME", home);
    if let Some(filter) = &options.filter {
        command.arg(filter);
    }
    if options.quick {
        command.env("SERVEBENCH_QUICK", "1");
    }
    command.envs(options.env.iter().map(|(key, value)| (key, value)));
    let output = command.stdin(Stdio::null()).output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{} failed: {}",
            bench.binary.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}
