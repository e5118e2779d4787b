//! Billing accounts: one per organization, created on first need with the default plan,
//! which the plan history dates from the organization's creation.

use crate::config::BillingConfig;
use crate::entities::billing_accounts::{self, AccountStatus};
use crate::error::Result;
use crate::plan_history;
use crate::plans::{Plan, PlanName};
use chrono::{DateTime, Duration, Utc};
use keynet_domain::entities::organizations;
use keynet_domain::ids::OrgId;
use keynet_domain::time::now;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set};

/// The organization's account, created if it has none yet.
pub async fn ensure(
    db: &impl ConnectionTrait,
    org: OrgId,
    config: &BillingConfig,
) -> Result<billing_accounts::Model> {
    create_if_missing(db, org, config).await?;
    find(db, org, false).await
}

/// [`ensure`], and holds the account's row until the transaction ends: the quota checks of
/// two jobs of one organization take turns, so both cannot pass at the limit. (SQLite has
/// one writer at a time already: the domain's transactions take the write lock first.)
pub async fn lock(
    db: &impl ConnectionTrait,
    org: OrgId,
    config: &BillingConfig,
) -> Result<billing_accounts::Model> {
    create_if_missing(db, org, config).await?;
    find(db, org, true).await
}

async fn create_if_missing(
    db: &impl ConnectionTrait,
    org: OrgId,
    config: &BillingConfig,
) -> Result<()> {
    let created = billing_accounts::Entity::insert(billing_accounts::ActiveModel {
        org_id: Set(org),
        plan: Set(config.default_plan),
        status: Set(AccountStatus::Active),
        payment_failed_at: Set(None),
        stripe_customer_id: Set(None),
        stripe_subscription_id: Set(None),
        stripe_status_at: Set(None),
        updated_at: Set(now()),
    })
    .on_conflict(
        OnConflict::column(billing_accounts::Column::OrgId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if created == 0 {
        return Ok(());
    }
    // The organization has had the default plan since it was created, account or not.
    let since = organizations::Entity::find_by_id(org)
        .one(db)
        .await?
        .ok_or(keynet_domain::Error::NotFound("organization"))?
        .created_at;
    plan_history::record(db, org, config.default_plan, since).await
}

async fn find(
    db: &impl ConnectionTrait,
    org: OrgId,
    for_update: bool,
) -> Result<billing_accounts::Model> {
    let mut query = billing_accounts::Entity::find_by_id(org);
    if for_update && db.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    Ok(query
        .one(db)
        .await?
        .ok_or(keynet_domain::Error::NotFound("organization"))?)
}

/// The plan whose limits apply: a canceled subscription falls back to the free plan.
pub fn effective_plan(account: &billing_accounts::Model) -> PlanName {
    plan_history::charged_plan(account.plan, account.status)
}

pub fn limits<'c>(account: &billing_accounts::Model, config: &'c BillingConfig) -> &'c Plan {
    config.plans.get(effective_plan(account))
}

/// When a past-due account stops being able to start jobs; `None` when it is in good
/// standing.
pub fn grace_ends_at(
    account: &billing_accounts::Model,
    config: &BillingConfig,
) -> Option<DateTime<Utc>> {
    match (account.status, account.payment_failed_at) {
        (AccountStatus::PastDue, Some(failed)) => {
            Some(failed + Duration::days(config.payment_grace_days))
        }
        _ => None,
    }
}
