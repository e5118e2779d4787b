//! Test support for Keynet: the platform in process on a fresh PostgreSQL database or SQLite
//! file, a GraphQL client, a graphql-ws client and email capture (outbox folder or a real
//! SMTP server).

#![expect(
    clippy::unwrap_used,
    reason = "test support: a failed set-up should stop the test"
)]

#[cfg(feature = "app")]
pub mod app;
pub mod clients;
pub mod docker;
#[cfg(feature = "app")]
pub mod fixtures;
#[cfg(feature = "app")]
pub mod gql;
#[cfg(feature = "app")]
pub mod jobs;
#[cfg(feature = "app")]
pub mod mail;
#[cfg(feature = "models")]
pub mod models;
pub mod pg;
#[cfg(feature = "app")]
pub mod registry;
pub mod s3;
#[cfg(feature = "stub")]
pub mod stub;
pub mod trainer;
#[cfg(feature = "app")]
pub mod ws;

#[cfg(feature = "app")]
pub use app::{Backend, TestApp};
#[cfg(feature = "app")]
pub use gql::{Account, Gql};
