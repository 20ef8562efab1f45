//! Refusing to start: every subcommand reports a configuration it cannot start with the same way — one
//! line on stderr that names what is wrong — and exits with status 2.

use std::process::ExitCode;

/// Prints a start-up failure as one line and returns exit status 2.
pub fn refuse_to_start(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
