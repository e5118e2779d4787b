//! Starting, retrying and cancelling jobs. A job is inserted and its run task enqueued in
//! one transaction, after the billing hook (quotas) agreed.

use super::billing::AdmissionRequest;
use super::input::{self, ConfigInput, ResourcesInput};
use super::{RUN_JOB, announce_job};
use crate::audit::Change;
use crate::domain::{Domain, Tx};
use crate::entities::job_artifacts::{self, ArtifactKind};
use crate::entities::jobs::{self, CheckpointKind, JobKind, JobStatus};
use crate::entities::trainer_versions::{self, VersionStatus};
use crate::error::{Error, Result};
use crate::ids::{
    ExperimentId, InferenceUploadId, JobId, OrgId, ProjectId, SnapshotId, TrainerVersionId,
};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr, TryIntoModel};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct NewTrainingJob {
    pub project_id: ProjectId,
    pub experiment_id: Option<ExperimentId>,
    pub trainer_version_id: TrainerVersionId,
    pub snapshot_id: SnapshotId,
    pub model_name: String,
    pub config: ConfigInput,
    pub advanced_config: Option<Value>,
    pub hyperparameters: Option<Value>,
    pub resources: ResourcesInput,
    pub max_runtime_seconds: Option<i32>,
    /// The client's key for this start (see [`client_key`]).
    pub idempotency_key: Option<String>,
}

/// What an inference job predicts on: a dataset snapshot, or one uploaded image.
pub enum InferenceInput {
    Snapshot(SnapshotId),
    Image(InferenceUploadId),
}

pub struct NewInferenceJob {
    pub job_id: JobId,
    pub checkpoint: CheckpointKind,
    pub input: InferenceInput,
    pub idempotency_key: Option<String>,
}

pub struct NewExportJob {
    pub job_id: JobId,
    pub checkpoint: CheckpointKind,
    pub format: String,
    pub options: Option<Value>,
    pub idempotency_key: Option<String>,
}

/// Inference and export run on CPU by default, briefly.
const FOLLOW_UP_RUNTIME_SECONDS: i32 = 3600;

const MAX_IDEMPOTENCY_KEY: usize = 200;

impl Domain {
    pub async fn start_training_job(
        &self,
        viewer: &Viewer,
        input: NewTrainingJob,
    ) -> Result<jobs::Model> {
        let project = self.project(viewer, input.project_id).await?;
        viewer.require(project.org_id, Permission::RunJobs)?;
        let key = client_key(input.idempotency_key)?;
        if let Some(experiment) = input.experiment_id {
            let experiment = self.experiment(viewer, experiment).await?.experiment;
            if experiment.project_id != project.id {
                return Err(Error::invalid(
                    "experimentId",
                    "the experiment belongs to another project",
                ));
            }
            if experiment.archived_at.is_some() {
                return Err(Error::invalid("experimentId", "the experiment is archived"));
            }
        }
        let version = self
            .runnable_version(viewer, input.trainer_version_id, project.org_id)
            .await?;
        if !version.task_types.0.contains(&project.task_type) {
            return Err(Error::invalid(
                "trainerVersionId",
                "the trainer does not support this project's task type",
            ));
        }
        let snapshot = self.dataset_snapshot(viewer, input.snapshot_id).await?;
        if snapshot.org_id != project.org_id {
            return Err(Error::NotFound("snapshot"));
        }
        let hyperparameters = version
            .hyperparameters
            .resolve(&input.hyperparameters.unwrap_or(Value::Null))?;
        let job = jobs::ActiveModel {
            experiment_id: Set(input.experiment_id),
            snapshot_id: Set(Some(snapshot.id)),
            kind: Set(JobKind::Training),
            model_name: Set(validate::name("modelName", &input.model_name, 100)?),
            config: Set(input::config(input.config)?),
            advanced_config: Set(input::json_object("advancedConfig", input.advanced_config)?),
            hyperparameters: Set(Value::Object(hyperparameters)),
            resources: Set(input::resources(input.resources)?),
            max_runtime_seconds: Set(input::max_runtime(input.max_runtime_seconds)?),
            ..new_job(&project, &version)
        };
        self.queue_job(viewer, job, key).await
    }

    pub async fn start_inference_job(
        &self,
        viewer: &Viewer,
        input: NewInferenceJob,
    ) -> Result<jobs::Model> {
        let source = self
            .finished_training(viewer, input.job_id, input.checkpoint)
            .await?;
        let key = client_key(input.idempotency_key)?;
        let (snapshot, image) = match input.input {
            InferenceInput::Snapshot(id) => {
                let snapshot = self.dataset_snapshot(viewer, id).await?;
                if snapshot.org_id != source.org_id {
                    return Err(Error::NotFound("snapshot"));
                }
                (Some(snapshot.id), None)
            }
            InferenceInput::Image(id) => {
                let upload = self.uploaded_image(viewer, id).await?;
                if upload.org_id != source.org_id {
                    return Err(Error::NotFound("image upload"));
                }
                (None, Some(upload.id))
            }
        };
        let job = jobs::ActiveModel {
            kind: Set(JobKind::Inference),
            snapshot_id: Set(snapshot),
            inference_upload_id: Set(image),
            checkpoint: Set(Some(input.checkpoint)),
            ..follow_up(&source)
        };
        self.queue_job(viewer, job, key).await
    }

    pub async fn start_export_job(
        &self,
        viewer: &Viewer,
        input: NewExportJob,
    ) -> Result<jobs::Model> {
        let source = self
            .finished_training(viewer, input.job_id, input.checkpoint)
            .await?;
        let key = client_key(input.idempotency_key)?;
        let version = trainer_versions::Entity::find_by_id(source.trainer_version_id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("trainer version"))?;
        let format = input.format.trim().to_ascii_lowercase();
        if !version.export_formats.0.contains(&format) {
            return Err(Error::invalid(
                "format",
                format!(
                    "the trainer cannot export {format}; it declares: {}",
                    if version.export_formats.0.is_empty() {
                        "nothing".into()
                    } else {
                        version.export_formats.0.join(", ")
                    }
                ),
            ));
        }
        let job = jobs::ActiveModel {
            kind: Set(JobKind::Export),
            checkpoint: Set(Some(input.checkpoint)),
            export_format: Set(Some(format)),
            options: Set(input::json_object("options", input.options)?),
            ..follow_up(&source)
        };
        self.queue_job(viewer, job, key).await
    }

    /// A new job with the same inputs as a failed or cancelled one. A job is retried once:
    /// calling again (a client retrying after a timeout, or concurrently) answers that retry.
    pub async fn retry_job(&self, viewer: &Viewer, id: JobId) -> Result<jobs::Model> {
        let old = self.job(viewer, id).await?;
        viewer.require(old.org_id, Permission::RunJobs)?;
        if !matches!(old.status, JobStatus::Failed | JobStatus::Cancelled) {
            return Err(Error::conflict(
                "only a failed or cancelled job can be retried",
            ));
        }
        self.runnable_version(viewer, old.trainer_version_id, old.org_id)
            .await?;
        let job = jobs::ActiveModel {
            retry_of_id: Set(Some(old.id)),
            ..copy_inputs(&old)
        };
        self.queue_job(viewer, job, Some(format!("retry:{}", old.id)))
            .await
    }

    /// A queued job is cancelled at once; a running one is stopped by its worker, which
    /// then marks it cancelled.
    pub async fn cancel_job(&self, viewer: &Viewer, id: JobId) -> Result<jobs::Model> {
        let job = self.job(viewer, id).await?;
        viewer.require(job.org_id, Permission::RunJobs)?;
        let mut tx = self.begin().await?;
        let current = jobs::Entity::find_by_id(job.id)
            .one(&*tx)
            .await?
            .ok_or(Error::NotFound("job"))?;
        if current.status.is_terminal() {
            return Err(Error::conflict("the job has already finished"));
        }
        let at = now();
        let mut update = jobs::ActiveModel {
            id: Set(current.id),
            cancel_requested: Set(true),
            updated_at: Set(at),
            ..Default::default()
        };
        if current.status == JobStatus::Queued {
            update.status = Set(JobStatus::Cancelled);
            update.finished_at = Set(Some(at));
        }
        let updated = update.update(&*tx).await?;
        if updated.status.is_terminal() {
            self.catalog.job_ended(&tx, &updated).await?;
        }
        Change::new(updated.org_id, "job.cancelled", "job", updated.id)
            .by(viewer)
            .record(&mut tx)
            .await?;
        announce_job(&mut tx, &updated);
        self.commit(tx).await?;
        Ok(updated)
    }

    /// A ready version jobs of `org` may run: one of the org's own, or one of a trainer
    /// another organization lists in the marketplace.
    async fn runnable_version(
        &self,
        viewer: &Viewer,
        id: TrainerVersionId,
        org: crate::ids::OrgId,
    ) -> Result<trainer_versions::Model> {
        let version = match self.trainer_version(viewer, id).await {
            Ok(own) if own.org_id == org => own,
            // Anyone else's (even of another org of the viewer's) only while it is listed;
            // an unlisted one stays not found.
            Ok(_) | Err(Error::NotFound(_)) => self.catalog.shared_version(&self.db, id).await?,
            Err(e) => return Err(e),
        };
        if version.status != VersionStatus::Ready {
            return Err(Error::invalid(
                "trainerVersionId",
                "the trainer version is not ready",
            ));
        }
        Ok(version)
    }

    /// The succeeded training job an inference or export starts from, which must have the
    /// chosen checkpoint.
    async fn finished_training(
        &self,
        viewer: &Viewer,
        id: JobId,
        checkpoint: CheckpointKind,
    ) -> Result<jobs::Model> {
        let source = self.job(viewer, id).await?;
        viewer.require(source.org_id, Permission::RunJobs)?;
        if source.kind != JobKind::Training || source.status != JobStatus::Succeeded {
            return Err(Error::invalid(
                "jobId",
                "needs a training job that succeeded",
            ));
        }
        let kind = match checkpoint {
            CheckpointKind::Best => ArtifactKind::BestCheckpoint,
            CheckpointKind::Last => ArtifactKind::LastCheckpoint,
        };
        let has_checkpoint = job_artifacts::Entity::find()
            .filter(job_artifacts::Column::JobId.eq(source.id))
            .filter(job_artifacts::Column::Kind.eq(kind))
            .one(&self.db)
            .await?
            .is_some();
        if !has_checkpoint {
            return Err(Error::invalid(
                "checkpoint",
                "the job has no such checkpoint",
            ));
        }
        Ok(source)
    }

    /// Inserts the job and queues its run, after the billing hook agreed. With an
    /// idempotency `key` (namespaced, see [`jobs::Model::idempotency_key`]), a job the key
    /// already started is answered instead; the unique index decides between concurrent calls.
    async fn queue_job(
        &self,
        viewer: &Viewer,
        mut job: jobs::ActiveModel,
        key: Option<String>,
    ) -> Result<jobs::Model> {
        job.created_by = Set(Some(viewer.user_id));
        let request = job.clone().try_into_model()?;
        let fingerprint = request_fingerprint(&request);
        if let Some(key) = &key
            && let Some(first) = self.job_with_key(request.org_id, key).await?
        {
            return replay(first, &fingerprint);
        }
        job.idempotency_key = Set(key.clone());
        job.request_fingerprint = Set(Some(fingerprint.clone()));
        let mut tx = self.begin().await?;
        let job = match (job.insert(&*tx).await, key) {
            (Ok(job), _) => job,
            (Err(error), Some(key))
                if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
            {
                // A concurrent call with the key committed first: answer its job.
                drop(tx);
                let first = self
                    .job_with_key(request.org_id, &key)
                    .await?
                    .ok_or(Error::Database(error))?;
                return replay(first, &fingerprint);
            }
            (Err(error), _) => return Err(error.into()),
        };
        let request = AdmissionRequest {
            job_id: job.id,
            org_id: job.org_id,
            project_id: job.project_id,
            kind: job.kind,
            resources: &job.resources,
            max_runtime_seconds: job.max_runtime_seconds,
        };
        self.billing.admit(&tx, &request).await?;
        enqueue_run(&tx, &job).await?;
        Change::new(job.org_id, "job.started", "job", job.id)
            .by(viewer)
            .meta(json!({"kind": job.kind, "trainer_version_id": job.trainer_version_id}))
            .record(&mut tx)
            .await?;
        announce_job(&mut tx, &job);
        self.commit(tx).await?;
        Ok(job)
    }

    async fn job_with_key(&self, org: OrgId, key: &str) -> Result<Option<jobs::Model>> {
        Ok(jobs::Entity::find()
            .filter(jobs::Column::OrgId.eq(org))
            .filter(jobs::Column::IdempotencyKey.eq(key))
            .one(&self.db)
            .await?)
    }

    pub(crate) async fn job_in_tx(tx: &Tx, id: JobId) -> Result<jobs::Model> {
        jobs::Entity::find_by_id(id)
            .one(&**tx)
            .await?
            .ok_or(Error::NotFound("job"))
    }

    pub async fn job(&self, viewer: &Viewer, id: JobId) -> Result<jobs::Model> {
        let job = find_scoped::<jobs::Entity>(
            &self.db,
            viewer,
            (jobs::Column::Id, id),
            jobs::Column::OrgId,
            "job",
        )
        .await?;
        viewer.require(job.org_id, Permission::ReadProjects)?;
        Ok(job)
    }
}

/// The client's idempotency key, checked, in its namespace: unique per organization, it
/// makes a repeated start (a client retrying after a timeout) answer the first job.
fn client_key(key: Option<String>) -> Result<Option<String>> {
    let Some(key) = key else {
        return Ok(None);
    };
    let printable = !key.is_empty()
        && key.chars().count() <= MAX_IDEMPOTENCY_KEY
        && !key.chars().any(char::is_control);
    if !printable {
        return Err(Error::invalid(
            "idempotencyKey",
            format!("1 to {MAX_IDEMPOTENCY_KEY} printable characters"),
        ));
    }
    Ok(Some(format!("client:{key}")))
}

/// The job an idempotency key started, when the request is the same; else a conflict.
fn replay(first: jobs::Model, fingerprint: &str) -> Result<jobs::Model> {
    if first.request_fingerprint.as_deref() == Some(fingerprint) {
        Ok(first)
    } else {
        Err(Error::conflict(format!(
            "this idempotency key already started job {} with other inputs",
            first.id
        )))
    }
}

/// What a start asked for (not who asked or when), hashed: equal for a replay of the
/// same request, different for anything else under the same key.
fn request_fingerprint(job: &jobs::Model) -> String {
    let request = json!({
        "kind": job.kind,
        "project_id": job.project_id,
        "experiment_id": job.experiment_id,
        "trainer_version_id": job.trainer_version_id,
        "snapshot_id": job.snapshot_id,
        "inference_upload_id": job.inference_upload_id,
        "source_job_id": job.source_job_id,
        "retry_of_id": job.retry_of_id,
        "model_name": job.model_name,
        "task_type": job.task_type,
        "config": job.config,
        "advanced_config": job.advanced_config,
        "hyperparameters": job.hyperparameters,
        "resources": job.resources,
        "max_runtime_seconds": job.max_runtime_seconds,
        "checkpoint": job.checkpoint,
        "export_format": job.export_format,
        "options": job.options,
    });
    // serde_json's maps are sorted: the text, and so the hash, is canonical.
    hex::encode(Sha256::digest(request.to_string()))
}

/// Queues the task that runs `job`, in the transaction that inserted it.
pub async fn enqueue_run(tx: &Tx, job: &jobs::Model) -> Result<()> {
    crate::tasks::enqueue_with(
        &**tx,
        RUN_JOB,
        json!({"job_id": job.id}),
        priority_of(job.kind),
        JOB_TASK_ATTEMPTS,
    )
    .await?;
    Ok(())
}

/// Inference and export are short and someone waits for them: they go first.
fn priority_of(kind: JobKind) -> i32 {
    match kind {
        JobKind::Inference | JobKind::Export => 10,
        JobKind::Training | JobKind::Validation => 0,
    }
}

/// A worker that dies mid-job costs one attempt; after this many the job fails.
const JOB_TASK_ATTEMPTS: i32 = 3;

pub fn new_job(
    project: &crate::entities::projects::Model,
    version: &trainer_versions::Model,
) -> jobs::ActiveModel {
    fresh(jobs::ActiveModel {
        org_id: Set(project.org_id),
        project_id: Set(project.id),
        experiment_id: Set(None),
        trainer_version_id: Set(version.id),
        snapshot_id: Set(None),
        inference_upload_id: Set(None),
        source_job_id: Set(None),
        retry_of_id: Set(None),
        task_type: Set(project.task_type),
        checkpoint: Set(None),
        export_format: Set(None),
        options: Set(json!({})),
        created_by: Set(None),
        ..Default::default()
    })
}

/// A fresh job row with `old`'s inputs (a retry).
fn copy_inputs(old: &jobs::Model) -> jobs::ActiveModel {
    fresh(jobs::ActiveModel::from(old.clone()).reset_all())
}

/// `job` as a new, queued job that never ran: a new id, and nothing of a run recorded.
fn fresh(job: jobs::ActiveModel) -> jobs::ActiveModel {
    let at = now();
    jobs::ActiveModel {
        id: Set(JobId::new()),
        status: Set(JobStatus::Queued),
        attempt: Set(0),
        executor: Set(None),
        current_epoch: Set(None),
        total_epochs: Set(None),
        latest_metrics: Set(None),
        best_epoch: Set(None),
        best_metric: Set(None),
        best_metric_value: Set(None),
        final_metrics: Set(None),
        error_type: Set(None),
        error_message: Set(None),
        last_seq: Set(0),
        token_hash: Set(String::new()),
        cancel_requested: Set(false),
        runtime_ms: Set(0),
        // Set by `queue_job` for this job's own request; never copied from another job.
        idempotency_key: Set(None),
        request_fingerprint: Set(None),
        created_at: Set(at),
        started_at: Set(None),
        finished_at: Set(None),
        updated_at: Set(at),
        ..job
    }
}

/// An inference or export job on `source`'s trainer, as a short CPU job.
pub fn follow_up(source: &jobs::Model) -> jobs::ActiveModel {
    jobs::ActiveModel {
        source_job_id: Set(Some(source.id)),
        retry_of_id: Set(None),
        snapshot_id: Set(None),
        inference_upload_id: Set(None),
        checkpoint: Set(None),
        export_format: Set(None),
        options: Set(json!({})),
        max_runtime_seconds: Set(FOLLOW_UP_RUNTIME_SECONDS),
        ..copy_inputs(source)
    }
}
