//! A PostgreSQL server of the test's own: `initdb` and `pg_ctl` into a temporary folder, listening on a
//! free port of 127.0.0.1 only, stopped and deleted when the [`PgCluster`] is dropped. No Docker, no
//! shared server: each test that needs PostgreSQL starts one (about a second).
//!
//! PostgreSQL refuses to run as root, which CI is: as root the cluster runs as the `postgres` user
//! that Debian's package creates, owning the folder.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::tools::Missing;

/// A running PostgreSQL server, with one superuser `portal` that connects without a password (trust,
/// on 127.0.0.1 only).
pub struct PgCluster {
    folder: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<String>,
    pub port: u16,
}

/// The folder of PostgreSQL's server programs: the one `PORTAL_TEST_PG_BIN` names, else the one of
/// `initdb` on PATH, else Debian's `/usr/lib/postgresql/<version>/bin` (the newest).
pub fn postgres_programs() -> Result<PathBuf, Missing> {
    let missing = || Missing {
        needs: "PostgreSQL's server programs (initdb, pg_ctl)".into(),
        install: "apt-get install postgresql; PORTAL_TEST_PG_BIN names another folder".into(),
    };
    if let Some(chosen) = std::env::var_os("PORTAL_TEST_PG_BIN") {
        let chosen = PathBuf::from(chosen);
        return if chosen.join("initdb").is_file() { Ok(chosen) } else { Err(missing()) };
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|p| p.join("initdb")).find(|p| p.is_file()))
        .unwrap_or_default();
    if let Some(initdb) = on_path {
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(folder) = real.parent().filter(|f| f.join("pg_ctl").is_file()) {
            return Ok(folder.to_owned());
        }
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").is_file()).collect())
        .unwrap_or_default();
    debian.sort_by_key(|bin| bin.parent().and_then(Path::file_name).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()));
    debian.pop().ok_or_else(missing)
}

impl PgCluster {
    /// Creates and starts a cluster; panics when PostgreSQL is there but does not start.
    pub fn start(bin: PathBuf) -> PgCluster {
        let folder = tempfile::Builder::new().prefix("portal-pg-").tempdir().unwrap();
        let run_as = running_as_root().then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            let uid = id_of(user, "-u");
            let gid = id_of(user, "-g");
            std::os::unix::fs::chown(folder.path(), Some(uid), Some(gid)).unwrap();
        }
        let port = free_port();
        let mut cluster = PgCluster { folder, bin, run_as, port };
        let data = cluster.data().display().to_string();
        cluster.run("initdb", &["-D", &data, "-U", "portal", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
        let options = cluster.server_options();
        let log = cluster.folder.path().join("server.log").display().to_string();
        let started = cluster.try_run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "30", "start"]);
        if !started.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            // Taken by another process between finding the port and binding it: once more on another.
            if log.contains("could not bind") {
                cluster.port = free_port();
                let options = cluster.server_options();
                cluster.run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "30", "start"]);
            } else {
                panic!("pg_ctl start failed: {}\n{log}", String::from_utf8_lossy(&started.stderr));
            }
        }
        cluster
    }

    /// The URL of database `name` on this server (`postgres` always exists).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://portal@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn create_database(&self, name: &str) -> String {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).await.unwrap();
        self.url(name)
    }

    /// The server's options: this port, loopback only, its socket in its own folder, no fsync (a test's
    /// data need not survive a power cut).
    fn server_options(&self) -> String {
        format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off -c max_connections=200",
            self.port,
            self.folder.path().display()
        )
    }

    fn data(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    fn try_run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        command.args(args).current_dir(self.folder.path()).output().unwrap_or_else(|e| panic!("{}: {e}", program.display()))
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self.try_run(program, args);
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl PgCluster {
    /// Stops the server, as a restart or a failover does: every client loses its connections. (A
    /// clean stop: with fsync off, an immediate one may lose what the server had not written out.)
    pub fn stop(&self) {
        let data = self.data().display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    /// Turns TLS on with the certificate and key of `pki` (`cert.pem`, `key.pem`, as
    /// `fake_entra::server::tls_self_signed` writes them next to their `ca.pem`); clients may still
    /// connect without TLS.
    pub async fn enable_tls(&self, pki: &Path) {
        use sqlx::Connection;
        use std::os::unix::fs::PermissionsExt;
        for name in ["cert.pem", "key.pem"] {
            let copy = self.folder.path().join(name);
            std::fs::copy(pki.join(name), &copy).unwrap();
            // PostgreSQL refuses a key that others may read.
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
            if let Some(user) = &self.run_as {
                std::os::unix::fs::chown(&copy, Some(id_of(user, "-u")), Some(id_of(user, "-g"))).unwrap();
            }
        }
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap();
        let folder = self.folder.path().display().to_string();
        for setting in [
            format!("ALTER SYSTEM SET ssl_cert_file = '{folder}/cert.pem'"),
            format!("ALTER SYSTEM SET ssl_key_file = '{folder}/key.pem'"),
            "ALTER SYSTEM SET ssl = on".to_owned(),
        ] {
            sqlx::query(&setting).execute(&mut admin).await.unwrap();
        }
        sqlx::query("SELECT pg_reload_conf()").execute(&mut admin).await.unwrap();
        // The reload is asynchronous: wait until new connections are offered TLS.
        for _ in 0..50 {
            let on: String = sqlx::query_scalar("SHOW ssl")
                .fetch_one(&mut sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap())
                .await
                .unwrap();
            if on == "on" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("PostgreSQL did not turn TLS on");
    }

    /// Starts the stopped server again, on the same port.
    pub fn start_again(&self) {
        let data = self.data().display().to_string();
        let options = self.server_options();
        let log = self.folder.path().join("server.log").display().to_string();
        self.run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "30", "start"]);
    }
}

impl PgCluster {
    /// For a cluster that is never dropped (a `static` shared by a test process): a watchdog shell
    /// waits for this process to end, however it ends (a panic, an abort, a kill), then stops the
    /// server and deletes its folder, so no server outlives the test binary by more than a second.
    #[expect(clippy::zombie_processes, reason = "the watchdog outlives this process by design")]
    pub fn stop_when_process_exits(&self) {
        let data = self.data().display().to_string();
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let stop = match &self.run_as {
            Some(user) => format!("runuser -u {user} -- {pg_ctl} -D {data} -m immediate -w stop"),
            None => format!("{pg_ctl} -D {data} -m immediate -w stop"),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}; rm -rf {folder}",
            pid = std::process::id(),
            folder = self.folder.path().display()
        );
        // Its own process group, nothing of the test's output held open (a `| tee` would wait on it).
        // Never waited for: it ends after this process, which is what it waits for.
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("sh, to stop the test PostgreSQL server when the tests end");
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self.try_run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

fn running_as_root() -> bool {
    super::tools::root().is_ok()
}

/// The uid (`-u`) or gid (`-g`) of a user, by `id`.
fn id_of(user: &str, which: &str) -> u32 {
    let output = Command::new("id").args([which, user]).output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or_else(|_| panic!("no user {user} to run PostgreSQL as"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
