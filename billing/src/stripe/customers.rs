//! Each organization's Stripe customer, created the first time something needs it (the
//! billing portal, or usage to send).

use super::client::StripeApi;
use crate::accounts;
use crate::entities::billing_accounts;
use crate::error::Result;
use crate::service::Billing;
use keynet_domain::entities::organizations;
use keynet_domain::ids::OrgId;
use keynet_domain::time::now;
use keynet_domain::{Change, Viewer};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

impl Billing {
    /// The organization's Stripe customer id; creates the customer when it has none.
    /// `viewer` is who asked, for the audit log (none for the workers).
    pub(crate) async fn stripe_customer(
        &self,
        api: &StripeApi,
        org: OrgId,
        viewer: Option<&Viewer>,
    ) -> Result<String> {
        let db = self.domain().db();
        let account = accounts::ensure(db, org, self.config()).await?;
        if let Some(customer) = account.stripe_customer_id {
            return Ok(customer);
        }
        let organization = organizations::Entity::find_by_id(org)
            .one(db)
            .await?
            .ok_or(keynet_domain::Error::NotFound("organization"))?;
        // No transaction is held across the call to Stripe; its idempotency key makes two
        // hosts asking at once get the same customer.
        let customer = api
            .create_customer(org, &organization.name, &organization.slug)
            .await?;

        let mut tx = self.domain().begin().await?;
        let stored = billing_accounts::Entity::update_many()
            .col_expr(
                billing_accounts::Column::StripeCustomerId,
                Expr::value(customer.clone()),
            )
            .col_expr(billing_accounts::Column::UpdatedAt, Expr::value(now()))
            .filter(billing_accounts::Column::OrgId.eq(org))
            .filter(billing_accounts::Column::StripeCustomerId.is_null())
            .exec(&*tx)
            .await?;
        if stored.rows_affected == 1 {
            let mut change =
                Change::new(org, "billing.stripe_customer_created", "organization", org)
                    .meta(json!({"stripeCustomerId": customer}));
            if let Some(viewer) = viewer {
                change = change.by(viewer);
            }
            change.record(&mut tx).await?;
            tracing::info!(%org, stripe_customer = %customer, "Stripe customer created");
        }
        self.domain().commit(tx).await?;
        // Another host may have stored it first: the stored one is the customer.
        Ok(accounts::ensure(db, org, self.config())
            .await?
            .stripe_customer_id
            .unwrap_or(customer))
    }
}
