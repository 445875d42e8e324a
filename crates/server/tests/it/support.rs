use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dsms_testkit::{TestDatabase, free_port};

/// A database and data directory for one test, and commands of the real binary against them.
pub struct Env {
    pub test_db: TestDatabase,
    pub data_dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            test_db: TestDatabase::new(),
            data_dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `dsms ARGS` with this environment's database and data directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dsms"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DSMS_DATA_DIR", self.data_dir.path())
            .env("DSMS_DATABASE_URL", self.test_db.url())
            .env("DSMS_AUTH_ARGON2_MEMORY_KIB", "1024")
            .env("DSMS_AUTH_ARGON2_ITERATIONS", "1")
            // These tests load one server from one address with one token far past what an
            // integrator may; the rate limits are tested with their own settings in abuse.rs.
            .env("DSMS_RATE_LIMIT_ENABLED", "false")
            .env("DSMS_LOG_FORMAT", "json");
        command
    }

    /// Runs `dsms ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run dsms")
    }

    /// Starts `dsms serve` on a free port.
    pub fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    /// Starts `dsms serve` on a free port with extra environment variables (settings).
    pub fn serve_with(&self, settings: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut child = self
            .command(&["serve"])
            .envs(settings.iter().copied())
            .env("DSMS_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dsms serve");
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (etx, stderr) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        Server {
            port,
            child,
            stdout,
            stderr,
        }
    }
}

/// A running `dsms serve` process.
pub struct Server {
    pub port: u16,
    pub child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = client.get(self.url("/readyz")).send().await
                && res.status() == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "dsms serve exited early with {status}: {}",
                    self.stderr_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "not ready in time: {}",
                self.stderr_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything written to standard output so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.try_iter().collect()
    }

    /// Everything written to standard error so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("dsms did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The password printed in a credentials box.
pub fn printed_password(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|l| {
        l.trim()
            .strip_prefix("password:")
            .map(|p| p.trim().to_owned())
    })
}
