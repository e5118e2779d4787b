//! Deployments: a trained model served behind an HTTP endpoint, with keys, batching and
//! scaling. This module is the people's side (create, list, change, stop, start, delete);
//! `keys` authenticates callers; `hosting` is the worker hosts' side (replicas, status).

pub mod hosting;
pub mod keys;
pub mod metrics;
mod settings;

use crate::audit::Change;
use crate::domain::{Domain, Tx};
use crate::entities::deployment_replicas::{self, ReplicaStatus};
use crate::entities::deployments::{self, DeploymentStatus, Runtime};
use crate::entities::job_artifacts::{self, ArtifactKind};
use crate::entities::jobs::{self, CheckpointKind, JobKind, JobStatus};
use crate::entities::projects::TaskType;
use crate::error::{Error, Result, conflict_on_unique};
use crate::events::{DeploymentSummary, Event, deployment_topic};
use crate::ids::{DeploymentId, JobId, ProjectId};
use crate::jobs::start::NewExportJob;
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait,
    QueryFilter, Set,
};
use serde_json::json;

pub use settings::{DeploymentSettings, SettingsInput};

/// The ONNX runtime serves ONNX exports only.
pub const ONNX_FORMAT: &str = "onnx";

/// Where a deployment's model comes from.
pub enum DeploymentSource {
    /// An export job's artifact (it may still be running: the deployment waits for it).
    Export(JobId),
    /// A training job's checkpoint, exported for the deployment by a new export job.
    Checkpoint {
        job_id: JobId,
        checkpoint: CheckpointKind,
    },
}

pub struct NewDeployment {
    pub project_id: ProjectId,
    pub name: String,
    pub source: DeploymentSource,
    pub runtime: Runtime,
    pub settings: SettingsInput,
}

impl Domain {
    pub async fn create_deployment(
        &self,
        viewer: &Viewer,
        input: NewDeployment,
    ) -> Result<deployments::Model> {
        let project = self.project(viewer, input.project_id).await?;
        viewer.require(project.org_id, Permission::ManageDeployments)?;
        if !matches!(
            project.task_type,
            TaskType::Classification | TaskType::Detection
        ) {
            return Err(Error::invalid(
                "runtime",
                "the ONNX runtime serves classification and detection models; segmentation and pose models need the TRAINER runtime",
            ));
        }
        let name = validate::name("name", &input.name, 100)?;
        let settings = DeploymentSettings::default().apply(input.settings)?;
        let taken = deployments::Entity::find()
            .filter(deployments::Column::ProjectId.eq(project.id))
            .filter(deployments::Column::Name.eq(&name))
            .count(&self.db)
            .await?;
        if taken > 0 {
            return Err(Error::invalid(
                "name",
                "the project has a deployment of this name",
            ));
        }
        let (source_job, checkpoint, export_job) = match input.source {
            DeploymentSource::Export(id) => {
                let export = self.export_to_serve(viewer, id, project.id).await?;
                (export.id, None, export)
            }
            DeploymentSource::Checkpoint { job_id, checkpoint } => {
                let export = self
                    .export_for_deployment(viewer, job_id, checkpoint)
                    .await?;
                (job_id, Some(checkpoint), export)
            }
        };
        let artifact = self.onnx_artifact(&export_job).await?;
        let (status, reason) = match &artifact {
            Some(_) => (DeploymentStatus::Starting, None),
            None => (
                DeploymentStatus::Pending,
                Some("waiting for the ONNX export".to_string()),
            ),
        };
        let at = now();
        let mut tx = self.begin().await?;
        let deployment = deployments::ActiveModel {
            id: Set(DeploymentId::new()),
            org_id: Set(project.org_id),
            project_id: Set(project.id),
            name: Set(name),
            runtime: Set(input.runtime),
            source_job_id: Set(source_job),
            source_checkpoint: Set(checkpoint),
            export_job_id: Set(Some(export_job.id)),
            artifact_id: Set(artifact.map(|a| a.id)),
            status: Set(status),
            status_reason: Set(reason),
            min_replicas: Set(settings.min_replicas),
            max_replicas: Set(settings.max_replicas),
            max_batch_size: Set(settings.max_batch_size),
            max_queue_delay_ms: Set(settings.max_queue_delay_ms),
            resources: Set(settings.resources),
            idle_seconds_before_scale_to_zero: Set(settings.idle_seconds_before_scale_to_zero),
            last_request_at: Set(None),
            created_by: Set(Some(viewer.user_id)),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&*tx)
        .await
        .map_err(|e| conflict_on_unique(e, "the project has a deployment of this name"))?;
        Change::new(
            project.org_id,
            "deployment.created",
            "deployment",
            deployment.id,
        )
        .by(viewer)
        .meta(json!({"name": deployment.name, "source_job_id": source_job}))
        .record(&mut tx)
        .await?;
        announce(&mut tx, &deployment, 0);
        self.commit(tx).await?;
        Ok(deployment)
    }

    /// The export job named as a source: in the project, an ONNX export, not failed.
    async fn export_to_serve(
        &self,
        viewer: &Viewer,
        id: JobId,
        project: ProjectId,
    ) -> Result<jobs::Model> {
        const FIELD: &str = "source.exportJobId";
        let job = self.job(viewer, id).await?;
        if job.project_id != project {
            return Err(Error::invalid(FIELD, "the job belongs to another project"));
        }
        if job.kind != JobKind::Export {
            return Err(Error::invalid(
                FIELD,
                "is not an export job; name a training job as source.trainingJobId to deploy its checkpoint",
            ));
        }
        if job.export_format.as_deref() != Some(ONNX_FORMAT) {
            return Err(Error::invalid(
                FIELD,
                format!(
                    "the export is {}; the ONNX runtime serves ONNX exports",
                    job.export_format.as_deref().unwrap_or("of no format")
                ),
            ));
        }
        if matches!(job.status, JobStatus::Failed | JobStatus::Cancelled) {
            return Err(Error::invalid(
                FIELD,
                "the export job did not succeed; retry it or deploy the training job's checkpoint",
            ));
        }
        Ok(job)
    }

    /// Starts the ONNX export of a training job's checkpoint, naming the deployment's
    /// fields in any refusal.
    async fn export_for_deployment(
        &self,
        viewer: &Viewer,
        job_id: JobId,
        checkpoint: CheckpointKind,
    ) -> Result<jobs::Model> {
        let started = self
            .start_export_job(
                viewer,
                NewExportJob {
                    job_id,
                    checkpoint,
                    format: ONNX_FORMAT.into(),
                    options: None,
                    idempotency_key: None,
                },
            )
            .await;
        started.map_err(|error| match error {
            Error::InvalidInput { field, message } => {
                let field = match field.as_ref() {
                    "format" => "runtime",
                    "checkpoint" => "source.checkpoint",
                    _ => "source.trainingJobId",
                };
                Error::invalid(field, message)
            }
            other => other,
        })
    }

    /// The export artifact of a finished export job.
    pub(crate) async fn onnx_artifact(
        &self,
        export: &jobs::Model,
    ) -> Result<Option<job_artifacts::Model>> {
        if export.status != JobStatus::Succeeded {
            return Ok(None);
        }
        Ok(job_artifacts::Entity::find()
            .filter(job_artifacts::Column::JobId.eq(export.id))
            .filter(job_artifacts::Column::Kind.eq(ArtifactKind::Export))
            .one(&self.db)
            .await?)
    }

    pub async fn deployment(
        &self,
        viewer: &Viewer,
        id: DeploymentId,
    ) -> Result<deployments::Model> {
        let deployment = find_scoped::<deployments::Entity>(
            &self.db,
            viewer,
            (deployments::Column::Id, id),
            deployments::Column::OrgId,
            "deployment",
        )
        .await?;
        viewer.require(deployment.org_id, Permission::ReadProjects)?;
        Ok(deployment)
    }

    /// A deployment the viewer may change (create keys for, stop, delete …).
    pub(crate) async fn managed_deployment(
        &self,
        viewer: &Viewer,
        id: DeploymentId,
    ) -> Result<deployments::Model> {
        let deployment = self.deployment(viewer, id).await?;
        viewer.require(deployment.org_id, Permission::ManageDeployments)?;
        Ok(deployment)
    }

    pub async fn deployments(
        &self,
        viewer: &Viewer,
        project: ProjectId,
        status: Option<DeploymentStatus>,
        page: PageRequest,
    ) -> Result<Page<deployments::Model>> {
        let project = self.project(viewer, project).await?;
        let mut query =
            deployments::Entity::find().filter(deployments::Column::ProjectId.eq(project.id));
        if let Some(status) = status {
            query = query.filter(deployments::Column::Status.eq(status));
        }
        let rows = page
            .apply(query, deployments::Column::Id, Order::Desc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    /// Changes replicas, batching or scale to zero; replicas pick the change up at their
    /// next reconciliation (batching settings restart them with the new ones).
    pub async fn update_deployment(
        &self,
        viewer: &Viewer,
        id: DeploymentId,
        input: SettingsInput,
    ) -> Result<deployments::Model> {
        let deployment = self.managed_deployment(viewer, id).await?;
        let settings = DeploymentSettings::of(&deployment).apply(input)?;
        let mut tx = self.begin().await?;
        let mut changed: deployments::ActiveModel = deployment.into();
        changed.min_replicas = Set(settings.min_replicas);
        changed.max_replicas = Set(settings.max_replicas);
        changed.max_batch_size = Set(settings.max_batch_size);
        changed.max_queue_delay_ms = Set(settings.max_queue_delay_ms);
        changed.resources = Set(settings.resources);
        changed.idle_seconds_before_scale_to_zero = Set(settings.idle_seconds_before_scale_to_zero);
        changed.updated_at = Set(now());
        let deployment = changed.update(&*tx).await?;
        Change::new(
            deployment.org_id,
            "deployment.updated",
            "deployment",
            deployment.id,
        )
        .by(viewer)
        .meta(json!({"name": deployment.name}))
        .record(&mut tx)
        .await?;
        let ready = ready_replicas(&*tx, deployment.id).await?;
        announce(&mut tx, &deployment, ready);
        self.commit(tx).await?;
        Ok(deployment)
    }

    /// Stops serving: replicas are released, requests answer 409, keys stay.
    pub async fn stop_deployment(
        &self,
        viewer: &Viewer,
        id: DeploymentId,
    ) -> Result<deployments::Model> {
        let deployment = self.managed_deployment(viewer, id).await?;
        if deployment.status == DeploymentStatus::Stopped {
            return Ok(deployment);
        }
        self.set_status(
            Some(viewer),
            deployment,
            DeploymentStatus::Stopped,
            Some("stopped by a person".into()),
            "deployment.stopped",
        )
        .await
    }

    /// Serves again a stopped or failed deployment (its export is looked at again).
    pub async fn start_deployment(
        &self,
        viewer: &Viewer,
        id: DeploymentId,
    ) -> Result<deployments::Model> {
        let deployment = self.managed_deployment(viewer, id).await?;
        if !matches!(
            deployment.status,
            DeploymentStatus::Stopped | DeploymentStatus::Failed
        ) {
            return Ok(deployment);
        }
        let (status, reason) = if deployment.artifact_id.is_some() {
            (DeploymentStatus::Starting, None)
        } else {
            (
                DeploymentStatus::Pending,
                Some("waiting for the ONNX export".to_string()),
            )
        };
        self.set_status(
            Some(viewer),
            deployment,
            status,
            reason,
            "deployment.started",
        )
        .await
    }

    /// Removes the deployment, its keys and its replicas' rows (hosts drop the replicas at
    /// their next reconciliation). Its usage stays in the ledger.
    pub async fn delete_deployment(
        &self,
        viewer: &Viewer,
        id: DeploymentId,
    ) -> Result<deployments::Model> {
        let deployment = self.managed_deployment(viewer, id).await?;
        let mut tx = self.begin().await?;
        deployments::Entity::delete_by_id(deployment.id)
            .exec(&*tx)
            .await?;
        Change::new(
            deployment.org_id,
            "deployment.deleted",
            "deployment",
            deployment.id,
        )
        .by(viewer)
        .meta(json!({"name": deployment.name}))
        .record(&mut tx)
        .await?;
        let gone = deployments::Model {
            status: DeploymentStatus::Stopped,
            status_reason: Some("deleted".into()),
            ..deployment.clone()
        };
        announce(&mut tx, &gone, 0);
        self.commit(tx).await?;
        Ok(deployment)
    }

    /// Moves a deployment to `status` and tells its subscribers; audited when a person did it.
    pub(crate) async fn set_status(
        &self,
        by: Option<&Viewer>,
        deployment: deployments::Model,
        status: DeploymentStatus,
        reason: Option<String>,
        action: &'static str,
    ) -> Result<deployments::Model> {
        let mut tx = self.begin().await?;
        let mut changed: deployments::ActiveModel = deployment.into();
        changed.status = Set(status);
        changed.status_reason = Set(reason);
        changed.updated_at = Set(now());
        let deployment = changed.update(&*tx).await?;
        if let Some(viewer) = by {
            Change::new(deployment.org_id, action, "deployment", deployment.id)
                .by(viewer)
                .meta(json!({"name": deployment.name}))
                .record(&mut tx)
                .await?;
        }
        let ready = ready_replicas(&*tx, deployment.id).await?;
        announce(&mut tx, &deployment, ready);
        self.commit(tx).await?;
        Ok(deployment)
    }
}

pub(crate) async fn ready_replicas(db: &impl ConnectionTrait, id: DeploymentId) -> Result<i64> {
    Ok(deployment_replicas::Entity::find()
        .filter(deployment_replicas::Column::DeploymentId.eq(id))
        .filter(deployment_replicas::Column::Status.eq(ReplicaStatus::Ready))
        .count(db)
        .await? as i64)
}

pub(crate) fn announce(tx: &mut Tx, deployment: &deployments::Model, ready_replicas: i64) {
    tx.announce(
        deployment_topic(deployment.id),
        Event::DeploymentUpdated(DeploymentSummary {
            deployment_id: deployment.id,
            org_id: deployment.org_id,
            status: deployment.status,
            status_reason: deployment.status_reason.clone(),
            ready_replicas,
        }),
    );
}
