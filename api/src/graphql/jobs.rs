//! Trainers, jobs and their live progress.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, marketplace, page, parse_id, shared_domain, viewer};
use super::enums::{
    CheckpointKind, ExportFormat, JobKind, JobStatus, LogLevel, ParamType, TaskType,
};
use super::job_types::{Job, JobEvent, JobLog, JobUpdate, Trainer, TrainerVersion};
use super::live;
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use keynet_domain::Error;
use keynet_domain::events::{Event, job_logs_topic, org_jobs_topic};
use keynet_domain::ids::{
    ExperimentId, JobId, OrgId, ProjectId, SnapshotId, TrainerId, TrainerVersionId,
};
use keynet_domain::jobs::input::{ConfigInput, ResourcesInput};
use keynet_domain::jobs::queries::JobFilter;
use keynet_domain::jobs::start::{InferenceInput, NewExportJob, NewInferenceJob, NewTrainingJob};
use keynet_domain::jobs::trainers::NewTrainerImage;
use keynet_domain::roles::Permission;
use keynet_hyperparameters::HyperParameter;
use keynet_workers::TrainerImages;
use serde_json::Value;
use std::sync::Arc;

#[derive(InputObject)]
pub struct HyperParameterInput {
    pub name: String,
    #[graphql(name = "type")]
    pub param_type: ParamType,
    pub default: Option<Json<Value>>,
    #[graphql(default)]
    pub required: bool,
    pub help: Option<String>,
    #[graphql(default)]
    pub choices: Vec<Json<Value>>,
    /// A BOOL passed as a bare `--name` when true and left out when false (argparse
    /// `store_true`), instead of `--name true|false`.
    #[graphql(default)]
    pub switch: bool,
}

impl From<HyperParameterInput> for HyperParameter {
    fn from(p: HyperParameterInput) -> Self {
        Self {
            name: p.name,
            param_type: p.param_type.into(),
            default: p.default.map(|d| d.0),
            required: p.required,
            help: p.help,
            choices: p.choices.into_iter().map(|c| c.0).collect(),
            switch: p.switch,
        }
    }
}

#[derive(InputObject)]
pub struct RegisterTrainerImageInput {
    pub org_id: ID,
    /// The trainer's name; a new name creates the trainer, a known one adds a version.
    pub name: String,
    /// An image on the workers' Docker engine (`my-trainer:1.0`, an id or a digest), or
    /// `file:///path` to a program in a folder the operator allows.
    pub image: String,
    /// `ultralytics`, `timm`, `huggingface` or `custom` (default).
    pub framework: Option<String>,
    #[graphql(default)]
    pub hyperparameters: Vec<HyperParameterInput>,
    pub task_types: Vec<TaskType>,
    #[graphql(default)]
    pub export_formats: Vec<ExportFormat>,
}

#[derive(InputObject, Default)]
pub struct JobConfigInput {
    pub epochs: Option<i32>,
    pub batch_size: Option<i32>,
    pub learning_rate: Option<f64>,
    pub imgsz: Option<i32>,
    pub device: Option<String>,
}

#[derive(InputObject, Default)]
pub struct JobResourcesInput {
    pub gpus: Option<i32>,
    pub cpus: Option<f64>,
    pub memory_mb: Option<i64>,
}

impl From<JobResourcesInput> for ResourcesInput {
    fn from(given: JobResourcesInput) -> Self {
        Self {
            gpus: given.gpus,
            cpus: given.cpus,
            memory_mb: given.memory_mb,
        }
    }
}

#[derive(InputObject)]
pub struct StartTrainingJobInput {
    pub project_id: ID,
    pub experiment_id: Option<ID>,
    pub trainer_version_id: ID,
    pub dataset_snapshot_id: ID,
    pub model_name: String,
    #[graphql(default)]
    pub config: JobConfigInput,
    pub advanced_config: Option<Json<Value>>,
    /// Checked against the trainer version's declared hyperparameters.
    pub hyperparameters: Option<Json<Value>>,
    #[graphql(default)]
    pub resources: JobResourcesInput,
    pub max_runtime_seconds: Option<i32>,
    /// Makes the start safe to repeat: the same key (per organization) with the same input
    /// answers the job it first started; with another input, CONFLICT.
    pub idempotency_key: Option<String>,
}

/// Give exactly one of `datasetSnapshotId` (its images) and `imageUploadId` (one image
/// from `createInferenceUpload`).
#[derive(InputObject)]
pub struct StartInferenceJobInput {
    /// The training job whose checkpoint predicts.
    pub job_id: ID,
    pub checkpoint: CheckpointKind,
    pub dataset_snapshot_id: Option<ID>,
    pub image_upload_id: Option<ID>,
    /// Makes the start safe to repeat: the same key (per organization) with the same input
    /// answers the job it first started; with another input, CONFLICT.
    pub idempotency_key: Option<String>,
}

/// An image to run inference on: PUT exactly `sizeBytes` to `uploadUrl`, then start the job.
#[derive(SimpleObject)]
pub struct CreatedInferenceUpload {
    pub upload_id: ID,
    pub upload_url: String,
}

#[derive(InputObject)]
pub struct StartExportJobInput {
    pub job_id: ID,
    pub checkpoint: CheckpointKind,
    pub format: ExportFormat,
    pub options: Option<Json<Value>>,
    /// Makes the start safe to repeat: the same key (per organization) with the same input
    /// answers the job it first started; with another input, CONFLICT.
    pub idempotency_key: Option<String>,
}

/// Runs compared side by side: `epochs` is the shared axis of every series.
#[derive(SimpleObject)]
pub struct RunComparison {
    pub epochs: Vec<i32>,
    pub runs: Vec<ComparedRun>,
}

#[derive(SimpleObject)]
pub struct ComparedRun {
    pub job: Job,
    pub metrics: Vec<AlignedSeries>,
}

/// One value per entry of `RunComparison.epochs`; null where the run has none.
#[derive(SimpleObject)]
pub struct AlignedSeries {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    async fn job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Job> {
        let id: JobId = parse_id(&id, "id")?;
        Ok(Job(domain(ctx).job(viewer(ctx)?, id).await?))
    }

    /// Newest first.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    #[allow(clippy::too_many_arguments)]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        experiment_id: Option<ID>,
        status: Option<JobStatus>,
        kind: Option<JobKind>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Job>> {
        let project: ProjectId = parse_id(&project_id, "projectId")?;
        let filter = JobFilter {
            experiment_id: experiment_id
                .map(|e| parse_id(&e, "experimentId"))
                .transpose()?,
            status: status.map(Into::into),
            kind: kind.map(Into::into),
        };
        let jobs = domain(ctx)
            .jobs(viewer(ctx)?, project, filter, page(first, after)?)
            .await?;
        Ok(connection(jobs, |j| j.id.0, Job))
    }

    /// The chosen metrics of each run aligned by epoch, with their configuration.
    async fn compare_runs(
        &self,
        ctx: &Context<'_>,
        job_ids: Vec<ID>,
        metrics: Vec<String>,
    ) -> ApiResult<RunComparison> {
        let ids = job_ids
            .iter()
            .map(|id| parse_id(id, "jobIds"))
            .collect::<ApiResult<Vec<JobId>>>()?;
        let comparison = domain(ctx)
            .compare_runs(viewer(ctx)?, &ids, &metrics)
            .await?;
        Ok(RunComparison {
            epochs: comparison.epochs,
            runs: comparison
                .runs
                .into_iter()
                .map(|run| ComparedRun {
                    job: Job(run.job),
                    metrics: run
                        .metrics
                        .into_iter()
                        .map(|s| AlignedSeries {
                            name: s.name,
                            values: s.values,
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn trainers(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Trainer>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let trainers = domain(ctx)
            .trainers(viewer(ctx)?, org, page(first, after)?)
            .await?;
        Ok(connection(trainers, |t| t.id.0, Trainer))
    }

    async fn trainer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Trainer> {
        let id: TrainerId = parse_id(&id, "id")?;
        Ok(Trainer(domain(ctx).trainer(viewer(ctx)?, id).await?))
    }

    async fn trainer_version(&self, ctx: &Context<'_>, id: ID) -> ApiResult<TrainerVersion> {
        let id: TrainerVersionId = parse_id(&id, "id")?;
        Ok(TrainerVersion(
            domain(ctx).trainer_version(viewer(ctx)?, id).await?,
        ))
    }
    /// The version an upload key was issued for, whether the key was used or expired
    /// since; members of the key's organization only.
    async fn trainer_upload_version(
        &self,
        ctx: &Context<'_>,
        upload_key: String,
    ) -> ApiResult<TrainerVersion> {
        Ok(TrainerVersion(
            marketplace(ctx)
                .version_of_upload_key(viewer(ctx)?, &upload_key)
                .await?,
        ))
    }
}

#[derive(Default)]
pub struct JobMutation;

#[Object]
impl JobMutation {
    /// Admins: records an image the workers' engine has (or an allowed local program) as
    /// the next version of a trainer of the organization.
    async fn register_trainer_image(
        &self,
        ctx: &Context<'_>,
        input: RegisterTrainerImageInput,
    ) -> ApiResult<TrainerVersion> {
        let org: OrgId = parse_id(&input.org_id, "orgId")?;
        let viewer = viewer(ctx)?;
        // Ask before touching the engine, so nobody learns what images a server has.
        viewer.require(org, Permission::ManageTrainers)?;
        let images = ctx.data_unchecked::<Arc<TrainerImages>>();
        let resolved = images
            .resolve(&input.image)
            .await
            .map_err(|reason| Error::invalid("image", reason))?;
        let hyperparameters = input.hyperparameters.into_iter().map(Into::into).collect();
        let registered = domain(ctx)
            .register_trainer_image(
                viewer,
                NewTrainerImage {
                    org_id: org,
                    name: input.name,
                    image: input.image,
                    framework: input.framework,
                    hyperparameters,
                    task_types: input.task_types.into_iter().map(Into::into).collect(),
                    export_formats: input
                        .export_formats
                        .into_iter()
                        .map(|f| f.domain_name().to_string())
                        .collect(),
                },
                resolved,
            )
            .await?;
        Ok(TrainerVersion(registered.version))
    }

    async fn start_training_job(
        &self,
        ctx: &Context<'_>,
        input: StartTrainingJobInput,
    ) -> ApiResult<Job> {
        let config = input.config;
        let resources = input.resources;
        let job = domain(ctx)
            .start_training_job(
                viewer(ctx)?,
                NewTrainingJob {
                    project_id: parse_id(&input.project_id, "projectId")?,
                    experiment_id: input
                        .experiment_id
                        .map(|e| parse_id::<ExperimentId>(&e, "experimentId"))
                        .transpose()?,
                    trainer_version_id: parse_id(&input.trainer_version_id, "trainerVersionId")?,
                    snapshot_id: parse_id::<SnapshotId>(
                        &input.dataset_snapshot_id,
                        "datasetSnapshotId",
                    )?,
                    model_name: input.model_name,
                    config: ConfigInput {
                        epochs: config.epochs,
                        batch_size: config.batch_size,
                        learning_rate: config.learning_rate,
                        imgsz: config.imgsz,
                        device: config.device,
                    },
                    advanced_config: input.advanced_config.map(|j| j.0),
                    hyperparameters: input.hyperparameters.map(|j| j.0),
                    resources: resources.into(),
                    max_runtime_seconds: input.max_runtime_seconds,
                    idempotency_key: input.idempotency_key,
                },
            )
            .await?;
        Ok(Job(job))
    }

    async fn start_inference_job(
        &self,
        ctx: &Context<'_>,
        input: StartInferenceJobInput,
    ) -> ApiResult<Job> {
        let job = domain(ctx)
            .start_inference_job(
                viewer(ctx)?,
                NewInferenceJob {
                    job_id: parse_id(&input.job_id, "jobId")?,
                    checkpoint: input.checkpoint.into(),
                    input: match (&input.dataset_snapshot_id, &input.image_upload_id) {
                        (Some(snapshot), None) => {
                            InferenceInput::Snapshot(parse_id(snapshot, "datasetSnapshotId")?)
                        }
                        (None, Some(image)) => {
                            InferenceInput::Image(parse_id(image, "imageUploadId")?)
                        }
                        _ => {
                            return Err(Error::invalid(
                                "datasetSnapshotId",
                                "give either datasetSnapshotId or imageUploadId",
                            )
                            .into());
                        }
                    },
                    idempotency_key: input.idempotency_key,
                },
            )
            .await?;
        Ok(Job(job))
    }

    async fn start_export_job(
        &self,
        ctx: &Context<'_>,
        input: StartExportJobInput,
    ) -> ApiResult<Job> {
        let job = domain(ctx)
            .start_export_job(
                viewer(ctx)?,
                NewExportJob {
                    job_id: parse_id(&input.job_id, "jobId")?,
                    checkpoint: input.checkpoint.into(),
                    format: input.format.domain_name().to_string(),
                    options: input.options.map(|o| o.0),
                    idempotency_key: input.idempotency_key,
                },
            )
            .await?;
        Ok(Job(job))
    }

    /// A signed URL to upload one image to, for `startInferenceJob(imageUploadId)`.
    async fn create_inference_upload(
        &self,
        ctx: &Context<'_>,
        project_id: ID,
        filename: String,
        size_bytes: i64,
    ) -> ApiResult<CreatedInferenceUpload> {
        let project: ProjectId = parse_id(&project_id, "projectId")?;
        let created = domain(ctx)
            .create_inference_upload(viewer(ctx)?, project, &filename, size_bytes)
            .await?;
        Ok(CreatedInferenceUpload {
            upload_id: ID(created.upload.id.to_string()),
            upload_url: created.url,
        })
    }

    /// A queued job is cancelled at once, a running one as soon as its worker stops it.
    async fn cancel_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Job> {
        let id: JobId = parse_id(&id, "id")?;
        Ok(Job(domain(ctx).cancel_job(viewer(ctx)?, id).await?))
    }

    /// Starts a new job with the inputs of a failed or cancelled one, once: calling it again
    /// answers the same retry.
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Job> {
        let id: JobId = parse_id(&id, "id")?;
        Ok(Job(domain(ctx).retry_job(viewer(ctx)?, id).await?))
    }
}

#[derive(Default)]
pub struct JobSubscription;

#[Subscription]
impl JobSubscription {
    /// Status, epoch and latest metrics of one job, as they change (a job already final
    /// sends its final state). Completes once the job is final.
    async fn job_updated(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<JobUpdate>> + use<>, ApiError> {
        let (job, guard) = admit_job(ctx, &job_id).await?;
        let updates = shared_domain(ctx)
            .follow_job(&job)
            .map(|update| Ok(JobUpdate(update?)));
        Ok(guard.watch(updates))
    }

    /// The job's stored events after `afterSeq`, then new ones as they arrive, each once and
    /// in order: a client that reconnects with the last `seq` it saw misses nothing.
    /// Completes after the last event of a job that is final.
    async fn job_events(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
        #[graphql(default)] after_seq: i64,
    ) -> Result<impl Stream<Item = ApiResult<JobEvent>> + use<>, ApiError> {
        let (job, guard) = admit_job(ctx, &job_id).await?;
        let events = shared_domain(ctx)
            .follow_job_events(&job, after_seq)
            .map(|event| Ok(JobEvent::from(event?)));
        Ok(guard.watch(events))
    }

    /// Log lines of one job as they are stored; `minLevel` keeps that level and above.
    async fn job_logs(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
        min_level: Option<LogLevel>,
    ) -> Result<impl Stream<Item = ApiResult<JobLog>> + use<>, ApiError> {
        let (job, guard) = admit_job(ctx, &job_id).await?;
        let min = min_level.map(keynet_domain::entities::job_logs::LogLevel::from);
        let lines = domain(ctx)
            .events()
            .subscribe(&job_logs_topic(job.id))
            .filter_map(move |event| async move {
                match event {
                    Event::JobLog(line) if min.is_none_or(|min| line.level >= min) => {
                        Some(Ok(JobLog(line)))
                    }
                    _ => None,
                }
            });
        Ok(guard.watch(lines))
    }

    /// Status changes of every job of the organization.
    async fn org_jobs(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<JobUpdate>> + use<>, ApiError> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let ((), guard) = live::admit(ctx, move |_, viewer| async move {
            viewer.require(org, Permission::ReadProjects).map(drop)
        })
        .await?;
        let updates = domain(ctx)
            .events()
            .subscribe(&org_jobs_topic(org))
            .filter_map(|event| async move {
                match event {
                    Event::JobUpdated(summary) => Some(Ok(JobUpdate(summary))),
                    _ => None,
                }
            });
        Ok(guard.watch(updates))
    }
}

/// Admits a subscription to one job while the viewer may see it.
async fn admit_job(
    ctx: &Context<'_>,
    job_id: &ID,
) -> ApiResult<(keynet_domain::entities::jobs::Model, live::Guard)> {
    let id: JobId = parse_id(job_id, "jobId")?;
    live::admit(ctx, move |domain, viewer| async move {
        domain.job(&viewer, id).await
    })
    .await
}
