//! The container engine, through bollard: Docker's socket (or `DOCKER_HOST`), else a
//! Podman socket, which speaks the same API. Builds from a tar context, tags and pushes,
//! reporting progress as it goes.

use crate::error::{Error, Result};
use crate::progress::Progress;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::ProgressDetail;
use bollard::query_parameters::{BuildImageOptions, PushImageOptions, TagImageOptions};
use futures_util::StreamExt as _;
use std::collections::HashMap;
use std::path::PathBuf;

/// Seconds a single engine request may take; builds and pushes stream, so this bounds
/// silence, not their length.
const ENGINE_TIMEOUT_SECS: u64 = 3600;
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

pub struct Engine {
    docker: Docker,
}

/// What to build.
pub struct BuildRequest {
    pub context: Vec<u8>,
    pub dockerfile: String,
    pub labels: HashMap<String, String>,
    pub no_cache: bool,
}

impl Engine {
    /// The engine `DOCKER_HOST` names, else Docker's default socket, else Podman's
    /// (rootless first), at an API version both sides speak.
    pub async fn connect() -> Result<Self> {
        let docker = match std::env::var_os("DOCKER_HOST") {
            Some(_) => Docker::connect_with_defaults()?,
            None => match podman_socket() {
                Some(socket) if !std::path::Path::new(DOCKER_SOCKET).exists() => {
                    Docker::connect_with_unix(
                        &socket.to_string_lossy(),
                        ENGINE_TIMEOUT_SECS,
                        bollard::API_DEFAULT_VERSION,
                    )?
                }
                _ => Docker::connect_with_defaults()?,
            },
        };
        let docker = docker.with_timeout(std::time::Duration::from_secs(ENGINE_TIMEOUT_SECS));
        Ok(Self {
            docker: docker.negotiate_version().await?,
        })
    }

    /// Builds the image and returns its id, showing each build step.
    pub async fn build(&self, request: BuildRequest, progress: &Progress) -> Result<String> {
        let options = BuildImageOptions {
            dockerfile: request.dockerfile,
            nocache: request.no_cache,
            rm: true,
            forcerm: true,
            labels: Some(request.labels),
            ..Default::default()
        };
        let spinner = progress.spinner("building");
        let mut transcript = String::new();
        // The build is untagged: it is named once the server gave it a repository.
        let mut built = None;
        let mut stream = self.docker.build_image(
            options,
            None,
            Some(bollard::body_full(request.context.into())),
        );
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    spinner.finish_and_clear();
                    return Err(Error::Build(build_failure(&error, &transcript)));
                }
                Err(e) => {
                    spinner.finish_and_clear();
                    return Err(e.into());
                }
            };
            if let Some(text) = info.stream {
                // The engine colours the build's stderr; the colour codes are noise in a
                // message or a log file.
                let text = console::strip_ansi_codes(&text).into_owned();
                for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
                    if line.starts_with("Step ") {
                        spinner.set_message(line.to_string());
                    }
                    progress.detail(line);
                }
                transcript.push_str(&text);
            }
            if let Some(id) = info.aux.and_then(|aux| aux.id) {
                built = Some(id);
            }
            if let Some(error) = info.error_detail.and_then(|detail| detail.message) {
                spinner.finish_and_clear();
                return Err(Error::Build(build_failure(&error, &transcript)));
            }
        }
        spinner.finish_and_clear();
        built.ok_or_else(|| Error::Build("the engine reported no id for the build".into()))
    }

    /// The labels of `image`.
    pub async fn labels(&self, image: &str) -> Result<HashMap<String, String>> {
        let image = self.docker.inspect_image(image).await?;
        Ok(image
            .config
            .and_then(|config| config.labels)
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// Tags `image` as `repository:tag`.
    pub async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<()> {
        let options = TagImageOptions {
            repo: Some(repository.to_string()),
            tag: Some(tag.to_string()),
        };
        self.docker.tag_image(image, Some(options)).await?;
        Ok(())
    }

    /// Pushes `repository:tag` with `password` (the upload key) and returns the manifest
    /// digest the registry stored.
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        password: &str,
        progress: &Progress,
    ) -> Result<String> {
        let registry = repository.split('/').next().unwrap_or(repository);
        let credentials = DockerCredentials {
            username: Some("keynet-train".into()),
            password: Some(password.to_string()),
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        };
        let options = PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let bar = progress.bytes("uploading");
        let mut layers = LayerProgress::default();
        let mut digest = None;
        let mut stream = self
            .docker
            .push_image(repository, Some(options), Some(credentials));
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    bar.finish_and_clear();
                    return Err(Error::Push(push_failure(&error)));
                }
                Err(e) => {
                    bar.finish_and_clear();
                    return Err(e.into());
                }
            };
            if let Some(ProgressDetail {
                current: Some(current),
                total: Some(total),
            }) = info.progress_detail
            {
                let (done, all) = layers.update(current, total);
                bar.set_length(all);
                bar.set_position(done);
            }
            if let Some(status) = info.status {
                if let Some(found) = manifest_digest(&status) {
                    digest = Some(found);
                }
                progress.detail(&status);
            }
        }
        bar.finish_and_clear();
        digest.ok_or_else(|| {
            Error::Push("the engine finished the push without reporting a manifest digest".into())
        })
    }

    /// Removes the tag `reference` (not the image it names); a failure only leaves a tag.
    pub async fn untag(&self, reference: &str) {
        let options = bollard::query_parameters::RemoveImageOptions {
            noprune: true,
            ..Default::default()
        };
        let _ = self
            .docker
            .remove_image(reference, Some(options), None)
            .await;
    }
}

fn podman_socket() -> Option<PathBuf> {
    let rootless = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|dir| PathBuf::from(dir).join("podman").join("podman.sock"));
    rootless
        .into_iter()
        .chain([PathBuf::from("/run/podman/podman.sock")])
        .find(|socket| socket.exists())
}

/// The engine's error with the last lines of the build output, which usually explain it.
fn build_failure(error: &str, transcript: &str) -> String {
    let lines: Vec<&str> = transcript
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    if tail.is_empty() {
        format!("the image build failed: {}", error.trim())
    } else {
        format!(
            "the image build failed: {}\n  last output:\n    {}",
            error.trim(),
            tail.join("\n    ")
        )
    }
}

fn push_failure(error: &str) -> String {
    let error = error.trim();
    if error.contains("unauthorized") || error.contains("denied") {
        format!(
            "the registry refused the push: {error} (an upload key pushes one image once, within a day; request a new one by pushing again)"
        )
    } else {
        format!("the push failed: {error}")
    }
}

/// `<tag>: digest: sha256:… size: N`, the engine's last push message.
fn manifest_digest(status: &str) -> Option<String> {
    let rest = status.split_once("digest: ")?.1;
    let digest = rest.split_whitespace().next()?;
    digest.starts_with("sha256:").then(|| digest.to_string())
}

/// Upload progress summed over layers. The push messages bollard decodes carry no layer
/// id, so a layer is told apart by its size; two layers of the same size share a line,
/// which only makes the bar coarser.
#[derive(Default)]
struct LayerProgress {
    by_size: HashMap<i64, i64>,
}

impl LayerProgress {
    /// Records `current` of `total` bytes of one layer; returns (done, all) bytes.
    fn update(&mut self, current: i64, total: i64) -> (u64, u64) {
        let entry = self.by_size.entry(total).or_default();
        *entry = (*entry).max(current.min(total));
        let done: i64 = self.by_size.values().sum();
        let all: i64 = self.by_size.keys().sum();
        (done.max(0) as u64, all.max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_read_from_the_last_push_message() {
        assert_eq!(
            manifest_digest("kup_abc: digest: sha256:0123abcd size: 528").as_deref(),
            Some("sha256:0123abcd")
        );
        assert_eq!(manifest_digest("Pushed"), None);
        assert_eq!(manifest_digest("digest: md5:00"), None);
    }

    #[test]
    fn layer_progress_sums_layers_and_never_goes_back() {
        let mut layers = LayerProgress::default();
        assert_eq!(layers.update(10, 100), (10, 100));
        assert_eq!(layers.update(50, 300), (60, 400));
        assert_eq!(layers.update(5, 100), (60, 400));
        assert_eq!(layers.update(100, 100), (150, 400));
    }

    #[test]
    fn a_build_failure_shows_the_last_output_lines() {
        let transcript = "Step 1/3 : FROM scratch\n ---> \nStep 2/3 : COPY missing /\n";
        let message = build_failure("COPY failed: file not found", transcript);
        assert!(message.contains("COPY failed"), "{message}");
        assert!(message.contains("Step 2/3 : COPY missing /"), "{message}");
        assert_eq!(
            build_failure("no context", ""),
            "the image build failed: no context"
        );
    }
}
