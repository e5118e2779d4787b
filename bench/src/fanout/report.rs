//! The Markdown report of the fan-out run.

use crate::machine::{Machine, percentile, sorted};
use crate::run::{Figures, Plan};
use std::fmt::{Result as FmtResult, Write};

/// The target: event → last client p99 under this many milliseconds.
const TARGET_P99_MS: f64 = 100.0;

pub fn render(plan: &Plan, machine: &Machine, postgres: &str, figures: &[Figures]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, plan, machine, postgres, figures);
    out
}

fn write_report(
    out: &mut String,
    plan: &Plan,
    machine: &Machine,
    postgres: &str,
    figures: &[Figures],
) -> FmtResult {
    machine.write_heading(out, "Fan-out")?;
    writeln!(
        out,
        "- PostgreSQL: {postgres} on 127.0.0.1, a fresh database"
    )?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before the run: {}",
        machine.load_average
    )?;
    writeln!(
        out,
        "- {} graphql-ws subscribers to `jobEvents(jobId, afterSeq: 0)` of one RUNNING job, \
         all with the same user's token; {} warm-up events, then {} measured `progress` \
         events, each posted alone (`POST /api/v1/jobs/{{id}}/events`, job token) once the \
         previous one reached every subscriber, {} ms apart",
        plan.subscribers,
        plan.warmup_events,
        plan.events,
        plan.gap.as_millis()
    )?;
    writeln!(
        out,
        "- the platform (one HTTP worker per CPU, no background workers), the subscribers and \
         the poster share this process and the machine's CPUs; times are from sending the \
         POST\n"
    )?;
    writeln!(
        out,
        "| backend | connect s | POST p50 ms | first client p50 ms | last client p50 ms | p95 ms | p99 ms | max ms | all delivered | p99 < {TARGET_P99_MS:.0} ms |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|")?;
    for f in figures {
        let post = sorted(&f.events.iter().map(|e| e.post_ms).collect::<Vec<_>>());
        let first = sorted(&f.events.iter().map(|e| e.first_ms).collect::<Vec<_>>());
        let last = sorted(&f.events.iter().map(|e| e.last_ms).collect::<Vec<_>>());
        let delivered = f.events.iter().all(|e| e.received == plan.subscribers)
            && f.failures == 0
            && f.unexpected == 0;
        let p99 = percentile(&last, 99.0);
        writeln!(
            out,
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
            f.backend.describe(),
            f.connect_seconds,
            percentile(&post, 50.0),
            percentile(&first, 50.0),
            percentile(&last, 50.0),
            percentile(&last, 95.0),
            p99,
            last.last().copied().unwrap_or(f64::NAN),
            if delivered { "yes" } else { "**no**" },
            if p99 < TARGET_P99_MS { "yes" } else { "**no**" },
        )?;
    }
    for f in figures {
        let short: usize = f
            .events
            .iter()
            .map(|e| plan.subscribers.saturating_sub(e.received))
            .sum();
        if short > 0 || f.failures > 0 || f.unexpected > 0 {
            writeln!(
                out,
                "\n{}: {short} deliveries missing after {} s, {} subscriptions ended early, {} unexpected messages",
                f.backend.name(),
                10,
                f.failures,
                f.unexpected
            )?;
        }
    }
    Ok(())
}
