//! One image layer read as a stream into a [`LayerScan`]: the index of its entries, its
//! whiteouts, and what the files that matter say (packages, OS, findings). Nothing is
//! written to disk; contents are read into memory only for the few files the inventory or
//! the findings need (each with a cap), everything else is skipped in the decompressor's
//! own buffer. Hostile archives are refused with the entry and the reason named.
//!
//! A `LayerScan` depends on the layer's bytes only, so the caller caches it by the layer's
//! digest; [`crate::report::merge`] puts the layers of an image together.

mod path;
mod stream;
mod tar;

use crate::finding::Finding;
use crate::inventory::{LayerInventory, Source};
use crate::{Error, findings};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::{BufRead, Read};
use tar::{Kind, TarReader};

/// How a layer blob is compressed, from its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression of a layer media type; any other media type is refused, so a
    /// config blob or a foreign (non-distributable) layer is never read as a tar.
    pub fn from_media_type(media_type: &str) -> Result<Self, Error> {
        match media_type {
            "application/vnd.oci.image.layer.v1.tar" => Ok(Self::None),
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Ok(Self::Gzip),
            "application/vnd.oci.image.layer.v1.tar+zstd" => Ok(Self::Zstd),
            other => Err(Error::UnsupportedMediaType(other.to_owned())),
        }
    }
}

/// Bounds on one layer. The defaults admit large ML images (CUDA and PyTorch layers reach
/// several GB and 100,000 files) while stopping bombs early.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Bytes the layer may decompress to.
    pub max_uncompressed: u64,
    /// Uncompressed bytes per compressed byte, checked once the stream has passed
    /// `ratio_floor` (small layers of zeros compress far better and are harmless).
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// Tar headers, extension headers included.
    pub max_entries: u64,
    /// Bytes in an entry name or link target (Linux's `PATH_MAX`).
    pub max_path_len: usize,
    /// Bytes in one PAX or GNU long-name header (Go's `archive/tar` allows 1 MiB).
    pub max_extension_header: u64,
    /// Package databases, os-release and passwd are read whole; a larger one rejects the
    /// layer rather than leave the inventory silently incomplete.
    pub max_inventory_file: u64,
    /// Files up to this size are searched for secrets; larger ones are not read.
    pub max_secret_scan_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_uncompressed: 16 << 30,
            max_ratio: 100,
            ratio_floor: 64 << 20,
            max_entries: 1_000_000,
            max_path_len: 4096,
            max_extension_header: 1 << 20,
            max_inventory_file: 64 << 20,
            max_secret_scan_file: 1 << 20,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Fifo,
}

/// One entry of the layer (whiteouts are kept apart, in [`LayerScan::whiteouts`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Absolute inside the image, normalized: `/usr/bin/python3`.
    pub path: String,
    pub kind: EntryKind,
    /// Symlink target as written, or hardlink target as a normalized path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Permission bits with setuid, setgid and sticky.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
}

/// Everything the scan keeps of one layer; serializable so the caller can cache it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerScan {
    /// In archive order; when a path repeats, the last entry is the one that counts.
    pub entries: Vec<Entry>,
    /// Paths this layer deletes from the layers below (`dir/.wh.NAME` → `/dir/NAME`).
    pub whiteouts: Vec<String>,
    /// Directories whose contents from the layers below this layer hides (`.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    pub inventory: LayerInventory,
    /// Findings of this layer's files (their `layer` is set when the image is merged).
    pub findings: Vec<Finding>,
}

/// Reads one layer blob of the given media type.
pub fn scan_layer<R: Read>(blob: R, media_type: &str, limits: &Limits) -> Result<LayerScan, Error> {
    let compression = Compression::from_media_type(media_type)?;
    let stream = stream::open(blob, compression, limits)?;
    let mut tar = TarReader::new(stream, limits.max_entries, limits.max_extension_header);
    let mut scanner = Scanner {
        limits,
        scan: LayerScan::default(),
        symlinks: HashSet::new(),
        fact_paths: HashSet::new(),
        content: Vec::new(),
    };
    while let Some(header) = tar.next()? {
        scanner.entry(&mut tar, header)?;
    }
    tar.finish()?;
    Ok(scanner.scan)
}

struct Scanner<'l> {
    limits: &'l Limits,
    scan: LayerScan,
    /// This layer's symlinks: an entry under one would be written wherever it points.
    symlinks: HashSet<String>,
    /// Paths whose files gave packages or findings: a later entry at the same path replaces
    /// the file, and what it gave goes with it.
    fact_paths: HashSet<String>,
    /// Reused for every file read.
    content: Vec<u8>,
}

impl Scanner<'_> {
    fn entry<R: BufRead>(
        &mut self,
        tar: &mut TarReader<R>,
        header: tar::Header,
    ) -> Result<(), Error> {
        let raw_entry = || String::from_utf8_lossy(tar.name()).into_owned();
        let Some(path) = path::entry_path(tar.name(), self.limits.max_path_len)? else {
            return match header.kind {
                // `./`: the root directory's own header, which sets nothing we keep.
                Kind::Directory => Ok(()),
                _ => Err(Error::ReplacesRoot { entry: raw_entry() }),
            };
        };
        self.refuse_through_symlink(&path, &raw_entry)?;
        if !self.fact_paths.is_empty() && self.fact_paths.remove(&path) {
            self.forget_facts(&path);
        }

        match path::whiteout(&path).map_err(|why| Error::BadWhiteout {
            entry: raw_entry(),
            why,
        })? {
            Some(_) if header.kind != Kind::Regular => {
                return Err(Error::BadWhiteout {
                    entry: raw_entry(),
                    why: "a whiteout must be a regular file",
                });
            }
            Some(path::Whiteout::Path(deleted)) => {
                self.scan.whiteouts.push(deleted);
                return Ok(());
            }
            Some(path::Whiteout::Opaque(dir)) => {
                self.scan.opaque_dirs.push(dir);
                return Ok(());
            }
            None => {}
        }

        let max = self.limits.max_path_len;
        let (kind, link) = match header.kind {
            Kind::Regular => (EntryKind::File, None),
            Kind::Directory => (EntryKind::Dir, None),
            Kind::Fifo => (EntryKind::Fifo, None),
            Kind::Symlink => (
                EntryKind::Symlink,
                Some(path::symlink_target(&path, tar.link(), max)?),
            ),
            Kind::Hardlink => (
                EntryKind::Hardlink,
                Some(path::hardlink_target(&path, tar.link(), max)?),
            ),
            Kind::CharDevice | Kind::BlockDevice => {
                return Err(Error::DeviceFile { entry: raw_entry() });
            }
        };
        if kind == EntryKind::Symlink {
            self.symlinks.insert(path.clone());
        } else if !self.symlinks.is_empty() {
            self.symlinks.remove(&path);
        }

        let entry = Entry {
            path,
            kind,
            link,
            mode: header.mode,
            uid: header.uid,
            gid: header.gid,
            size: header.size,
        };
        let facts_before = self.fact_count();
        if kind == EntryKind::File {
            self.read_file(tar, &entry)?;
        }
        findings::inspect_mode(&entry, &mut self.scan.findings);
        if self.fact_count() != facts_before {
            self.fact_paths.insert(entry.path.clone());
        }
        self.scan.entries.push(entry);
        Ok(())
    }

    /// Reads the file when the inventory or the findings need its contents, and hands them over.
    fn read_file<R: BufRead>(
        &mut self,
        tar: &mut TarReader<R>,
        entry: &Entry,
    ) -> Result<(), Error> {
        let source = Source::of(&entry.path);
        let interest = findings::Interest::of(&entry.path, entry.size, self.limits);
        let mut cap = interest.read_limit(self.limits);
        if let Some(source) = source {
            let (limit, whole) = source.read_limit(self.limits);
            if whole && entry.size > limit {
                return Err(Error::FileTooLarge {
                    entry: entry.path.clone(),
                    size: entry.size,
                    max: limit,
                });
            }
            cap = cap.max(limit);
        }
        if cap == 0 {
            return Ok(());
        }
        tar.read_contents(cap, &mut self.content)?;
        if let Some(source) = source {
            source
                .parse(&entry.path, &self.content, &mut self.scan.inventory)
                .map_err(|why| Error::MalformedFile {
                    entry: entry.path.clone(),
                    why,
                })?;
        }
        interest.inspect(
            &entry.path,
            entry.size,
            &self.content,
            &mut self.scan.findings,
        );
        Ok(())
    }

    fn refuse_through_symlink(
        &self,
        path: &str,
        raw_entry: &dyn Fn() -> String,
    ) -> Result<(), Error> {
        if self.symlinks.is_empty() {
            return Ok(());
        }
        for (at, _) in path.match_indices('/').skip(1) {
            let ancestor = &path[..at];
            if self.symlinks.contains(ancestor) {
                return Err(Error::PathThroughSymlink {
                    entry: raw_entry(),
                    symlink: ancestor.to_owned(),
                });
            }
        }
        Ok(())
    }

    fn fact_count(&self) -> usize {
        self.scan.findings.len() + self.scan.inventory.len()
    }

    fn forget_facts(&mut self, path: &str) {
        self.scan
            .findings
            .retain(|f| f.path.as_deref() != Some(path));
        self.scan.inventory.forget(path);
    }
}
