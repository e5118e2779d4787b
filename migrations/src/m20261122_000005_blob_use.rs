//! When a stored file was last (re)used by an import or a snapshot: the collector of
//! unreferenced files leaves recently used ones alone, so it never races a running import.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Blobs {
    Table,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Blobs::Table)
                .add_column(time_null(Blobs::LastUsedAt))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Blobs::Table)
                .drop_column(Blobs::LastUsedAt)
                .take(),
        )
        .await
    }
}
