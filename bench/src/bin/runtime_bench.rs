//! `runtime_bench`: Keynet's model runtime (an ONNX export run by RTen in process, behind a
//! replica's batcher) against onnxruntime, the field's reference runtime, on the same
//! ResNet-18-shaped model and the same images, in the same run. The floor the deployment
//! endpoint will be measured against: the engine alone, without HTTP. The Markdown report
//! goes to stdout, progress to stderr.

#[path = "../runtime/against_onnxruntime.rs"]
mod against_onnxruntime;
#[path = "../machine.rs"]
mod machine;
#[path = "../runtime/resnet.rs"]
mod resnet;
#[path = "../runtime/run.rs"]
mod run;
#[path = "../runtime/session_loop.rs"]
mod session_loop;

use against_onnxruntime::AgainstOnnxruntime;
use anyhow::{Context, Result, ensure};
use clap::Parser;
use keynet_serving::{BatchSettings, OnnxModel};
use prost::Message;
use session_loop::Figures;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// Times RTen (through keynet-serving) against onnxruntime on a ResNet-18-shaped model.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    comparison: AgainstOnnxruntime,
}

const BATCHES: [usize; 2] = [1, 8];
const CONCURRENCY: [usize; 3] = [1, 8, 32];

#[tokio::main]
async fn main() -> Result<()> {
    let Args { comparison: args } = Args::parse();
    let machine = machine::Machine::capture();
    let dir = tempfile::tempdir()?;
    let model_path = dir.path().join("resnet18.onnx");
    let onnx = resnet::model().encode_to_vec();
    std::fs::write(&model_path, &onnx)?;
    eprintln!("model: {} MB", onnx.len() / 1_000_000);
    let model = Arc::new(
        OnnxModel::load(&onnx, &resnet::metadata()).context("RTen cannot load the model")?,
    );
    let pool = images(8);
    let images_path = dir.path().join("images.f32");
    std::fs::write(
        &images_path,
        pool.concat()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;

    eprintln!("onnxruntime's session loop");
    let peer = session_loop::onnxruntime(
        &args.python,
        args.peer_threads,
        &model_path,
        &images_path,
        &BATCHES,
        args.seconds,
    )?;
    let ours_first = model.run(&pool[..1])?.remove(0);
    let difference = ours_first
        .iter()
        .zip(&peer.first)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    ensure!(difference < 1e-3, "the runtimes disagree: {difference}");

    let mut direct = Vec::new();
    for batch in BATCHES {
        eprintln!("RTen, batch {batch}");
        direct.push((batch, run::direct(&model, &pool, batch, args.seconds)?));
    }
    let mut loaded = Vec::new();
    for concurrency in CONCURRENCY {
        for max_batch_size in [1, 8] {
            eprintln!("batcher, concurrency {concurrency}, batches up to {max_batch_size}");
            let settings = BatchSettings {
                max_batch_size,
                max_queue_delay: Duration::from_millis(5),
                max_queued: 1024,
                // Every core, as `OnnxModel::run` and onnxruntime's default use.
                threads: machine.cpus.max(1),
            };
            let figures = run::closed_loop(
                Arc::clone(&model),
                &pool,
                concurrency,
                settings,
                args.seconds,
            )
            .await?;
            loaded.push((concurrency, max_batch_size, figures));
        }
    }
    print!(
        "{}",
        report(&machine, &args, difference, &peer, &direct, &loaded)?
    );
    Ok(())
}

/// Deterministic images in [0, 1), as a prepared input is.
fn images(count: usize) -> Vec<Vec<f32>> {
    let len = 3 * (resnet::SIDE * resnet::SIDE) as usize;
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    (0..count)
        .map(|_| {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32
                })
                .collect()
        })
        .collect()
}

fn cell(figures: &Figures) -> String {
    format!(
        "{:.1} img/s, p50 {:.1} ms, p99 {:.1} ms",
        figures.images_per_second, figures.p50_ms, figures.p99_ms
    )
}

fn report(
    machine: &machine::Machine,
    args: &AgainstOnnxruntime,
    difference: f32,
    peer: &session_loop::Peer,
    direct: &[(usize, Figures)],
    loaded: &[(usize, usize, Figures)],
) -> Result<String> {
    let mut out = String::new();
    machine.write_heading(&mut out, "runtime_bench")?;
    writeln!(out, "- load average at start: {}", machine.load_average)?;
    writeln!(
        out,
        "- largest difference between the runtimes' probabilities for the first image: {difference:.1e}\n"
    )?;
    let threads = match args.peer_threads {
        0 => "default threads".to_string(),
        n => format!("{n} thread(s)"),
    };
    writeln!(
        out,
        "| batch | Keynet (RTen), one run per batch | onnxruntime session.run, {threads} | ratio |"
    )?;
    writeln!(out, "| ---: | --- | --- | ---: |")?;
    for (batch, ours) in direct {
        let theirs = &peer
            .by_batch
            .iter()
            .find(|(b, _)| b == batch)
            .context("onnxruntime skipped a batch size")?
            .1;
        writeln!(
            out,
            "| {batch} | {} | {} | {:.2}× |",
            cell(ours),
            cell(theirs),
            ours.images_per_second / theirs.images_per_second
        )?;
    }
    writeln!(
        out,
        "\nBehind a replica's batcher (closed loop, queue delay 5 ms):\n"
    )?;
    writeln!(
        out,
        "| concurrency | batching off (1) | batching on (up to 8) |"
    )?;
    writeln!(out, "| ---: | --- | --- |")?;
    for concurrency in CONCURRENCY {
        let find = |size: usize| {
            loaded
                .iter()
                .find(|(c, s, _)| *c == concurrency && *s == size)
                .map(|(_, _, figures)| cell(figures))
                .unwrap_or_default()
        };
        writeln!(out, "| {concurrency} | {} | {} |", find(1), find(8))?;
    }
    Ok(out)
}
