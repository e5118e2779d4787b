//! Idempotent job starts: a client's key (per organization) or the job a retry repeats is
//! kept with the job, unique in the database, so two concurrent calls cannot both queue one;
//! the request's fingerprint tells a replay from another request under the same key.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    IdempotencyKey,
    RequestFingerprint,
}

const INDEX: &str = "jobs_org_idempotency_key";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            text_null(Jobs::IdempotencyKey),
            text_null(Jobs::RequestFingerprint),
        ] {
            m.alter_table(Table::alter().table(Jobs::Table).add_column(column).take())
                .await?;
        }
        // NULLs are distinct on both databases: jobs without a key are not constrained.
        m.create_index(index(
            INDEX,
            Jobs::Table,
            &["org_id", "idempotency_key"],
            true,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(INDEX).table(Jobs::Table).to_owned())
            .await?;
        for column in [Jobs::RequestFingerprint, Jobs::IdempotencyKey] {
            m.alter_table(Table::alter().table(Jobs::Table).drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
