//! Slows, then refuses, repeated failed sign-ins for one account or one client address.
//! Counts live in the database so the limit holds across server instances.

use crate::config::ThrottleConfig;
use crate::entities::login_throttle::{self, Column, Entity};
use crate::error::{Error, Result};
use crate::time::now;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::time::Duration;

pub(crate) fn account_key(email: &str) -> String {
    format!("email:{email}")
}

pub(crate) fn keys(email: &str, client_addr: Option<&str>) -> Vec<String> {
    let mut keys = vec![account_key(email)];
    keys.extend(client_addr.map(|addr| format!("ip:{addr}")));
    keys
}

/// Refuses a locked key with `RateLimited`; otherwise returns the most failures any key has
/// in its current window.
pub(crate) async fn check(
    db: &impl ConnectionTrait,
    config: &ThrottleConfig,
    keys: &[String],
) -> Result<i32> {
    let at = now();
    let rows = Entity::find()
        .filter(Column::Key.is_in(keys.iter().cloned()))
        .all(db)
        .await?;
    if let Some(until) = rows
        .iter()
        .filter_map(|r| r.locked_until)
        .filter(|u| *u > at)
        .max()
    {
        return Err(Error::RateLimited {
            retry_after_secs: (until - at).num_seconds().max(1),
        });
    }
    Ok(rows
        .iter()
        .filter(|r| r.window_started_at + config.window > at)
        .map(|r| r.failures)
        .max()
        .unwrap_or(0))
}

/// How long to hold back the answer after `failures` recent failures: nothing at first,
/// then doubling from 250 ms up to 4 s.
pub(crate) fn delay(config: &ThrottleConfig, failures: i32) -> Duration {
    let over = failures - config.slow_after;
    if over < 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(250u64 << over.min(4))
}

pub(crate) async fn record_failure(
    db: &impl ConnectionTrait,
    config: &ThrottleConfig,
    keys: &[String],
) -> Result<()> {
    let at = now();
    for key in keys {
        // Start a window if there is none, atomically, then count into it.
        Entity::insert(login_throttle::ActiveModel {
            key: Set(key.clone()),
            failures: Set(0),
            window_started_at: Set(at),
            locked_until: Set(None),
        })
        .on_conflict(OnConflict::column(Column::Key).do_nothing().to_owned())
        .do_nothing()
        .exec(db)
        .await?;
        Entity::update_many()
            .col_expr(Column::Failures, Expr::value(0))
            .col_expr(Column::WindowStartedAt, Expr::value(at))
            .col_expr(
                Column::LockedUntil,
                Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
            )
            .filter(Column::Key.eq(key.as_str()))
            .filter(Column::WindowStartedAt.lt(at - config.window))
            .exec(db)
            .await?;
        Entity::update_many()
            .col_expr(Column::Failures, Expr::col(Column::Failures).add(1))
            .filter(Column::Key.eq(key.as_str()))
            .exec(db)
            .await?;
        Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(at + config.lockout))
            .filter(Column::Key.eq(key.as_str()))
            .filter(Column::Failures.gte(config.max_failures))
            .exec(db)
            .await?;
    }
    Ok(())
}

pub(crate) async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<()> {
    Entity::delete_by_id(key.to_string()).exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_then_caps() {
        let config = ThrottleConfig::default();
        assert_eq!(delay(&config, 0), Duration::ZERO);
        assert_eq!(
            delay(&config, config.slow_after),
            Duration::from_millis(250)
        );
        assert_eq!(
            delay(&config, config.slow_after + 1),
            Duration::from_millis(500)
        );
        assert_eq!(delay(&config, 100), Duration::from_millis(4000));
    }
}
