//! Deployments: a trained model served behind an HTTP endpoint. A deployment names its
//! model (an export artifact, or the export job that will make one), its batching and
//! scaling; its keys authenticate callers; its replicas are the copies of the model that
//! worker hosts hold, one row per claimed slot, kept alive by a heartbeat. Usage facts name
//! the deployment and key that a request was metered for.

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
enum Deployments {
    Table,
    Id,
    OrgId,
    ProjectId,
    Name,
    Runtime,
    SourceJobId,
    SourceCheckpoint,
    ExportJobId,
    ArtifactId,
    Status,
    StatusReason,
    MinReplicas,
    MaxReplicas,
    MaxBatchSize,
    MaxQueueDelayMs,
    Resources,
    IdleSecondsBeforeScaleToZero,
    LastRequestAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeploymentKeys {
    Table,
    Id,
    OrgId,
    DeploymentId,
    Name,
    Prefix,
    KeyHash,
    RequestsPerSecond,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeploymentReplicas {
    Table,
    Id,
    OrgId,
    DeploymentId,
    Slot,
    HostId,
    Address,
    Status,
    Load,
    StartedAt,
    ReadyAt,
    HeartbeatAt,
}

#[derive(DeriveIden)]
enum DeploymentMetrics {
    Table,
    Id,
    OrgId,
    DeploymentId,
    At,
    Source,
    Writer,
    Requests,
    Errors,
    Latency,
    Batches,
    QueueDepth,
    Replicas,
}

#[derive(DeriveIden)]
enum UsageEvents {
    Table,
    DeploymentId,
    DeploymentKeyId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Deployments::Table)
                .col(id(Deployments::Id))
                .col(uuid(Deployments::OrgId))
                .col(uuid(Deployments::ProjectId))
                .col(text(Deployments::Name))
                .col(text(Deployments::Runtime))
                .col(uuid(Deployments::SourceJobId))
                .col(text_null(Deployments::SourceCheckpoint))
                .col(uuid_null(Deployments::ExportJobId))
                .col(uuid_null(Deployments::ArtifactId))
                .col(text(Deployments::Status))
                .col(text_null(Deployments::StatusReason))
                .col(int(Deployments::MinReplicas))
                .col(int(Deployments::MaxReplicas))
                .col(int(Deployments::MaxBatchSize))
                .col(int(Deployments::MaxQueueDelayMs))
                .col(json(Deployments::Resources))
                .col(int(Deployments::IdleSecondsBeforeScaleToZero))
                .col(time_null(Deployments::LastRequestAt))
                .col(uuid_null(Deployments::CreatedBy))
                .col(time(Deployments::CreatedAt))
                .col(time(Deployments::UpdatedAt))
                .foreign_key(&mut cascade(
                    Deployments::Table,
                    Deployments::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    Deployments::Table,
                    Deployments::ProjectId,
                    Projects::Table,
                ))
                .take(),
        )
        .await?;
        // A project's deployments have distinct names (the OIP model name is the id, but
        // people tell deployments apart by name).
        m.create_index(index(
            "idx_deployments_project_name",
            Deployments::Table,
            &["project_id", "name"],
            true,
        ))
        .await?;
        m.create_index(index(
            "idx_deployments_status",
            Deployments::Table,
            &["status"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DeploymentKeys::Table)
                .col(id(DeploymentKeys::Id))
                .col(uuid(DeploymentKeys::OrgId))
                .col(uuid(DeploymentKeys::DeploymentId))
                .col(text(DeploymentKeys::Name))
                .col(text(DeploymentKeys::Prefix))
                .col(text(DeploymentKeys::KeyHash))
                .col(int_null(DeploymentKeys::RequestsPerSecond))
                .col(time_null(DeploymentKeys::ExpiresAt))
                .col(time_null(DeploymentKeys::LastUsedAt))
                .col(time_null(DeploymentKeys::RevokedAt))
                .col(uuid_null(DeploymentKeys::CreatedBy))
                .col(time(DeploymentKeys::CreatedAt))
                .foreign_key(&mut cascade(
                    DeploymentKeys::Table,
                    DeploymentKeys::DeploymentId,
                    Deployments::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_deployment_keys_prefix",
            DeploymentKeys::Table,
            &["prefix"],
            true,
        ))
        .await?;
        m.create_index(index(
            "idx_deployment_keys_deployment",
            DeploymentKeys::Table,
            &["deployment_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DeploymentReplicas::Table)
                .col(id(DeploymentReplicas::Id))
                .col(uuid(DeploymentReplicas::OrgId))
                .col(uuid(DeploymentReplicas::DeploymentId))
                .col(int(DeploymentReplicas::Slot))
                .col(uuid(DeploymentReplicas::HostId))
                .col(text_null(DeploymentReplicas::Address))
                .col(text(DeploymentReplicas::Status))
                // Requests queued or running on the replica at its last heartbeat (the
                // autoscaler's signal).
                .col(int(DeploymentReplicas::Load))
                .col(time(DeploymentReplicas::StartedAt))
                .col(time_null(DeploymentReplicas::ReadyAt))
                .col(time(DeploymentReplicas::HeartbeatAt))
                .foreign_key(&mut cascade(
                    DeploymentReplicas::Table,
                    DeploymentReplicas::DeploymentId,
                    Deployments::Table,
                ))
                .take(),
        )
        .await?;
        // One host per slot: two hosts claiming the same replica cannot both insert it.
        m.create_index(index(
            "idx_deployment_replicas_slot",
            DeploymentReplicas::Table,
            &["deployment_id", "slot"],
            true,
        ))
        .await?;

        // What API instances (requests, errors, latency) and hosts (batches, queues,
        // replicas) saw of a deployment, one row per writer and interval.
        m.create_table(
            Table::create()
                .table(DeploymentMetrics::Table)
                .col(id(DeploymentMetrics::Id))
                .col(uuid(DeploymentMetrics::OrgId))
                .col(uuid(DeploymentMetrics::DeploymentId))
                .col(time(DeploymentMetrics::At))
                .col(text(DeploymentMetrics::Source))
                // The API instance or host that wrote it.
                .col(uuid(DeploymentMetrics::Writer))
                .col(big(DeploymentMetrics::Requests))
                .col(json(DeploymentMetrics::Errors))
                .col(json(DeploymentMetrics::Latency))
                .col(json(DeploymentMetrics::Batches))
                .col(int(DeploymentMetrics::QueueDepth))
                .col(int(DeploymentMetrics::Replicas))
                .foreign_key(&mut cascade(
                    DeploymentMetrics::Table,
                    DeploymentMetrics::DeploymentId,
                    Deployments::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_deployment_metrics_at",
            DeploymentMetrics::Table,
            &["deployment_id", "at"],
            false,
        ))
        .await?;

        // One column per statement: SQLite alters a table one column at a time.
        for column in [
            uuid_null(UsageEvents::DeploymentId),
            uuid_null(UsageEvents::DeploymentKeyId),
        ] {
            m.alter_table(
                Table::alter()
                    .table(UsageEvents::Table)
                    .add_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [UsageEvents::DeploymentKeyId, UsageEvents::DeploymentId] {
            m.alter_table(
                Table::alter()
                    .table(UsageEvents::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        for table in [
            DeploymentMetrics::Table.into_iden(),
            DeploymentReplicas::Table.into_iden(),
            DeploymentKeys::Table.into_iden(),
            Deployments::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
