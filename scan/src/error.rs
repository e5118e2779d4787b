//! The one error type of this crate.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] std::io::Error),

    // --- Layers. Each rejection of an entry names it and says why.
    #[error(
        "unsupported layer media type {0:?}: expected application/vnd.oci.image.layer.v1.tar, \
         …tar+gzip, …tar+zstd or application/vnd.docker.image.rootfs.diff.tar.gzip"
    )]
    UnsupportedMediaType(String),
    #[error("layer rejected: entry {entry:?} has an empty path")]
    EmptyPath { entry: String },
    #[error("layer rejected: entry {entry:?} has a path that is not UTF-8")]
    NonUtf8Path { entry: String },
    #[error("layer rejected: entry {entry:?} has a NUL byte in its path")]
    NulInPath { entry: String },
    #[error("layer rejected: entry {entry:?} has a path longer than {max} bytes")]
    PathTooLong { entry: String, max: usize },
    #[error(
        "layer rejected: entry {entry:?} is an absolute path; layer paths are relative to the \
         image root"
    )]
    AbsolutePath { entry: String },
    #[error(
        "layer rejected: entry {entry:?} has a `..` component, which would place it outside \
         the directory it names"
    )]
    ParentDirInPath { entry: String },
    #[error("layer rejected: entry {entry:?} would replace the image root itself")]
    ReplacesRoot { entry: String },
    #[error(
        "layer rejected: entry {entry:?} lies under {symlink:?}, a symlink earlier in the same \
         layer, so it would be written wherever that symlink points"
    )]
    PathThroughSymlink { entry: String, symlink: String },
    #[error(
        "layer rejected: entry {entry:?} is a symlink to {target:?}, which climbs above the image root"
    )]
    SymlinkEscape { entry: String, target: String },
    #[error(
        "layer rejected: entry {entry:?} is a symlink with an invalid target {target:?}: {why}"
    )]
    BadSymlinkTarget {
        entry: String,
        target: String,
        why: &'static str,
    },
    #[error(
        "layer rejected: entry {entry:?} is a hardlink to {target:?}, which is not a plain path \
         inside the image: {why}"
    )]
    BadHardlinkTarget {
        entry: String,
        target: String,
        why: &'static str,
    },
    #[error(
        "layer rejected: entry {entry:?} is a device node; a trainer image has no use for one, \
         and a runtime that grants device access would open host hardware through it"
    )]
    DeviceFile { entry: String },
    #[error("layer rejected: entry {entry:?} is a malformed whiteout: {why}")]
    BadWhiteout { entry: String, why: &'static str },
    #[error("layer rejected: entry {entry:?} has an unsupported tar entry type {type_flag:?}")]
    UnsupportedEntryType { entry: String, type_flag: char },
    #[error(
        "layer rejected: entry {entry:?} is {size} bytes; the scan reads this file whole and \
         accepts at most {max}"
    )]
    FileTooLarge { entry: String, size: u64, max: u64 },
    #[error("layer rejected: entry {entry:?} cannot be read: {why}")]
    MalformedFile { entry: String, why: String },
    #[error("layer rejected: more than {max} tar headers")]
    TooManyEntries { max: u64 },
    #[error("layer rejected: more than {max} bytes once decompressed")]
    TooLarge { max: u64 },
    #[error(
        "layer rejected: it decompresses to {uncompressed} bytes from {compressed}, more than \
         {max_ratio} times its size (a decompression bomb)"
    )]
    CompressionRatio {
        uncompressed: u64,
        compressed: u64,
        max_ratio: u64,
    },
    #[error("layer rejected: truncated: {what}")]
    Truncated { what: String },
    #[error("layer rejected: the {format} stream is corrupt: {message}")]
    Decompress {
        format: &'static str,
        message: String,
    },
    #[error("layer rejected: malformed tar at byte {offset}: {why}")]
    MalformedTar { offset: u64, why: String },
    #[error(
        "layer rejected: data after the tar end-of-archive marker at byte {offset}; another \
         reader could see entries this scan did not"
    )]
    TrailingData { offset: u64 },

    // --- Reports.
    #[error("cannot render the {format} report: {message}")]
    Render {
        format: &'static str,
        message: String,
    },

    // --- Vulnerability database and policy.
    /// The import as a whole cannot go on (not a zip or folder, unreadable archive).
    #[error("cannot read advisories from {path}: {why}")]
    AdvisorySource { path: String, why: String },
    /// One advisory is broken; the others can still be read.
    #[error("advisory {file}: {why}")]
    InvalidAdvisory { file: String, why: String },
    #[error("invalid policy: {field}: {why}")]
    InvalidPolicy { field: String, why: String },
}
