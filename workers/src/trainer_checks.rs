//! Runs the checks of pushed trainer versions (validation, security scan).

use crate::runner::TaskHandler;
use anyhow::Context;
use futures_util::future::BoxFuture;
use keynet_domain::entities::tasks;
use keynet_domain::ids::TrainerVersionId;
use keynet_marketplace::CHECK_TRAINER_VERSION;
use keynet_marketplace::Marketplace;
use serde::Deserialize;
use std::sync::Arc;

pub struct TrainerCheckHandler(pub Arc<Marketplace>);

#[derive(Deserialize)]
struct Payload {
    version_id: TrainerVersionId,
}

impl TaskHandler for TrainerCheckHandler {
    fn kind(&self) -> &'static str {
        CHECK_TRAINER_VERSION
    }

    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let payload: Payload = serde_json::from_value(task.payload.clone())
                .context("malformed trainer check task")?;
            self.0.check_trainer_version(payload.version_id).await?;
            Ok(())
        })
    }
}
