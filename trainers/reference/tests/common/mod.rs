//! Shared by the integration tests: job folders with a generated dataset, running the
//! built binaries with a clean environment, reading their events.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const TRAINER: &str = env!("CARGO_BIN_EXE_keynet-reference-trainer");
pub const PROBE: &str = env!("CARGO_BIN_EXE_keynet-probe");

/// Only a safety net for a test that would otherwise hang: never reached when things work.
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

pub struct Job {
    _dir: TempDir,
    pub input: PathBuf,
    pub output: PathBuf,
    pub events: PathBuf,
}

impl Job {
    /// Empty input, output and events paths in a fresh temporary folder.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("input");
        let output = dir.path().join("output");
        std::fs::create_dir_all(&input).expect("mkdir input");
        std::fs::create_dir_all(&output).expect("mkdir output");
        let events = dir.path().join("events.jsonl");
        Self {
            _dir: dir,
            input,
            output,
            events,
        }
    }

    /// With the generated colour dataset (3 classes × `per_class`) in `input/dataset`.
    pub fn with_dataset(per_class: usize) -> Self {
        let job = Self::empty();
        keynet_reference_trainer::synthetic::write_colour_dataset(
            &job.input.join("dataset"),
            per_class,
            20,
            42,
        )
        .expect("dataset");
        job
    }

    pub fn command(&self, program: &str, vars: &[(&str, &str)], args: &[&str]) -> Command {
        let mut command = Command::new(program);
        // A clean environment: the host's variables must not leak into the job's config.
        command
            .env_clear()
            .env("KEYNET_INPUT_DIR", &self.input)
            .env("KEYNET_OUTPUT_DIR", &self.output)
            .env("KEYNET_EVENTS", &self.events)
            .envs(vars.iter().copied())
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// Runs to the end (output captured) and returns the status and the events.
    pub fn run(
        &self,
        program: &str,
        vars: &[(&str, &str)],
        args: &[&str],
    ) -> (ExitStatus, Vec<Value>) {
        let output = self.command(program, vars, args).output().expect("spawn");
        (output.status, self.events())
    }

    pub fn events(&self) -> Vec<Value> {
        read_events(&self.events)
    }

    pub fn raw_event_lines(&self) -> Vec<String> {
        match std::fs::read_to_string(&self.events) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// Every line must be a JSON object: the trainer never writes anything else.
pub fn read_events(path: &Path) -> Vec<Value> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    std::io::BufReader::new(file)
        .lines()
        .map(|line| {
            let line = line.expect("read line");
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|error| panic!("malformed event line {line:?}: {error}"));
            assert!(value.is_object(), "{line}");
            value
        })
        .collect()
}

pub fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| event["event"].as_str())
        .collect()
}

pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|event| event["event"] == kind)
        .collect()
}

/// `seq` is 1, 2, 3 … and every `ts` parses as RFC 3339.
pub fn assert_numbered_and_timestamped(events: &[Value]) {
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["seq"].as_u64(), Some(index as u64 + 1), "{event}");
        let ts = event["ts"]
            .as_str()
            .unwrap_or_else(|| panic!("no ts in {event}"));
        chrono::DateTime::parse_from_rfc3339(ts).unwrap_or_else(|error| panic!("ts {ts}: {error}"));
    }
}

/// Polls the events file until an event of `kind` appears; panics if the child exits
/// first (or, as a safety net only, after two minutes).
pub fn wait_for_event(child: &mut Child, events: &Path, kind: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let seen = read_events(events);
        if seen.iter().any(|event| event["event"] == kind) {
            return seen;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("exited with {status} before a {kind} event; events: {seen:?}");
        }
        assert!(
            started.elapsed() < GIVE_UP_AFTER,
            "no {kind} event; events: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills a child this test started and reaps it.
pub fn kill(mut child: Child) {
    child.kill().expect("kill");
    child.wait().expect("wait");
}
