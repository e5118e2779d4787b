//! Images uploaded for an inference job (`startInferenceJob(imageUploadId)`): one file per
//! upload, stored in the blob store, and the job's reference to it.

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
enum InferenceUploads {
    Table,
    Id,
    OrgId,
    ProjectId,
    Filename,
    SizeBytes,
    BlobKey,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    InferenceUploadId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(InferenceUploads::Table)
                .col(id(InferenceUploads::Id))
                .col(uuid(InferenceUploads::OrgId))
                .col(uuid(InferenceUploads::ProjectId))
                .col(text(InferenceUploads::Filename))
                .col(big(InferenceUploads::SizeBytes))
                .col(text(InferenceUploads::BlobKey))
                .col(uuid_null(InferenceUploads::CreatedBy))
                .col(time(InferenceUploads::CreatedAt))
                .foreign_key(&mut cascade(
                    InferenceUploads::Table,
                    InferenceUploads::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    InferenceUploads::Table,
                    InferenceUploads::ProjectId,
                    Projects::Table,
                ))
                .foreign_key(&mut set_null(
                    InferenceUploads::Table,
                    InferenceUploads::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        // SQLite cannot add a column with a foreign key to an existing table; the job keeps
        // the id and the domain checks it belongs to the job's organization.
        m.alter_table(
            Table::alter()
                .table(Jobs::Table)
                .add_column(uuid_null(Jobs::InferenceUploadId))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Jobs::Table)
                .drop_column(Jobs::InferenceUploadId)
                .take(),
        )
        .await?;
        m.drop_table(Table::drop().table(InferenceUploads::Table).take())
            .await
    }
}
