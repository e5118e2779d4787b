//! How much an upload may unpack to: the zip-bomb guard rails.

use serde::{Deserialize, Serialize};

/// Limits enforced while unpacking. Sizes are counted from the bytes actually
/// decompressed, never from the sizes the archive declares (which an attacker controls).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Entries in the archive's central directory, folders and ignored files included.
    pub max_entries: usize,
    /// Bytes unpacked over the whole archive.
    pub max_total_uncompressed_bytes: u64,
    /// Bytes unpacked from one entry.
    pub max_entry_bytes: u64,
    /// Unpacked / packed size, for each entry and for the archive as a whole. Applies only
    /// past [`Limits::RATIO_GRACE_BYTES`]: a small, very regular file (an empty mask, a
    /// repetitive JSON) legitimately compresses far better than this and is no bomb.
    pub max_compression_ratio: u64,
    /// Content problems reported before the list is cut (`truncated: true`).
    pub max_errors: usize,
}

impl Limits {
    /// Below this many unpacked bytes the compression ratio is not checked.
    pub const RATIO_GRACE_BYTES: u64 = 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 200_000,
            max_total_uncompressed_bytes: 20 * 1024 * 1024 * 1024,
            max_entry_bytes: 2 * 1024 * 1024 * 1024,
            max_compression_ratio: 100,
            max_errors: 1000,
        }
    }
}
