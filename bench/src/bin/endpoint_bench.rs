//! `endpoint_bench`: Keynet's deployment endpoint end to end (an image over HTTP in, the
//! top 5 as JSON out) against what a user would stand up instead, onnxruntime behind a
//! minimal Python HTTP server, and against onnxruntime's in-process `session.run` loop, in
//! the same run, on the ResNet-18-shaped model of `runtime_bench`. The platform runs in
//! process (SQLite, workers on); the reference trainer is trained and exported through the
//! API, and the export's artifact replaced by the ResNet model before it is deployed twice
//! (batching off and on). The Markdown report goes to stdout, progress to stderr.

#[path = "../runtime/against_onnxruntime.rs"]
mod against_onnxruntime;
#[path = "../endpoint/load.rs"]
mod load;
#[path = "../machine.rs"]
mod machine;
#[path = "../endpoint/peer.rs"]
mod peer;
#[path = "../endpoint/report.rs"]
mod report;
#[path = "../runtime/resnet.rs"]
mod resnet;
#[path = "../runtime/session_loop.rs"]
mod session_loop;
#[path = "../endpoint/stage.rs"]
mod stage;

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use clap::Parser;
use keynet_serving::{Engine, OnnxModel};
use load::Endpoint;
use prost::Message;
use serde_json::{Value, json};
use std::sync::Arc;

/// Times Keynet's deployment endpoint against onnxruntime behind HTTP and in process.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    comparison: against_onnxruntime::AgainstOnnxruntime,
    /// Replicas of each deployment. Each asks for one CPU per core, so a replica runs each
    /// batch on every core, as onnxruntime's default does.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// What Keynet's replicas run the model on: RTen (built in), or ONNX Runtime from the
    /// library of `--python`'s onnxruntime wheel (`serving.onnxruntime_library`).
    #[arg(long, value_enum, default_value_t = EngineArg::Rten)]
    engine: EngineArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum EngineArg {
    Rten,
    Onnxruntime,
}

const CONCURRENCY: [usize; 3] = [1, 8, 32];
/// onnxruntime's in-process loop runs these batch sizes of the prepared image.
const FLOOR_BATCHES: [usize; 2] = [1, 8];

#[tokio::main]
async fn main() -> Result<()> {
    let Args {
        comparison: args,
        replicas,
        engine,
    } = Args::parse();
    let library = match engine {
        EngineArg::Rten => None,
        EngineArg::Onnxruntime => Some(keynet_testkit::clients::onnxruntime_library(&args.python)),
    };
    let engine = match &library {
        None => Engine::Rten,
        Some(library) => Engine::onnxruntime(library)?,
    };
    ensure!(args.seconds > 0.0, "--seconds must be positive");
    let machine = machine::Machine::capture();
    let replicas = replicas.max(1);
    let dir = tempfile::tempdir()?;

    let model_path = dir.path().join("resnet18.onnx");
    let onnx = resnet::model().encode_to_vec();
    std::fs::write(&model_path, &onnx)?;
    let mut metadata = resnet::metadata();
    if let Some(fields) = metadata.as_object_mut() {
        // ImageNet's normalisation, so both sides do the whole of a real model's preparation.
        fields.insert("mean".into(), json!([0.485, 0.456, 0.406]));
        fields.insert("std".into(), json!([0.229, 0.224, 0.225]));
    }
    let model = Arc::new(
        OnnxModel::load_on(&engine, &onnx, &metadata)
            .with_context(|| format!("{} cannot load the model", engine.name()))?,
    );
    let spec_path = dir.path().join("spec.json");
    std::fs::write(
        &spec_path,
        serde_json::to_vec(&peer::spec(model.metadata()))?,
    )?;
    let image = Bytes::from(photo()?);
    // onnxruntime's loop takes prepared inputs: the image as Keynet prepares it, 8 times.
    let input = model.metadata().prepare(&image)?.input;
    let images_path = dir.path().join("images.f32");
    std::fs::write(
        &images_path,
        input
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .cycle()
            .take(input.len() * 4 * 8)
            .collect::<Vec<u8>>(),
    )?;

    eprintln!("platform: training and exporting the reference model");
    let stage = stage::prepare(dir.path(), library).await?;
    stage.seed_model(&model_path, &metadata).await?;
    eprintln!("deploying the ResNet model twice, {replicas} replica(s) each");
    let off = stage
        .deploy("batching-off", replicas, 1, machine.cpus)
        .await?;
    let on = stage
        .deploy("batching-on", replicas, 8, machine.cpus)
        .await?;
    eprintln!("starting onnxruntime behind http.server");
    let server =
        peer::Server::start(&args.python, &model_path, &spec_path, args.peer_threads).await?;
    let theirs = Endpoint {
        url: server.url.clone(),
        key: None,
    };

    let client = load::client()?;
    let agreement = agreement(
        &model,
        &image,
        &off.answer(&client, &image).await?,
        &on.answer(&client, &image).await?,
        &theirs.answer(&client, &image).await?,
    )?;
    eprintln!("answers: {agreement}");

    eprintln!("in process: prepare, run, top 5");
    let in_process = {
        let (model, image, seconds) = (Arc::clone(&model), image.clone(), args.seconds);
        tokio::task::spawn_blocking(move || load::in_process(&model, &image, seconds)).await??
    };
    eprintln!("onnxruntime's session loop");
    let floor = {
        let (python, threads, seconds) = (args.python.clone(), args.peer_threads, args.seconds);
        let (model_path, images_path) = (model_path.clone(), images_path.clone());
        tokio::task::spawn_blocking(move || {
            session_loop::onnxruntime(
                &python,
                threads,
                &model_path,
                &images_path,
                &FLOOR_BATCHES,
                seconds,
            )
        })
        .await??
    };
    let first = model.run(&[input])?.remove(0);
    let floor_difference = first
        .iter()
        .zip(&floor.first)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    ensure!(
        floor_difference < 1e-3,
        "{} and onnxruntime disagree on the prepared image: {floor_difference}",
        engine.name()
    );

    let mut rows = Vec::new();
    for concurrency in CONCURRENCY {
        let measure = async |name: &str, endpoint: &Endpoint| {
            eprintln!("concurrency {concurrency}: {name}");
            load::closed_loop(&client, endpoint, &image, concurrency, args.seconds).await
        };
        let off = measure("Keynet, batching off", &off).await?;
        let on = measure("Keynet, batches up to 8", &on).await?;
        let peer = measure("onnxruntime + http.server", &theirs).await?;
        rows.push(report::Row {
            concurrency,
            off,
            on,
            peer,
        });
    }
    let versions = server.versions.clone();
    server.stop().await?;
    stage.platform.stop().await?;

    print!(
        "{}",
        report::render(&report::Results {
            machine,
            seconds: args.seconds,
            replicas,
            engine: engine.name(),
            peer_threads: args.peer_threads,
            image_bytes: image.len(),
            versions,
            agreement,
            floor_difference,
            rows,
            floor,
            in_process,
        })?
    );
    Ok(())
}

/// A 640×480 photo-sized JPEG (gradients and texture, quality 90), the same bytes for every
/// request of both sides.
fn photo() -> Result<Vec<u8>> {
    let picture = image::RgbImage::from_fn(640, 480, |x, y| {
        let texture = ((x * 7) ^ (y * 13)) % 64;
        image::Rgb([
            (x * 255 / 639) as u8,
            (y * 255 / 479) as u8,
            (96 + texture) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&picture)?;
    Ok(jpeg)
}

/// The endpoint's answers must be the runtime's own (the seeded model is what serves);
/// the peer's are compared and described (Pillow's resize is not the `image` crate's).
fn agreement(
    model: &OnnxModel,
    image: &[u8],
    off: &Value,
    on: &Value,
    peer: &Value,
) -> Result<String> {
    let input = model.metadata().prepare(image)?.input;
    let rows = model.run(&[input])?;
    let ours = serde_json::to_value(
        model
            .metadata()
            .top_k(rows.first().context("no output")?, 5),
    )?;
    let ids = |answer: &Value| -> Vec<u64> {
        answer
            .as_array()
            .map(|all| all.iter().filter_map(|p| p["class_id"].as_u64()).collect())
            .unwrap_or_default()
    };
    for (name, answer) in [("batching off", off), ("batching on", on)] {
        ensure!(
            ids(&answer["predictions"]) == ids(&ours),
            "the endpoint ({name}) answers {answer}, the model in process {ours}"
        );
    }
    let theirs = &peer["predictions"];
    let score = |answer: &Value, id: u64| {
        answer.as_array().and_then(|all| {
            all.iter()
                .find(|p| p["class_id"].as_u64() == Some(id))
                .and_then(|p| p["score"].as_f64())
        })
    };
    let differences: Vec<f64> = ids(&ours)
        .into_iter()
        .filter_map(|id| Some((score(&ours, id)? - score(theirs, id)?).abs()))
        .collect();
    let largest = differences.iter().copied().fold(0.0_f64, f64::max);
    Ok(format!(
        "both deployments answer the top 5 of the model run in process ({}); the peer's top 5 \
         share {} of its classes (top 1 {}), scores of shared classes differ by {largest:.1e} at most",
        ids(&ours)
            .iter()
            .map(|id| format!("class_{id}"))
            .collect::<Vec<_>>()
            .join(", "),
        differences.len(),
        if ids(&ours).first() == ids(theirs).first() {
            "the same"
        } else {
            "different"
        },
    ))
}
