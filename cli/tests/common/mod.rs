//! Runs the `keynet-train` binary against a real server, with its own configuration
//! folder, the way an author runs it: no terminal, exit code and output checked.

#![allow(dead_code, reason = "each test file uses part of this module")]

use std::path::Path;
use std::process::Output;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test with both streams when the command did not succeed.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and that stderr names the problem and its hint.
    pub fn fails(self, code: i32, message: &str, hint: Option<&str>) -> Run {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(message),
            "{message:?} in\n{}",
            self.stderr
        );
        if let Some(hint) = hint {
            assert!(
                self.stderr.contains(&format!("→ {hint}")),
                "hint {hint:?} in\n{}",
                self.stderr
            );
        }
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("stack backtrace"),
            "{}",
            self.stderr
        );
        self
    }
}

/// `keynet-train args…` in `cwd`, with `config` as its configuration folder.
pub async fn keynet_train(config: &Path, cwd: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keynet-train"))
        .args(args)
        .current_dir(cwd)
        .env("KEYNET_CONFIG_DIR", config)
        .env_remove("KEYNET_SERVER")
        .env_remove("KEYNET_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the keynet-train binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        // A command that refuses its arguments may exit before it reads its input: then the
        // pipe is closed, and its exit code and message are what the test checks.
        if let Err(e) = input.write_all(text.as_bytes()).await {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "stdin: {e}");
        }
    }
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().await.expect("keynet-train ends");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Signs in as `email` (whose password is the test kit's) to `server`.
pub async fn login(config: &Path, server: &str, email: &str) -> Run {
    keynet_train(
        config,
        config,
        &[
            "login",
            "--server",
            server,
            "--email",
            email,
            "--password-stdin",
        ],
        Some(&format!("{}\n", keynet_testkit::gql::PASSWORD)),
    )
    .await
}

pub const TRAIN_PY: &str = r#"import argparse

EPOCHS = 3


def parse_args():
    parser = argparse.ArgumentParser(description="Leaf classifier")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the data")
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--amp", action="store_true", help="mixed precision")
    parser.add_argument("data", help="dataset folder")
    return parser.parse_args()


if __name__ == "__main__":
    print(parse_args())
"#;
