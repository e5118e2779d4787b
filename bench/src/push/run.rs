//! The rounds: in each, the raw copy and the two kinds of push (the order turning every
//! round, so a busy moment of the machine does not always hit the same one), every pushed
//! layer then read back and its digest checked (the reads timed apart). The layers go one
//! after another, as a stream of bytes per layer is what both sides are compared on.
//!
//! Each push sends bytes drawn for it alone: new digests every time, so the registry never
//! finds a blob it already has (it would store the upload all the same, then throw its copy
//! away). The raw copy writes the bytes of the streamed push of its round.

use crate::setup::{self, Stage};
use crate::upload::{Mode, push_blob};
use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use futures_util::StreamExt;
use keynet_testkit::pg::TestDatabase;
use keynet_testkit::registry::{DOCKER_MANIFEST, digest, image_manifest};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use reqwest::Method;
use std::time::{Duration, Instant};

/// The pieces the raw copy hands to the blob store, as an HTTP body arrives in pieces.
const RAW_PIECE: usize = 1 << 20;

#[derive(Clone)]
pub struct Plan {
    /// Bytes of each layer.
    pub layers: Vec<usize>,
    pub chunk: usize,
    pub rounds: usize,
}

impl Plan {
    pub fn total_bytes(&self) -> usize {
        self.layers.iter().sum()
    }

    /// The raw copy first: the report compares the others with it.
    pub fn ways(&self) -> [Way; 3] {
        [
            Way::RawCopy,
            Way::Push(Mode::Streamed),
            Way::Push(Mode::Chunked(self.chunk)),
        ]
    }
}

/// The ways of storing the layers that a round times.
#[derive(Clone, Copy, Debug)]
pub enum Way {
    RawCopy,
    Push(Mode),
}

pub struct Figures {
    /// Per round, the time of each way, in the order of [`Plan::ways`].
    pub rounds: Vec<Vec<Duration>>,
    /// Reading back every layer after each push (`GET`, whole bodies): a glimpse of pulls,
    /// not a target.
    pub read_back: Vec<Duration>,
}

pub async fn run(plan: &Plan) -> Result<Figures> {
    // The test kit panics on set-up failures; in a task, a panic becomes an error.
    let database = tokio::spawn(TestDatabase::create())
        .await
        .context("cannot create a database on PostgreSQL")?;
    let outcome = {
        let database = TestDatabase {
            name: database.name.clone(),
            url: database.url.clone(),
        };
        let plan = plan.clone();
        tokio::spawn(async move {
            let stage = setup::prepare(&database).await?;
            let measured = measure(&plan, &stage).await;
            stage.platform.stop().await?;
            measured
        })
        .await
    };
    database.drop_database().await;
    outcome.context("the benchmark panicked")?
}

async fn measure(plan: &Plan, stage: &Stage) -> Result<Figures> {
    let ways = plan.ways();
    let mut rounds = Vec::new();
    let mut read_back = Vec::new();
    for round in 0..plan.rounds {
        let mut times = vec![Duration::ZERO; ways.len()];
        for turn in 0..ways.len() {
            let index = (round + turn) % ways.len();
            let layers = draw_layers(plan, round, index);
            times[index] = match ways[index] {
                Way::RawCopy => raw_copy(stage, round, &layers).await?,
                Way::Push(mode) => {
                    let pushed = push_image(stage, round, &layers, mode).await?;
                    read_back.push(read_back_layers(stage, &layers).await?);
                    pushed
                }
            };
            eprintln!(
                "round {}/{}: {:?} {:.2} s",
                round + 1,
                plan.rounds,
                ways[index],
                times[index].as_secs_f64()
            );
        }
        rounds.push(times);
    }
    Ok(Figures { rounds, read_back })
}

/// Random bytes (as incompressible as gzip layers): the raw copy (way 0) writes the same
/// bytes as the streamed push (way 1) of its round; every push has bytes of its own.
fn draw_layers(plan: &Plan, round: usize, way: usize) -> Vec<Bytes> {
    let draw = way.max(1);
    let mut rng = StdRng::seed_from_u64((round * 16 + draw) as u64);
    plan.layers
        .iter()
        .map(|&size| {
            let mut bytes = vec![0; size];
            rng.fill_bytes(&mut bytes);
            Bytes::from(bytes)
        })
        .collect()
}

/// The layers written straight into the platform's blob store, one after another.
async fn raw_copy(stage: &Stage, round: usize, layers: &[Bytes]) -> Result<Duration> {
    let store = stage.platform.domain.blobs();
    let keys: Vec<String> = (0..layers.len())
        .map(|index| format!("bench/raw/{round}/{index}"))
        .collect();
    let started = Instant::now();
    for (key, layer) in keys.iter().zip(layers) {
        let pieces: Vec<std::io::Result<Bytes>> = (0..layer.len())
            .step_by(RAW_PIECE)
            .map(|at| Ok(layer.slice(at..(at + RAW_PIECE).min(layer.len()))))
            .collect();
        let stored = store
            .put_stream(key, futures_util::stream::iter(pieces).boxed(), u64::MAX)
            .await
            .with_context(|| format!("the blob store refused {key}"))?;
        ensure!(stored == layer.len() as u64, "{key}: {stored} bytes stored");
    }
    let took = started.elapsed();
    for key in &keys {
        store.delete(key).await?;
    }
    Ok(took)
}

/// The layers pushed one after another, then a config and the manifest as `docker push`
/// finishes.
async fn push_image(stage: &Stage, round: usize, layers: &[Bytes], mode: Mode) -> Result<Duration> {
    let bearer = stage.push_bearer().await;
    let repository = &stage.repository;
    // Computed before the clock starts: a client knows its layers' digests before it pushes.
    let digests: Vec<String> = layers.iter().map(|layer| digest(layer)).collect();
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"round":"{round}","mode":"{mode:?}"}}}}}}"#
    );
    let layer_slices: Vec<&[u8]> = layers.iter().map(|layer| layer.as_ref()).collect();
    let manifest = image_manifest(config.as_bytes(), &layer_slices);
    let tag = match mode {
        Mode::Streamed => format!("round-{round}-streamed"),
        Mode::Chunked(_) => format!("round-{round}-chunked"),
    };

    let started = Instant::now();
    for (layer, layer_digest) in layers.iter().zip(&digests) {
        push_blob(
            &stage.registry,
            &bearer,
            repository,
            layer,
            layer_digest,
            mode,
        )
        .await?;
    }
    let config_pushed = stage
        .registry
        .push_blob(&bearer, repository, config.as_bytes())
        .await;
    ensure!(
        config_pushed.status() == 201,
        "POST /v2/{repository}/blobs/uploads/?digest={} with the config answered {}",
        digest(config.as_bytes()),
        config_pushed.status()
    );
    let tagged = stage
        .registry
        .put_manifest(&bearer, repository, &tag, DOCKER_MANIFEST, &manifest)
        .await;
    let took = started.elapsed();
    let status = tagged.status();
    ensure!(
        status == 201,
        "PUT /v2/{repository}/manifests/{tag} answered {status}: {}",
        tagged.text().await.unwrap_or_default()
    );
    Ok(took)
}

/// Every layer read back through the registry and checked against what was pushed; the
/// time of the reads (the checks are not in it).
async fn read_back_layers(stage: &Stage, layers: &[Bytes]) -> Result<Duration> {
    let bearer = stage.push_bearer().await;
    let repository = &stage.repository;
    let mut took = Duration::ZERO;
    for layer in layers {
        let expected = digest(layer);
        let path = format!("/v2/{repository}/blobs/{expected}");
        let started = Instant::now();
        let read = stage
            .registry
            .send(Method::GET, Some(&bearer), &path, &[], Vec::new())
            .await;
        let status = read.status();
        let body = read.bytes().await?;
        took += started.elapsed();
        let actual = digest(&body);
        ensure!(
            status == 200 && actual == expected,
            "GET {path} after the push answered {status} with {} bytes hashing to {actual}, expected 200 with the {} bytes pushed",
            body.len(),
            layer.len()
        );
    }
    Ok(took)
}
