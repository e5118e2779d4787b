//! The durable task queue: follow-up work (emails now; scans, syncs and jobs later) is
//! inserted in the same transaction as the write that causes it, and claimed by workers.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    Kind,
    Payload,
    Status,
    Priority,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedUntil,
    LockedBy,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tasks::Table)
                .col(id(Tasks::Id))
                .col(text(Tasks::Kind))
                .col(json(Tasks::Payload))
                .col(text(Tasks::Status))
                .col(int(Tasks::Priority))
                .col(int(Tasks::Attempts))
                .col(int(Tasks::MaxAttempts))
                .col(time(Tasks::RunAt))
                .col(time_null(Tasks::LockedUntil))
                .col(text_null(Tasks::LockedBy))
                .col(text_null(Tasks::LastError))
                .col(time(Tasks::CreatedAt))
                .col(time(Tasks::UpdatedAt))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_tasks_claim")
                .table(Tasks::Table)
                .col(Tasks::Status)
                .col(Tasks::RunAt)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Tasks::Table).take()).await
    }
}
