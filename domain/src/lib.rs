//! Keynet's business rules: identity, organizations, roles, invitations, API tokens,
//! projects and the audit log. Knows nothing of HTTP or GraphQL; every tenant read and
//! write goes through a [`Viewer`] and is filtered by organization in the query itself.

pub mod audit;
pub mod auth;
pub mod config;
pub mod datasets;
pub mod deployments;
pub mod email;
pub mod entities;
pub mod error;
pub mod events;
pub mod experiments;
pub mod identity;
pub mod ids;
pub mod invitations;
pub mod jobs;
pub mod orgs;
pub mod page;
pub mod projects;
pub mod roles;
pub mod scoped;
pub mod search;
pub mod storage;
pub mod tasks;
pub mod time;
pub mod tokens;
pub mod validate;
pub mod viewer;

mod domain;

pub use audit::Change;
pub use domain::{Domain, Tx};
pub use error::{Error, Result};
pub use viewer::Viewer;
