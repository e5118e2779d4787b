//! `keynet-train push`: the nine steps from a `train.py` to a version Keynet checks.

use super::follow::{follow, outcome, print_status};
use super::login::prompt_failed;
use super::session::signed_in;
use crate::api::{self, Project};
use crate::args::PushArgs;
use crate::client::Client;
use crate::config::ConfigStore;
use crate::context::{BuildContext, DockerfileSource};
use crate::engine::{BuildRequest, Engine};
use crate::entrypoint::Entrypoint;
use crate::error::{Error, Result};
use crate::labels::{FRAMEWORKS, frameworks_in_requirements, trainer_labels};
use crate::progress::Progress;
use keynet_hyperparameters::HyperParameter;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

const STEPS: usize = 9;

pub async fn push(store: &ConfigStore, args: PushArgs, verbose: bool) -> Result<()> {
    let progress = Progress::new(STEPS, verbose);

    progress.step(1, "Checking authentication");
    let (config, client) = signed_in(store)?;
    let account = api::me(&client).await?;
    progress.done(&format!(
        "{} at {} ({})",
        account.email, config.server_url, config.org.slug
    ));

    progress.step(
        2,
        "Checking the entrypoint's Python syntax and the build context",
    );
    let entrypoint = Entrypoint::read(&args.entrypoint)?;
    progress.done(&format!("{} parses", args.entrypoint.display()));
    // Every local input is checked, and the image built, before an upload key is issued,
    // so a mistake here leaves no version waiting for an upload on the server.
    let context_dir = context_dir(&args)?;
    let dockerfile = match &args.dockerfile {
        Some(path) => DockerfileSource::File(path.clone()),
        None => DockerfileSource::Generated {
            base_image: args.base_image.clone(),
        },
    };
    let context = BuildContext::prepare(&context_dir, &args.entrypoint, dockerfile)?;
    progress.done(&format!(
        "{} files in {}",
        context.file_count(),
        context_dir.display()
    ));
    if let Some(generated) = context.generated_dockerfile() {
        for line in generated.lines() {
            progress.detail(line);
        }
    }
    let model_name = model_name(&args, &context_dir)?;

    progress.step(3, "Extracting hyperparameters");
    let hyperparameters = extract(&entrypoint, &progress);

    progress.step(4, "Choosing the project");
    let project = choose_project(&client, args.project.as_deref(), args.yes).await?;
    progress.done(&format!(
        "{} ({}, {})",
        project.title, project.id, project.task_type
    ));

    progress.step(5, "Building the image");
    // Built before the upload key is asked for: a build that fails (a bad Dockerfile, a
    // base image that cannot be pulled) leaves no version waiting for an upload.
    let engine = Engine::connect().await?;
    let mut tar = Vec::new();
    context.write_tar(&mut tar)?;
    let frameworks = if args.frameworks.is_empty() {
        detected_frameworks(&context_dir)
    } else {
        args.frameworks.clone()
    };
    let image = engine
        .build(
            BuildRequest {
                context: tar,
                dockerfile: context.dockerfile_path().to_string(),
                labels: trainer_labels(&project.task_type, &frameworks, &args.export_formats),
                no_cache: args.no_cache,
            },
            &progress,
        )
        .await?;
    progress.done(&format!(
        "{} ({} files sent)",
        short_id(&image),
        context.file_count()
    ));
    check_frameworks_label(&engine, &image, args.allow_no_frameworks, &progress).await?;

    progress.step(6, "Requesting an upload key");
    let upload = api::request_upload(&client, &project.id, &model_name, &hyperparameters).await?;
    progress.done(&format!(
        "{model_name} version {} → {}",
        upload.version.version, upload.repository
    ));

    progress.step(7, "Tagging");
    let local_tag = local_tag(&upload.repository);
    engine.tag(&image, &local_tag, "latest").await?;
    engine
        .tag(&image, &upload.repository, &upload.upload_key)
        .await?;
    let remote = format!("{}:{}", upload.repository, upload.upload_key);
    progress.done(&format!("{local_tag}:latest, {remote}"));

    progress.step(8, "Pushing to Keynet's registry");
    let digest = engine
        .push(
            &upload.repository,
            &upload.upload_key,
            &upload.upload_key,
            &progress,
        )
        .await?;
    // The key is used up by this push; the tag that names it is of no further use.
    engine.untag(&remote).await;
    progress.done(&digest);

    progress.step(9, "Summary");
    println!("trainer:      {model_name}");
    println!("version:      {}", upload.version.version);
    println!("project:      {} ({})", project.title, project.id);
    println!("image:        {}@{digest}", upload.repository);
    println!("upload key:   {}", upload.upload_key);
    println!(
        "parameters:   {}",
        if hyperparameters.is_empty() {
            "none".to_string()
        } else {
            hyperparameters
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if !args.wait {
        println!(
            "Keynet now validates, scans and test-runs it. Follow it with: keynet-train status {} --wait",
            upload.upload_key
        );
        return Ok(());
    }
    let version = api::version(&client, &upload.id).await?;
    let version = follow(&client, version, Duration::from_secs(args.timeout)).await?;
    print_status(&version);
    outcome(&version)
}

fn extract(entrypoint: &Entrypoint, progress: &Progress) -> Vec<HyperParameter> {
    let extraction = entrypoint.hyperparameters();
    for skipped in &extraction.skipped {
        progress.warn(&format!(
            "line {}: {} left out: {}",
            skipped.line, skipped.argument, skipped.reason
        ));
    }
    for parameter in &extraction.parameters {
        progress.detail(&format!(
            "--{} {:?}{}{}",
            parameter.name,
            parameter.param_type,
            parameter
                .default
                .as_ref()
                .map(|d| format!(" default {d}"))
                .unwrap_or_default(),
            if parameter.required { " required" } else { "" }
        ));
    }
    progress.done(&format!("{} found", extraction.parameters.len()));
    extraction.parameters
}

/// `--project`, else the only project there is, else the author's choice.
async fn choose_project(client: &Client, wanted: Option<&str>, yes: bool) -> Result<Project> {
    if let Some(id) = wanted {
        return api::project(client, id).await;
    }
    let interactive = !yes && std::io::stdin().is_terminal();
    let mut after = None;
    let mut seen: Vec<Project> = Vec::new();
    loop {
        let page = api::trainable_projects(client, after.take()).await?;
        seen.extend(page.nodes);
        let more = page.page_info.has_next_page;
        if !interactive {
            return match (seen.len(), more) {
                (0, false) => Err(Error::Validation(
                    "there is no project you may push trainers for: create one first".into(),
                )),
                (1, false) => Ok(seen.remove(0)),
                _ => Err(Error::Usage(format!(
                    "you may push for several projects; choose one with --project: {}{}",
                    seen.iter()
                        .map(|p| format!("{} ({})", p.id, p.title))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if more { ", …" } else { "" }
                ))),
            };
        }
        if seen.is_empty() {
            return Err(Error::Validation(
                "there is no project you may push trainers for: create one first".into(),
            ));
        }
        let mut items: Vec<String> = seen
            .iter()
            .map(|p| format!("{} — {}", p.title, p.task_type.to_ascii_lowercase()))
            .collect();
        if more {
            items.push("More projects…".into());
        }
        let chosen = dialoguer::Select::new()
            .with_prompt("Project")
            .items(&items)
            .default(0)
            .interact()
            .map_err(prompt_failed)?;
        if chosen < seen.len() {
            return Ok(seen.swap_remove(chosen));
        }
        after = page.page_info.end_cursor;
    }
}

fn context_dir(args: &PushArgs) -> Result<PathBuf> {
    let dir = match &args.context {
        Some(dir) => dir.clone(),
        None => args
            .entrypoint
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    dir.canonicalize()
        .map_err(|e| Error::io(format!("the build context {}", dir.display()), e))
}

fn model_name(args: &PushArgs, context_dir: &Path) -> Result<String> {
    if let Some(name) = &args.model_name {
        return Ok(name.clone());
    }
    context_dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Usage("name the trainer with --model-name".into()))
}

fn detected_frameworks(context_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(context_dir.join("requirements.txt"))
        .map(|text| frameworks_in_requirements(&text))
        .unwrap_or_default()
}

/// The local name of the build (tagged `latest`): the repository without its registry
/// host, whose names the server already made valid (`<org>/<trainer>` slugs).
fn local_tag(repository: &str) -> String {
    let path = repository
        .split_once('/')
        .map_or(repository, |(_, path)| path);
    format!("keynet-train/{path}")
}

/// Keynet's label check rejects an image without a frameworks label: refused here, before
/// an upload key is spent, unless `allowed`.
async fn check_frameworks_label(
    engine: &Engine,
    image: &str,
    allowed: bool,
    progress: &Progress,
) -> Result<()> {
    let labels = engine.labels(image).await?;
    if labels
        .get(FRAMEWORKS)
        .is_some_and(|value| !value.trim().is_empty())
    {
        return Ok(());
    }
    let problem = format!(
        "the image has no {FRAMEWORKS} label, and Keynet rejects a trainer without one: name the frameworks with --framework (e.g. --framework pytorch), list them in requirements.txt or set the LABEL in your Dockerfile"
    );
    if allowed {
        progress.warn(&format!(
            "{problem}; pushing anyway (--allow-no-frameworks)"
        ));
        return Ok(());
    }
    Err(Error::Validation(format!(
        "{problem} (or push anyway with --allow-no-frameworks)"
    )))
}

fn short_id(image: &str) -> &str {
    let hex = image.strip_prefix("sha256:").unwrap_or(image);
    &hex[..hex.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tags_are_the_repository_without_its_registry() {
        assert_eq!(
            local_tag("127.0.0.1:5000/acme/leaf-net-v2"),
            "keynet-train/acme/leaf-net-v2"
        );
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
    }
}
