//! Trainers as marketplace items: created by their authors, pushed to through the registry.

use super::context::{domain, marketplace, parse_id, viewer};
use super::enums::TaskType;
use super::job_types::{Trainer, TrainerVersion};
use super::jobs::HyperParameterInput;
use super::live;
use super::types::id;
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use keynet_domain::events::{Event, trainer_version_topic};
use keynet_marketplace::{NewTrainer, UploadRequest};
use serde_json::Value;

#[derive(InputObject)]
pub struct CreateTrainerInput {
    pub org_id: ID,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub task_types: Vec<TaskType>,
    #[graphql(default)]
    pub frameworks: Vec<String>,
}

#[derive(Default)]
pub struct MarketplaceMutation;

#[Object]
impl MarketplaceMutation {
    /// Admins: replaces the organization's scan policy (see `scanPolicy`); a malformed one
    /// is refused naming its field (`policy.allowlist[0].expires_at`).
    async fn set_scan_policy(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        policy: Json<Value>,
    ) -> ApiResult<Json<Value>> {
        let policy = marketplace(ctx)
            .set_scan_policy(viewer(ctx)?, parse_id(&org_id, "orgId")?, &policy.0)
            .await?;
        Ok(Json(
            serde_json::to_value(policy).map_err(|e| keynet_domain::Error::Internal(e.into()))?,
        ))
    }

    /// Members: a new trainer, which is also the registry repository
    /// `<org-slug>/<trainer-slug>` its versions are pushed to.
    async fn create_trainer(
        &self,
        ctx: &Context<'_>,
        input: CreateTrainerInput,
    ) -> ApiResult<Trainer> {
        let trainer = marketplace(ctx)
            .create_trainer(
                viewer(ctx)?,
                NewTrainer {
                    org_id: parse_id(&input.org_id, "orgId")?,
                    name: input.name,
                    description: input.description,
                    task_types: input.task_types.into_iter().map(Into::into).collect(),
                    frameworks: input.frameworks,
                },
            )
            .await?;
        Ok(Trainer(trainer))
    }

    /// Members with the trainer-push scope: an upload key for the next version of a trainer.
    async fn request_trainer_upload(
        &self,
        ctx: &Context<'_>,
        input: RequestTrainerUploadInput,
    ) -> ApiResult<TrainerUpload> {
        let ticket = marketplace(ctx)
            .request_trainer_upload(
                viewer(ctx)?,
                UploadRequest {
                    project_id: parse_id(&input.project_id, "projectId")?,
                    model_name: input.model_name,
                    hyperparameters: input.hyper_parameters.into_iter().map(Into::into).collect(),
                },
            )
            .await?;
        Ok(TrainerUpload {
            id: id(ticket.version.id),
            upload_key: ticket.upload_key,
            repository: ticket.repository,
            command: ticket.command,
            expires_at: ticket.expires_at,
            version: TrainerVersion(ticket.version),
        })
    }
}

#[derive(InputObject)]
pub struct RequestTrainerUploadInput {
    /// The project the trainer is for; its task type becomes the new trainer's.
    pub project_id: ID,
    /// The trainer's name: a new one creates the trainer, a known one adds a version.
    pub model_name: String,
    /// As `keynet-train` extracted them from the entrypoint's argparse.
    #[graphql(default)]
    pub hyper_parameters: Vec<HyperParameterInput>,
}

/// What `docker push` needs. The key is shown once.
#[derive(SimpleObject)]
pub struct TrainerUpload {
    /// The version the push becomes.
    pub id: ID,
    /// The password for `docker login` (any user name) and the tag to push; it pushes one
    /// image to this tag of this repository, once, within a day.
    pub upload_key: String,
    /// `<registry>/<org>/<trainer>`.
    pub repository: String,
    /// The `docker push` to run once the image is tagged `<repository>:<uploadKey>`.
    pub command: String,
    pub expires_at: DateTime<Utc>,
    pub version: TrainerVersion,
}

#[derive(Default)]
pub struct MarketplaceQuery;

#[Object]
impl MarketplaceQuery {
    /// The scan policy the organization's trainer versions are checked against:
    /// `block_with_fix` (severities that block when a fix exists), `block_secrets`,
    /// `block_severities_always`, and `allowlist` entries (`rule`, optional `package` /
    /// `path`, `expires_at`, `reason`).
    async fn scan_policy(&self, ctx: &Context<'_>, org_id: ID) -> ApiResult<Json<Value>> {
        let policy = marketplace(ctx)
            .scan_policy(viewer(ctx)?, parse_id(&org_id, "orgId")?)
            .await?;
        Ok(Json(
            serde_json::to_value(policy).map_err(|e| keynet_domain::Error::Internal(e.into()))?,
        ))
    }
}

#[derive(Default)]
pub struct MarketplaceSubscription;

#[Subscription]
impl MarketplaceSubscription {
    /// The version each time its checks move on (status and the report so far).
    async fn trainer_version_updated(
        &self,
        ctx: &Context<'_>,
        version_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<TrainerVersion>> + use<>, ApiError> {
        let id: keynet_domain::ids::TrainerVersionId = parse_id(&version_id, "versionId")?;
        let (version, guard) = live::admit(ctx, move |domain, viewer| async move {
            domain.trainer_version(&viewer, id).await
        })
        .await?;
        let updates = domain(ctx)
            .events()
            .subscribe(&trainer_version_topic(version.id))
            .filter_map(|event| async move {
                match event {
                    Event::TrainerVersionUpdated(version) => Some(Ok(TrainerVersion(*version))),
                    _ => None,
                }
            });
        Ok(guard.watch(updates))
    }
}
