//! Pushed trainer versions and their checks: a version pinned to the manifest digest it was
//! pushed as, with the itemised report of its checks; the upload keys that let an author
//! push one version to one tag; and the per-layer scan results shared by every image that
//! contains the layer; and the vulnerability database the scans match packages against.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum Trainers {
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
enum TrainerVersions {
    Table,
    ManifestDigest,
    Checks,
    Scan,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TrainerUploadKeys {
    Table,
    Id,
    OrgId,
    TrainerId,
    VersionId,
    ProjectId,
    KeyHash,
    Tag,
    ExpiresAt,
    UsedAt,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ScanLayers {
    Table,
    Digest,
    Result,
    ScannedAt,
}

#[derive(DeriveIden)]
enum VulnAdvisories {
    Table,
    Id,
    Modified,
    Record,
    ImportedAt,
}

#[derive(DeriveIden)]
enum VulnAffected {
    Table,
    Ecosystem,
    Name,
    AdvisoryId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        for column in [
            text_null(TrainerVersions::ManifestDigest),
            ColumnDef::new(TrainerVersions::Checks)
                .json_binary()
                .not_null()
                .default("[]")
                .take(),
            json_null(TrainerVersions::Scan),
            time_null(TrainerVersions::UpdatedAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(TrainerVersions::Table)
                    .add_column(column)
                    .take(),
            )
            .await?;
        }
        m.create_index(index(
            "trainer_versions_manifest",
            TrainerVersions::Table,
            &["trainer_id", "manifest_digest"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(TrainerUploadKeys::Table)
                .col(id(TrainerUploadKeys::Id))
                .col(uuid(TrainerUploadKeys::OrgId))
                .col(uuid(TrainerUploadKeys::TrainerId))
                .col(uuid(TrainerUploadKeys::VersionId))
                .col(uuid(TrainerUploadKeys::ProjectId))
                .col(text(TrainerUploadKeys::KeyHash))
                .col(text(TrainerUploadKeys::Tag))
                .col(time(TrainerUploadKeys::ExpiresAt))
                .col(time_null(TrainerUploadKeys::UsedAt))
                .col(uuid_null(TrainerUploadKeys::CreatedBy))
                .col(time(TrainerUploadKeys::CreatedAt))
                .foreign_key(&mut cascade(
                    TrainerUploadKeys::Table,
                    TrainerUploadKeys::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    TrainerUploadKeys::Table,
                    TrainerUploadKeys::TrainerId,
                    Trainers::Table,
                ))
                .foreign_key(&mut cascade(
                    TrainerUploadKeys::Table,
                    TrainerUploadKeys::VersionId,
                    TrainerVersions::Table,
                ))
                .foreign_key(&mut cascade(
                    TrainerUploadKeys::Table,
                    TrainerUploadKeys::ProjectId,
                    Projects::Table,
                ))
                .foreign_key(&mut set_null(
                    TrainerUploadKeys::Table,
                    TrainerUploadKeys::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        for (name, columns) in [
            ("trainer_upload_keys_hash", &["key_hash"][..]),
            ("trainer_upload_keys_tag", &["trainer_id", "tag"][..]),
        ] {
            m.create_index(index(name, TrainerUploadKeys::Table, columns, true))
                .await?;
        }
        // Global like registry_blobs: a layer's content is the same whoever pushed it.
        m.create_table(
            Table::create()
                .table(ScanLayers::Table)
                .col(text(ScanLayers::Digest).primary_key())
                .col(json(ScanLayers::Result))
                .col(time(ScanLayers::ScannedAt))
                .take(),
        )
        .await?;
        // The OSV database `keynet vulndb import` fills: each record as read, and the
        // (ecosystem, package) keys a scan looks advisories up by.
        m.create_table(
            Table::create()
                .table(VulnAdvisories::Table)
                .col(text(VulnAdvisories::Id).primary_key())
                .col(text(VulnAdvisories::Modified))
                .col(ColumnDef::new(VulnAdvisories::Record).text().not_null())
                .col(time(VulnAdvisories::ImportedAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(VulnAffected::Table)
                .col(text(VulnAffected::Ecosystem))
                .col(text(VulnAffected::Name))
                .col(text(VulnAffected::AdvisoryId))
                .primary_key(
                    Index::create()
                        .col(VulnAffected::Ecosystem)
                        .col(VulnAffected::Name)
                        .col(VulnAffected::AdvisoryId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from_tbl(VulnAffected::Table)
                        .from_col(VulnAffected::AdvisoryId)
                        .to_tbl(VulnAdvisories::Table)
                        .to_col(VulnAdvisories::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            VulnAffected::Table.into_iden(),
            VulnAdvisories::Table.into_iden(),
            ScanLayers::Table.into_iden(),
            TrainerUploadKeys::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.drop_index(
            Index::drop()
                .name("trainer_versions_manifest")
                .table(TrainerVersions::Table)
                .to_owned(),
        )
        .await?;
        for column in [
            TrainerVersions::UpdatedAt.into_iden(),
            TrainerVersions::Scan.into_iden(),
            TrainerVersions::Checks.into_iden(),
            TrainerVersions::ManifestDigest.into_iden(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(TrainerVersions::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }
}
