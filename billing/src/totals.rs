//! Sums over the ledger that quotas, thresholds and the billing account read.

use crate::entities::usage_events;
use crate::error::Result;
use crate::meters::Meter;
use chrono::{DateTime, Utc};
use keynet_domain::ids::OrgId;
use sea_orm::sea_query::{Alias, Expr, Func, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select};

/// `CAST(SUM(quantity) AS BIGINT)`: PostgreSQL sums BIGINT into NUMERIC.
fn sum_of_quantity() -> SimpleExpr {
    Expr::expr(Func::cast_as(
        Func::sum(Expr::col(usage_events::Column::Quantity)),
        Alias::new("BIGINT"),
    ))
    .into()
}

/// The sum of what `org` is charged for on `meter` in `[from, to)` (credited facts
/// excluded), as a query to narrow further or run with [`total`].
pub(crate) fn charged(
    org: OrgId,
    meter: Meter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Select<usage_events::Entity> {
    usage_events::Entity::find()
        .select_only()
        .column_as(sum_of_quantity(), "total")
        .filter(usage_events::Column::OrgId.eq(org))
        .filter(usage_events::Column::Meter.eq(meter))
        .filter(usage_events::Column::Credited.eq(false))
        .filter(usage_events::Column::OccurredAt.gte(from))
        .filter(usage_events::Column::OccurredAt.lt(to))
}

/// Runs a sum made by [`charged`]; 0 when nothing matched.
pub(crate) async fn total(
    db: &impl ConnectionTrait,
    sum: Select<usage_events::Entity>,
) -> Result<i64> {
    let total: Option<Option<i64>> = sum.into_tuple().one(db).await?;
    Ok(total.flatten().unwrap_or(0))
}

/// What `org` is charged for on `meter` in `[from, to)`.
pub async fn billable(
    db: &impl ConnectionTrait,
    org: OrgId,
    meter: Meter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64> {
    total(db, charged(org, meter, from, to)).await
}
