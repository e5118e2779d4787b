//! The GraphQL schema: one query, mutation and subscription root merged from the areas.

mod audit;
mod billing;
mod connection;
pub mod context;
mod datasets;
mod deployments;
mod enums;
mod experiments;
mod identity;
mod invitations;
mod job_types;
mod jobs;
mod limits;
pub mod live;
pub mod loaders;
mod marketplace;
mod marketplace_listing;
mod orgs;
mod projects;
mod samples;
mod tokens;
mod types;

use crate::metrics::{Metrics, OperationMetrics};
use crate::settings::ApiLimits;
use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};
use keynet_billing::Billing;
use keynet_domain::Domain;
use keynet_marketplace::Marketplace;
use keynet_workers::TrainerImages;
use std::sync::Arc;

#[derive(MergedObject, Default)]
pub struct Query(
    identity::IdentityQuery,
    orgs::OrgQuery,
    invitations::InvitationQuery,
    tokens::TokenQuery,
    projects::ProjectQuery,
    audit::AuditQuery,
    datasets::DatasetQuery,
    experiments::ExperimentQuery,
    jobs::JobQuery,
    deployments::DeploymentQuery,
    marketplace::MarketplaceQuery,
    marketplace_listing::MarketplaceListingQuery,
    billing::BillingQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    identity::IdentityMutation,
    orgs::OrgMutation,
    invitations::InvitationMutation,
    tokens::TokenMutation,
    projects::ProjectMutation,
    datasets::DatasetMutation,
    experiments::ExperimentMutation,
    jobs::JobMutation,
    deployments::DeploymentMutation,
    marketplace::MarketplaceMutation,
    marketplace_listing::MarketplaceListingMutation,
    billing::BillingMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    audit::AuditSubscription,
    datasets::DatasetSubscription,
    jobs::JobSubscription,
    deployments::DeploymentSubscription,
    marketplace::MarketplaceSubscription,
    billing::BillingSubscription,
);

pub type KeynetSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

pub fn build(
    domain: Arc<Domain>,
    marketplace: Arc<Marketplace>,
    billing: Arc<Billing>,
    limits: &ApiLimits,
    metrics: Arc<Metrics>,
    images: Arc<TrainerImages>,
) -> KeynetSchema {
    builder()
        .data(domain)
        .data(marketplace)
        .data(billing)
        .data(images)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(limits::AliasLimit(limits.max_aliases))
        .extension(OperationMetrics(metrics))
        .finish()
}

/// The schema in SDL, as `keynet schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
