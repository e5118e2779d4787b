//! The Docker executor on the real engine: the trainer contract (mounts, events, outputs,
//! environment, arguments, exit codes), the isolation of untrusted containers (read-only
//! input and root, no network, no capabilities, no new privileges, pids and memory limits),
//! the wall-clock limit, cancellation, the log cap, and that no container outlives its run.
//! The workloads run in a busybox image built `FROM scratch` (see keynet_testkit::docker).

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, ContainerSummary, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveImageOptions, TagImageOptions,
};
use keynet_testkit::docker::{BUSYBOX_BINARY, BUSYBOX_TAG, build_scratch_image, busybox_image};
use keynet_workers::executor::{
    DockerExecutor, Executor, Exit, JOB_LABEL, Launch, LogLine, LogStream, Outcome, Program,
    Resources,
};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A job's folders on the host and its unique id.
struct Job {
    _dir: TempDir,
    id: String,
    input: PathBuf,
    output: PathBuf,
    events: PathBuf,
}

impl Job {
    fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        let output = dir.path().join("output");
        let events = dir.path().join("events.jsonl");
        std::fs::create_dir_all(input.join("dataset")).unwrap();
        std::fs::write(
            input.join("dataset/splits.json"),
            r#"{"train":[1],"val":[2]}"#,
        )
        .unwrap();
        std::fs::create_dir(&output).unwrap();
        std::fs::write(&events, "").unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            id: format!("test-{name}-{}-{nanos}", std::process::id()),
            _dir: dir,
            input,
            output,
            events,
        }
    }

    /// Runs `script` with the busybox image's `/bin/sh -c`; `args` become `$1…`.
    fn launch(&self, image: &str, script: &str, args: &[&str]) -> Launch {
        let mut all_args = vec![script.to_owned(), "trainer".to_owned()];
        all_args.extend(args.iter().map(|arg| (*arg).to_owned()));
        Launch {
            job_id: self.id.clone(),
            attempt: 1,
            program: Program::Image {
                reference: image.to_owned(),
            },
            args: all_args,
            env: vec![("JOB_ID".to_owned(), self.id.clone())],
            input_dir: self.input.clone(),
            output_dir: self.output.clone(),
            events_file: self.events.clone(),
            resources: Resources {
                gpus: 0,
                cpus: 1.0,
                memory_mb: 128,
                pids: 64,
            },
            max_runtime: Duration::from_secs(120),
            log_limit_bytes: 1024 * 1024,
        }
    }
}

async fn executor() -> Arc<DockerExecutor> {
    Arc::new(DockerExecutor::connect().await.unwrap())
}

/// Runs to the end and collects the forwarded lines.
async fn run(
    executor: &DockerExecutor,
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

async fn job_containers(docker: &Docker, job_id: &str) -> Vec<ContainerSummary> {
    let filters = HashMap::from([("label".to_owned(), vec![format!("{JOB_LABEL}={job_id}")])]);
    docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .unwrap()
}

async fn assert_no_container(executor: &DockerExecutor, job: &Job) {
    let left = job_containers(executor.client(), &job.id).await;
    assert!(left.is_empty(), "containers left behind: {left:?}");
}

/// Waits (bounded) until the engine has no container of the job.
async fn wait_until_no_container(executor: &DockerExecutor, job: &Job) {
    for _ in 0..150 {
        if job_containers(executor.client(), &job.id).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_no_container(executor, job).await;
}

/// Starts a run in a task; returns the task, the log receiver and the cancel token after
/// the workload printed `ready`.
async fn start_until_ready(
    executor: &Arc<DockerExecutor>,
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
            .expect("the workload ended before printing ready");
        if line.text == "ready" {
            break;
        }
    }
    (task, receiver, cancel)
}

#[tokio::test]
async fn a_trainer_writes_events_and_outputs_and_exits_zero() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("success");
    let script = r#"
        echo '{"event":"started","seq":1,"total_epochs":1}' >> "$KEYNET_EVENTS"
        echo weights > "$KEYNET_OUTPUT_DIR/best.pt"
        cat "$KEYNET_INPUT_DIR/dataset/splits.json"; echo
        echo '{"event":"completed","seq":2}' >> "$KEYNET_EVENTS"
        echo done
    "#;
    let (outcome, lines) = run(&executor, &job.launch(&image, script, &[])).await;
    let outcome = outcome.unwrap();

    assert_eq!(outcome.exit, Exit::Code(0));
    assert!(!outcome.logs_truncated);
    assert_eq!(stdout(&lines), vec![r#"{"train":[1],"val":[2]}"#, "done"]);
    assert_eq!(
        std::fs::read_to_string(&job.events).unwrap(),
        "{\"event\":\"started\",\"seq\":1,\"total_epochs\":1}\n{\"event\":\"completed\",\"seq\":2}\n"
    );
    assert_eq!(
        std::fs::read_to_string(job.output.join("best.pt")).unwrap(),
        "weights\n"
    );
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn the_exit_code_and_stderr_are_propagated() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("exit-code");
    let (outcome, lines) = run(
        &executor,
        &job.launch(&image, "echo out; echo oops >&2; exit 3", &[]),
    )
    .await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(3));
    assert_eq!(stdout(&lines), vec!["out"]);
    assert_eq!(texts(&lines, LogStream::Stderr), vec!["oops"]);
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn the_input_mount_is_read_only() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("input-ro");
    let script = r#"
        touch "$KEYNET_INPUT_DIR/new" 2>/dev/null && echo created || echo create-refused
        echo x >> "$KEYNET_INPUT_DIR/dataset/splits.json" 2>/dev/null && echo appended || echo append-refused
    "#;
    let (outcome, lines) = run(&executor, &job.launch(&image, script, &[])).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    assert_eq!(stdout(&lines), vec!["create-refused", "append-refused"]);
    assert!(!job.input.join("new").exists());
    assert_eq!(
        std::fs::read_to_string(job.input.join("dataset/splits.json")).unwrap(),
        r#"{"train":[1],"val":[2]}"#
    );
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn the_root_filesystem_is_read_only_and_tmp_is_writable() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("rootfs");
    let script = r#"
        touch /new-file 2>/dev/null && echo root-writable || echo root-read-only
        touch /bin/new-file 2>/dev/null && echo bin-writable || echo bin-read-only
        echo scratch > /tmp/file && cat /tmp/file
    "#;
    let (outcome, lines) = run(&executor, &job.launch(&image, script, &[])).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    assert_eq!(
        stdout(&lines),
        vec!["root-read-only", "bin-read-only", "scratch"]
    );
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn the_container_has_no_network_but_loopback() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("network");
    let (outcome, lines) = run(&executor, &job.launch(&image, "cat /proc/net/dev", &[])).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    let interfaces: Vec<&str> = stdout(&lines)
        .into_iter()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, _)| name.trim())
        .collect();
    assert_eq!(interfaces, vec!["lo"], "{lines:?}");
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn capabilities_are_dropped_and_no_new_privileges_is_set() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("caps");
    let (outcome, lines) = run(
        &executor,
        &job.launch(
            &image,
            "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status",
            &[],
        ),
    )
    .await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    let status: HashMap<&str, &str> = stdout(&lines)
        .into_iter()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name, value.trim()))
        .collect();
    assert_eq!(status.get("CapEff"), Some(&"0000000000000000"), "{lines:?}");
    assert_eq!(status.get("CapPrm"), Some(&"0000000000000000"), "{lines:?}");
    assert_eq!(status.get("CapBnd"), Some(&"0000000000000000"), "{lines:?}");
    assert_eq!(status.get("NoNewPrivs"), Some(&"1"), "{lines:?}");
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn the_environment_and_arguments_arrive() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("env");
    let mut launch = job.launch(
        &image,
        r#"
            echo "job=$JOB_ID epochs=$EPOCHS"
            echo "input=$KEYNET_INPUT_DIR output=$KEYNET_OUTPUT_DIR events=$KEYNET_EVENTS"
            for arg in "$@"; do echo "arg=$arg"; done
        "#,
        &["--lr", "0.01", "two words"],
    );
    launch.env.push(("EPOCHS".to_owned(), "3".to_owned()));
    // The executor owns the contract's paths.
    launch
        .env
        .push(("KEYNET_OUTPUT_DIR".to_owned(), "/elsewhere".to_owned()));
    let (outcome, lines) = run(&executor, &launch).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    assert_eq!(
        stdout(&lines),
        vec![
            format!("job={} epochs=3", job.id).as_str(),
            "input=/keynet/input output=/keynet/output events=/keynet/events.jsonl",
            "arg=--lr",
            "arg=0.01",
            "arg=two words",
        ]
    );
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn a_hanging_container_is_stopped_at_max_runtime_and_removed() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("timeout");
    let mut launch = job.launch(&image, "echo started; sleep 600", &[]);
    launch.max_runtime = Duration::from_secs(3);
    let (outcome, lines) = run(&executor, &launch).await;

    assert_eq!(outcome.unwrap().exit, Exit::TimedOut);
    assert_eq!(stdout(&lines), vec!["started"]);
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn cancelling_stops_and_removes_the_container() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("cancel");
    let launch = job.launch(&image, "echo ready; sleep 600", &[]);
    let (task, _logs, cancel) = start_until_ready(&executor, launch).await;
    assert_eq!(job_containers(executor.client(), &job.id).await.len(), 1);

    cancel.cancel();
    let outcome = task.await.unwrap().unwrap();

    assert_eq!(outcome.exit, Exit::Cancelled);
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn dropping_a_run_removes_its_container() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("dropped");
    let launch = job.launch(&image, "echo ready; sleep 600", &[]);
    let (task, _logs, _cancel) = start_until_ready(&executor, launch).await;

    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    wait_until_no_container(&executor, &job).await;
}

#[tokio::test]
async fn a_flood_of_output_is_capped_and_the_run_completes() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("flood");
    let flood_line = "a line of flood output";
    let mut launch = job.launch(
        &image,
        &format!(
            "yes '{flood_line}' | head -n 200000; echo finished > \"$KEYNET_OUTPUT_DIR/finished\""
        ),
        &[],
    );
    launch.log_limit_bytes = 4096;
    let (outcome, lines) = run(&executor, &launch).await;
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
        std::fs::read_to_string(job.output.join("finished")).unwrap(),
        "finished\n"
    );
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn a_leftover_container_of_the_job_is_removed_before_the_run() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("leftover");
    let docker = executor.client();
    // What a crashed worker leaves: a running container of the same job and attempt.
    let leftover = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(format!("keynet-job-{}-1", job.id)),
                ..Default::default()
            }),
            ContainerCreateBody {
                image: Some(image.clone()),
                cmd: Some(vec!["sleep 600".to_owned()]),
                labels: Some(HashMap::from([(JOB_LABEL.to_owned(), job.id.clone())])),
                host_config: Some(HostConfig {
                    network_mode: Some("none".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    docker.start_container(&leftover.id, None).await.unwrap();

    let (outcome, lines) = run(&executor, &job.launch(&image, "echo fresh", &[])).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    assert_eq!(stdout(&lines), vec!["fresh"]);
    let inspected = docker.inspect_container(&leftover.id, None).await;
    assert!(
        matches!(
            inspected,
            Err(DockerError::DockerResponseServerError {
                status_code: 404,
                ..
            })
        ),
        "{inspected:?}"
    );
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn the_pids_limit_stops_a_fork_flood() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("pids");
    let mut launch = job.launch(
        &image,
        // The subshell gives up at the first failed fork; the count uses no fork.
        "( for i in $(seq 200); do sleep 30 & done ) 2>/dev/null; set -- /proc/[0-9]*; echo \"processes=$#\"",
        &[],
    );
    launch.resources.pids = 20;
    let (outcome, lines) = run(&executor, &launch).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    let processes: usize = stdout(&lines)
        .iter()
        .find_map(|line| line.strip_prefix("processes="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(processes <= 20, "{processes} processes ran");
    assert!(processes > 1, "no background process started");
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn resource_limits_and_isolation_are_set_on_the_container() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("limits");
    let mut launch = job.launch(&image, "echo ready; sleep 600", &[]);
    launch.resources = Resources {
        gpus: 0,
        cpus: 0.5,
        memory_mb: 64,
        pids: 32,
    };
    launch.attempt = 2;
    let (task, _logs, cancel) = start_until_ready(&executor, launch).await;

    let containers = job_containers(executor.client(), &job.id).await;
    assert_eq!(containers.len(), 1);
    let id = containers[0].id.clone().unwrap();
    let inspected = executor
        .client()
        .inspect_container(&id, None)
        .await
        .unwrap();
    cancel.cancel();

    assert_eq!(
        inspected.name.as_deref(),
        Some(format!("/keynet-job-{}-2", job.id).as_str())
    );
    let labels = inspected.config.unwrap().labels.unwrap();
    assert_eq!(labels.get("ai.keynet.job"), Some(&job.id));
    assert_eq!(
        labels.get("ai.keynet.attempt").map(String::as_str),
        Some("2")
    );
    let host = inspected.host_config.unwrap();
    assert_eq!(host.memory, Some(64 * 1024 * 1024));
    assert_eq!(host.memory_swap, Some(64 * 1024 * 1024));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.pids_limit, Some(32));
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
    assert!(
        host.security_opt
            .unwrap_or_default()
            .iter()
            .any(|option| option.starts_with("no-new-privileges")),
    );
    assert!(host.tmpfs.unwrap_or_default().contains_key("/tmp"));
    let mounts = inspected.mounts.unwrap();
    let read_only = |target: &str| {
        mounts
            .iter()
            .find(|mount| mount.destination.as_deref() == Some(target))
            .map(|mount| !mount.rw.unwrap_or(true))
    };
    assert_eq!(read_only("/keynet/input"), Some(true));
    assert_eq!(read_only("/keynet/output"), Some(false));
    assert_eq!(read_only("/keynet/events.jsonl"), Some(false));

    assert_eq!(task.await.unwrap().unwrap().exit, Exit::Cancelled);
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn the_memory_limit_applies_inside_the_container() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("memory");
    let mut launch = job.launch(
        &image,
        // cgroup v2, else v1.
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
        &[],
    );
    launch.resources.memory_mb = 64;
    let (outcome, lines) = run(&executor, &launch).await;

    assert_eq!(outcome.unwrap().exit, Exit::Code(0));
    assert_eq!(stdout(&lines), vec!["67108864"]);
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn check_refuses_local_programs_gpus_and_mutable_tags() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let resources = Resources {
        gpus: 0,
        cpus: 1.0,
        memory_mb: 128,
        pids: 64,
    };
    let pinned = Program::Image {
        reference: image.clone(),
    };

    assert_eq!(executor.name(), "docker");
    assert_eq!(executor.check(&pinned, &resources), Ok(()));
    let local = Program::Local {
        path: PathBuf::from("/bin/true"),
    };
    assert!(
        executor
            .check(&local, &resources)
            .unwrap_err()
            .contains("only container images")
    );
    let tag = Program::Image {
        reference: BUSYBOX_TAG.to_owned(),
    };
    assert!(
        executor
            .check(&tag, &resources)
            .unwrap_err()
            .contains("neither an image id")
    );
    if !executor.has_gpus() {
        let gpus = Resources {
            gpus: 1,
            ..resources
        };
        assert_eq!(
            executor.check(&pinned, &gpus),
            Err("no GPU on this Docker engine".to_owned())
        );
    }
}

#[tokio::test]
async fn a_missing_image_is_a_platform_error() {
    let executor = executor().await;
    let job = Job::new("missing-image");
    let missing = format!("sha256:{}", "0".repeat(64));
    let (outcome, lines) = run(&executor, &job.launch(&missing, "true", &[])).await;

    let error = outcome.unwrap_err();
    assert!(
        format!("{error:#}").contains("creating the container"),
        "{error:#}"
    );
    assert!(lines.is_empty());
    assert_no_container(&executor, &job).await;
}

#[tokio::test]
async fn inspect_image_resolves_a_tag_to_its_id_and_entrypoint() {
    let executor = executor().await;
    let tag = format!("keynet-test-inspect:{}", std::process::id());
    let id = build_scratch_image(
        &tag,
        &[(PathBuf::from(BUSYBOX_BINARY), "/bin/busybox")],
        &["/bin/busybox", "echo", "hello \"world\""],
    )
    .await
    .unwrap();

    let info = executor.inspect_image(&tag).await.unwrap();
    assert_eq!(info.id, id);
    assert!(info.id.starts_with("sha256:"));
    assert_eq!(
        info.entrypoint,
        vec!["/bin/busybox", "echo", "hello \"world\""]
    );
    assert!(info.cmd.is_empty());
    assert_eq!(executor.inspect_image(&id).await.unwrap().id, id);
    assert!(
        executor
            .inspect_image("keynet-test-absent:nope")
            .await
            .is_err()
    );

    executor
        .client()
        .remove_image(
            &tag,
            Some(RemoveImageOptions {
                force: true,
                ..Default::default()
            }),
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_run_cancelled_before_it_starts_creates_no_container() {
    let (executor, image) = (executor().await, busybox_image().await.unwrap());
    let job = Job::new("cancelled-early");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let (sender, _receiver) = mpsc::channel(16);

    let outcome = executor
        .run(&job.launch(&image, "echo ran", &[]), sender, cancel)
        .await
        .unwrap();

    assert_eq!(outcome.exit, Exit::Cancelled);
    assert_no_container(&executor, &job).await;
}

/// What a crashed worker loaded (an image with only the platform's `keynet-loaded` mark)
/// is swept once its grace has passed; an image the operator tagged is never touched.
#[tokio::test]
async fn the_sweep_removes_images_the_platform_loaded_and_left() {
    let executor = executor().await;
    let docker = executor.client();
    let built = format!("keynet-test-leftover:{}", std::process::id());
    let id = build_scratch_image(
        &built,
        &[(PathBuf::from(BUSYBOX_BINARY), "/bin/busybox")],
        &["/bin/busybox", "true"],
    )
    .await
    .unwrap();
    let hex = id.strip_prefix("sha256:").unwrap();
    docker
        .tag_image(
            &id,
            Some(TagImageOptions {
                repo: Some("keynet-loaded".into()),
                tag: Some(hex.into()),
            }),
        )
        .await
        .unwrap();
    docker
        .remove_image(&built, None::<RemoveImageOptions>, None)
        .await
        .unwrap();
    let operators = busybox_image().await.unwrap();

    // Marked a moment ago: another process may be about to run it.
    executor
        .sweep_loaded_images(chrono::Duration::minutes(10))
        .await;
    assert!(docker.inspect_image(&id).await.is_ok());

    executor.sweep_loaded_images(chrono::Duration::zero()).await;
    assert!(
        matches!(
            docker.inspect_image(&id).await,
            Err(DockerError::DockerResponseServerError {
                status_code: 404,
                ..
            })
        ),
        "the leftover is gone"
    );
    assert!(docker.inspect_image(&operators).await.is_ok());
}
