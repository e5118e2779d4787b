//! Datasets and experiments: content-addressed blobs per organization, datasets with their
//! uploads and import errors, immutable numbered snapshots, experiments with notes and stars.

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
enum Blobs {
    Table,
    Id,
    OrgId,
    Sha256,
    Size,
    Key,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Datasets {
    Table,
    Id,
    OrgId,
    ProjectId,
    Name,
    Description,
    TaskTypes,
    SplitConfig,
    ImportStatus,
    Format,
    ManifestKey,
    Statistics,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DatasetUploads {
    Table,
    Id,
    OrgId,
    DatasetId,
    Filename,
    DeclaredSize,
    BlobKey,
    Status,
    ErrorCount,
    ErrorsTruncated,
    CreatedBy,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum DatasetImportErrors {
    Table,
    Id,
    OrgId,
    UploadId,
    File,
    Reason,
}

#[derive(DeriveIden)]
enum DatasetSnapshots {
    Table,
    Id,
    OrgId,
    DatasetId,
    Version,
    Note,
    SplitConfig,
    ManifestKey,
    ImageCount,
    SizeBytes,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Experiments {
    Table,
    Id,
    OrgId,
    ProjectId,
    Name,
    Description,
    Tags,
    CreatedBy,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ExperimentStars {
    Table,
    Id,
    OrgId,
    ExperimentId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ExperimentNotes {
    Table,
    Id,
    OrgId,
    ExperimentId,
    AuthorId,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Blobs::Table)
                .col(id(Blobs::Id))
                .col(uuid(Blobs::OrgId))
                .col(text(Blobs::Sha256))
                .col(big(Blobs::Size))
                .col(text(Blobs::Key))
                .col(time(Blobs::CreatedAt))
                .foreign_key(&mut cascade(
                    Blobs::Table,
                    Blobs::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "uq_blobs_org_sha",
            Blobs::Table,
            &["org_id", "sha256"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Datasets::Table)
                .col(id(Datasets::Id))
                .col(uuid(Datasets::OrgId))
                .col(uuid(Datasets::ProjectId))
                .col(text(Datasets::Name))
                .col(text(Datasets::Description))
                .col(json(Datasets::TaskTypes))
                .col(json(Datasets::SplitConfig))
                .col(text(Datasets::ImportStatus))
                .col(text_null(Datasets::Format))
                .col(text_null(Datasets::ManifestKey))
                .col(json_null(Datasets::Statistics))
                .col(uuid_null(Datasets::CreatedBy))
                .col(time(Datasets::CreatedAt))
                .col(time(Datasets::UpdatedAt))
                .foreign_key(&mut cascade(
                    Datasets::Table,
                    Datasets::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    Datasets::Table,
                    Datasets::ProjectId,
                    Projects::Table,
                ))
                .foreign_key(&mut set_null(
                    Datasets::Table,
                    Datasets::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "uq_datasets_project_name",
            Datasets::Table,
            &["project_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DatasetUploads::Table)
                .col(id(DatasetUploads::Id))
                .col(uuid(DatasetUploads::OrgId))
                .col(uuid(DatasetUploads::DatasetId))
                .col(text(DatasetUploads::Filename))
                .col(big(DatasetUploads::DeclaredSize))
                .col(text(DatasetUploads::BlobKey))
                .col(text(DatasetUploads::Status))
                .col(int(DatasetUploads::ErrorCount))
                .col(
                    ColumnDef::new(DatasetUploads::ErrorsTruncated)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(uuid_null(DatasetUploads::CreatedBy))
                .col(time(DatasetUploads::CreatedAt))
                .col(time_null(DatasetUploads::CompletedAt))
                .foreign_key(&mut cascade(
                    DatasetUploads::Table,
                    DatasetUploads::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    DatasetUploads::Table,
                    DatasetUploads::DatasetId,
                    Datasets::Table,
                ))
                .foreign_key(&mut set_null(
                    DatasetUploads::Table,
                    DatasetUploads::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_dataset_uploads_dataset",
            DatasetUploads::Table,
            &["dataset_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DatasetImportErrors::Table)
                .col(id(DatasetImportErrors::Id))
                .col(uuid(DatasetImportErrors::OrgId))
                .col(uuid(DatasetImportErrors::UploadId))
                .col(text(DatasetImportErrors::File))
                .col(text(DatasetImportErrors::Reason))
                .foreign_key(&mut cascade(
                    DatasetImportErrors::Table,
                    DatasetImportErrors::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    DatasetImportErrors::Table,
                    DatasetImportErrors::UploadId,
                    DatasetUploads::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_import_errors_upload",
            DatasetImportErrors::Table,
            &["upload_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(DatasetSnapshots::Table)
                .col(id(DatasetSnapshots::Id))
                .col(uuid(DatasetSnapshots::OrgId))
                .col(uuid(DatasetSnapshots::DatasetId))
                .col(int(DatasetSnapshots::Version))
                .col(text(DatasetSnapshots::Note))
                .col(json(DatasetSnapshots::SplitConfig))
                .col(text(DatasetSnapshots::ManifestKey))
                .col(big(DatasetSnapshots::ImageCount))
                .col(big(DatasetSnapshots::SizeBytes))
                .col(uuid_null(DatasetSnapshots::CreatedBy))
                .col(time(DatasetSnapshots::CreatedAt))
                .foreign_key(&mut cascade(
                    DatasetSnapshots::Table,
                    DatasetSnapshots::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    DatasetSnapshots::Table,
                    DatasetSnapshots::DatasetId,
                    Datasets::Table,
                ))
                .foreign_key(&mut set_null(
                    DatasetSnapshots::Table,
                    DatasetSnapshots::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "uq_snapshots_dataset_version",
            DatasetSnapshots::Table,
            &["dataset_id", "version"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Experiments::Table)
                .col(id(Experiments::Id))
                .col(uuid(Experiments::OrgId))
                .col(uuid(Experiments::ProjectId))
                .col(text(Experiments::Name))
                .col(text(Experiments::Description))
                .col(json(Experiments::Tags))
                .col(uuid_null(Experiments::CreatedBy))
                .col(time_null(Experiments::ArchivedAt))
                .col(time(Experiments::CreatedAt))
                .col(time(Experiments::UpdatedAt))
                .foreign_key(&mut cascade(
                    Experiments::Table,
                    Experiments::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    Experiments::Table,
                    Experiments::ProjectId,
                    Projects::Table,
                ))
                .foreign_key(&mut set_null(
                    Experiments::Table,
                    Experiments::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_experiments_project",
            Experiments::Table,
            &["project_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ExperimentStars::Table)
                .col(id(ExperimentStars::Id))
                .col(uuid(ExperimentStars::OrgId))
                .col(uuid(ExperimentStars::ExperimentId))
                .col(uuid(ExperimentStars::UserId))
                .col(time(ExperimentStars::CreatedAt))
                .foreign_key(&mut cascade(
                    ExperimentStars::Table,
                    ExperimentStars::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    ExperimentStars::Table,
                    ExperimentStars::ExperimentId,
                    Experiments::Table,
                ))
                .foreign_key(&mut cascade(
                    ExperimentStars::Table,
                    ExperimentStars::UserId,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "uq_experiment_stars",
            ExperimentStars::Table,
            &["experiment_id", "user_id"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ExperimentNotes::Table)
                .col(id(ExperimentNotes::Id))
                .col(uuid(ExperimentNotes::OrgId))
                .col(uuid(ExperimentNotes::ExperimentId))
                .col(uuid_null(ExperimentNotes::AuthorId))
                .col(text(ExperimentNotes::Body))
                .col(time(ExperimentNotes::CreatedAt))
                .col(time(ExperimentNotes::UpdatedAt))
                .foreign_key(&mut cascade(
                    ExperimentNotes::Table,
                    ExperimentNotes::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    ExperimentNotes::Table,
                    ExperimentNotes::ExperimentId,
                    Experiments::Table,
                ))
                .foreign_key(&mut set_null(
                    ExperimentNotes::Table,
                    ExperimentNotes::AuthorId,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_experiment_notes",
            ExperimentNotes::Table,
            &["experiment_id", "id"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ExperimentNotes::Table.into_iden(),
            ExperimentStars::Table.into_iden(),
            Experiments::Table.into_iden(),
            DatasetSnapshots::Table.into_iden(),
            DatasetImportErrors::Table.into_iden(),
            DatasetUploads::Table.into_iden(),
            Datasets::Table.into_iden(),
            Blobs::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
