//! Reading a DICE upload: `images/…`, `annotations_<task>.json` (or `annotations.json`)
//! and an optional `splits.json`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::annotations::{DiceAnnotation, DiceClass, Segmentation};
use crate::archive::ExtractedFile;
use crate::convert::{self, Conversion, ConvertedImage, JsonId};
use crate::detect::is_dice_annotations;
use crate::issues::IssueLog;
use crate::model::TaskType;
use crate::splits::Split;
use crate::tree::{self, DatasetTree};

const IMAGES_FOLDER: &str = "images/";

/// The annotation file as uploads write it: ids may be numbers or strings, the image's
/// split may be given inline, sizes are optional (they are measured anyway).
#[derive(Debug, Deserialize)]
struct DiceUpload {
    #[serde(default)]
    classes: Vec<DiceClass>,
    images: Vec<UploadedImage>,
    #[serde(default)]
    annotations: Vec<UploadedAnnotation>,
}

#[derive(Debug, Deserialize)]
struct UploadedImage {
    id: JsonId,
    file_name: String,
    #[serde(default)]
    split: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UploadedAnnotation {
    image_id: JsonId,
    class_id: u32,
    #[serde(default)]
    bbox: Option<[f64; 4]>,
    #[serde(default)]
    segmentation: Option<Segmentation>,
    #[serde(default)]
    keypoints: Option<Vec<f64>>,
}

#[derive(Debug, Default, Deserialize)]
struct SplitsFile {
    #[serde(default)]
    train: Vec<JsonId>,
    #[serde(default)]
    val: Vec<JsonId>,
    #[serde(default)]
    test: Vec<JsonId>,
}

pub(crate) fn convert<'a>(
    tree: &DatasetTree<'a>,
    task: TaskType,
    issues: &mut IssueLog,
) -> Conversion<'a> {
    let mut conversion = Conversion::default();
    let Some(annotations_file) = choose_annotations_file(tree, task, issues) else {
        return conversion;
    };
    let Some(upload) = convert::read_json::<DiceUpload>(annotations_file, issues) else {
        return conversion;
    };
    let source = annotations_file.archive_path.as_str();

    conversion.classes = checked_classes(upload.classes, source, issues);
    let class_ids: BTreeSet<u32> = conversion.classes.iter().map(|class| class.id).collect();

    // Ids as declared, so an annotation of an image refused for its file is not also
    // reported as naming an unknown image.
    let declared_ids: BTreeSet<String> = upload
        .images
        .iter()
        .map(|image| image.id.to_string())
        .collect();
    let mut listed_files = BTreeSet::new();
    for image in upload.images {
        let id = image.id.to_string();
        let Some((relative, file)) = find_image_file(tree, &image.file_name) else {
            issues.push(
                source,
                format!(
                    "image '{id}' names file {IMAGES_FOLDER}{}, which is not in the upload",
                    image.file_name
                ),
            );
            continue;
        };
        if !listed_files.insert(relative) {
            issues.push(
                source,
                format!("image '{id}': file {relative} is listed more than once"),
            );
            continue;
        }
        let split_from_annotations = match image
            .split
            .as_deref()
            .map(|name| (name, Split::from_name(name)))
        {
            None => None,
            Some((_, Some(split))) => Some(split),
            Some((name, None)) => {
                issues.push(
                    source,
                    format!("image '{id}': unknown split '{name}' (use train, val or test)"),
                );
                None
            }
        };
        add_image(
            &mut conversion,
            issues,
            id,
            relative,
            file,
            split_from_annotations,
        );
    }

    // Images in images/ that the annotation file does not list are kept, unlabelled.
    for (relative, file) in tree.files() {
        if relative.starts_with(IMAGES_FOLDER) && !listed_files.contains(relative) {
            let file_name = relative[IMAGES_FOLDER.len()..].to_owned();
            add_image(&mut conversion, issues, file_name, relative, file, None);
        }
    }

    let image_ids: BTreeSet<String> = conversion
        .images
        .iter()
        .map(|image| image.id.clone())
        .collect();
    if image_ids.len() != conversion.images.len() {
        issues.push(
            source,
            "image ids must be unique (an unlisted file in images/ gets its path as id)",
        );
    }
    for (index, uploaded) in upload.annotations.into_iter().enumerate() {
        let annotation = DiceAnnotation {
            image_id: uploaded.image_id.to_string(),
            class_id: uploaded.class_id,
            bbox: uploaded.bbox,
            segmentation: uploaded.segmentation,
            keypoints: uploaded.keypoints,
        };
        if declared_ids.contains(&annotation.image_id) && !image_ids.contains(&annotation.image_id)
        {
            // Its image was refused; that issue is already reported.
            continue;
        }
        let problem = if !image_ids.contains(&annotation.image_id) {
            Err(format!(
                "names image '{}', which is not in \"images\"",
                annotation.image_id
            ))
        } else if !class_ids.contains(&annotation.class_id) {
            Err(format!(
                "names class {}, which is not in \"classes\"",
                annotation.class_id
            ))
        } else {
            convert::check_annotation(&annotation, task)
        };
        match problem {
            Ok(()) => conversion.annotations.push(annotation),
            Err(reason) => issues.push(source, format!("annotation #{index} {reason}")),
        }
    }

    apply_splits_file(tree, &mut conversion, issues);
    conversion
}

/// `annotations_<task>.json`, else `annotations.json`; an upload holding only other
/// tasks' files is told which ones it has.
fn choose_annotations_file<'a>(
    tree: &DatasetTree<'a>,
    task: TaskType,
    issues: &mut IssueLog,
) -> Option<&'a ExtractedFile> {
    let wanted = task.annotations_file_name();
    if let Some(file) = tree.get(&wanted).or_else(|| tree.get("annotations.json")) {
        return Some(file);
    }
    let found: Vec<&str> = tree
        .root_files()
        .map(|(path, _)| path)
        .filter(|path| is_dice_annotations(path))
        .collect();
    issues.push(
        "",
        format!(
            "the DICE upload has no {wanted} or annotations.json (found: {})",
            found.join(", ")
        ),
    );
    None
}

fn checked_classes(classes: Vec<DiceClass>, source: &str, issues: &mut IssueLog) -> Vec<DiceClass> {
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut kept = Vec::with_capacity(classes.len());
    for class in classes {
        if !ids.insert(class.id) {
            issues.push(
                source,
                format!("class id {} is listed more than once", class.id),
            );
        } else if !names.insert(class.name.clone()) {
            issues.push(
                source,
                format!("class name '{}' is listed more than once", class.name),
            );
        } else {
            kept.push(class);
        }
    }
    kept.sort_by_key(|class| class.id);
    kept
}

/// The file an image entry names: relative to `images/` as the contract says, or with
/// the `images/` prefix that some tools write.
fn find_image_file<'a>(
    tree: &DatasetTree<'a>,
    file_name: &str,
) -> Option<(&'a str, &'a ExtractedFile)> {
    let file_name = file_name.trim_start_matches("./");
    [format!("{IMAGES_FOLDER}{file_name}"), file_name.to_owned()]
        .iter()
        .filter(|candidate| candidate.starts_with(IMAGES_FOLDER))
        .find_map(|candidate| tree.entry(candidate))
}

fn add_image<'a>(
    conversion: &mut Conversion<'a>,
    issues: &mut IssueLog,
    id: String,
    relative: &'a str,
    file: &'a ExtractedFile,
    split_from_annotations: Option<Split>,
) {
    match convert::usable_image(file) {
        Ok(dimensions) => conversion.images.push(ConvertedImage {
            id,
            file_name: relative[IMAGES_FOLDER.len()..].to_owned(),
            file,
            dimensions,
            split_from_annotations,
            split_from_folder: tree::split_from_folders(relative),
        }),
        Err(reason) => issues.push(&file.archive_path, reason),
    }
}

/// `splits.json` assigns splits by image id; it wins over a per-image `split` field.
fn apply_splits_file(
    tree: &DatasetTree<'_>,
    conversion: &mut Conversion<'_>,
    issues: &mut IssueLog,
) {
    let Some(file) = tree.get("splits.json") else {
        return;
    };
    let Some(splits) = convert::read_json::<SplitsFile>(file, issues) else {
        return;
    };
    let source = file.archive_path.as_str();
    let mut assigned: BTreeMap<String, Split> = BTreeMap::new();
    for (split, ids) in [
        (Split::Train, splits.train),
        (Split::Val, splits.val),
        (Split::Test, splits.test),
    ] {
        for id in ids {
            let id = id.to_string();
            if assigned.insert(id.clone(), split).is_some() {
                issues.push(source, format!("image '{id}' is in more than one split"));
            }
        }
    }
    for image in &mut conversion.images {
        if let Some(split) = assigned.remove(&image.id) {
            image.split_from_annotations = Some(split);
        }
    }
    for id in assigned.keys() {
        issues.push(
            source,
            format!("names image '{id}', which is not in the annotations"),
        );
    }
}
