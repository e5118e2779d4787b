//! Billing: when each plan took effect for an organization, so a past period is invoiced
//! with the plan(s) in force then and not before the organization existed. One row per
//! change of the plan charged (a canceled subscription charges the free plan); the first
//! row is the organization's creation. Existing accounts start with their plan of today
//! at their organization's creation: the past before this table is not known.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum BillingPlanChanges {
    Table,
    OrgId,
    Plan,
    EffectiveAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BillingPlanChanges::Table)
                .col(uuid(BillingPlanChanges::OrgId))
                .col(text(BillingPlanChanges::Plan))
                .col(time(BillingPlanChanges::EffectiveAt))
                // Two changes at one instant: the later one written replaces the other.
                .primary_key(
                    Index::create()
                        .col(BillingPlanChanges::OrgId)
                        .col(BillingPlanChanges::EffectiveAt),
                )
                .foreign_key(&mut cascade(
                    BillingPlanChanges::Table,
                    BillingPlanChanges::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO billing_plan_changes (org_id, plan, effective_at)
                 SELECT b.org_id,
                        CASE WHEN b.status = 'canceled' THEN 'free' ELSE b.plan END,
                        o.created_at
                 FROM billing_accounts b JOIN organizations o ON o.id = b.org_id",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(BillingPlanChanges::Table).to_owned())
            .await
    }
}
