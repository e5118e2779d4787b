//! Test support for Keynet: the platform in process on a fresh PostgreSQL database or SQLite
//! file, a GraphQL client, a graphql-ws client and email capture (outbox folder or a real
//! SMTP server).

#![expect(clippy::unwrap_used, reason = "test support: a failed set-up should stop the test")]

pub mod app;
pub mod gql;
pub mod mail;
pub mod pg;
pub mod ws;

pub use app::{Backend, TestApp};
pub use gql::{Account, Gql};
