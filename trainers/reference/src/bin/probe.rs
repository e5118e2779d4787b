//! `keynet-probe`: a trainer that misbehaves or inspects its sandbox on purpose, for the
//! platform's executor and relay tests. Mode from `--mode <mode>` (a hyperparameter, as
//! the platform passes them), the first argument, or `PROBE_MODE`:
//!
//! - `sandbox`: a `log` with details, then `completed` whose `final_metrics` say what the
//!   job could do: `network`, `root_writable`, `tmp_writable` (0/1), `caps_effective`
//!   (CapEff from /proc/self/status as a number), `no_new_privs`.
//! - `hang`: `started`, then sleeps forever.
//! - `flood [count]`: lines on stdout as fast as possible (forever, or `count` lines, also
//!   from `PROBE_COUNT`), and no event at all.
//! - `crash`: `started`, `progress`, then exit status 3 without `completed`.
//! - `quiet-success`: exit status 0 without any event.
//! - `bad-events`: malformed lines and a repeated `seq`, then valid
//!   `started`/`progress`/`completed`.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use keynet_reference_trainer::config;
use keynet_reference_trainer::events::{EventSink, Level, now_rfc3339};
use serde_json::{Value, json};

/// Tried unless `PROBE_PUBLIC_TARGET` names another address (empty: skip it).
const DEFAULT_PUBLIC_TARGET: &str = "1.1.1.1:53";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1).cloned())
    };
    let positional = |at: usize| args.get(at).filter(|arg| !arg.starts_with("--")).cloned();
    let mode = flag("--mode")
        .or_else(|| positional(0))
        .or_else(|| std::env::var("PROBE_MODE").ok())
        .unwrap_or_default();
    let env = |name: &str| std::env::var(name).ok();
    let events_path = config::events_path(&env);
    let result = match mode.as_str() {
        "sandbox" => open(&events_path).and_then(|mut sink| sandbox(&mut sink)),
        "hang" => open(&events_path).and_then(|mut sink| hang(&mut sink)),
        "flood" => flood(
            flag("--count")
                .or_else(|| positional(1))
                .or_else(|| std::env::var("PROBE_COUNT").ok()),
        ),
        "crash" => return crash(&events_path),
        "quiet-success" => Ok(()),
        "bad-events" => bad_events(&events_path),
        other => {
            eprintln!(
                "unknown probe mode {other:?}: use sandbox, hang, flood, crash, quiet-success or bad-events"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("probe {mode}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn open(path: &Path) -> io::Result<EventSink> {
    EventSink::open(path)
}

fn sandbox(sink: &mut EventSink) -> io::Result<()> {
    let mut targets = Vec::new();
    match std::env::var("PROBE_PUBLIC_TARGET") {
        Ok(target) if target.trim().is_empty() => {}
        Ok(target) => targets.push(target),
        Err(_) => targets.push(DEFAULT_PUBLIC_TARGET.to_string()),
    }
    if let Ok(target) = std::env::var("PROBE_TARGET")
        && !target.trim().is_empty()
    {
        targets.push(target);
    }
    let connections: Vec<Value> = targets
        .iter()
        .map(|target| {
            let outcome = connect(target.trim());
            json!({ "target": target, "connected": outcome.is_ok(), "error": outcome.err() })
        })
        .collect();
    let network = connections.iter().any(|c| c["connected"] == true);

    let system_dir = ["/usr", "/bin"]
        .into_iter()
        .find(|dir| Path::new(dir).is_dir());
    let mut writes = vec![("/".to_string(), try_create(Path::new("/")))];
    if let Some(dir) = system_dir {
        writes.push((dir.to_string(), try_create(Path::new(dir))));
    }
    let root_writable = writes.iter().any(|(_, outcome)| outcome.is_ok());
    let temp = std::env::temp_dir();
    let tmp_outcome = try_create(&temp);

    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps_effective =
        status_field(&status, "CapEff").and_then(|hex| u64::from_str_radix(hex, 16).ok());
    let no_new_privs = status_field(&status, "NoNewPrivs").and_then(|v| v.parse::<u64>().ok());

    let write_report: Vec<Value> = writes
        .iter()
        .chain(std::iter::once(&(temp.display().to_string(), tmp_outcome.clone())))
        .map(|(dir, outcome)| json!({ "dir": dir, "writable": outcome.is_ok(), "error": outcome.clone().err() }))
        .collect();
    sink.log(
        Level::Info,
        "sandbox probe",
        Some(json!({
            "connections": connections,
            "writes": write_report,
            "uid": status_field(&status, "Uid"),
            "cap_eff_hex": status_field(&status, "CapEff"),
            "seccomp": status_field(&status, "Seccomp"),
        })),
    )?;
    sink.emit(
        "completed",
        json!({
            "best_epoch": 0,
            "best_metric": "network",
            "best_metric_value": u8::from(network),
            "final_metrics": {
                "network": u8::from(network),
                "root_writable": u8::from(root_writable),
                "tmp_writable": u8::from(tmp_outcome.is_ok()),
                // Absent /proc (or an odd kernel) reads as -1 rather than a false 0.
                "caps_effective": caps_effective.map_or(json!(-1), |caps| json!(caps)),
                "no_new_privs": no_new_privs.map_or(json!(-1), |flag| json!(flag)),
            },
        }),
    )
}

/// A TCP connection attempt; `host:port` names need a resolver, which a scratch image
/// lacks, so literal addresses are the reliable form.
fn connect(target: &str) -> Result<(), String> {
    let addresses: Vec<SocketAddr> = match target.parse::<SocketAddr>() {
        Ok(address) => vec![address],
        Err(_) => target
            .to_socket_addrs()
            .map_err(|error| format!("resolve: {error}"))?
            .collect(),
    };
    let mut last_error = "no address".to_string();
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(error) => last_error = error.to_string(),
        }
    }
    Err(last_error)
}

/// Creates and removes a file in `dir`.
fn try_create(dir: &Path) -> Result<(), String> {
    let path = dir.join(format!(".keynet-probe-{}", std::process::id()));
    std::fs::write(&path, b"probe").map_err(|error| error.to_string())?;
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// The value of `Name:\tvalue` in /proc/self/status.
fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim())
    })
}

fn hang(sink: &mut EventSink) -> io::Result<()> {
    sink.emit("started", json!({ "total_epochs": 1 }))?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn flood(count: Option<String>) -> io::Result<()> {
    let limit = match count {
        Some(text) => Some(text.trim().parse::<u64>().map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("count {text:?}: {error}"),
            )
        })?),
        None => None,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = 0u64;
    while limit.is_none_or(|limit| line < limit) {
        line += 1;
        // A closed pipe ends the flood: that is how a reader stops it.
        if let Err(error) = writeln!(
            out,
            "flood line {line} ................................................................"
        ) {
            return if error.kind() == io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(error)
            };
        }
    }
    out.flush()
}

fn crash(events_path: &Path) -> ExitCode {
    let outcome = open(events_path).and_then(|mut sink| {
        sink.emit("started", json!({ "total_epochs": 3 }))?;
        sink.emit(
            "progress",
            json!({ "epoch": 1, "total_epochs": 3, "metrics": { "loss": 1.0 } }),
        )
    });
    if let Err(error) = outcome {
        eprintln!("probe crash: {error}");
    }
    eprintln!("probe crash: exiting with status 3 on purpose");
    ExitCode::from(3)
}

/// Raw lines, not through `EventSink`, because the point is to break its rules.
fn bad_events(events_path: &Path) -> io::Result<()> {
    let ts = now_rfc3339();
    let valid = |event: &str, seq: u64, fields: Value| -> String {
        let mut object = fields;
        object["event"] = json!(event);
        object["seq"] = json!(seq);
        object["ts"] = json!(ts);
        object.to_string()
    };
    let started = valid("started", 1, json!({ "total_epochs": 1 }));
    let lines = [
        "this is not json".to_string(),
        r#"{"event": "progress", "seq": 1, "epoch": 1"#.to_string(),
        "[1, 2, 3]".to_string(),
        r#"{"seq": 1, "ts": "2020-01-01T00:00:00Z", "total_epochs": 1}"#.to_string(),
        r#"{"event": "started", "total_epochs": 1}"#.to_string(),
        String::new(),
        started.clone(),
        // The repeated seq: a relay that retries may deliver a line twice.
        started,
        valid(
            "progress",
            2,
            json!({ "epoch": 1, "total_epochs": 1, "metrics": { "loss": 0.5, "accuracy": 0.75 } }),
        ),
        valid(
            "completed",
            3,
            json!({
                "best_epoch": 1,
                "best_metric": "accuracy",
                "best_metric_value": 0.75,
                "final_metrics": { "loss": 0.5, "accuracy": 0.75 },
            }),
        ),
    ];
    if let Some(parent) = events_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(events_path)?;
    for line in lines {
        file.write_all(format!("{line}\n").as_bytes())?;
    }
    file.flush()
}
