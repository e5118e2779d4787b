//! Keynet's blob stores, the two implementations of [`keynet_domain::storage::BlobStore`]:
//!
//! - [`LocalStore`]: files under one folder, the embedded default. Its signed URLs point at
//!   Keynet itself (`/api/v1/blobs/{key}`), which checks them with [`LocalStore::verify`].
//! - [`S3Store`]: any S3-compatible service, its requests signed by rusty-s3 and sent by
//!   reqwest; its signed URLs are S3 presigned URLs, so the bytes never pass through Keynet.
//!
//! Both stream: no whole blob is held in memory (the S3 store buffers one 8 MiB part).

mod disposition;
mod error;
mod keys;
pub mod local;
pub mod s3;

pub use disposition::content_disposition;
pub use error::Error;
pub use local::{LocalStore, Method, SignedRequest};
pub use s3::{S3Settings, S3Store};
