//! "Is this dataset usable" and "how did the last import go" kept apart: the dataset keeps
//! its content (and so its readiness) when an import is refused, and remembers that import
//! (the upload, when it got to its status, and why it was refused).

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Datasets {
    Table,
    LastImportUploadId,
    LastImportAt,
    LastImportError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time. No foreign key to the
        // upload (SQLite cannot add one to an existing table); uploads go with their dataset.
        for column in [
            uuid_null(Datasets::LastImportUploadId),
            time_null(Datasets::LastImportAt),
            text_null(Datasets::LastImportError),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Datasets::Table)
                    .add_column(column)
                    .take(),
            )
            .await?;
        }
        // Datasets imported before: their latest import, as well as it is known.
        m.get_connection()
            .execute_unprepared(
                "UPDATE datasets SET \
                   last_import_at = updated_at, \
                   last_import_upload_id = (SELECT u.id FROM dataset_uploads u \
                     WHERE u.dataset_id = datasets.id AND u.status <> 'awaiting_upload' \
                     ORDER BY u.id DESC LIMIT 1) \
                 WHERE import_status <> 'empty'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Datasets::LastImportError,
            Datasets::LastImportAt,
            Datasets::LastImportUploadId,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Datasets::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }
}
