//! The source trees `servebench compare` builds: the working tree, or a git worktree of a
//! commit, made once and reused.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The ref that means the working tree, uncommitted changes included.
pub const WORKING_TREE: &str = ".";

/// The checkout servebench was built from.
pub fn repository_root() -> io::Result<PathBuf> {
    git(Path::new(env!("CARGO_MANIFEST_DIR")), &["rev-parse", "--show-toplevel"]).map(PathBuf::from)
}

/// The source tree for `git_ref`: the working tree for [`WORKING_TREE`], or for a ref naming
/// the checked-out commit when nothing is changed; otherwise a worktree of that commit under
/// `work_dir` (made once, reused), sharing the checkout's generated fixtures and models.
pub fn checkout(root: &Path, git_ref: &str, work_dir: &Path) -> io::Result<PathBuf> {
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
        super::progress(&format!(
            "making a worktree of {git_ref} ({commit}) at {}",
            tree.display()
        ));
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
