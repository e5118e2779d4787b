//! The crate's own errors. The port's operations fail with the domain's
//! [`StorageError`]; this type covers what only this crate does: checking settings and the
//! local store's signed URLs.

use keynet_domain::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting was refused; `key` names it relative to the store's settings (`bucket`),
    /// so the caller can prefix where it embeds them.
    #[error("invalid setting `{key}`: {reason}")]
    Setting { key: &'static str, reason: String },

    /// The URL lacks a parameter, or one cannot be read.
    #[error("the link is malformed: {0}")]
    MalformedUrl(String),

    /// The signature does not match: the URL was altered, made with another key, or made
    /// for another request (a download link used to upload, another blob, another size).
    #[error("the link's signature is not valid for this request")]
    BadSignature,

    #[error("the link expired")]
    ExpiredUrl,

    /// The body ended before the size the upload URL was signed for.
    #[error("the upload ended after {received} of the {expected} bytes the link was made for")]
    IncompleteUpload { expected: u64, received: u64 },

    /// Storing or reading the blob failed (`TooLarge` when the body is longer than signed).
    #[error(transparent)]
    Storage(#[from] StorageError),
}
