//! What the machine looked like when a run started, the heading and the percentiles of the
//! reports, for `queue_bench`, `fanout_bench`, `scan_bench`, `push_bench` and
//! `ledger_bench` (shared by `#[path]`, as
//! `import_bench` shares its modules).

pub struct Machine {
    pub date: String,
    pub command: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub load_average: String,
    pub profile: &'static str,
}

impl Machine {
    pub fn capture() -> Self {
        Self {
            date: utc_date(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model: proc_field("/proc/cpuinfo", "model name")
                .unwrap_or_else(|| "unknown CPU".into()),
            load_average: load_average(),
            profile: if cfg!(debug_assertions) {
                "debug build (not representative: use --profile production)"
            } else {
                "optimized build"
            },
        }
    }

    /// The head of a run's report: its name and date, the command, and the machine.
    pub fn write_heading(&self, out: &mut String, run: &str) -> std::fmt::Result {
        use std::fmt::Write as _;
        writeln!(out, "#### {run} run of {}\n", self.date)?;
        writeln!(out, "- command: `{}`", self.command)?;
        writeln!(
            out,
            "- machine: {} CPUs ({}), {}",
            self.cpus, self.cpu_model, self.profile
        )
    }
}

/// The 1, 5 and 15-minute load averages: other work on the machine moves every figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|line| {
            line.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The value of the first `name: value` line of a /proc file.
fn proc_field(path: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|line| line.starts_with(name))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// `date -u`, so the bench needs no date crate of its own.
fn utc_date() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown date".into())
}

/// Nearest-rank percentile of sorted values (the graphile-worker script computes the same).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values
}
