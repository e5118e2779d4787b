//! Turning an uploaded zip into a validated DICE dataset.
//!
//! [`import_zip`] unpacks the archive safely (no path escapes, no symlinks, zip-bomb
//! limits), recognises its layout (DICE, COCO, YOLO or ImageFolder, also wrapped in one
//! top folder), converts the labels to DICE, validates everything, assigns train/val/test
//! splits and computes statistics. It is pure and synchronous: no database, no network,
//! only the zip file and a work folder. Memory stays independent of the image bytes:
//! entries are streamed to disk, hashed as they are copied, and only image headers are
//! read for dimensions.
//!
//! From async code, run it on the blocking pool (this crate does not depend on tokio,
//! hence the example is not compiled here):
//! ```ignore
//! use keynet_datasets::{Limits, SplitConfig, TaskType, import_zip};
//! let imported = tokio::task::spawn_blocking(move || {
//!     import_zip(&zip, &work_dir, TaskType::Detection, &SplitConfig::default(), &Limits::default())
//! })
//! .await??; // JoinError, then ImportFailure
//! ```

mod annotations;
mod archive;
mod coco;
mod convert;
mod detect;
mod dice;
mod image_check;
mod image_folder;
mod issues;
mod limits;
mod model;
mod splits;
mod stats;
mod tree;
mod yolo;

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub use annotations::{
    DiceAnnotation, DiceAnnotations, DiceClass, DiceImage, RleCounts, RleMask, Segmentation,
};
pub use issues::{ImportFailure, ImportIssue};
pub use limits::Limits;
pub use model::{Format, ImageFile, Imported, TaskType};
pub use splits::{Split, SplitConfig, SplitSource, Splits, resplit};
pub use stats::{DimensionStats, Statistics};

use convert::Conversion;
use issues::IssueLog;
use tree::DatasetTree;

/// The folder inside `work_dir` that receives the unpacked files.
pub const EXTRACTED_DIR: &str = "extracted";

/// Imports the zip at `zip_path` for `task`.
///
/// Files are unpacked into `work_dir/extracted/` (see [`EXTRACTED_DIR`]), which must not
/// exist yet; `work_dir` is created if needed. On success the images'
/// [`ImageFile::source_path`]s point there, for the caller to store at
/// `images/<file_name>` beside `annotations_<task>.json` and `splits.json`, and to delete
/// afterwards. On failure the unpacked files are removed again and nothing else is
/// touched: nothing is ever written outside `work_dir`.
///
/// Blocking (file I/O, hashing): call it from async code through `spawn_blocking`.
pub fn import_zip(
    zip_path: &Path,
    work_dir: &Path,
    task: TaskType,
    split: &SplitConfig,
    limits: &Limits,
) -> Result<Imported, ImportFailure> {
    import_zip_for_any(zip_path, work_dir, &[task], split, limits)
}

/// Like [`import_zip`], for a dataset that declares several task types: the upload is
/// imported for the first of `tasks` (in the order given) that its format can hold and its
/// labels pass the checks of; [`Imported::task`] says which. It is refused only when none
/// fits, and the refusal names the task types tried, then lists the problems of the closest
/// fit (the one with the fewest problems) among those the format can hold.
pub fn import_zip_for_any(
    zip_path: &Path,
    work_dir: &Path,
    tasks: &[TaskType],
    split: &SplitConfig,
    limits: &Limits,
) -> Result<Imported, ImportFailure> {
    split.validate()?;
    let destination = create_extraction_folder(work_dir)?;
    let outcome = import_into(zip_path, &destination, tasks, split, limits);
    if outcome.is_err() {
        // Best effort: the caller's work folder is disposable anyway.
        let _ = fs::remove_dir_all(&destination);
    }
    outcome
}

fn create_extraction_folder(work_dir: &Path) -> Result<PathBuf, ImportFailure> {
    let failure = |error: std::io::Error| {
        ImportFailure::single("", format!("cannot prepare the work folder: {error}"))
    };
    fs::create_dir_all(work_dir).map_err(failure)?;
    let destination = work_dir.join(EXTRACTED_DIR);
    // A fresh folder guarantees no earlier file or symlink is in the way of the writes.
    fs::create_dir(&destination).map_err(|error| match error.kind() {
        ErrorKind::AlreadyExists => ImportFailure::single(
            "",
            format!(
                "the work folder already holds an import ({})",
                destination.display()
            ),
        ),
        _ => failure(error),
    })?;
    Ok(destination)
}

fn import_into(
    zip_path: &Path,
    destination: &Path,
    tasks: &[TaskType],
    split: &SplitConfig,
    limits: &Limits,
) -> Result<Imported, ImportFailure> {
    let archive = archive::extract(zip_path, destination, limits)?;
    let tree = DatasetTree::new(&archive);
    let format = detect::detect(&tree)?;
    let mut refusals = Vec::new();
    for task in detect::fitting_tasks(format, tasks)? {
        match convert(&tree, format, task, limits.max_errors) {
            Ok(conversion) => return Ok(finish(format, task, conversion, split)),
            Err(failure) => refusals.push((task, failure)),
        }
    }
    Err(none_fits(format, tasks, refusals, limits.max_errors))
}

/// The upload's content in DICE terms for `task`, or every problem that stops it.
fn convert<'a>(
    tree: &DatasetTree<'a>,
    format: Format,
    task: TaskType,
    max_errors: usize,
) -> Result<Conversion<'a>, ImportFailure> {
    let mut issues = IssueLog::new(max_errors);
    let conversion = match format {
        Format::Dice => dice::convert(tree, task, &mut issues),
        Format::Coco => coco::convert(tree, task, &mut issues),
        Format::Yolo => yolo::convert(tree, task, &mut issues),
        Format::ImageFolder => image_folder::convert(tree, &mut issues),
    };
    if conversion.images.is_empty() && issues.is_empty() {
        issues.push("", format!("the {format} upload holds no images"));
    }
    issues.into_result()?;
    Ok(conversion)
}

/// The refusal when the labels fit none of the task types the format could hold: with one
/// task type tried, its problems as they are; with several, a line naming them all, then the
/// problems of the closest fit.
fn none_fits(
    format: Format,
    tried: &[TaskType],
    refusals: Vec<(TaskType, ImportFailure)>,
    max_errors: usize,
) -> ImportFailure {
    let several = refusals.len() > 1;
    let closest = refusals
        .into_iter()
        .min_by_key(|(_, failure)| (failure.truncated, failure.errors.len()));
    let Some((task, failure)) = closest else {
        return ImportFailure::single("", "there is no task type to import for");
    };
    if tried.len() == 1 {
        return failure;
    }
    let which = if several { ", the closest fit" } else { "" };
    let mut errors = vec![ImportIssue::new(
        "",
        format!(
            "the {format} upload fits none of the task types tried ({}); the problems \
             below are those for {task}{which}",
            detect::task_list(tried)
        ),
    )];
    errors.extend(failure.errors);
    let max = max_errors.max(1);
    let truncated = failure.truncated || errors.len() > max;
    errors.truncate(max);
    ImportFailure { errors, truncated }
}

/// Orders everything by file name, then assigns splits and computes statistics.
fn finish(
    format: Format,
    task: TaskType,
    conversion: Conversion<'_>,
    config: &SplitConfig,
) -> Imported {
    let Conversion {
        classes,
        mut images,
        annotations,
    } = conversion;
    images.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    let position: HashMap<&str, usize> = images
        .iter()
        .enumerate()
        .map(|(index, image)| (image.id.as_str(), index))
        .collect();
    let mut annotations = annotations;
    // Stable: an image's labels keep the order of the source file.
    annotations.sort_by_key(|annotation| position.get(annotation.image_id.as_str()).copied());

    let strata = splits::strata(task, &annotations);
    let hints: Vec<splits::SplitHints<'_>> = images
        .iter()
        .map(|image| splits::SplitHints {
            image_id: &image.id,
            from_annotations: image.split_from_annotations,
            from_folder: image.split_from_folder,
            stratum: strata.get(image.id.as_str()).copied(),
        })
        .collect();
    let (splits, split_source) = splits::assign(&hints, config);
    let given_split: Vec<String> = images
        .iter()
        .filter(|image| image.split_from_annotations.is_some() || image.split_from_folder.is_some())
        .map(|image| image.id.clone())
        .collect();

    let image_files: Vec<ImageFile> = images
        .iter()
        .map(|image| ImageFile {
            id: image.id.clone(),
            file_name: image.file_name.clone(),
            source_path: image.file.disk_path.clone(),
            sha256: image.file.sha256.clone(),
            size: image.file.size,
            width: image.dimensions.width,
            height: image.dimensions.height,
        })
        .collect();
    let annotations = DiceAnnotations {
        classes,
        images: images
            .iter()
            .map(|image| DiceImage {
                id: image.id.clone(),
                file_name: image.file_name.clone(),
                width: image.dimensions.width,
                height: image.dimensions.height,
            })
            .collect(),
        annotations,
    };
    let statistics = stats::compute(&image_files, &annotations);
    Imported {
        format,
        task,
        images: image_files,
        annotations,
        splits,
        split_source,
        given_split,
        statistics,
    }
}
