//! Runs dataset imports queued by uploads.

use crate::runner::TaskHandler;
use anyhow::Context;
use futures_util::future::BoxFuture;
use keynet_domain::Domain;
use keynet_domain::datasets::IMPORT_DATASET;
use keynet_domain::entities::tasks;
use keynet_domain::ids::DatasetUploadId;
use serde::Deserialize;
use std::sync::Arc;

pub struct ImportHandler(pub Arc<Domain>);

#[derive(Deserialize)]
struct Payload {
    upload_id: DatasetUploadId,
}

impl TaskHandler for ImportHandler {
    fn kind(&self) -> &'static str {
        IMPORT_DATASET
    }

    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let payload: Payload =
                serde_json::from_value(task.payload.clone()).context("malformed import task")?;
            self.0.run_import(payload.upload_id).await?;
            Ok(())
        })
    }
}
