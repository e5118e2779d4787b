//! The Markdown report of the push run: each way's throughput against the raw copy, then
//! every round.

use crate::machine::{Machine, load_average, percentile, sorted};
use crate::run::{Figures, Plan, Way};
use crate::upload::Mode;
use std::fmt::{Result as FmtResult, Write};

/// The target: a registry push takes at most this many times the raw copy's time.
const TARGET_RATIO: f64 = 1.3;

const MIB: usize = 1 << 20;

pub fn render(plan: &Plan, machine: &Machine, postgres: &str, figures: &Figures) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, plan, machine, postgres, figures);
    out
}

fn label(way: Way) -> String {
    match way {
        Way::RawCopy => "raw copy into the blob store".into(),
        Way::Push(Mode::Streamed) => "push, one `PATCH` per layer (as `docker push`)".into(),
        Way::Push(Mode::Chunked(chunk)) => format!(
            "push, `PATCH`es of {} MiB with `Content-Range`",
            chunk / MIB
        ),
    }
}

fn write_report(
    out: &mut String,
    plan: &Plan,
    machine: &Machine,
    postgres: &str,
    figures: &Figures,
) -> FmtResult {
    let sizes: Vec<String> = plan.layers.iter().map(|b| (b / MIB).to_string()).collect();
    machine.write_heading(out, "Push")?;
    writeln!(
        out,
        "- database: {postgres} on 127.0.0.1, a fresh database; blobs: the local store (the default), under a temporary data folder"
    )?;
    writeln!(
        out,
        "- load average (1, 5, 15 min) before the run: {}; after: {}",
        machine.load_average,
        load_average()
    )?;
    writeln!(
        out,
        "- image: {} layers of {} MiB ({:.1} MB), random bytes drawn afresh for each push (new digests: nothing is deduplicated), a config and a Docker schema 2 manifest",
        plan.layers.len(),
        sizes.join(", "),
        plan.total_bytes() as f64 / 1e6
    )?;
    writeln!(
        out,
        "- push: the OCI upload API over HTTP/1.1 on loopback (`POST …/blobs/uploads/`, `PATCH`, `PUT ?digest=`), one layer after another, from a client in the platform's process; then the config (one `POST ?digest=`) and `PUT …/manifests/<tag>`. The registry token (`GET /v2/token`) and the digests are taken before the clock starts; each layer is then read back and its digest checked"
    )?;
    writeln!(
        out,
        "- raw copy: the same bytes written with the platform's own blob store (`Domain::blobs().put_stream`: temporary file, fsync, rename), in 1 MiB pieces, one layer after another, in process"
    )?;
    writeln!(
        out,
        "- median of {} rounds; the order of the three turns every round; MB/s in 10^6 bytes of layers per second\n",
        plan.rounds
    )?;

    let ways = plan.ways();
    let medians: Vec<f64> = (0..ways.len())
        .map(|index| {
            let times: Vec<f64> = figures
                .rounds
                .iter()
                .map(|round| round[index].as_secs_f64())
                .collect();
            percentile(&sorted(&times), 50.0)
        })
        .collect();
    let mb = plan.total_bytes() as f64 / 1e6;
    let raw = medians[0];
    writeln!(out, "| way | s | MB/s | ÷ raw copy | ≤ {TARGET_RATIO}× |")?;
    writeln!(out, "|---|--:|--:|--:|:-:|")?;
    for (way, median) in ways.iter().zip(&medians) {
        let ratio = median / raw;
        let verdict = match way {
            Way::RawCopy => "",
            Way::Push(_) if ratio <= TARGET_RATIO => "yes",
            Way::Push(_) => "**no**",
        };
        writeln!(
            out,
            "| {} | {median:.2} | {:.0} | {ratio:.2} | {verdict} |",
            label(*way),
            mb / median
        )?;
    }

    let read_back = percentile(
        &sorted(
            &figures
                .read_back
                .iter()
                .map(|time| time.as_secs_f64())
                .collect::<Vec<_>>(),
        ),
        50.0,
    );
    writeln!(
        out,
        "\nReading the layers back after each push (`GET …/blobs/<digest>`, one after another, whole bodies into the client's memory; no target): {read_back:.2} s, {:.0} MB/s (median of {}).",
        mb / read_back,
        figures.read_back.len()
    )?;

    writeln!(out, "\n##### Every round (seconds)\n")?;
    write!(out, "| round |")?;
    for way in &ways {
        write!(out, " {} |", label(*way))?;
    }
    writeln!(out, "\n|--:|{}", "--:|".repeat(ways.len()))?;
    for (index, round) in figures.rounds.iter().enumerate() {
        write!(out, "| {} |", index + 1)?;
        for time in round {
            write!(out, " {:.2} |", time.as_secs_f64())?;
        }
        writeln!(out)?;
    }
    Ok(())
}
