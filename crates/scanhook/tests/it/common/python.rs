//! Python side processes that need a package from PyPI: one venv per package under
//! target/, made on first use; a test without PyPI says it is skipped and how to run it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The python of `target/<venv>` with `requirement` (`name==version`) installed, once
/// `check` (Python code exiting 0) passes; `None`, after saying why and how to run
/// `module`'s tests, when it cannot be installed.
pub fn with_package(venv: &str, requirement: &str, check: &str, module: &str) -> Option<PathBuf> {
    // The tests of this binary run at once: one installs, the others wait for it.
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target").join(venv);
    let python = dir.join("bin/python");
    let ready = |python: &Path| Command::new(python).args(["-c", check]).status().is_ok_and(|s| s.success());
    if ready(&python) {
        return Some(python);
    }
    let created = Command::new("python3").args(["-m", "venv"]).arg(&dir).status().is_ok_and(|s| s.success());
    let installed = created
        && Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", requirement])
            .status()
            .is_ok_and(|s| s.success());
    if installed && ready(&python) {
        return Some(python);
    }
    eprintln!(
        "SKIPPED: could not install {requirement} into {}; with PyPI reachable, run \
         `python3 -m venv target/{venv} && target/{venv}/bin/pip install {requirement}` \
         and `cargo test -p scanhook --test it {module}::`",
        dir.display()
    );
    None
}
