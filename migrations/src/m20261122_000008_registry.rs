//! The OCI registry behind `docker push`: blobs stored once by digest and linked to each
//! repository (a trainer) that uploaded them, resumable upload sessions, manifests kept
//! byte for byte, and tags.

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
enum RegistryBlobs {
    Table,
    Digest,
    Size,
    Key,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RegistryBlobLinks {
    Table,
    TrainerId,
    Digest,
    OrgId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RegistryUploads {
    Table,
    Id,
    OrgId,
    TrainerId,
    Parts,
    Size,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RegistryManifests {
    Table,
    TrainerId,
    Digest,
    OrgId,
    MediaType,
    Content,
    Size,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RegistryTags {
    Table,
    TrainerId,
    Tag,
    OrgId,
    Digest,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Global: the bytes of one digest are stored once, whoever pushed them. Who may
        // read them is the links' business.
        m.create_table(
            Table::create()
                .table(RegistryBlobs::Table)
                .col(text(RegistryBlobs::Digest).primary_key())
                .col(big(RegistryBlobs::Size))
                .col(text(RegistryBlobs::Key))
                .col(time(RegistryBlobs::CreatedAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RegistryBlobLinks::Table)
                .col(uuid(RegistryBlobLinks::TrainerId))
                .col(text(RegistryBlobLinks::Digest))
                .col(uuid(RegistryBlobLinks::OrgId))
                .col(time(RegistryBlobLinks::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(RegistryBlobLinks::TrainerId)
                        .col(RegistryBlobLinks::Digest),
                )
                .foreign_key(&mut cascade(
                    RegistryBlobLinks::Table,
                    RegistryBlobLinks::TrainerId,
                    Trainers::Table,
                ))
                .foreign_key(&mut cascade(
                    RegistryBlobLinks::Table,
                    RegistryBlobLinks::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RegistryUploads::Table)
                .col(id(RegistryUploads::Id))
                .col(uuid(RegistryUploads::OrgId))
                .col(uuid(RegistryUploads::TrainerId))
                .col(json(RegistryUploads::Parts))
                .col(big(RegistryUploads::Size))
                .col(time(RegistryUploads::CreatedAt))
                .col(time(RegistryUploads::UpdatedAt))
                .foreign_key(&mut cascade(
                    RegistryUploads::Table,
                    RegistryUploads::TrainerId,
                    Trainers::Table,
                ))
                .foreign_key(&mut cascade(
                    RegistryUploads::Table,
                    RegistryUploads::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RegistryManifests::Table)
                .col(uuid(RegistryManifests::TrainerId))
                .col(text(RegistryManifests::Digest))
                .col(uuid(RegistryManifests::OrgId))
                .col(text(RegistryManifests::MediaType))
                .col(ColumnDef::new(RegistryManifests::Content).text().not_null())
                .col(big(RegistryManifests::Size))
                .col(time(RegistryManifests::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(RegistryManifests::TrainerId)
                        .col(RegistryManifests::Digest),
                )
                .foreign_key(&mut cascade(
                    RegistryManifests::Table,
                    RegistryManifests::TrainerId,
                    Trainers::Table,
                ))
                .foreign_key(&mut cascade(
                    RegistryManifests::Table,
                    RegistryManifests::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RegistryTags::Table)
                .col(uuid(RegistryTags::TrainerId))
                .col(text(RegistryTags::Tag))
                .col(uuid(RegistryTags::OrgId))
                .col(text(RegistryTags::Digest))
                .col(time(RegistryTags::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(RegistryTags::TrainerId)
                        .col(RegistryTags::Tag),
                )
                .foreign_key(&mut cascade(
                    RegistryTags::Table,
                    RegistryTags::TrainerId,
                    Trainers::Table,
                ))
                .foreign_key(&mut cascade(
                    RegistryTags::Table,
                    RegistryTags::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RegistryTags::Table.into_iden(),
            RegistryManifests::Table.into_iden(),
            RegistryUploads::Table.into_iden(),
            RegistryBlobLinks::Table.into_iden(),
            RegistryBlobs::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
