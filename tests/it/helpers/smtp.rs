//! A real SMTP server for the tests: aiosmtpd running `tests/smtp_sink.py`, which decodes each message
//! with Python's own e-mail parser and writes it as JSON to a folder.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{Missing, eventually, python_with};

/// A Python interpreter that has aiosmtpd (`.ci/run` installs it), to run the SMTP sink.
pub struct Aiosmtpd {
    python: PathBuf,
}

pub fn aiosmtpd() -> Result<Aiosmtpd, Missing> {
    let python = python_with(&["aiosmtpd"], "apt-get install python3-aiosmtpd, or pip install aiosmtpd")?;
    Ok(Aiosmtpd { python })
}

impl Aiosmtpd {
    pub fn start(&self, port: u16) -> SmtpSink {
        self.start_with(port, &[])
    }

    /// The sink with TLS: `mode` is `starttls` or `smtps`, with the certificate and key in `pki`.
    pub fn start_tls(&self, port: u16, mode: &str, pki: &std::path::Path) -> SmtpSink {
        let (cert, key) = (pki.join("cert.pem"), pki.join("key.pem"));
        self.start_with(port, &[mode, cert.to_str().unwrap(), key.to_str().unwrap()])
    }

    pub fn start_with(&self, port: u16, extra: &[&str]) -> SmtpSink {
        let out = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new(&self.python)
            .arg(script)
            .arg(port.to_string())
            .arg(out.path())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        SmtpSink { child, out }
    }
}

/// aiosmtpd on 127.0.0.1:`port`, writing what it accepts to a folder; killed when dropped.
pub struct SmtpSink {
    child: Child,
    out: tempfile::TempDir,
}

impl SmtpSink {
    /// Every message received, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        names.sort();
        names.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }

    /// Waits until `count` messages arrived (the worker runs in the background).
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        eventually(&format!("{count} messages at the SMTP server"), async || {
            let messages = self.messages();
            (messages.len() >= count).then_some(messages)
        })
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
