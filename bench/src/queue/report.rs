//! The Markdown report: conditions, the two systems side by side against the targets, and
//! every round.

use crate::graphile::Peer;
use crate::machine::{Machine, percentile, sorted};
use crate::run::{Figures, Latency, Plan, Side};
use std::fmt::{Result as FmtResult, Write};

/// The pickup target: p50 under this many milliseconds.
const TARGET_P50_MS: f64 = 10.0;

pub struct Context<'a> {
    pub machine: &'a Machine,
    pub postgres: &'a str,
    pub peer: Option<&'a Peer>,
}

pub fn render(plan: &Plan, context: &Context<'_>, figures: &Figures) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, plan, context, figures);
    out
}

struct Summary {
    rate: f64,
    samples: Vec<f64>,
    commits: Vec<f64>,
}

impl Summary {
    fn of(side: &Side) -> Option<Self> {
        if side.throughput.is_empty() {
            return None;
        }
        let rates: Vec<f64> = side.throughput.iter().map(|t| t.per_second()).collect();
        let all: Vec<f64> = side
            .latency
            .iter()
            .flat_map(|l| l.samples_ms.iter().copied())
            .collect();
        let commits: Vec<f64> = side
            .latency
            .iter()
            .flat_map(|l| l.commit_ms.iter().copied())
            .collect();
        Some(Self {
            rate: median(&rates),
            samples: sorted(&all),
            commits: sorted(&commits),
        })
    }

    fn p(&self, p: f64) -> f64 {
        percentile(&self.samples, p)
    }

    fn max(&self) -> f64 {
        self.samples.last().copied().unwrap_or(f64::NAN)
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

fn write_report(
    out: &mut String,
    plan: &Plan,
    context: &Context<'_>,
    figures: &Figures,
) -> FmtResult {
    let machine = context.machine;
    machine.write_heading(out, "Queue")?;
    writeln!(
        out,
        "- database: {} on 127.0.0.1, one fresh database per system on the same server",
        context.postgres
    )?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before the run: {}",
        machine.load_average
    )?;
    match context.peer {
        Some(peer) => writeln!(
            out,
            "- peer: graphile-worker {} on Node.js {} (`{}`), default options but `concurrency`",
            peer.version,
            peer.node_version,
            peer.script.display()
        )?,
        None => writeln!(out, "- peer: not measured (--no-peer)")?,
    }
    writeln!(
        out,
        "- throughput: {} no-op tasks enqueued in one transaction while {} idle workers listen; \
         time from that commit until the last task is complete; median of {} rounds",
        plan.tasks, plan.concurrency, plan.rounds
    )?;
    writeln!(
        out,
        "- pickup latency: one task per transaction, {} ms apart, {} idle workers, poll \
         fallback at its default (Keynet 250 ms, graphile-worker 2 s); time from sending the \
         enqueuing transaction's COMMIT until the handler starts; {} samples per round after {} \
         unmeasured ones, {} rounds pooled",
        plan.spacing.as_millis(),
        plan.concurrency,
        plan.samples,
        plan.warmup_samples,
        plan.rounds
    )?;
    writeln!(
        out,
        "- rounds alternate the systems: Keynet throughput, graphile-worker throughput, Keynet \
         latency, graphile-worker latency\n"
    )?;

    let keynet = Summary::of(&figures.keynet);
    let graphile = Summary::of(&figures.graphile);
    let peer_name = context.peer.map_or("graphile-worker".to_string(), |p| {
        format!("graphile-worker {}", p.version)
    });
    writeln!(out, "##### Side by side\n")?;
    writeln!(out, "| measure | Keynet | {peer_name} | target | met |")?;
    writeln!(out, "|---|--:|--:|---|:-:|")?;
    let peer_cell = |f: &dyn Fn(&Summary) -> String| graphile.as_ref().map_or("–".to_string(), f);
    if let Some(k) = &keynet {
        let rate_met = graphile.as_ref().map(|g| k.rate >= g.rate);
        writeln!(
            out,
            "| throughput, tasks/s | {:.0} | {} | ≥ graphile-worker | {} |",
            k.rate,
            peer_cell(&|g| format!("{:.0}", g.rate)),
            rate_met.map_or("–", verdict)
        )?;
        writeln!(
            out,
            "| pickup p50 ms | {:.2} | {} | < {TARGET_P50_MS:.0} ms | {} |",
            k.p(50.0),
            peer_cell(&|g| format!("{:.2}", g.p(50.0))),
            verdict(k.p(50.0) < TARGET_P50_MS)
        )?;
        for p in [95.0, 99.0] {
            writeln!(
                out,
                "| pickup p{p:.0} ms | {:.2} | {} | | |",
                k.p(p),
                peer_cell(&|g| format!("{:.2}", g.p(p)))
            )?;
        }
        writeln!(
            out,
            "| pickup max ms | {:.2} | {} | | |",
            k.max(),
            peer_cell(&|g| format!("{:.2}", g.max()))
        )?;
        writeln!(
            out,
            "| pickup samples | {} | {} | | |",
            k.samples.len(),
            peer_cell(&|g| g.samples.len().to_string())
        )?;
        writeln!(
            out,
            "| of which COMMIT round trip, p50 ms | {:.2} | {} | | |",
            percentile(&k.commits, 50.0),
            peer_cell(&|g| format!("{:.2}", percentile(&g.commits, 50.0)))
        )?;
        let slow = |s: &Summary, over: f64| s.samples.iter().filter(|v| **v > over).count();
        writeln!(
            out,
            "| pickups over 100 ms (a missed wake-up waits for the poll) | {} | {} | | |",
            slow(k, 100.0),
            peer_cell(&|g| slow(g, 100.0).to_string())
        )?;
    }

    writeln!(out, "\n##### Every round\n")?;
    writeln!(
        out,
        "| round | Keynet s | Keynet tasks/s | peer s | peer tasks/s | Keynet p50 / p99 ms | peer p50 / p99 ms | Keynet `tasks` heap before latency MB |"
    )?;
    writeln!(out, "|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    let pair = |l: Option<&Latency>| {
        l.map_or("–".to_string(), |l| {
            let s = sorted(&l.samples_ms);
            format!("{:.2} / {:.2}", percentile(&s, 50.0), percentile(&s, 99.0))
        })
    };
    for round in 0..plan.rounds {
        let k = figures.keynet.throughput.get(round);
        let g = figures.graphile.throughput.get(round);
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            round + 1,
            k.map_or("–".into(), |t| format!("{:.2}", t.seconds)),
            k.map_or("–".into(), |t| format!("{:.0}", t.per_second())),
            g.map_or("–".into(), |t| format!("{:.2}", t.seconds)),
            g.map_or("–".into(), |t| format!("{:.0}", t.per_second())),
            pair(figures.keynet.latency.get(round)),
            pair(figures.graphile.latency.get(round)),
            figures
                .keynet
                .latency
                .get(round)
                .and_then(|l| l.heap_bytes)
                .map_or("–".into(), |b| format!("{:.1}", b as f64 / 1_048_576.0)),
        )?;
    }
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let values = sorted(values);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
