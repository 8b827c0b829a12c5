//! Shared by the tests that check a stage against PyTorch: the project venv's Python.
#![allow(dead_code)] // each test binary uses its part

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's Python (`scripts/setup` makes it), or `SERVEBENCH_PYTHON`.
pub fn python() -> PathBuf {
    let python = std::env::var_os("SERVEBENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (scripts/test does)",
        python.display()
    );
    python
}

/// Runs `scripts/reference/<script>` with `args` on [`python`], returning its standard output.
pub fn run_reference(script: &str, args: &[&Path]) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(python())
        .arg(root.join("scripts/reference").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A fresh folder under the system's temporary one, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Makes `servebench-<name>-<pid>`.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("servebench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// This process's resident memory in bytes (Linux's `/proc/self/statm`), or `None` where
/// there is no such file.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// Fails unless resident memory after a soak is within 20% of what it was after warm-up (no
/// leak); says why it cannot tell where there is no `/proc`.
pub fn assert_no_growth(after_warm_up: Option<u64>, after_run: Option<u64>) {
    let (Some(warm), Some(after)) = (after_warm_up, after_run) else {
        println!("skipping the memory check: no /proc/self/statm here");
        return;
    };
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    println!(
        "resident memory: {:.0} MiB after warm-up, {:.0} MiB after the run",
        mib(warm),
        mib(after)
    );
    assert!(
        after as f64 <= warm as f64 * 1.2,
        "resident memory grew from {:.0} MiB after warm-up to {:.0} MiB after the run",
        mib(warm),
        mib(after)
    );
}

/// What a soak sends: request `index`, `Err` saying how its answer was wrong.
pub trait Exchange: Send + Sync + 'static {
    /// Sends request `index` and checks its answer.
    fn send(&self, index: usize) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

/// Sends requests `range` through `soak`, `in_flight` at a time; every wrong answer.
pub async fn soak<S: Exchange>(
    soak: &std::sync::Arc<S>,
    range: std::ops::Range<usize>,
    in_flight: usize,
) -> Vec<String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = std::sync::Arc::new(AtomicUsize::new(range.start));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (soak, next, end) =
            (std::sync::Arc::clone(soak), std::sync::Arc::clone(&next), range.end);
        senders.spawn(async move {
            let mut wrong = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= end {
                    return wrong;
                }
                if let Err(error) = soak.send(index).await {
                    wrong.push(format!("request {index}: {error}"));
                }
            }
        });
    }
    let mut wrong = Vec::new();
    while let Some(outcome) = senders.join_next().await {
        wrong.extend(outcome.unwrap());
    }
    wrong
}
