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
