//! Unpacking an untrusted zip into a fresh folder: one entry at a time, straight to disk,
//! hashing and checking images as the bytes go by, refusing anything that could escape the
//! folder or blow up its size.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::ZipArchive;
use zip::read::ZipFile;
use zip::result::ZipError;

use crate::image_check::{self, CompletenessCheck, Dimensions};
use crate::issues::ImportFailure;
use crate::limits::Limits;

/// One regular file unpacked from the archive.
#[derive(Debug)]
pub(crate) struct ExtractedFile {
    /// Normalised path inside the zip: `/`-separated, no `.` or empty segments.
    pub archive_path: String,
    pub disk_path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// For files with an image extension: their dimensions, or why they are unusable.
    pub image: Option<Result<Dimensions, String>>,
}

/// Everything unpacked, sorted by path so that every later step is deterministic whatever
/// order the zip stored its entries in.
#[derive(Debug)]
pub(crate) struct ExtractedArchive {
    pub files: Vec<ExtractedFile>,
}

const UNIX_FILE_TYPE_MASK: u32 = 0o170_000;
const UNIX_REGULAR_FILE: u32 = 0o100_000;
const UNIX_DIRECTORY: u32 = 0o040_000;
const UNIX_SYMLINK: u32 = 0o120_000;
const COPY_BUFFER_BYTES: usize = 256 * 1024;

/// Unpacks `zip_path` into `destination`, which must already exist and be empty.
///
/// Every failure here is fatal to the import and reported as a single issue: past a bad
/// entry nothing else in the archive can be trusted.
pub(crate) fn extract(
    zip_path: &Path,
    destination: &Path,
    limits: &Limits,
) -> Result<ExtractedArchive, ImportFailure> {
    let file = File::open(zip_path)
        .map_err(|error| ImportFailure::single("", format!("cannot open the upload: {error}")))?;
    let packed_size = file
        .metadata()
        .map_err(|error| ImportFailure::single("", format!("cannot read the upload: {error}")))?
        .len();
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(|error| {
        ImportFailure::single("", format!("not a readable zip archive: {error}"))
    })?;
    if archive.len() > limits.max_entries {
        return Err(ImportFailure::single(
            "",
            format!(
                "the archive has {} entries; at most {} are allowed",
                archive.len(),
                limits.max_entries
            ),
        ));
    }

    let mut budget = Budget::new(limits, packed_size);
    let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|error| entry_failure(&format!("entry #{index}"), &error))?;
        // Decoded as the zip says (UTF-8 flag, else CP437); the raw bytes only if that fails.
        let raw_name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        };
        let Some(relative) = safe_relative_path(&entry, &raw_name)? else {
            continue;
        };
        if entry.is_dir() || is_ignored(&relative) {
            // Ignored entries are never decompressed, so they cannot be bombs either.
            continue;
        }
        files.push(unpack_entry(
            entry,
            relative,
            destination,
            &mut budget,
            &mut buffer,
        )?);
    }
    files.sort_by(|a, b| a.archive_path.cmp(&b.archive_path));
    Ok(ExtractedArchive { files })
}

fn entry_failure(name: &str, error: &ZipError) -> ImportFailure {
    let reason = match error {
        ZipError::UnsupportedArchive(detail) if detail.contains("ompression") => {
            format!("unsupported compression method ({detail}); use deflate or store")
        }
        ZipError::UnsupportedArchive(detail) if detail.contains("assword") => {
            "encrypted entries are not supported".to_owned()
        }
        other => format!("corrupt zip entry: {other}"),
    };
    ImportFailure::single(name, reason)
}

/// Checks the entry's name and type; `Ok(None)` for names that normalise to nothing
/// (e.g. `./`). Our own checks come first so the user learns *why* a name is refused;
/// the zip crate's `enclosed_name` is then required to agree, as a second line of defence.
fn safe_relative_path<R: Read + ?Sized>(
    entry: &ZipFile<'_, R>,
    raw_name: &str,
) -> Result<Option<String>, ImportFailure> {
    let refuse = |reason: &str| Err(ImportFailure::single(raw_name, reason));
    if raw_name.contains('\0') {
        return refuse("the entry name contains a NUL byte");
    }
    // Some Windows tools write `\` as the separator.
    let name = raw_name.replace('\\', "/");
    if name.starts_with('/') {
        return refuse("absolute paths are not allowed in the archive");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return refuse("absolute paths (drive letters) are not allowed in the archive");
    }
    let mut segments = Vec::new();
    for segment in name.split('/') {
        match segment {
            "" | "." => {}
            ".." => return refuse("paths with `..` are not allowed in the archive"),
            segment => segments.push(segment),
        }
    }
    if entry.is_symlink() || file_type(entry) == Some(UNIX_SYMLINK) {
        return refuse("symbolic links are not allowed in the archive");
    }
    if let Some(kind) = file_type(entry)
        && kind != 0
        && kind != UNIX_REGULAR_FILE
        && kind != UNIX_DIRECTORY
    {
        return refuse("only regular files and folders are allowed in the archive");
    }
    if segments.is_empty() {
        return Ok(None);
    }
    if entry.enclosed_name().is_none() {
        return refuse("the entry name is not a safe relative path");
    }
    Ok(Some(segments.join("/")))
}

fn file_type<R: Read + ?Sized>(entry: &ZipFile<'_, R>) -> Option<u32> {
    entry.unix_mode().map(|mode| mode & UNIX_FILE_TYPE_MASK)
}

/// Operating-system clutter and hidden files, skipped silently.
fn is_ignored(path: &str) -> bool {
    path.split('/').any(|segment| {
        segment.starts_with('.')
            || segment == "__MACOSX"
            || segment.eq_ignore_ascii_case("Thumbs.db")
            || segment.eq_ignore_ascii_case("desktop.ini")
    })
}

/// Running totals checked against [`Limits`] as bytes are unpacked.
struct Budget<'a> {
    limits: &'a Limits,
    packed_size: u64,
    total: u64,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a Limits, packed_size: u64) -> Self {
        Self {
            limits,
            packed_size,
            total: 0,
        }
    }

    /// Refuses an entry from its declared sizes before any byte is written; cheap, and
    /// catches honest bombs early. Dishonest ones are caught by [`Budget::take`].
    fn precheck(&self, name: &str, declared_size: u64) -> Result<(), ImportFailure> {
        if declared_size > self.limits.max_entry_bytes {
            return Err(too_large_entry(name, self.limits));
        }
        if self.total.saturating_add(declared_size) > self.limits.max_total_uncompressed_bytes {
            return Err(too_large_total(name, self.limits));
        }
        Ok(())
    }

    /// Accounts for `n` more bytes unpacked from an entry that has unpacked
    /// `entry_unpacked` so far (including them) from `entry_packed` packed bytes.
    fn take(
        &mut self,
        name: &str,
        n: u64,
        entry_unpacked: u64,
        entry_packed: u64,
    ) -> Result<(), ImportFailure> {
        self.total = self.total.saturating_add(n);
        let ratio = self.limits.max_compression_ratio;
        if entry_unpacked > self.limits.max_entry_bytes {
            return Err(too_large_entry(name, self.limits));
        }
        if self.total > self.limits.max_total_uncompressed_bytes {
            return Err(too_large_total(name, self.limits));
        }
        if entry_unpacked > Limits::RATIO_GRACE_BYTES
            && entry_unpacked > entry_packed.max(1).saturating_mul(ratio)
        {
            return Err(ImportFailure::single(
                name,
                format!(
                    "suspected zip bomb: the entry unpacks to more than {ratio} times its packed size"
                ),
            ));
        }
        if self.total > Limits::RATIO_GRACE_BYTES
            && self.total > self.packed_size.max(1).saturating_mul(ratio)
        {
            return Err(ImportFailure::single(
                name,
                format!(
                    "suspected zip bomb: the archive unpacks to more than {ratio} times its size"
                ),
            ));
        }
        Ok(())
    }
}

fn too_large_entry(name: &str, limits: &Limits) -> ImportFailure {
    ImportFailure::single(
        name,
        format!(
            "the entry unpacks to more than {} bytes, the per-file limit",
            limits.max_entry_bytes
        ),
    )
}

fn too_large_total(name: &str, limits: &Limits) -> ImportFailure {
    ImportFailure::single(
        name,
        format!(
            "the archive unpacks to more than {} bytes, the limit for an upload",
            limits.max_total_uncompressed_bytes
        ),
    )
}

fn unpack_entry<R: Read + ?Sized>(
    mut entry: ZipFile<'_, R>,
    relative: String,
    destination: &Path,
    budget: &mut Budget<'_>,
    buffer: &mut [u8],
) -> Result<ExtractedFile, ImportFailure> {
    let name = relative.as_str();
    budget.precheck(name, entry.size())?;
    let entry_packed = entry.compressed_size();
    let disk_path = destination.join(name);
    let io_failure =
        |error: io::Error| ImportFailure::single(name, format!("cannot unpack the entry: {error}"));
    if let Some(parent) = disk_path.parent() {
        fs::create_dir_all(parent).map_err(io_failure)?;
    }
    // `create_new` never follows or overwrites anything already there: a repeated name
    // in the archive is refused instead of silently replacing the first copy.
    let mut output = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&disk_path)
        .map_err(|error| match error.kind() {
            ErrorKind::AlreadyExists => {
                ImportFailure::single(name, "the archive holds this path more than once")
            }
            _ => io_failure(error),
        })?;

    let mut hasher = Sha256::new();
    let mut completeness = CompletenessCheck::default();
    let mut unpacked: u64 = 0;
    loop {
        let n = match entry.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(ImportFailure::single(
                    name,
                    format!("corrupt zip entry: {error}"),
                ));
            }
        };
        let chunk = &buffer[..n];
        unpacked = unpacked.saturating_add(n as u64);
        budget.take(name, n as u64, unpacked, entry_packed)?;
        hasher.update(chunk);
        completeness.feed(chunk);
        output.write_all(chunk).map_err(io_failure)?;
    }
    output.flush().map_err(io_failure)?;
    drop(output);

    let image = image_check::has_image_extension(name)
        .then(|| image_check::probe(&disk_path, completeness.finish()));
    Ok(ExtractedFile {
        archive_path: relative,
        disk_path,
        size: unpacked,
        sha256: hex::encode(hasher.finalize()),
        image,
    })
}
