//! GraphQL views of trainers, versions, jobs and what jobs recorded.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, marketplace, page, trainer_fields};
use super::enums::{
    CheckStatus, CheckpointKind, ExportFormat, HyperParameterChangeKind, JobKind, JobStatus,
    LogLevel, LogSource, ParamType, TaskType, TrainerRuntime, TrainerVersionStatus,
};
use super::loaders::{RatingOf, SlugOf, VersionById, VersionsOf};
use super::marketplace_listing::{TrainerRating, TrainerUsage};
use super::types::{User, id, load_user};
use crate::error::ApiResult;
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use keynet_domain::entities::job_artifacts::{self, ArtifactKind};
use keynet_domain::entities::trainer_versions::VersionStatus;
use keynet_domain::entities::{
    inference_results, job_events, job_logs, jobs, trainer_versions, trainers,
};
use keynet_domain::events::JobSummary;
use keynet_domain::jobs::queries::{LogFilter, MetricSeries as DomainSeries};
use keynet_hyperparameters::{HyperParameter as DomainHyperParameter, ParameterChange};
use keynet_marketplace::{ReportFormat, ScanReport, marketplace_slug, visible_versions};
use serde_json::Value;

pub struct Trainer(pub trainers::Model);

#[Object]
impl Trainer {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn task_types(&self) -> Vec<TaskType> {
        self.0.task_types.0.iter().map(|t| (*t).into()).collect()
    }
    async fn frameworks(&self) -> &[String] {
        &self.0.frameworks.0
    }
    /// Newest first: all of them for the trainer's organization, the READY ones (which
    /// anyone's jobs may run) of a published trainer for everyone else.
    async fn versions(&self, ctx: &Context<'_>) -> ApiResult<Vec<TrainerVersion>> {
        let viewer = super::context::viewer(ctx)?;
        let versions = trainer_fields(ctx).load_one(VersionsOf(self.0.id)).await?;
        let visible = visible_versions(viewer, &self.0, versions.unwrap_or_default())?;
        Ok(visible.into_iter().map(TrainerVersion).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Whether the trainer is listed in the marketplace.
    async fn published(&self) -> bool {
        self.0.published_version_id.is_some()
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    /// The version the marketplace listing features.
    async fn published_version(&self, ctx: &Context<'_>) -> ApiResult<Option<TrainerVersion>> {
        let Some(id) = self.0.published_version_id else {
            return Ok(None);
        };
        let version = trainer_fields(ctx).load_one(VersionById(id)).await?;
        Ok(version.map(TrainerVersion))
    }
    /// `<org-slug>/<trainer-slug>` while published: what `marketplaceTrainer` takes.
    async fn marketplace_slug(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        if self.0.published_version_id.is_none() {
            return Ok(None);
        }
        let org_slug = trainer_fields(ctx).load_one(SlugOf(self.0.org_id)).await?;
        Ok(org_slug.and_then(|org_slug| marketplace_slug(&self.0, &org_slug)))
    }
    /// What users of other organizations that ran it rate it, 1 to 5.
    async fn rating(&self, ctx: &Context<'_>) -> ApiResult<TrainerRating> {
        let rating = trainer_fields(ctx).load_one(RatingOf(self.0.id)).await?;
        Ok(rating.unwrap_or_default().into())
    }
    /// Members of the trainer's organization: how much other organizations have used it.
    async fn usage(&self, ctx: &Context<'_>) -> ApiResult<TrainerUsage> {
        let viewer = super::context::viewer(ctx)?;
        Ok(marketplace(ctx)
            .trainer_usage(viewer, self.0.id)
            .await?
            .into())
    }
}

pub struct TrainerVersion(pub trainer_versions::Model);

#[Object]
impl TrainerVersion {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn trainer_id(&self) -> ID {
        id(self.0.trainer_id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// As registered, e.g. `my-trainer:1.0`.
    async fn image(&self) -> &str {
        &self.0.image
    }
    /// What runs: the image id (`sha256:…`) or the program's path.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn runtime(&self) -> TrainerRuntime {
        self.0.runtime.into()
    }
    async fn status(&self) -> TrainerVersionStatus {
        self.0.status.into()
    }
    async fn framework(&self) -> &str {
        &self.0.framework
    }
    async fn hyperparameters(&self) -> Vec<HyperParameter> {
        self.0
            .hyperparameters
            .0
            .iter()
            .cloned()
            .map(HyperParameter)
            .collect()
    }
    async fn task_types(&self) -> Vec<TaskType> {
        self.0.task_types.0.iter().map(|t| (*t).into()).collect()
    }
    async fn export_formats(&self) -> Vec<ExportFormat> {
        self.0
            .export_formats
            .0
            .iter()
            .filter_map(|f| ExportFormat::from_domain(f))
            .collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The manifest (or index) digest a pushed version is pinned to.
    async fn manifest_digest(&self) -> Option<&str> {
        self.0.manifest_digest.as_deref()
    }
    /// How its hyperparameters differ from the trainer's previous version (the highest
    /// version number below this one that is not `AWAITING_UPLOAD`); empty for the first.
    async fn hyperparameter_changes(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<HyperParameterChange>> {
        let viewer = super::context::viewer(ctx)?;
        let versions = domain(ctx)
            .trainer_versions(viewer, self.0.trainer_id)
            .await?;
        // Newest first, so the first match is the highest below. A version still awaiting
        // its upload is left out: its schema is only announced, nothing runs with it yet.
        let previous = versions
            .iter()
            .find(|v| v.version < self.0.version && v.status != VersionStatus::AwaitingUpload);
        let changes = previous
            .map(|previous| {
                keynet_hyperparameters::changes(&previous.hyperparameters, &self.0.hyperparameters)
            })
            .unwrap_or_default();
        Ok(changes.into_iter().map(HyperParameterChange).collect())
    }
    /// The itemised report of its checks so far, in the order they ran.
    async fn checks(&self) -> Vec<VersionCheck> {
        self.0.checks.0.iter().cloned().map(VersionCheck).collect()
    }
    /// The security scan, once the version was scanned.
    async fn scan(&self) -> ApiResult<Option<ScanSummary>> {
        Ok(ScanReport::of(&self.0)?.map(|report| ScanSummary {
            report,
            version: self.0.clone(),
        }))
    }
}

pub struct VersionCheck(pub trainer_versions::Check);

#[Object]
impl VersionCheck {
    /// `manifest`, `config`, `platform`, `entrypoint`, `size`, `labels`, `hyperparameters`,
    /// `scan.layers`, `scan.inventory`, `scan.vulnerabilities`, `scan.secrets`,
    /// `scan.misconfiguration`, `scan.review`, `scan.policy`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn status(&self) -> CheckStatus {
        self.0.status.into()
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
}

pub struct ScanSummary {
    report: ScanReport,
    /// The scanned version, named in the SBOM.
    version: trainer_versions::Model,
}

#[Object]
impl ScanSummary {
    /// `PRETTY_NAME` of `/etc/os-release`, if the image has one.
    async fn os(&self) -> Option<String> {
        self.report
            .image
            .os
            .as_ref()
            .map(|os| os.pretty_name.clone().unwrap_or_else(|| os.id.clone()))
    }
    async fn package_count(&self) -> usize {
        self.report.image.packages.len()
    }
    /// Every finding: secrets, misconfiguration, files to review, vulnerabilities.
    async fn findings(&self) -> Vec<Json<keynet_scan::Finding>> {
        self.report.findings().into_iter().map(Json).collect()
    }
    /// Whether the organization's policy lets the version through.
    async fn passed(&self) -> bool {
        self.report.decision.passed
    }
    /// One sentence per finding that blocks the version.
    async fn blocking(&self) -> Vec<String> {
        self.report.decision.reasons()
    }
    /// The SBOM as CycloneDX 1.5 JSON (also `GET /api/v1/trainer-versions/{id}/sbom`).
    async fn cyclonedx(&self) -> ApiResult<String> {
        Ok(self.report.render(ReportFormat::CycloneDx, &self.version)?)
    }
    /// Every finding as SARIF 2.1.0 JSON (also `GET /api/v1/trainer-versions/{id}/sarif`).
    async fn sarif(&self) -> ApiResult<String> {
        Ok(self.report.render(ReportFormat::Sarif, &self.version)?)
    }
}

pub struct HyperParameter(pub DomainHyperParameter);

#[Object]
impl HyperParameter {
    async fn name(&self) -> &str {
        &self.0.name
    }
    #[graphql(name = "type")]
    async fn param_type(&self) -> ParamType {
        self.0.param_type.into()
    }
    async fn default(&self) -> Option<Json<Value>> {
        self.0.default.clone().map(Json)
    }
    async fn required(&self) -> bool {
        self.0.required
    }
    async fn help(&self) -> Option<&str> {
        self.0.help.as_deref()
    }
    async fn choices(&self) -> Vec<Json<Value>> {
        self.0.choices.iter().cloned().map(Json).collect()
    }
    /// Passed as a bare `--name` when true and left out when false.
    async fn switch(&self) -> bool {
        self.0.switch
    }
}

/// One difference between a version's hyperparameters and its previous version's.
pub struct HyperParameterChange(pub ParameterChange);

#[Object]
impl HyperParameterChange {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> HyperParameterChangeKind {
        self.0.kind.into()
    }
    /// The declaration in the previous version; null when added.
    async fn previous(&self) -> Option<HyperParameter> {
        self.0.previous.clone().map(HyperParameter)
    }
    /// The declaration in this version; null when removed.
    async fn current(&self) -> Option<HyperParameter> {
        self.0.current.clone().map(HyperParameter)
    }
}

#[derive(SimpleObject)]
pub struct JobConfig {
    pub epochs: i32,
    pub batch_size: i32,
    pub learning_rate: f64,
    pub imgsz: i32,
    pub device: String,
}

#[derive(SimpleObject)]
pub struct JobResources {
    pub gpus: i32,
    pub cpus: f64,
    pub memory_mb: i64,
}

pub struct Job(pub jobs::Model);

#[Object]
impl Job {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn project_id(&self) -> ID {
        id(self.0.project_id)
    }
    async fn experiment_id(&self) -> Option<ID> {
        self.0.experiment_id.map(id)
    }
    async fn kind(&self) -> JobKind {
        self.0.kind.into()
    }
    async fn status(&self) -> JobStatus {
        self.0.status.into()
    }
    async fn model_name(&self) -> &str {
        &self.0.model_name
    }
    async fn task_type(&self) -> TaskType {
        self.0.task_type.into()
    }
    async fn trainer_version_id(&self) -> ID {
        id(self.0.trainer_version_id)
    }
    async fn trainer_version(&self, ctx: &Context<'_>) -> ApiResult<TrainerVersion> {
        let viewer = super::context::viewer(ctx)?;
        Ok(TrainerVersion(
            domain(ctx)
                .trainer_version(viewer, self.0.trainer_version_id)
                .await?,
        ))
    }
    async fn dataset_snapshot_id(&self) -> Option<ID> {
        self.0.snapshot_id.map(id)
    }
    /// The uploaded image an inference job predicts on.
    async fn image_upload_id(&self) -> Option<ID> {
        self.0.inference_upload_id.map(id)
    }
    /// The training job an inference or export uses.
    async fn source_job_id(&self) -> Option<ID> {
        self.0.source_job_id.map(id)
    }
    async fn retry_of_id(&self) -> Option<ID> {
        self.0.retry_of_id.map(id)
    }
    async fn config(&self) -> JobConfig {
        let c = &self.0.config;
        JobConfig {
            epochs: c.epochs,
            batch_size: c.batch_size,
            learning_rate: c.learning_rate,
            imgsz: c.imgsz,
            device: c.device.clone(),
        }
    }
    async fn advanced_config(&self) -> Json<Value> {
        Json(self.0.advanced_config.clone())
    }
    async fn hyperparameters(&self) -> Json<Value> {
        Json(self.0.hyperparameters.clone())
    }
    async fn resources(&self) -> JobResources {
        let r = &self.0.resources;
        JobResources {
            gpus: r.gpus,
            cpus: r.cpus,
            memory_mb: r.memory_mb,
        }
    }
    async fn max_runtime_seconds(&self) -> i32 {
        self.0.max_runtime_seconds
    }
    async fn checkpoint(&self) -> Option<CheckpointKind> {
        self.0.checkpoint.map(Into::into)
    }
    async fn export_format(&self) -> Option<ExportFormat> {
        self.0
            .export_format
            .as_deref()
            .and_then(ExportFormat::from_domain)
    }
    /// 0 until a worker starts it; more than 1 after a worker was lost mid-run.
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn executor(&self) -> Option<&str> {
        self.0.executor.as_deref()
    }
    async fn current_epoch(&self) -> Option<i32> {
        self.0.current_epoch
    }
    async fn total_epochs(&self) -> Option<i32> {
        self.0.total_epochs
    }
    async fn latest_metrics(&self) -> Option<Json<Value>> {
        self.0.latest_metrics.clone().map(Json)
    }
    async fn best_epoch(&self) -> Option<i32> {
        self.0.best_epoch
    }
    async fn best_metric(&self) -> Option<&str> {
        self.0.best_metric.as_deref()
    }
    async fn best_metric_value(&self) -> Option<f64> {
        self.0.best_metric_value
    }
    async fn final_metrics(&self) -> Option<Json<Value>> {
        self.0.final_metrics.clone().map(Json)
    }
    async fn error_type(&self) -> Option<&str> {
        self.0.error_type.as_deref()
    }
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
    /// Wall time of the workload in the last attempt.
    async fn runtime_ms(&self) -> i64 {
        self.0.runtime_ms
    }
    /// The number of stored events: `events(after:)` and `jobEvents(afterSeq:)` go up to it.
    async fn last_seq(&self) -> i64 {
        self.0.last_seq
    }
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Metric series of the current attempt, by epoch; all metrics when `names` is omitted.
    async fn metrics(
        &self,
        ctx: &Context<'_>,
        names: Option<Vec<String>>,
    ) -> ApiResult<Vec<MetricSeries>> {
        let series = domain(ctx).job_metrics(&self.0, names.as_deref()).await?;
        Ok(series.into_iter().map(MetricSeries).collect())
    }
    /// Oldest first; `level` keeps that level and more severe ones.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn logs(
        &self,
        ctx: &Context<'_>,
        level: Option<LogLevel>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<JobLog>> {
        let filter = LogFilter {
            min_level: level.map(Into::into),
            since,
            until,
        };
        let lines = domain(ctx)
            .job_logs(&self.0, filter, page(first, after)?)
            .await?;
        Ok(connection(lines, |l| l.id.0, JobLog))
    }
    /// Stored trainer events with `seq` above `after`, in order (at most 1,000).
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] after: i64,
        first: Option<i32>,
    ) -> ApiResult<Vec<JobEvent>> {
        let limit = first.map(|n| n.clamp(1, 1000) as u64);
        let events = domain(ctx).job_events(&self.0, after, limit).await?;
        Ok(events.into_iter().map(JobEvent::from).collect())
    }
    /// The best and last checkpoints, as stored.
    async fn checkpoints(&self, ctx: &Context<'_>) -> ApiResult<Vec<Checkpoint>> {
        let artifacts = domain(ctx).job_artifacts(&self.0).await?;
        Ok(artifacts
            .into_iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ArtifactKind::BestCheckpoint | ArtifactKind::LastCheckpoint
                )
            })
            .map(Checkpoint)
            .collect())
    }
    /// An export job's model file.
    async fn artifact(&self, ctx: &Context<'_>) -> ApiResult<Option<Artifact>> {
        let artifacts = domain(ctx).job_artifacts(&self.0).await?;
        Ok(artifacts
            .into_iter()
            .find(|a| matches!(a.kind, ArtifactKind::Export | ArtifactKind::Predictions))
            .map(Artifact))
    }
    /// An inference job's predictions, one entry per image.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn inference_results(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<InferenceResult>> {
        let domain = domain(ctx);
        let results = domain
            .inference_results(&self.0, page(first, after)?)
            .await?;
        let names: Vec<&str> = results.items.iter().map(|r| r.file_name.as_str()).collect();
        let urls = domain.inference_image_urls(&self.0, &names).await?;
        Ok(connection(
            results,
            |r| r.id.0,
            |result| {
                let image_url = urls.get(&result.file_name).cloned();
                InferenceResult { result, image_url }
            },
        ))
    }
}

pub struct MetricSeries(pub DomainSeries);

#[Object]
impl MetricSeries {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn points(&self) -> Vec<MetricPoint> {
        self.0
            .points
            .iter()
            .map(|p| MetricPoint {
                epoch: p.epoch,
                step: p.step,
                value: p.value,
                ts: p.ts,
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct MetricPoint {
    pub epoch: i32,
    pub step: Option<i64>,
    pub value: f64,
    pub ts: DateTime<Utc>,
}

pub struct JobLog(pub job_logs::Model);

#[Object]
impl JobLog {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn level(&self) -> LogLevel {
        self.0.level.into()
    }
    async fn source(&self) -> LogSource {
        self.0.source.into()
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    async fn metadata(&self) -> Option<Json<Value>> {
        self.0.metadata.clone().map(Json)
    }
    async fn ts(&self) -> DateTime<Utc> {
        self.0.ts
    }
}

/// A trainer event as stored: `seq` numbers the job's events, `body` is what the trainer
/// sent (with `event`, `seq` and `ts`).
#[derive(SimpleObject)]
pub struct JobEvent {
    pub seq: i64,
    pub kind: String,
    pub body: Json<Value>,
    pub ts: DateTime<Utc>,
}

impl From<job_events::Model> for JobEvent {
    fn from(event: job_events::Model) -> Self {
        Self {
            seq: event.seq,
            kind: event.kind,
            body: Json(event.body),
            ts: event.ts,
        }
    }
}

/// What `jobUpdated` and `orgJobs` send.
pub struct JobUpdate(pub JobSummary);

#[Object]
impl JobUpdate {
    async fn job_id(&self) -> ID {
        id(self.0.job_id)
    }
    async fn status(&self) -> JobStatus {
        self.0.status.into()
    }
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn current_epoch(&self) -> Option<i32> {
        self.0.current_epoch
    }
    async fn total_epochs(&self) -> Option<i32> {
        self.0.total_epochs
    }
    async fn latest_metrics(&self) -> Option<Json<Value>> {
        self.0.latest_metrics.clone().map(Json)
    }
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
}

pub struct Checkpoint(pub job_artifacts::Model);

#[Object]
impl Checkpoint {
    #[graphql(name = "type")]
    async fn kind(&self) -> CheckpointKind {
        match self.0.kind {
            ArtifactKind::BestCheckpoint => CheckpointKind::Best,
            _ => CheckpointKind::Last,
        }
    }
    async fn epoch(&self) -> Option<i32> {
        self.0.epoch
    }
    async fn metrics(&self) -> Option<Json<Value>> {
        self.0.metrics.clone().map(Json)
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size
    }
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// A link valid for a limited time.
    async fn download_url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(domain(ctx).artifact_download_url(&self.0).await?)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Artifact(pub job_artifacts::Model);

#[Object]
impl Artifact {
    async fn format(&self) -> Option<&str> {
        self.0.format.as_deref()
    }
    async fn metadata(&self) -> Option<Json<Value>> {
        self.0.metadata.clone().map(Json)
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size
    }
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// A link valid for a limited time.
    async fn download_url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(domain(ctx).artifact_download_url(&self.0).await?)
    }
}

pub struct InferenceResult {
    result: inference_results::Model,
    image_url: Option<String>,
}

#[Object]
impl InferenceResult {
    async fn file_name(&self) -> &str {
        &self.result.file_name
    }
    /// As the trainer reported them, e.g. `[{class_id, class_name, score}]`.
    async fn predictions(&self) -> Json<Value> {
        Json(self.result.predictions.clone())
    }
    /// Shows the image the predictions are about (the uploaded image, or the snapshot's
    /// image of that name) for an hour; null when the name is no image of the job's input.
    async fn image_url(&self) -> Option<&str> {
        self.image_url.as_deref()
    }
}
