//! The real binary: a command run with nothing of the developer's environment, and `serve` as a child
//! process that is killed when the test ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::within_blocking;

/// The path of the real binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_consent-portal"))
}

/// A command for the real binary, run in `dir` (so no `.env` of the developer's is read) with an
/// environment holding nothing of the developer's PORTAL_* settings.
pub fn command_in(dir: &Path) -> Command {
    let mut command = Command::new(binary());
    command.current_dir(dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The environment of a complete, valid `serve` configuration on `port`, with the database in `dir`.
pub fn serve_env(dir: &Path, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("PORTAL_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("PORTAL_BIND", format!("127.0.0.1:{port}")),
        ("PORTAL_DATABASE_URL", format!("sqlite://{}", dir.join("portal.db").display())),
        ("PORTAL_CLIENT_ID", "11111111-2222-3333-4444-555555555555".into()),
        ("PORTAL_CLIENT_SECRET", "test-client-secret-value".into()),
        ("PORTAL_PARTNER_TENANT_ID", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into()),
    ]
}

/// A child process that is killed if the test ends before it does.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` from the real binary and waits until `/healthz` answers.
pub fn start_binary(dir: &Path, port: u16, extra: &[(&str, &str)]) -> ChildGuard {
    let mut command = command_in(dir);
    command.arg("serve").envs(serve_env(dir, port)).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = ChildGuard(command.spawn().unwrap());
    wait_for_health(port);
    child
}

pub fn wait_for_health(port: u16) {
    let healthy = within_blocking(Duration::from_secs(30), || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200").then_some(())
    });
    assert!(healthy.is_some(), "the portal did not answer /healthz on port {port}");
}

/// Waits for a child to exit, up to `limit`.
pub fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    within_blocking(limit, || child.try_wait().unwrap())
}

/// Sends SIGTERM to `child`, as a service manager stops the portal. Through the shell's own `kill`:
/// a bare machine may have no `kill` program.
pub fn terminate(child: &Child) {
    let status = Command::new("sh").args(["-c", "kill -TERM \"$1\"", "sh"]).arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}
