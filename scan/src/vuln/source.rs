//! Reading advisories for `keynet vulndb import <path>`: an OSV bulk download (`all.zip` of
//! one ecosystem, one JSON file per advisory) or a folder walked recursively for `*.json`.
//!
//! Records are read one at a time, so a 100k-record zip never sits in memory: the zip's
//! central directory (names and offsets) or the folder's file list is all that is kept.
//! Two levels of error: [`AdvisorySource::open`] and the outer `Result` of each item are
//! fatal (not a zip or folder, the disk fails); the inner `Result` is one broken record
//! ([`Error::InvalidAdvisory`], naming the file and the reason), after which reading goes on.

use super::osv::Advisory;
use crate::error::Error;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use zip::ZipArchive;
use zip::result::ZipError;

/// The largest advisory read, decompressed; OSV's largest records (kernel advisories with
/// long version lists) are a few MiB.
pub const MAX_RECORD_BYTES: u64 = 32 * 1024 * 1024;

/// One advisory read from the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The entry's name in the zip, or its path relative to the folder.
    pub file: String,
    pub advisory: Advisory,
    /// The record as read, for the caller to store.
    pub json: String,
}

/// A zip or folder of OSV records, opened.
pub struct AdvisorySource {
    path: PathBuf,
    kind: Kind,
}

enum Kind {
    Zip(Box<ZipArchive<BufReader<File>>>),
    Folder(Vec<PathBuf>),
}

impl AdvisorySource {
    /// Opens `path`: a folder, or a file that must be a zip archive.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let fatal = |why: String| Error::AdvisorySource {
            path: path.display().to_string(),
            why,
        };
        let metadata = std::fs::metadata(path).map_err(|e| fatal(e.to_string()))?;
        let kind = if metadata.is_dir() {
            let mut files = Vec::new();
            collect_json_files(path, &mut files).map_err(|e| fatal(e.to_string()))?;
            files.sort();
            Kind::Folder(files)
        } else if metadata.is_file() {
            let file = File::open(path).map_err(|e| fatal(e.to_string()))?;
            let archive = ZipArchive::new(BufReader::new(file)).map_err(|e| match e {
                ZipError::Io(e) => fatal(e.to_string()),
                other => fatal(format!("neither a folder nor a zip archive ({other})")),
            })?;
            Kind::Zip(Box::new(archive))
        } else {
            return Err(fatal("neither a folder nor a zip archive".to_owned()));
        };
        Ok(Self {
            path: path.to_owned(),
            kind,
        })
    }

    /// How many entries [`Self::records`] visits (zip entries, or JSON files of the folder),
    /// for progress reports; a zip's directories and non-JSON entries are skipped on the way.
    pub fn len(&self) -> usize {
        match &self.kind {
            Kind::Zip(archive) => archive.len(),
            Kind::Folder(files) => files.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records, in the zip's order or the folder's sorted path order.
    pub fn records(&mut self) -> Records<'_> {
        Records {
            source: self,
            next: 0,
        }
    }
}

/// Iterator over the records of an [`AdvisorySource`]: the outer `Result` is fatal, the
/// inner one is one record.
pub struct Records<'a> {
    source: &'a mut AdvisorySource,
    next: usize,
}

impl Iterator for Records<'_> {
    type Item = Result<Result<Record, Error>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let source_path = self.source.path.display().to_string();
        match &mut self.source.kind {
            Kind::Zip(archive) => loop {
                let index = self.next;
                if index >= archive.len() {
                    return None;
                }
                self.next += 1;
                if let Some(item) = read_zip_entry(archive, index, &source_path) {
                    return Some(item);
                }
            },
            Kind::Folder(files) => {
                let path = files.get(self.next)?;
                self.next += 1;
                let name = path
                    .strip_prefix(&self.source.path)
                    .unwrap_or(path)
                    .display()
                    .to_string();
                // An unreadable file spoils that record only: the folder was listed already.
                let read = File::open(path)
                    .map_err(Error::from)
                    .and_then(|file| read_limited(file, name.clone()))
                    .map_err(|e| match e {
                        Error::Io(e) => Error::InvalidAdvisory {
                            file: name.clone(),
                            why: e.to_string(),
                        },
                        other => other,
                    });
                Some(Ok(read.and_then(|json| parse(name, json))))
            }
        }
    }
}

/// One zip entry: `None` for what is not an advisory (directories, non-JSON files).
fn read_zip_entry(
    archive: &mut ZipArchive<BufReader<File>>,
    index: usize,
    source_path: &str,
) -> Option<Result<Result<Record, Error>, Error>> {
    let entry = match archive.by_index(index) {
        Ok(entry) => entry,
        Err(ZipError::Io(e)) if !is_corrupt_data(&e) => {
            return Some(Err(Error::AdvisorySource {
                path: source_path.to_owned(),
                why: e.to_string(),
            }));
        }
        Err(e) => {
            return Some(Ok(Err(Error::InvalidAdvisory {
                file: format!("zip entry #{index}"),
                why: e.to_string(),
            })));
        }
    };
    let name = match entry.name() {
        Ok(name) => name.into_owned(),
        Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
    };
    if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
        return None;
    }
    if entry.size() > MAX_RECORD_BYTES {
        return Some(Ok(Err(too_large(name))));
    }
    match read_limited(entry, name.clone()) {
        Ok(json) => Some(Ok(parse(name, json))),
        // A bad entry (CRC mismatch, corrupt deflate stream) spoils that record only.
        Err(Error::Io(e)) if !is_corrupt_data(&e) => Some(Err(Error::AdvisorySource {
            path: source_path.to_owned(),
            why: e.to_string(),
        })),
        Err(Error::Io(e)) => Some(Ok(Err(Error::InvalidAdvisory {
            file: name,
            why: e.to_string(),
        }))),
        Err(other) => Some(Ok(Err(other))),
    }
}

fn is_corrupt_data(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    )
}

/// Reads one record whole, at most [`MAX_RECORD_BYTES`] (a zip header may understate the
/// size), as UTF-8. I/O failures come back as [`Error::Io`], the rest as
/// [`Error::InvalidAdvisory`].
fn read_limited(reader: impl Read, name: String) -> Result<String, Error> {
    let mut bytes = Vec::new();
    reader.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(too_large(name));
    }
    String::from_utf8(bytes).map_err(|e| Error::InvalidAdvisory {
        file: name,
        why: format!("not UTF-8 ({e})"),
    })
}

fn too_large(name: String) -> Error {
    Error::InvalidAdvisory {
        file: name,
        why: format!("larger than {MAX_RECORD_BYTES} bytes"),
    }
}

fn parse(file: String, json: String) -> Result<Record, Error> {
    let advisory = Advisory::parse(&file, &json)?;
    Ok(Record {
        file,
        advisory,
        json,
    })
}

/// Every `*.json` file under `folder`. Symlinked folders are not followed (no cycles);
/// symlinked files are read.
fn collect_json_files(folder: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            collect_json_files(&path, files)?;
        } else if is_json(&path) && (file_type.is_file() || path.is_file()) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
}
