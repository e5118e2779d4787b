//! Keynet's API: the actix-web application serving GraphQL (queries, mutations and
//! graphql-ws subscriptions), deployments' endpoints, health and metrics, and the launcher that assembles the
//! platform from its settings. Holds no business rules: those are in `keynet-domain`.

mod browser;
mod console;
pub mod error;
pub mod graphql;
pub mod http;
pub mod inference;
pub mod metrics;
mod pages;
pub mod platform;
mod registry;
mod rest;
pub mod settings;
mod webhooks;

pub use platform::{Platform, launch};
pub use settings::Settings;
