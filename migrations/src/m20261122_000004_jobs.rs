//! Jobs: trainers and their versions (images registered by an org; the marketplace adds
//! published ones later), jobs with their stored events, logs, metric series, checkpoints,
//! artifacts and inference results, and the side table the PostgreSQL event bus uses for
//! payloads too large for `NOTIFY`.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[derive(DeriveIden)]
enum Experiments {
    Table,
}

#[derive(DeriveIden)]
enum DatasetSnapshots {
    Table,
}

#[derive(DeriveIden)]
enum Trainers {
    Table,
    Id,
    OrgId,
    Name,
    Slug,
    Description,
    TaskTypes,
    Frameworks,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TrainerVersions {
    Table,
    Id,
    OrgId,
    TrainerId,
    Version,
    Image,
    Runtime,
    Reference,
    Status,
    Framework,
    Hyperparameters,
    TaskTypes,
    ExportFormats,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    OrgId,
    ProjectId,
    ExperimentId,
    TrainerVersionId,
    SnapshotId,
    SourceJobId,
    RetryOfId,
    Kind,
    Status,
    ModelName,
    TaskType,
    Config,
    AdvancedConfig,
    Hyperparameters,
    Resources,
    MaxRuntimeSeconds,
    Checkpoint,
    ExportFormat,
    Options,
    Attempt,
    Executor,
    CurrentEpoch,
    TotalEpochs,
    LatestMetrics,
    BestEpoch,
    BestMetric,
    BestMetricValue,
    FinalMetrics,
    ErrorType,
    ErrorMessage,
    LastSeq,
    TokenHash,
    CancelRequested,
    RuntimeMs,
    CreatedBy,
    CreatedAt,
    StartedAt,
    FinishedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum JobEvents {
    Table,
    Id,
    Seq,
    Attempt,
    TrainerSeq,
    Kind,
    Body,
    Ts,
}

#[derive(DeriveIden, Clone, Copy)]
enum JobLogs {
    Table,
    Id,
    Attempt,
    Source,
    Level,
    Message,
    Metadata,
    Ts,
}

#[derive(DeriveIden, Clone, Copy)]
enum JobMetrics {
    Table,
    Id,
    Attempt,
    Epoch,
    Step,
    Name,
    Value,
    Ts,
}

#[derive(DeriveIden, Clone, Copy)]
enum JobArtifacts {
    Table,
    Id,
    Kind,
    Format,
    Epoch,
    Metrics,
    Metadata,
    BlobKey,
    Size,
    Sha256,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum InferenceResults {
    Table,
    Id,
    FileName,
    Predictions,
}

#[derive(DeriveIden)]
enum BusMessages {
    Table,
    Id,
    Payload,
    CreatedAt,
}

/// `org_id` and the foreign key every tenant-owned job table carries.
fn owned_by_job(table: impl IntoIden + Copy + 'static, create: &mut TableCreateStatement) {
    create
        .col(uuid(Alias::new("org_id")))
        .col(uuid(Alias::new("job_id")))
        .foreign_key(&mut cascade(
            table,
            Alias::new("org_id"),
            Organizations::Table,
        ))
        .foreign_key(&mut cascade(table, Alias::new("job_id"), Jobs::Table));
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Trainers::Table)
                .col(id(Trainers::Id))
                .col(uuid(Trainers::OrgId))
                .col(text(Trainers::Name))
                .col(text(Trainers::Slug))
                .col(text(Trainers::Description))
                .col(json(Trainers::TaskTypes))
                .col(json(Trainers::Frameworks))
                .col(uuid_null(Trainers::CreatedBy))
                .col(time(Trainers::CreatedAt))
                .col(time(Trainers::UpdatedAt))
                .foreign_key(&mut cascade(
                    Trainers::Table,
                    Trainers::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut set_null(
                    Trainers::Table,
                    Trainers::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "uq_trainers_org_slug",
            Trainers::Table,
            &["org_id", "slug"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(TrainerVersions::Table)
                .col(id(TrainerVersions::Id))
                .col(uuid(TrainerVersions::OrgId))
                .col(uuid(TrainerVersions::TrainerId))
                .col(int(TrainerVersions::Version))
                .col(text(TrainerVersions::Image))
                .col(text(TrainerVersions::Runtime))
                .col(text(TrainerVersions::Reference))
                .col(text(TrainerVersions::Status))
                .col(text(TrainerVersions::Framework))
                .col(json(TrainerVersions::Hyperparameters))
                .col(json(TrainerVersions::TaskTypes))
                .col(json(TrainerVersions::ExportFormats))
                .col(uuid_null(TrainerVersions::CreatedBy))
                .col(time(TrainerVersions::CreatedAt))
                .foreign_key(&mut cascade(
                    TrainerVersions::Table,
                    TrainerVersions::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    TrainerVersions::Table,
                    TrainerVersions::TrainerId,
                    Trainers::Table,
                ))
                .foreign_key(&mut set_null(
                    TrainerVersions::Table,
                    TrainerVersions::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "uq_trainer_versions_number",
            TrainerVersions::Table,
            &["trainer_id", "version"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(id(Jobs::Id))
                .col(uuid(Jobs::OrgId))
                .col(uuid(Jobs::ProjectId))
                .col(uuid_null(Jobs::ExperimentId))
                .col(uuid(Jobs::TrainerVersionId))
                .col(uuid_null(Jobs::SnapshotId))
                .col(uuid_null(Jobs::SourceJobId))
                .col(uuid_null(Jobs::RetryOfId))
                .col(text(Jobs::Kind))
                .col(text(Jobs::Status))
                .col(text(Jobs::ModelName))
                .col(text(Jobs::TaskType))
                .col(json(Jobs::Config))
                .col(json(Jobs::AdvancedConfig))
                .col(json(Jobs::Hyperparameters))
                .col(json(Jobs::Resources))
                .col(int(Jobs::MaxRuntimeSeconds))
                .col(text_null(Jobs::Checkpoint))
                .col(text_null(Jobs::ExportFormat))
                .col(json(Jobs::Options))
                .col(int(Jobs::Attempt))
                .col(text_null(Jobs::Executor))
                .col(int_null(Jobs::CurrentEpoch))
                .col(int_null(Jobs::TotalEpochs))
                .col(json_null(Jobs::LatestMetrics))
                .col(int_null(Jobs::BestEpoch))
                .col(text_null(Jobs::BestMetric))
                .col(double_null(Jobs::BestMetricValue))
                .col(json_null(Jobs::FinalMetrics))
                .col(text_null(Jobs::ErrorType))
                .col(text_null(Jobs::ErrorMessage))
                .col(big(Jobs::LastSeq))
                .col(text(Jobs::TokenHash))
                .col(flag(Jobs::CancelRequested))
                .col(big(Jobs::RuntimeMs))
                .col(uuid_null(Jobs::CreatedBy))
                .col(time(Jobs::CreatedAt))
                .col(time_null(Jobs::StartedAt))
                .col(time_null(Jobs::FinishedAt))
                .col(time(Jobs::UpdatedAt))
                .foreign_key(&mut cascade(Jobs::Table, Jobs::OrgId, Organizations::Table))
                .foreign_key(&mut cascade(Jobs::Table, Jobs::ProjectId, Projects::Table))
                .foreign_key(&mut set_null(
                    Jobs::Table,
                    Jobs::ExperimentId,
                    Experiments::Table,
                ))
                .foreign_key(&mut cascade(
                    Jobs::Table,
                    Jobs::TrainerVersionId,
                    TrainerVersions::Table,
                ))
                .foreign_key(&mut set_null(
                    Jobs::Table,
                    Jobs::SnapshotId,
                    DatasetSnapshots::Table,
                ))
                .foreign_key(&mut set_null(Jobs::Table, Jobs::SourceJobId, Jobs::Table))
                .foreign_key(&mut set_null(Jobs::Table, Jobs::RetryOfId, Jobs::Table))
                .foreign_key(&mut set_null(Jobs::Table, Jobs::CreatedBy, Users::Table))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_jobs_project",
            Jobs::Table,
            &["project_id", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            "idx_jobs_experiment",
            Jobs::Table,
            &["experiment_id", "id"],
            false,
        ))
        .await?;
        m.create_index(index(
            "idx_jobs_org_status",
            Jobs::Table,
            &["org_id", "status"],
            false,
        ))
        .await?;

        let mut events = Table::create();
        events
            .table(JobEvents::Table)
            .col(id(JobEvents::Id))
            .col(big(JobEvents::Seq))
            .col(int(JobEvents::Attempt))
            .col(big(JobEvents::TrainerSeq))
            .col(text(JobEvents::Kind))
            .col(json(JobEvents::Body))
            .col(time(JobEvents::Ts));
        owned_by_job(JobEvents::Table, &mut events);
        m.create_table(events).await?;
        m.create_index(index(
            "uq_job_events_seq",
            JobEvents::Table,
            &["job_id", "seq"],
            true,
        ))
        .await?;
        // The relay's idempotency: a trainer's `seq` is stored once per attempt.
        m.create_index(index(
            "uq_job_events_trainer_seq",
            JobEvents::Table,
            &["job_id", "attempt", "trainer_seq"],
            true,
        ))
        .await?;

        let mut logs = Table::create();
        logs.table(JobLogs::Table)
            .col(id(JobLogs::Id))
            .col(int(JobLogs::Attempt))
            .col(text(JobLogs::Source))
            .col(text(JobLogs::Level))
            .col(text(JobLogs::Message))
            .col(json_null(JobLogs::Metadata))
            .col(time(JobLogs::Ts));
        owned_by_job(JobLogs::Table, &mut logs);
        m.create_table(logs).await?;
        m.create_index(index(
            "idx_job_logs_job",
            JobLogs::Table,
            &["job_id", "id"],
            false,
        ))
        .await?;

        let mut metrics = Table::create();
        metrics
            .table(JobMetrics::Table)
            .col(id(JobMetrics::Id))
            .col(int(JobMetrics::Attempt))
            .col(int(JobMetrics::Epoch))
            .col(ColumnDef::new(JobMetrics::Step).big_integer().null())
            .col(text(JobMetrics::Name))
            .col(double(JobMetrics::Value))
            .col(time(JobMetrics::Ts));
        owned_by_job(JobMetrics::Table, &mut metrics);
        m.create_table(metrics).await?;
        m.create_index(index(
            "idx_job_metrics_series",
            JobMetrics::Table,
            &["job_id", "name", "epoch"],
            false,
        ))
        .await?;

        let mut artifacts = Table::create();
        artifacts
            .table(JobArtifacts::Table)
            .col(id(JobArtifacts::Id))
            .col(text(JobArtifacts::Kind))
            .col(text_null(JobArtifacts::Format))
            .col(int_null(JobArtifacts::Epoch))
            .col(json_null(JobArtifacts::Metrics))
            .col(json_null(JobArtifacts::Metadata))
            .col(text(JobArtifacts::BlobKey))
            .col(big(JobArtifacts::Size))
            .col(text(JobArtifacts::Sha256))
            .col(time(JobArtifacts::CreatedAt));
        owned_by_job(JobArtifacts::Table, &mut artifacts);
        m.create_table(artifacts).await?;
        // One best and one last checkpoint, one predictions file, one file per export format.
        m.create_index(index(
            "uq_job_artifacts_kind",
            JobArtifacts::Table,
            &["job_id", "kind"],
            true,
        ))
        .await?;

        let mut results = Table::create();
        results
            .table(InferenceResults::Table)
            .col(id(InferenceResults::Id))
            .col(text(InferenceResults::FileName))
            .col(json(InferenceResults::Predictions));
        owned_by_job(InferenceResults::Table, &mut results);
        m.create_table(results).await?;
        m.create_index(index(
            "idx_inference_results_job",
            InferenceResults::Table,
            &["job_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(BusMessages::Table)
                .col(id(BusMessages::Id))
                .col(json(BusMessages::Payload))
                .col(time(BusMessages::CreatedAt))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "bus_messages",
            "inference_results",
            "job_artifacts",
            "job_metrics",
            "job_logs",
            "job_events",
            "jobs",
            "trainer_versions",
            "trainers",
        ] {
            m.drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
