//! The images the platform loads into the Docker engine (a pushed version's image, from the
//! registry's blobs, for its compliance runs and its jobs) and removes again, so the
//! engine's disk holds only what runs need now.
//!
//! A loaded image is tagged `keynet-loaded:<image id hex>`: the tag marks it as the
//! platform's (an image the operator put on the engine is never touched) and is what is
//! removed. Each run that needs it counts as a user; the last run of this process to end
//! removes it. What a crashed or stopped worker left behind, and what a run could not
//! remove because another process's container still used it, is swept at start-up and
//! before every load: every `keynet-loaded` image no run of this process uses, tagged more
//! than [`SWEEP_GRACE`] ago (another process on the same engine may have loaded it for a
//! run whose container it is about to create), except where the engine refuses because a
//! container still uses it.

use std::collections::HashMap;

use anyhow::Context as _;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::{
    ImportImageOptions, ListImagesOptions, RemoveImageOptions, TagImageOptions,
};
use futures_util::StreamExt as _;
use tokio::sync::Mutex;

use super::ImageArchive;

/// The repository of the tag that marks an image the platform loaded.
const REPOSITORY: &str = "keynet-loaded";

/// Far longer than a load takes to become a running container.
pub(super) const SWEEP_GRACE: chrono::Duration = chrono::Duration::minutes(10);

struct Loaded {
    /// `keynet-loaded:<hex>`.
    tag: String,
    /// Runs of this process using it.
    users: usize,
}

pub(super) struct LoadedImages {
    docker: Docker,
    /// By the reference the runs use. One lock for loads, releases and sweeps, so a sweep
    /// never removes an image between its load and its run's start.
    loaded: Mutex<HashMap<String, Loaded>>,
}

impl LoadedImages {
    pub(super) fn new(docker: Docker) -> Self {
        Self {
            docker,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// Makes `reference` available, loading it from `archive` when the engine lacks it.
    /// When the image is the platform's, the caller is one of its users until
    /// [`release`](Self::release).
    pub(super) async fn acquire(
        &self,
        reference: &str,
        archive: ImageArchive,
    ) -> anyhow::Result<()> {
        let mut loaded = self.loaded.lock().await;
        if let Some(image) = loaded.get_mut(reference) {
            image.users += 1;
            return Ok(());
        }
        let tag = match self.docker.inspect_image(reference).await {
            // Already there: the platform's if it carries the mark (left by a crashed
            // worker or loaded by another process), else the operator's and not counted.
            Ok(image) => match image
                .repo_tags
                .unwrap_or_default()
                .into_iter()
                .find(|t| is_mark(t))
            {
                Some(tag) => tag,
                None => return Ok(()),
            },
            Err(_) => {
                self.sweep_locked(&loaded, SWEEP_GRACE).await;
                self.load(reference, archive).await?
            }
        };
        loaded.insert(reference.to_owned(), Loaded { tag, users: 1 });
        Ok(())
    }

    /// Ends one run's use of `reference`; the last user removes the image.
    pub(super) async fn release(&self, reference: &str) {
        let mut loaded = self.loaded.lock().await;
        let Some(image) = loaded.get_mut(reference) else {
            return;
        };
        image.users -= 1;
        if image.users > 0 {
            return;
        }
        if let Some(image) = loaded.remove(reference) {
            self.remove(&image.tag).await;
        }
    }

    /// Removes the platform's images that no run of this process uses, marked more than
    /// `grace` ago.
    pub(super) async fn sweep(&self, grace: chrono::Duration) {
        let loaded = self.loaded.lock().await;
        self.sweep_locked(&loaded, grace).await;
    }

    async fn sweep_locked(&self, loaded: &HashMap<String, Loaded>, grace: chrono::Duration) {
        let options = ListImagesOptions {
            filters: Some(HashMap::from([(
                "reference".to_owned(),
                vec![REPOSITORY.to_owned()],
            )])),
            ..Default::default()
        };
        let images = match self.docker.list_images(Some(options)).await {
            Ok(images) => images,
            Err(e) => {
                tracing::warn!(error = %e, "could not list the images the platform loaded");
                return;
            }
        };
        let marks = images
            .into_iter()
            .flat_map(|image| image.repo_tags)
            .filter(|tag| is_mark(tag));
        let before = chrono::Utc::now() - grace;
        for tag in marks {
            if !loaded.values().any(|image| image.tag == tag)
                && self.marked_before(&tag, before).await
            {
                self.remove(&tag).await;
            }
        }
    }

    /// Whether the engine last tagged `tag` before `at` (also when it does not say).
    async fn marked_before(&self, tag: &str, at: chrono::DateTime<chrono::Utc>) -> bool {
        let Ok(image) = self.docker.inspect_image(tag).await else {
            return false;
        };
        image
            .metadata
            .and_then(|metadata| metadata.last_tag_time)
            .and_then(|time| chrono::DateTime::parse_from_rfc3339(&time).ok())
            .is_none_or(|tagged| tagged < at)
    }

    /// Loads the archive, checks the engine has `reference` then, and marks it.
    async fn load(&self, reference: &str, archive: ImageArchive) -> anyhow::Result<String> {
        let tar = archive().await?;
        let mut loading = self
            .docker
            .import_image_stream(ImportImageOptions::default(), tar, None);
        while let Some(progress) = loading.next().await {
            progress.with_context(|| format!("loading the pushed image {reference}"))?;
        }
        let id = self
            .docker
            .inspect_image(reference)
            .await
            .ok()
            .and_then(|image| image.id)
            .with_context(|| {
                format!("the engine loaded the archive but has no image {reference}")
            })?;
        let hex = id.strip_prefix("sha256:").unwrap_or(&id).to_owned();
        self.docker
            .tag_image(
                &id,
                Some(TagImageOptions {
                    repo: Some(REPOSITORY.to_owned()),
                    tag: Some(hex.clone()),
                }),
            )
            .await
            .with_context(|| format!("marking the loaded image {reference}"))?;
        Ok(format!("{REPOSITORY}:{hex}"))
    }

    /// Removes the mark, and with it the image unless another tag holds it. The engine
    /// refuses while a container uses it: the next sweep tries again.
    async fn remove(&self, tag: &str) {
        let options = RemoveImageOptions {
            force: false,
            ..Default::default()
        };
        match self.docker.remove_image(tag, Some(options), None).await {
            Ok(_) => tracing::debug!(image = tag, "a loaded image removed"),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) => {
                tracing::debug!(
                    image = tag,
                    "a loaded image is still used by a container; left for the next sweep"
                )
            }
            Err(e) => tracing::warn!(image = tag, error = %e, "could not remove a loaded image"),
        }
    }
}

fn is_mark(tag: &str) -> bool {
    tag.strip_prefix(REPOSITORY)
        .is_some_and(|rest| rest.starts_with(':'))
}
