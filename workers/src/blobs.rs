//! Collects an organization's stored files that nothing refers to any more.

use crate::runner::TaskHandler;
use anyhow::Context;
use futures_util::future::BoxFuture;
use keynet_domain::Domain;
use keynet_domain::datasets::COLLECT_BLOBS;
use keynet_domain::entities::tasks;
use keynet_domain::ids::OrgId;
use serde::Deserialize;
use std::sync::Arc;

pub struct CollectBlobsHandler(pub Arc<Domain>);

#[derive(Deserialize)]
struct Payload {
    org_id: OrgId,
}

impl TaskHandler for CollectBlobsHandler {
    fn kind(&self) -> &'static str {
        COLLECT_BLOBS
    }

    fn run<'a>(&'a self, task: &'a tasks::Model) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let payload: Payload = serde_json::from_value(task.payload.clone())
                .context("malformed blob collection task")?;
            let report = self.0.collect_blobs(payload.org_id).await?;
            tracing::info!(org = %payload.org_id, files = report.files, bytes = report.bytes, "collected unreferenced files");
            Ok(())
        })
    }
}
