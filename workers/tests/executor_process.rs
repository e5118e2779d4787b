//! The process executor with shell scripts placed in an allowed folder: the trainer
//! contract (environment cleared but for the contract's variables, arguments, events,
//! outputs, exit codes), the wall-clock limit and cancellation killing the whole process
//! group, the log cap, the refusal of programs outside the allowed folders (symlinks
//! resolved), of non-executables and of GPUs, and `choose`.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use keynet_workers::executor::{
    Executor, Exit, Launch, LogLine, LogStream, Outcome, ProcessExecutor, Program, Resources,
    choose,
};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const RESOURCES: Resources = Resources {
    gpus: 0,
    cpus: 1.0,
    memory_mb: 256,
    pids: 64,
};

/// An allowed folder with an executor for it, and a job's folders.
struct Setup {
    allowed: TempDir,
    job: TempDir,
    executor: Arc<ProcessExecutor>,
}

impl Setup {
    fn new() -> Self {
        let allowed = tempfile::tempdir().unwrap();
        let job = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(job.path().join("input/dataset")).unwrap();
        std::fs::write(job.path().join("input/dataset/splits.json"), "{}").unwrap();
        std::fs::create_dir(job.path().join("output")).unwrap();
        std::fs::write(job.path().join("events.jsonl"), "").unwrap();
        let executor = Arc::new(ProcessExecutor::new(vec![allowed.path().to_owned()]));
        Self {
            allowed,
            job,
            executor,
        }
    }

    fn output(&self) -> PathBuf {
        self.job.path().join("output")
    }

    /// Places an executable `#!/bin/sh` script in the allowed folder.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        write_script(self.allowed.path(), name, body)
    }

    fn launch(&self, program: PathBuf, args: &[&str]) -> Launch {
        Launch {
            job_id: "job-1".to_owned(),
            attempt: 1,
            program: Program::Local { path: program },
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            env: vec![("JOB_ID".to_owned(), "job-1".to_owned())],
            input_dir: self.job.path().join("input"),
            output_dir: self.output(),
            events_file: self.job.path().join("events.jsonl"),
            resources: RESOURCES,
            max_runtime: Duration::from_secs(120),
            log_limit_bytes: 1024 * 1024,
        }
    }
}

fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn run(
    executor: &ProcessExecutor,
    launch: &Launch,
) -> (anyhow::Result<Outcome>, Vec<LogLine>) {
    let (sender, mut receiver) = mpsc::channel(16);
    let collector = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = receiver.recv().await {
            lines.push(line);
        }
        lines
    });
    let outcome = executor.run(launch, sender, CancellationToken::new()).await;
    (outcome, collector.await.unwrap())
}

fn texts(lines: &[LogLine], stream: LogStream) -> Vec<&str> {
    lines
        .iter()
        .filter(|line| line.stream == stream)
        .map(|line| line.text.as_str())
        .collect()
}

fn stdout(lines: &[LogLine]) -> Vec<&str> {
    texts(lines, LogStream::Stdout)
}

/// Whether the process is alive and running `sleep` (a zombie has an empty command line).
fn runs_sleep(pid: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| cmdline.windows(5).any(|window| window == b"sleep"))
        .unwrap_or(false)
}

/// Waits (bounded) for the `sleep` whose pid the script wrote to be gone.
async fn assert_child_gone(pid_file: &Path) {
    let pid = std::fs::read_to_string(pid_file).unwrap();
    let pid = pid.trim();
    for _ in 0..100 {
        if !runs_sleep(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the child process {pid} still runs");
}

/// Starts a run in a task; returns it with the cancel token once the program printed
/// `ready`.
async fn start_until_ready(
    executor: &Arc<ProcessExecutor>,
    launch: Launch,
) -> (
    tokio::task::JoinHandle<anyhow::Result<Outcome>>,
    mpsc::Receiver<LogLine>,
    CancellationToken,
) {
    let (sender, mut receiver) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let task = {
        let executor = Arc::clone(executor);
        let cancel = cancel.clone();
        tokio::spawn(async move { executor.run(&launch, sender, cancel).await })
    };
    loop {
        let line = receiver
            .recv()
            .await
            .expect("the program ended before printing ready");
        if line.text == "ready" {
            break;
        }
    }
    (task, receiver, cancel)
}

/// A script that starts a `sleep` child, records its pid in the output folder and prints
/// `ready`, then waits.
const SPAWNS_A_CHILD: &str = r#"
sleep 600 &
echo $! > "$KEYNET_OUTPUT_DIR/child.pid"
echo ready
wait
"#;

#[tokio::test]
async fn a_program_writes_events_and_outputs_and_exits_zero() {
    let setup = Setup::new();
    let program = setup.script(
        "train.sh",
        r#"
echo '{"event":"started","seq":1}' >> "$KEYNET_EVENTS"
echo weights > "$KEYNET_OUTPUT_DIR/best.pt"
cat "$KEYNET_INPUT_DIR/dataset/splits.json"; echo
echo done
"#,
    );
    let (outcome, lines) = run(&setup.executor, &setup.launch(program, &[])).await;
    let outcome = outcome.unwrap();

    assert_eq!(outcome.exit, Exit::Code(0));
    assert!(!outcome.logs_truncated);
    assert_eq!(stdout(&lines), vec!["{}", "done"]);
    assert_eq!(
        std::fs::read_to_string(setup.job.path().join("events.jsonl")).unwrap(),
        "{\"event\":\"started\",\"seq\":1}\n"
    );
    assert_eq!(
        std::fs::read_to_string(setup.output().join("best.pt")).unwrap(),
        "weights\n"
    );
}

#[tokio::test]
async fn the_exit_code_and_stderr_are_propagated() {
    let setup = Setup::new();
    let program = setup.script("fail.sh", "echo out; echo oops >&2; exit 7");
    let (outcome, lines) = run(&setup.executor, &setup.launch(program, &[])).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(7));
    assert_eq!(stdout(&lines), vec!["out"]);
    assert_eq!(texts(&lines, LogStream::Stderr), vec!["oops"]);
}

#[tokio::test]
async fn the_environment_is_cleared_but_for_the_contract_and_the_arguments_arrive() {
    let setup = Setup::new();
    let program = setup.script(
        "env.sh",
        r#"
env | cut -d= -f1 | sed 's/^/name=/'
echo "JOB_ID=$JOB_ID"
echo "PATH=$PATH"
echo "KEYNET_INPUT_DIR=$KEYNET_INPUT_DIR"
echo "KEYNET_OUTPUT_DIR=$KEYNET_OUTPUT_DIR"
echo "KEYNET_EVENTS=$KEYNET_EVENTS"
echo "PWD=$(pwd)"
for arg in "$@"; do echo "arg=$arg"; done
"#,
    );
    let mut launch = setup.launch(program, &["--lr", "0.01", "two words"]);
    launch
        .env
        .push(("KEYNET_OUTPUT_DIR".to_owned(), "/elsewhere".to_owned()));
    let (outcome, lines) = run(&setup.executor, &launch).await;
    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    let lines = stdout(&lines);

    let names: BTreeSet<&str> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("name="))
        .collect();
    let allowed: BTreeSet<&str> = [
        "JOB_ID",
        "PATH",
        "HOME",
        "TMPDIR",
        "KEYNET_INPUT_DIR",
        "KEYNET_OUTPUT_DIR",
        "KEYNET_EVENTS",
        // Set by the shell itself.
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
    ]
    .into();
    assert!(names.is_subset(&allowed), "{names:?}");
    // This test process has variables of its own; none of them got through.
    assert!(
        std::env::vars().any(|(name, _)| !allowed.contains(name.as_str())),
        "the test process has no variable of its own to check with"
    );
    let values: HashMap<&str, &str> = lines
        .iter()
        .filter(|line| !line.starts_with("name=") && !line.starts_with("arg="))
        .filter_map(|line| line.split_once('='))
        .collect();
    let job = setup.job.path();
    assert_eq!(values["JOB_ID"], "job-1");
    assert_eq!(values["PATH"], "/usr/bin:/bin");
    assert_eq!(
        values["KEYNET_INPUT_DIR"],
        job.join("input").to_str().unwrap()
    );
    assert_eq!(
        values["KEYNET_OUTPUT_DIR"],
        job.join("output").to_str().unwrap()
    );
    assert_eq!(
        values["KEYNET_EVENTS"],
        job.join("events.jsonl").to_str().unwrap()
    );
    // A fresh work folder beside the output, removed after the run.
    let work = Path::new(values["PWD"]);
    assert_eq!(work.parent(), Some(job));
    assert_ne!(work, job.join("output"));
    assert!(!work.exists());
    let args: Vec<&str> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("arg="))
        .collect();
    assert_eq!(args, vec!["--lr", "0.01", "two words"]);
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let setup = Setup::new();
    let program = setup.script("hang.sh", SPAWNS_A_CHILD);
    let mut launch = setup.launch(program, &[]);
    launch.max_runtime = Duration::from_secs(3);
    let (outcome, lines) = run(&setup.executor, &launch).await;

    assert_eq!(outcome.unwrap().exit, Exit::TimedOut);
    assert_eq!(stdout(&lines), vec!["ready"]);
    assert_child_gone(&setup.output().join("child.pid")).await;
}

#[tokio::test]
async fn cancelling_kills_the_whole_process_group() {
    let setup = Setup::new();
    let program = setup.script("hang.sh", SPAWNS_A_CHILD);
    let (task, _logs, cancel) =
        start_until_ready(&setup.executor, setup.launch(program, &[])).await;

    cancel.cancel();

    assert_eq!(task.await.unwrap().unwrap().exit, Exit::Cancelled);
    assert_child_gone(&setup.output().join("child.pid")).await;
}

#[tokio::test]
async fn dropping_a_run_kills_the_whole_process_group() {
    let setup = Setup::new();
    let program = setup.script("hang.sh", SPAWNS_A_CHILD);
    let (task, _logs, _cancel) =
        start_until_ready(&setup.executor, setup.launch(program, &[])).await;

    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    assert_child_gone(&setup.output().join("child.pid")).await;
}

#[tokio::test]
async fn children_left_behind_are_killed_when_the_program_exits() {
    let setup = Setup::new();
    let program = setup.script(
        "orphan.sh",
        r#"
sleep 600 &
echo $! > "$KEYNET_OUTPUT_DIR/child.pid"
echo leaving
"#,
    );
    let (outcome, lines) = run(&setup.executor, &setup.launch(program, &[])).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    assert_eq!(stdout(&lines), vec!["leaving"]);
    assert_child_gone(&setup.output().join("child.pid")).await;
}

#[tokio::test]
async fn a_flood_of_output_is_capped_and_the_run_completes() {
    let setup = Setup::new();
    let flood_line = "a line of flood output";
    let program = setup.script(
        "flood.sh",
        &format!(
            "yes '{flood_line}' | head -n 200000\necho finished > \"$KEYNET_OUTPUT_DIR/finished\""
        ),
    );
    let mut launch = setup.launch(program, &[]);
    launch.log_limit_bytes = 4096;
    let (outcome, lines) = run(&setup.executor, &launch).await;
    let outcome = outcome.unwrap();

    assert_eq!(outcome.exit, Exit::Code(0));
    assert!(outcome.logs_truncated);
    let forwarded: usize = lines.iter().map(|line| line.text.len() + 1).sum();
    assert!(
        forwarded <= 4096 + flood_line.len() + 1,
        "{forwarded} bytes forwarded"
    );
    assert!(forwarded >= 4096, "{forwarded} bytes forwarded");
    assert!(lines.iter().all(|line| line.text == flood_line));
    assert_eq!(
        std::fs::read_to_string(setup.output().join("finished")).unwrap(),
        "finished\n"
    );
}

#[tokio::test]
async fn a_program_outside_the_allowed_folders_is_refused() {
    let setup = Setup::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let program = write_script(elsewhere.path(), "evil.sh", "echo ran");
    let reason = setup
        .executor
        .check(
            &Program::Local {
                path: program.clone(),
            },
            &RESOURCES,
        )
        .unwrap_err();
    assert!(reason.contains("not in a folder allowed"), "{reason}");

    // A path that climbs out of the allowed folder is no better.
    let climbing = setup.allowed.path().join("..").join(
        program
            .strip_prefix(elsewhere.path().parent().unwrap())
            .unwrap(),
    );
    assert!(
        setup
            .executor
            .check(&Program::Local { path: climbing }, &RESOURCES)
            .is_err()
    );

    let (outcome, lines) = run(&setup.executor, &setup.launch(program, &[])).await;
    assert!(format!("{:#}", outcome.unwrap_err()).contains("not in a folder allowed"));
    assert!(lines.is_empty());
}

#[tokio::test]
async fn a_symlink_pointing_outside_the_allowed_folders_is_refused() {
    let setup = Setup::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = write_script(elsewhere.path(), "evil.sh", "echo ran");
    let link = setup.allowed.path().join("innocent.sh");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let reason = setup
        .executor
        .check(&Program::Local { path: link.clone() }, &RESOURCES)
        .unwrap_err();
    assert!(reason.contains("not in a folder allowed"), "{reason}");
    let (outcome, lines) = run(&setup.executor, &setup.launch(link, &[])).await;
    assert!(outcome.is_err());
    assert!(lines.is_empty());
}

#[tokio::test]
async fn a_symlink_inside_the_allowed_folders_is_accepted() {
    let setup = Setup::new();
    let target = setup.script("real.sh", "echo real");
    let link = setup.allowed.path().join("alias.sh");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    assert_eq!(
        setup
            .executor
            .check(&Program::Local { path: link.clone() }, &RESOURCES),
        Ok(())
    );
    let (outcome, lines) = run(&setup.executor, &setup.launch(link, &[])).await;
    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    assert_eq!(stdout(&lines), vec!["real"]);
}

#[tokio::test]
async fn a_file_that_is_not_executable_is_refused() {
    let setup = Setup::new();
    let program = setup.script("plain.sh", "echo ran");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();

    let reason = setup
        .executor
        .check(&Program::Local { path: program }, &RESOURCES)
        .unwrap_err();
    assert!(reason.contains("not an executable file"), "{reason}");
    let folder = Program::Local {
        path: setup.allowed.path().to_owned(),
    };
    assert!(setup.executor.check(&folder, &RESOURCES).is_err());
}

#[tokio::test]
async fn gpus_and_images_are_refused() {
    let setup = Setup::new();
    let program = setup.script("train.sh", "echo ran");
    let local = Program::Local {
        path: program.clone(),
    };

    assert_eq!(setup.executor.name(), "process");
    assert_eq!(setup.executor.check(&local, &RESOURCES), Ok(()));
    assert_eq!(
        setup.executor.check(
            &local,
            &Resources {
                gpus: 1,
                ..RESOURCES
            }
        ),
        Err("the process executor cannot grant GPUs".to_owned())
    );
    let image = Program::Image {
        reference: format!("sha256:{}", "a".repeat(64)),
    };
    assert!(
        setup
            .executor
            .check(&image, &RESOURCES)
            .unwrap_err()
            .contains("only local programs")
    );

    let mut launch = setup.launch(program, &[]);
    launch.resources.gpus = 1;
    let (outcome, _) = run(&setup.executor, &launch).await;
    assert!(format!("{:#}", outcome.unwrap_err()).contains("cannot grant GPUs"));
}

#[tokio::test]
async fn choose_takes_the_first_executor_that_can_run_the_program() {
    let first = Setup::new();
    let second = Setup::new();
    let executors: Vec<Arc<dyn Executor>> = vec![first.executor.clone(), second.executor.clone()];
    let in_second = Program::Local {
        path: second.script("train.sh", "true"),
    };
    let in_first = Program::Local {
        path: first.script("train.sh", "true"),
    };

    let chosen = choose(&executors, &in_second, &RESOURCES).unwrap();
    assert!(Arc::ptr_eq(chosen, &executors[1]));
    let chosen = choose(&executors, &in_first, &RESOURCES).unwrap();
    assert!(Arc::ptr_eq(chosen, &executors[0]));

    let gpus = Resources {
        gpus: 2,
        ..RESOURCES
    };
    assert_eq!(
        choose(&executors, &in_first, &gpus).err(),
        Some(
            "process: the process executor cannot grant GPUs; process: the process executor cannot grant GPUs"
                .to_owned()
        )
    );
    assert!(choose(&[], &in_first, &RESOURCES).is_err());
}

#[tokio::test]
async fn a_run_cancelled_before_it_starts_does_not_start_the_program() {
    let setup = Setup::new();
    let program = setup.script("train.sh", "echo ran > \"$KEYNET_OUTPUT_DIR/ran\"");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let (sender, _receiver) = mpsc::channel(16);

    let outcome = setup
        .executor
        .run(&setup.launch(program, &[]), sender, cancel)
        .await
        .unwrap();

    assert_eq!(outcome.exit, Exit::Cancelled);
    assert!(!setup.output().join("ran").exists());
}
