//! Test support: real images, zips built entry by entry, and an import sandbox that checks
//! nothing was written where it should not be.
#![allow(dead_code, reason = "each test binary uses a different part of it")]
#![expect(clippy::unwrap_used, reason = "tests")]

use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use image::{ImageFormat, Rgb, RgbImage};
use keynet_datasets::{
    ImportFailure, Imported, Limits, SplitConfig, TaskType, import_zip, import_zip_for_any,
};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// A real PNG whose pixels depend on `seed`: same seed and size, same bytes.
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Jpeg)
}

fn encode(width: u32, height: u32, seed: u8, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x as u8).wrapping_mul(seed | 1),
            (y as u8).wrapping_add(seed),
            seed,
        ])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

/// Builds a zip in memory, entry by entry, including entries no honest tool would write.
pub struct ZipBuilder {
    writer: ZipWriter<Cursor<Vec<u8>>>,
}

impl Default for ZipBuilder {
    fn default() -> Self {
        Self {
            writer: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }
}

impl ZipBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A deflated file.
    pub fn file(mut self, name: &str, content: impl AsRef<[u8]>) -> Self {
        self.writer
            .start_file(name, SimpleFileOptions::default())
            .unwrap();
        self.writer.write_all(content.as_ref()).unwrap();
        self
    }

    /// A file stored without compression.
    pub fn stored(mut self, name: &str, content: impl AsRef<[u8]>) -> Self {
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        self.writer.start_file(name, options).unwrap();
        self.writer.write_all(content.as_ref()).unwrap();
        self
    }

    pub fn dir(mut self, name: &str) -> Self {
        self.writer
            .add_directory(name, SimpleFileOptions::default())
            .unwrap();
        self
    }

    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        self.writer
            .add_symlink(name, target, SimpleFileOptions::default())
            .unwrap();
        self
    }

    pub fn files<S: AsRef<str>>(mut self, entries: impl IntoIterator<Item = (S, Vec<u8>)>) -> Self {
        for (name, content) in entries {
            self = self.file(name.as_ref(), content);
        }
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.writer.finish().unwrap().into_inner()
    }
}

/// A temporary folder holding `upload.zip` and the import's `work/` folder.
pub struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(zip: &[u8]) -> Self {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("upload.zip"), zip).unwrap();
        Self { root }
    }

    pub fn zip_path(&self) -> PathBuf {
        self.root.path().join("upload.zip")
    }

    pub fn work_dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    pub fn import(&self, task: TaskType) -> Result<Imported, ImportFailure> {
        self.import_with(task, &SplitConfig::default(), &Limits::default())
    }

    pub fn import_with(
        &self,
        task: TaskType,
        split: &SplitConfig,
        limits: &Limits,
    ) -> Result<Imported, ImportFailure> {
        let outcome = import_zip(&self.zip_path(), &self.work_dir(), task, split, limits);
        self.checked(outcome)
    }

    /// Imports for the first of `tasks` the upload fits, as a dataset declaring them does.
    pub fn import_for_any(&self, tasks: &[TaskType]) -> Result<Imported, ImportFailure> {
        let outcome = import_zip_for_any(
            &self.zip_path(),
            &self.work_dir(),
            tasks,
            &SplitConfig::default(),
            &Limits::default(),
        );
        self.checked(outcome)
    }

    /// `outcome`, after checking nothing was written outside the work folder or left behind.
    fn checked(&self, outcome: Result<Imported, ImportFailure>) -> Result<Imported, ImportFailure> {
        self.assert_contained();
        if outcome.is_err() {
            assert!(
                !self.work_dir().join("extracted").exists(),
                "a failed import leaves its unpacked files behind"
            );
        }
        outcome
    }

    /// Nothing but `upload.zip` and `work/` beside the work folder, no symlinks inside it.
    pub fn assert_contained(&self) {
        let mut names: Vec<String> = fs::read_dir(self.root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names.retain(|name| name != "work");
        assert_eq!(
            names,
            ["upload.zip"],
            "files written outside the work folder"
        );
        assert_no_symlinks(&self.work_dir());
    }
}

fn assert_no_symlinks(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        assert!(
            !kind.is_symlink(),
            "symlink created: {}",
            entry.path().display()
        );
        if kind.is_dir() {
            assert_no_symlinks(&entry.path());
        }
    }
}

/// A list of zip entries, as the format fixtures build them.
pub type Entries = Vec<(String, Vec<u8>)>;

pub fn entry(name: &str, content: impl Into<Vec<u8>>) -> (String, Vec<u8>) {
    (name.to_owned(), content.into())
}

/// The same entries inside one top folder, as "compress folder" makes them.
pub fn nested(folder: &str, entries: &Entries) -> Entries {
    entries
        .iter()
        .map(|(name, content)| (format!("{folder}/{name}"), content.clone()))
        .collect()
}

pub fn zip_of(entries: &Entries) -> Vec<u8> {
    ZipBuilder::new()
        .files(
            entries
                .iter()
                .map(|(name, content)| (name, content.clone())),
        )
        .finish()
}

/// The import's failure, or a panic showing what was imported instead.
pub fn expect_failure(outcome: Result<Imported, ImportFailure>) -> ImportFailure {
    match outcome {
        Ok(imported) => panic!("expected the import to fail, got {imported:#?}"),
        Err(failure) => failure,
    }
}

/// Asserts that some issue is about `file` and gives a reason containing `reason`.
pub fn assert_issue(failure: &ImportFailure, file: &str, reason: &str) {
    assert!(
        failure
            .errors
            .iter()
            .any(|issue| issue.file == file && issue.reason.contains(reason)),
        "no issue for {file:?} containing {reason:?} in {:#?}",
        failure.errors
    );
}

/// The single-issue failure of a fatal archive problem.
pub fn assert_fatal(failure: &ImportFailure, file: &str, reason: &str) {
    assert_eq!(failure.errors.len(), 1, "{:#?}", failure.errors);
    assert!(!failure.truncated);
    assert_issue(failure, file, reason);
}

/// The imported dataset, or a panic listing the issues.
pub fn expect_success(outcome: Result<Imported, ImportFailure>) -> Imported {
    match outcome {
        Ok(imported) => imported,
        Err(failure) => panic!("expected the import to succeed: {:#?}", failure.errors),
    }
}

/// Imports `entries` (zipped) for `task` with the default split and limits.
pub fn import_entries(entries: &Entries, task: TaskType) -> Result<Imported, ImportFailure> {
    Sandbox::new(&zip_of(entries)).import(task)
}
