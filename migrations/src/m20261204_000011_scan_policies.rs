//! Each organization's scan policy: what blocks its trainer versions (severities, secrets)
//! and the findings it accepts until a date. Organizations without a row use the default.

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
enum ScanPolicies {
    Table,
    OrgId,
    Policy,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ScanPolicies::Table)
                .col(uuid(ScanPolicies::OrgId).primary_key())
                .col(json(ScanPolicies::Policy))
                .col(uuid_null(ScanPolicies::UpdatedBy))
                .col(time(ScanPolicies::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from_tbl(ScanPolicies::Table)
                        .from_col(ScanPolicies::OrgId)
                        .to_tbl(Organizations::Table)
                        .to_col(Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut set_null(
                    ScanPolicies::Table,
                    ScanPolicies::UpdatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ScanPolicies::Table).to_owned())
            .await
    }
}
