//! A real S3 server for tests: `s3s-fs` on a free loopback port, serving a temporary folder
//! with one bucket, [`BUCKET`]. Started per test; stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct S3Server {
    pub endpoint: String,
    /// The folder s3s-fs serves; a bucket is a folder in it.
    pub root: TempDir,
    logs: PathBuf,
    child: Child,
}

pub const BUCKET: &str = "keynet-test";
pub const ACCESS_KEY: &str = "keynet-test-access";
pub const SECRET_KEY: &str = "keynet-test-secret";

impl S3Server {
    pub async fn start() -> Self {
        let binary = s3s_fs_binary();
        let root = tempfile::tempdir().unwrap();
        // s3s-fs maps each folder of its root to a bucket.
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let logs = tempfile::NamedTempFile::new()
            .unwrap()
            .into_temp_path()
            .keep()
            .unwrap();
        let port = free_port();
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&logs).unwrap())
            .stderr(std::fs::File::create(&logs).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            root,
            logs,
            child,
        };
        server.wait_until_listening(port).await;
        server
    }

    async fn wait_until_listening(&mut self, port: u16) {
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "s3s-fs exited ({status}) before it listened on port {port}:\n{}",
                    std::fs::read_to_string(&self.logs).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "s3s-fs did not listen on port {port} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.logs);
    }
}

/// `KEYNET_S3S_FS`, else `s3s-fs` on PATH or in cargo's bin folder. Missing, the tests fail:
/// the S3 store is only ever tested against a real server.
fn s3s_fs_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KEYNET_S3S_FS") {
        return PathBuf::from(path);
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(cargo_bin)
        .map(|dir| dir.join("s3s-fs"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the S3 tests need the s3s-fs server: run `cargo install s3s-fs@0.14.1 \
                 --features binary --locked` (or point KEYNET_S3S_FS at the binary)"
            )
        })
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
