//! The Markdown report: conditions, the two modes side by side against the targets at each
//! statement size, and every round.

use crate::machine::{Machine, load_average, percentile, sorted};
use crate::run::{Figures, ORGS, Plan, Size};
use std::fmt::{Result as FmtResult, Write};

/// The targets: events/s through the ledger (printed as "≥ 10,000"), and its share
/// of the plain rate.
const TARGET_RATE: f64 = 10_000.0;
const TARGET_RATIO: f64 = 0.5;

pub fn render(plan: &Plan, machine: &Machine, postgres: &str, figures: &Figures) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, plan, machine, postgres, figures);
    out
}

/// Nearest-rank median: the middle round of an odd number.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    percentile(&sorted(&values.collect::<Vec<_>>()), 50.0)
}

fn verdict(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

fn write_report(
    out: &mut String,
    plan: &Plan,
    machine: &Machine,
    postgres: &str,
    figures: &Figures,
) -> FmtResult {
    machine.write_heading(out, "Ledger ingest")?;
    writeln!(
        out,
        "- database: {postgres} on 127.0.0.1, a fresh database migrated by the platform, a pool of {} connections opened with the platform's options",
        plan.pool_size()
    )?;
    writeln!(
        out,
        "- load average (1, 5, 15 min): {} before the run, {} after",
        machine.load_average,
        load_average()
    )?;
    writeln!(out, "- server settings: {}", figures.settings.join(", "))?;
    writeln!(
        out,
        "- `usage_events` indexes, each written by every insert: {}",
        figures
            .indexes
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(
        out,
        "- {} writers (Tokio tasks) released together, each sending its statements one after another; time from the release until the last writer is done",
        plan.writers
    )?;
    writeln!(
        out,
        "- facts spread over {ORGS} organizations: a training attempt's GPU-seconds and CPU-seconds, then an inference request (keys as the platform's metering makes them)"
    )?;
    writeln!(
        out,
        "- **dedup**: `keynet_billing::ledger::record` (`INSERT … {}`); {} % of the distinct facts are sent a second time, half of them (or more) a copy of facts another writer sends in its statement of the same rank, the rest a writer's own fact from one of its 20 previous statements; events/s counts every fact offered, re-sends included",
        figures.check.ledger_suffix, plan.resent_percent
    )?;
    writeln!(
        out,
        "- **plain**: the same statement without `ON CONFLICT` (the SQL text checked identical but for that clause), the distinct facts once each, the same writers, the same facts per statement"
    )?;
    writeln!(
        out,
        "- each measurement starts on an emptied table (`TRUNCATE … CASCADE`, then `CHECKPOINT`) and is checked after: the statements reported exactly the distinct facts as new, and the table holds that many rows, that many distinct keys and the facts' total quantity (a mismatch stops the run)"
    )?;
    writeln!(
        out,
        "- rounds: {}; in each, both modes at each statement size, dedup first in odd rounds and plain first in even ones; the figures are medians over the rounds, the ratios are those of the medians",
        plan.rounds
    )?;

    writeln!(
        out,
        "- statement check: {} bind parameters per fact, so one call of `ledger::record` takes at most {} facts (PostgreSQL's limit is 65,535 per statement)\n",
        figures.check.parameters_per_fact,
        65_535 / figures.check.parameters_per_fact.max(1)
    )?;
    writeln!(out, "##### Side by side\n")?;
    writeln!(out, "| measure | dedup | plain | target | met |")?;
    writeln!(out, "|---|--:|--:|---|:-:|")?;
    for size in &figures.sizes {
        write_size(out, size)?;
    }

    writeln!(out, "\n##### Every round\n")?;
    writeln!(
        out,
        "| round | facts per statement | first | dedup s | dedup events/s | plain s | plain events/s | dedup / plain | statements dedup / plain | own facts another writer's copy stored first, at least |"
    )?;
    writeln!(out, "|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|")?;
    for round in 0..plan.rounds {
        for size in &figures.sizes {
            let Some(r) = size.rounds.get(round) else {
                continue;
            };
            writeln!(
                out,
                "| {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} | {} / {} | {} |",
                round + 1,
                size.batch,
                if r.dedup_first { "dedup" } else { "plain" },
                r.dedup.seconds,
                r.dedup.offered_per_second(),
                r.plain.seconds,
                r.plain.offered_per_second(),
                r.dedup.offered_per_second() / r.plain.offered_per_second(),
                r.dedup.statements,
                r.plain.statements,
                r.dedup.beaten,
            )?;
        }
    }
    Ok(())
}

fn write_size(out: &mut String, size: &Size) -> FmtResult {
    let rounds = &size.rounds;
    let dedup_offered = median(rounds.iter().map(|r| r.dedup.offered_per_second()));
    let dedup_distinct = median(rounds.iter().map(|r| r.dedup.inserted_per_second()));
    let plain = median(rounds.iter().map(|r| r.plain.offered_per_second()));
    let n = size.batch;
    writeln!(
        out,
        "| events/s, {n} per statement (dedup: offered, re-sends included) | {dedup_offered:.0} | {plain:.0} | ≥ 10,000 | {} |",
        verdict(dedup_offered >= TARGET_RATE)
    )?;
    writeln!(
        out,
        "| distinct events/s, {n} per statement | {dedup_distinct:.0} | {plain:.0} | | |"
    )?;
    writeln!(
        out,
        "| dedup / plain, {n} per statement (offered) | {:.2} | | ≥ {TARGET_RATIO} | {} |",
        dedup_offered / plain,
        verdict(dedup_offered / plain >= TARGET_RATIO)
    )?;
    writeln!(
        out,
        "| dedup / plain, {n} per statement (distinct) | {:.2} | | | |",
        dedup_distinct / plain
    )?;
    writeln!(
        out,
        "| facts per measurement, {n} per statement | {} ({} distinct; {} re-sent by the same writer, {} by another) | {} | | |",
        size.offered, size.distinct, size.resent_by_same, size.resent_by_other, size.distinct
    )
}
