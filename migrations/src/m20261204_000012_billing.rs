//! Billing: each organization's account (plan, payment status, Stripe ids), the usage
//! ledger (append-only; one row per metered fact, unique by its idempotency key), the quota
//! thresholds already announced, invoices with their lines, the Stripe webhook events
//! already processed, the usage sent to Stripe (or refused for it), and the last
//! comparison of Stripe's meter totals with the ledger.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum BillingAccounts {
    Table,
    OrgId,
    Plan,
    Status,
    PaymentFailedAt,
    StripeCustomerId,
    StripeSubscriptionId,
    /// When the Stripe event that last changed the status was created: older events that
    /// arrive later do not undo it.
    StripeStatusAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UsageEvents {
    Table,
    Id,
    OrgId,
    Meter,
    Quantity,
    IdempotencyKey,
    OccurredAt,
    ProjectId,
    ExperimentId,
    JobId,
    TrainerVersionId,
    TrainerOrgId,
    Credited,
    CreditReason,
    StripeSentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UsageThresholds {
    Table,
    OrgId,
    PeriodStart,
    Quota,
    Percent,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    OrgId,
    PeriodStart,
    PeriodEnd,
    Plan,
    Currency,
    Status,
    Subtotal,
    Credits,
    Total,
    StripeInvoiceId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    Id,
    InvoiceId,
    Position,
    Meter,
    Description,
    Quantity,
    CreditedQuantity,
    UnitPrice,
    UnitPricePer,
    Amount,
}

#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    Id,
    EventType,
    StripeCreatedAt,
    ReceivedAt,
}

/// One usage event's fate with Stripe: sent as a meter event, or refused before sending
/// (Stripe takes no event older than 35 days).
#[derive(DeriveIden)]
enum StripeMeterEvents {
    Table,
    UsageEventId,
    OrgId,
    Meter,
    EventName,
    Identifier,
    StripeCustomerId,
    Value,
    EventTime,
    Outcome,
    Reason,
    RecordedAt,
}

/// The last reconciliation of one organization's meter: the ledger's sum of what was sent
/// against Stripe's meter event summary for the same period.
#[derive(DeriveIden)]
enum StripeReconciliations {
    Table,
    OrgId,
    Meter,
    PeriodStart,
    PeriodEnd,
    LedgerQuantity,
    StripeQuantity,
    CheckedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BillingAccounts::Table)
                .col(uuid(BillingAccounts::OrgId).primary_key())
                .col(text(BillingAccounts::Plan))
                .col(text(BillingAccounts::Status))
                .col(time_null(BillingAccounts::PaymentFailedAt))
                .col(text_null(BillingAccounts::StripeCustomerId).unique_key())
                .col(text_null(BillingAccounts::StripeSubscriptionId))
                .col(time_null(BillingAccounts::StripeStatusAt))
                .col(time(BillingAccounts::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from_tbl(BillingAccounts::Table)
                        .from_col(BillingAccounts::OrgId)
                        .to_tbl(Organizations::Table)
                        .to_col(Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UsageEvents::Table)
                .col(id(UsageEvents::Id))
                .col(uuid(UsageEvents::OrgId))
                .col(text(UsageEvents::Meter))
                .col(big(UsageEvents::Quantity))
                .col(text(UsageEvents::IdempotencyKey))
                .col(time(UsageEvents::OccurredAt))
                .col(uuid_null(UsageEvents::ProjectId))
                .col(uuid_null(UsageEvents::ExperimentId))
                .col(uuid_null(UsageEvents::JobId))
                .col(uuid_null(UsageEvents::TrainerVersionId))
                .col(uuid_null(UsageEvents::TrainerOrgId))
                .col(flag(UsageEvents::Credited))
                .col(text_null(UsageEvents::CreditReason))
                .col(time_null(UsageEvents::StripeSentAt))
                .col(time(UsageEvents::CreatedAt))
                .foreign_key(&mut cascade(
                    UsageEvents::Table,
                    UsageEvents::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        // The idempotency key is the ledger's dedup: the database refuses a second row.
        m.create_index(index(
            "uq_usage_events_key",
            UsageEvents::Table,
            &["idempotency_key"],
            true,
        ))
        .await?;
        m.create_index(index(
            "idx_usage_events_org_time",
            UsageEvents::Table,
            &["org_id", "occurred_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "idx_usage_events_author_time",
            UsageEvents::Table,
            &["trainer_org_id", "occurred_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(UsageThresholds::Table)
                .col(uuid(UsageThresholds::OrgId))
                .col(time(UsageThresholds::PeriodStart))
                .col(text(UsageThresholds::Quota))
                .col(int(UsageThresholds::Percent))
                .col(time(UsageThresholds::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(UsageThresholds::OrgId)
                        .col(UsageThresholds::PeriodStart)
                        .col(UsageThresholds::Quota)
                        .col(UsageThresholds::Percent),
                )
                .foreign_key(&mut cascade(
                    UsageThresholds::Table,
                    UsageThresholds::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invoices::Table)
                .col(id(Invoices::Id))
                .col(uuid(Invoices::OrgId))
                .col(time(Invoices::PeriodStart))
                .col(time(Invoices::PeriodEnd))
                .col(text(Invoices::Plan))
                .col(text(Invoices::Currency))
                .col(text(Invoices::Status))
                .col(big(Invoices::Subtotal))
                .col(big(Invoices::Credits))
                .col(big(Invoices::Total))
                .col(text_null(Invoices::StripeInvoiceId).unique_key())
                .col(time(Invoices::CreatedAt))
                .col(time(Invoices::UpdatedAt))
                .foreign_key(&mut cascade(
                    Invoices::Table,
                    Invoices::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        // One invoice per organization and period, whoever drafts it.
        m.create_index(index(
            "uq_invoices_org_period",
            Invoices::Table,
            &["org_id", "period_start"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(InvoiceLines::Table)
                .col(id(InvoiceLines::Id))
                .col(uuid(InvoiceLines::InvoiceId))
                .col(int(InvoiceLines::Position))
                .col(text_null(InvoiceLines::Meter))
                .col(text(InvoiceLines::Description))
                .col(big(InvoiceLines::Quantity))
                .col(big(InvoiceLines::CreditedQuantity))
                .col(big(InvoiceLines::UnitPrice))
                .col(big(InvoiceLines::UnitPricePer))
                .col(big(InvoiceLines::Amount))
                .foreign_key(&mut cascade(
                    InvoiceLines::Table,
                    InvoiceLines::InvoiceId,
                    Invoices::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_invoice_lines_invoice",
            InvoiceLines::Table,
            &["invoice_id", "position"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(StripeEvents::Table)
                .col(text(StripeEvents::Id).primary_key())
                .col(text(StripeEvents::EventType))
                .col(time(StripeEvents::StripeCreatedAt))
                .col(time(StripeEvents::ReceivedAt))
                .take(),
        )
        .await?;

        // The push to Stripe looks for rows not sent yet: few, among many sent ones.
        m.create_index(index(
            "idx_usage_events_stripe_unsent",
            UsageEvents::Table,
            &["stripe_sent_at", "id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(StripeMeterEvents::Table)
                .col(uuid(StripeMeterEvents::UsageEventId).primary_key())
                .col(uuid(StripeMeterEvents::OrgId))
                .col(text(StripeMeterEvents::Meter))
                .col(text(StripeMeterEvents::EventName))
                .col(text(StripeMeterEvents::Identifier))
                .col(text_null(StripeMeterEvents::StripeCustomerId))
                .col(big(StripeMeterEvents::Value))
                .col(time(StripeMeterEvents::EventTime))
                .col(text(StripeMeterEvents::Outcome))
                .col(text_null(StripeMeterEvents::Reason))
                .col(time(StripeMeterEvents::RecordedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from_tbl(StripeMeterEvents::Table)
                        .from_col(StripeMeterEvents::UsageEventId)
                        .to_tbl(UsageEvents::Table)
                        .to_col(UsageEvents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut cascade(
                    StripeMeterEvents::Table,
                    StripeMeterEvents::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(StripeReconciliations::Table)
                .col(uuid(StripeReconciliations::OrgId))
                .col(text(StripeReconciliations::Meter))
                .col(time(StripeReconciliations::PeriodStart))
                .col(time(StripeReconciliations::PeriodEnd))
                .col(big(StripeReconciliations::LedgerQuantity))
                .col(big(StripeReconciliations::StripeQuantity))
                .col(time(StripeReconciliations::CheckedAt))
                .primary_key(
                    Index::create()
                        .col(StripeReconciliations::OrgId)
                        .col(StripeReconciliations::Meter),
                )
                .foreign_key(&mut cascade(
                    StripeReconciliations::Table,
                    StripeReconciliations::OrgId,
                    Organizations::Table,
                ))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            StripeReconciliations::Table.into_iden(),
            StripeMeterEvents::Table.into_iden(),
            StripeEvents::Table.into_iden(),
            InvoiceLines::Table.into_iden(),
            Invoices::Table.into_iden(),
            UsageThresholds::Table.into_iden(),
            UsageEvents::Table.into_iden(),
            BillingAccounts::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
