//! The Stripe billing portal, where admins manage payment methods, subscriptions and
//! Stripe's invoices.

use super::client::StripeApi;
use crate::error::Result;
use crate::service::Billing;
use keynet_domain::Viewer;
use keynet_domain::ids::OrgId;
use keynet_domain::roles::Permission;

impl Billing {
    /// A fresh portal session's URL for the organization's customer (created if it has
    /// none); admins and owners. It comes back to `billing.stripe.portal_return_url`, else to
    /// the platform's public URL.
    pub async fn billing_portal_url(&self, viewer: &Viewer, org: OrgId) -> Result<String> {
        viewer.require(org, Permission::ManageBilling)?;
        let stripe = self.stripe_config()?;
        let api = StripeApi::new(stripe)?;
        let customer = self.stripe_customer(&api, org, Some(viewer)).await?;
        let return_url = stripe
            .portal_return_url
            .as_deref()
            .unwrap_or(&self.domain().config().public_url);
        api.portal_session(&customer, return_url).await
    }
}
