//! The OCI Distribution registry that `docker push` and `docker pull` talk to. A repository
//! is a trainer, named `<org-slug>/<trainer-slug>`. Blobs are stored once per digest in the
//! blob store and linked to each repository that uploaded them; manifests are kept byte
//! for byte (their digest is over those bytes) with their tags.
//!
//! Access is Docker token auth: `/v2/token` turns Basic credentials (a user's email and
//! API token, or an upload key) into a short registry token listing, per repository, what
//! its bearer may do ([`access`]); every registry call checks it.

mod access;
mod blobs;
mod manifests;
mod names;
mod uploads;

pub use access::{Action, IssuedRegistryToken, RepositoryAccess};
pub use manifests::{ManifestKind, PushedManifest, TagPage};
pub use names::{Digest, Reference};

/// Manifests (and indexes) larger than this are refused with 413, as the distribution
/// spec allows: they are kept in the database whole.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Blobs are streamed in pieces of this size: `ReaderStream`'s 4 KiB default made reading
/// layers back (chunked-upload concatenation, pulls) three times slower than writing them.
pub const BLOB_READ_CHUNK: usize = 256 << 10;

/// The OCI distribution error codes (plus the two statuses the spec names without one),
/// so the API answers each failure with the code and status registry clients expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    /// A chunk that does not start where the upload stands (416).
    RangeInvalid,
    /// A manifest over [`MAX_MANIFEST_BYTES`] or a blob over the upload limit (413).
    TooLarge,
    Unauthorized,
    Denied,
    Unsupported,
}

impl RegistryCode {
    /// The code as the spec spells it in error bodies.
    pub fn as_str(self) -> &'static str {
        use RegistryCode::*;
        match self {
            BlobUnknown => "BLOB_UNKNOWN",
            BlobUploadInvalid | RangeInvalid => "BLOB_UPLOAD_INVALID",
            BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            DigestInvalid => "DIGEST_INVALID",
            ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ManifestInvalid => "MANIFEST_INVALID",
            ManifestUnknown => "MANIFEST_UNKNOWN",
            NameInvalid => "NAME_INVALID",
            NameUnknown => "NAME_UNKNOWN",
            SizeInvalid | TooLarge => "SIZE_INVALID",
            Unauthorized => "UNAUTHORIZED",
            Denied => "DENIED",
            Unsupported => "UNSUPPORTED",
        }
    }
}

pub(crate) fn refuse(code: RegistryCode, message: impl Into<String>) -> crate::Error {
    crate::Error::Registry {
        code,
        message: message.into(),
    }
}
