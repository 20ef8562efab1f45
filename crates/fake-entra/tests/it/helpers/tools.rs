//! What a test needs from the machine beyond Rust (Python packages), and the rule for when it is
//! missing: outside CI the test is skipped with one line on stderr that says what to install; in CI
//! (`CI` set) it fails with that line. The same rule as the portal's tests (`tests/it/helpers/tools.rs`
//! at the workspace's root), copied: test crates share no code.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// What a test needs and the machine lacks, and how to get it.
#[derive(Debug)]
pub struct Missing {
    /// Such as "chromium and chromedriver".
    pub needs: String,
    /// Such as "apt-get install chromium chromium-driver".
    pub install: String,
}

/// `Some` when the machine has what the test needs; otherwise `None` for the test to return at once
/// (skipped, one line on stderr), or, in CI, a failure.
pub fn require<T>(found: Result<T, Missing>) -> Option<T> {
    let missing = match found {
        Ok(found) => return Some(found),
        Err(missing) => missing,
    };
    let test = std::thread::current().name().and_then(|name| name.rsplit("::").next()).unwrap_or("this test").to_owned();
    let line = format!("{test}: needs {} ({})", missing.needs, missing.install);
    assert!(!in_ci(), "{line}; CI is set, and in CI nothing is skipped");
    // Straight to the process's stderr: the test harness keeps what `eprintln!` writes to itself
    // unless the test fails, and a skip must be seen.
    let _ = writeln!(std::io::stderr(), "skipped {line}");
    None
}

/// Whether `CI` is set (to anything but "", "0" or "false").
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

/// A Python interpreter that imports `modules`: the one `PORTAL_TEST_PYTHON` names, else `python3` on
/// PATH, else the system's `/usr/bin/python3` (where Debian's packages are).
pub fn python_with(modules: &[&str], install: &str) -> Result<PathBuf, Missing> {
    let candidates = match std::env::var_os("PORTAL_TEST_PYTHON") {
        Some(chosen) => vec![PathBuf::from(chosen)],
        None => vec![PathBuf::from("python3"), PathBuf::from("/usr/bin/python3")],
    };
    let import = format!("import {}", modules.join(", "));
    let found = candidates.into_iter().find(|python| Command::new(python).args(["-c", &import]).output().is_ok_and(|o| o.status.success()));
    found.ok_or_else(|| Missing {
        needs: format!("python3 with {}", modules.join(", ")),
        install: format!("{install}; PORTAL_TEST_PYTHON names another interpreter"),
    })
}
