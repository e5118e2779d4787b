//! The public marketplace: a trainer is listed while it names a published (READY) version;
//! users of organizations that ran a listed trainer rate it, one rating per user; and jobs
//! are found by trainer version, for the usage counted for authors and the popularity order.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[derive(DeriveIden)]
enum Trainers {
    Table,
    PublishedVersionId,
    PublishedAt,
}

#[derive(DeriveIden)]
enum TrainerRatings {
    Table,
    TrainerId,
    UserId,
    OrgId,
    Rating,
    Review,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
}

const JOBS_BY_VERSION: &str = "idx_jobs_trainer_version";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time. No foreign
        // key on the version either: SQLite cannot add one to an existing table (versions
        // are only ever deleted with their trainer anyway).
        for column in [
            uuid_null(Trainers::PublishedVersionId),
            time_null(Trainers::PublishedAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Trainers::Table)
                    .add_column(column)
                    .take(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(TrainerRatings::Table)
                .col(uuid(TrainerRatings::TrainerId))
                .col(uuid(TrainerRatings::UserId))
                // The organization whose jobs entitled the user to rate.
                .col(uuid(TrainerRatings::OrgId))
                .col(
                    ColumnDef::new(TrainerRatings::Rating)
                        .integer()
                        .not_null()
                        .check(Expr::col(TrainerRatings::Rating).between(1, 5)),
                )
                .col(text(TrainerRatings::Review))
                .col(time(TrainerRatings::CreatedAt))
                .col(time(TrainerRatings::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(TrainerRatings::TrainerId)
                        .col(TrainerRatings::UserId),
                )
                .foreign_key(&mut cascade(
                    TrainerRatings::Table,
                    TrainerRatings::TrainerId,
                    Trainers::Table,
                ))
                .foreign_key(&mut cascade(
                    TrainerRatings::Table,
                    TrainerRatings::UserId,
                    Users::Table,
                ))
                .foreign_key(&mut cascade(
                    TrainerRatings::Table,
                    TrainerRatings::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            JOBS_BY_VERSION,
            Jobs::Table,
            &["trainer_version_id", "org_id"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(JOBS_BY_VERSION)
                .table(Jobs::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(TrainerRatings::Table).to_owned())
            .await?;
        for column in [
            Trainers::PublishedAt.into_iden(),
            Trainers::PublishedVersionId.into_iden(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Trainers::Table)
                    .drop_column(column)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }
}
