//! Every mode of the `keynet-probe` binary.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::Stdio;

use common::{Job, PROBE, assert_numbered_and_timestamped, kill, kinds, wait_for_event};
use serde_json::Value;

/// Never the public default target: tests stay on this machine.
const NO_PUBLIC: (&str, &str) = ("PROBE_PUBLIC_TARGET", "");

#[test]
fn sandbox_reports_what_the_process_can_do() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = listener.local_addr().expect("addr").to_string();
    let job = Job::empty();
    let (status, events) = job.run(
        PROBE,
        &[NO_PUBLIC, ("PROBE_TARGET", target.as_str())],
        &["sandbox"],
    );
    assert!(status.success(), "{status}");
    assert_numbered_and_timestamped(&events);
    assert_eq!(kinds(&events), vec!["log", "completed"]);
    let connections = events[0]["metadata"]["connections"]
        .as_array()
        .expect("connections");
    assert_eq!(connections.len(), 1, "only PROBE_TARGET was tried");
    assert_eq!(connections[0]["target"], target.as_str());

    let metrics = &events[1]["final_metrics"];
    assert_eq!(metrics["network"], 1, "the local listener is reachable");
    assert_eq!(metrics["tmp_writable"], 1);
    assert!(
        matches!(metrics["root_writable"].as_u64(), Some(0 | 1)),
        "{metrics}"
    );
    assert!(
        matches!(metrics["no_new_privs"].as_u64(), Some(0 | 1)),
        "{metrics}"
    );
    assert!(metrics["caps_effective"].is_u64(), "{metrics}");
}

#[test]
fn sandbox_without_a_reachable_target_reports_no_network() {
    // Bound then dropped: the port is closed, the connection is refused.
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let job = Job::empty();
    let target = closed.to_string();
    let (status, events) = job.run(
        PROBE,
        &[
            NO_PUBLIC,
            ("PROBE_MODE", "sandbox"),
            ("PROBE_TARGET", &target),
        ],
        &[],
    );
    assert!(status.success());
    assert_eq!(events[1]["final_metrics"]["network"], 0);
}

#[test]
fn hang_starts_and_never_finishes() {
    let job = Job::empty();
    let mut child = job.command(PROBE, &[], &["hang"]).spawn().expect("spawn");
    let seen = wait_for_event(&mut child, &job.events, "started");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "still running"
    );
    kill(child);
    assert_eq!(kinds(&seen), vec!["started"]);
}

#[test]
fn flood_writes_stdout_lines_and_no_event() {
    let job = Job::empty();
    let mut child = job
        .command(PROBE, &[], &["flood"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Kept open until the child is killed: closing the pipe is what ends a flood.
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let lines: Vec<String> = (&mut reader)
        .lines()
        .take(5000)
        .map(|line| line.expect("line"))
        .collect();
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "an endless flood"
    );
    kill(child);
    drop(reader);
    assert_eq!(lines.len(), 5000);
    assert!(lines.iter().all(|line| line.starts_with("flood line ")));
    assert!(!job.events.exists(), "no events at all");
}

#[test]
fn flood_with_a_count_stops() {
    let job = Job::empty();
    let output = job
        .command(PROBE, &[], &["flood", "25"])
        .output()
        .expect("run");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 25);
    assert!(!job.events.exists());
}

#[test]
fn crash_exits_3_without_completing() {
    let job = Job::empty();
    let (status, events) = job.run(PROBE, &[("PROBE_MODE", "crash")], &[]);
    assert_eq!(status.code(), Some(3));
    assert_numbered_and_timestamped(&events);
    assert_eq!(kinds(&events), vec!["started", "progress"]);
}

#[test]
fn quiet_success_exits_0_without_events() {
    let job = Job::empty();
    let (status, events) = job.run(PROBE, &[], &["quiet-success"]);
    assert!(status.success());
    assert!(events.is_empty());
}

#[test]
fn bad_events_mixes_malformed_lines_a_repeated_seq_and_valid_events() {
    let job = Job::empty();
    // Not `job.run`: that reads the events strictly, and these are meant to be broken.
    let status = job
        .command(PROBE, &[], &["bad-events"])
        .status()
        .expect("run");
    assert!(status.success());
    let lines = job.raw_event_lines();
    let valid: Vec<Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| {
            value["event"].is_string() && value["seq"].is_u64() && value["ts"].is_string()
        })
        .collect();
    assert!(lines.len() - valid.len() >= 4, "malformed lines: {lines:?}");
    let seqs: Vec<u64> = valid
        .iter()
        .filter_map(|event| event["seq"].as_u64())
        .collect();
    assert_eq!(seqs, vec![1, 1, 2, 3], "a repeated seq, then increasing");
    assert_eq!(
        kinds(&valid),
        vec!["started", "started", "progress", "completed"]
    );
}

#[test]
fn an_unknown_mode_is_refused() {
    let job = Job::empty();
    let (status, events) = job.run(PROBE, &[], &["teleport"]);
    assert_eq!(status.code(), Some(2));
    assert!(events.is_empty());
}
