//! Resolves what an admin registers as a trainer into what executors run: a Docker image
//! (tag or digest) to its immutable image id, or `file:///path` to an allowed program.

use crate::executor::{DockerExecutor, Executor, ProcessExecutor, Program, Resources};
use keynet_domain::entities::trainer_versions::Runtime;
use keynet_domain::jobs::trainers::ResolvedProgram;
use std::path::PathBuf;
use std::sync::Arc;

const LOCAL_SCHEME: &str = "file://";

pub struct TrainerImages {
    docker: Option<Arc<DockerExecutor>>,
    process: Option<Arc<ProcessExecutor>>,
}

impl TrainerImages {
    pub fn new(docker: Option<Arc<DockerExecutor>>, process: Option<Arc<ProcessExecutor>>) -> Self {
        Self { docker, process }
    }

    /// The program `image` names, or why it cannot be registered (for the user).
    pub async fn resolve(&self, image: &str) -> Result<ResolvedProgram, String> {
        let image = image.trim();
        if image.is_empty() || image.len() > 500 || image.chars().any(char::is_control) {
            return Err("name an image such as my-trainer:1.0, or file:///path/to/program".into());
        }
        if let Some(path) = image.strip_prefix(LOCAL_SCHEME) {
            let process = self
                .process
                .as_ref()
                .ok_or("this server runs no local programs")?;
            let path = PathBuf::from(path);
            let none = Resources {
                gpus: 0,
                cpus: 0.0,
                memory_mb: 0,
                pids: 0,
            };
            process.check(&Program::Local { path: path.clone() }, &none)?;
            let canonical = path
                .canonicalize()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(ResolvedProgram {
                runtime: Runtime::Local,
                reference: canonical.to_string_lossy().into_owned(),
            });
        }
        let docker = self
            .docker
            .as_ref()
            .ok_or("no Docker engine is available to this server")?;
        let info = docker
            .inspect_image(image)
            .await
            .map_err(|_| format!("the image {image} is not on this server's Docker engine"))?;
        Ok(ResolvedProgram {
            runtime: Runtime::Image,
            reference: info.id,
        })
    }
}
