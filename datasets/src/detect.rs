//! Recognising the upload's layout, in a fixed order: DICE, COCO, YOLO, ImageFolder.

use crate::image_check;
use crate::issues::ImportFailure;
use crate::model::{Format, TaskType};
use crate::tree::{DatasetTree, file_name_of};

const WHAT_WE_LOOK_FOR: &str = "looked for DICE (annotations_<task>.json or annotations.json \
    beside images/), COCO (instances_*.json), YOLO (data.yaml with images/ and labels/*.txt) \
    and ImageFolder (<class>/<image> or <split>/<class>/<image>)";

pub(crate) fn detect(tree: &DatasetTree<'_>) -> Result<Format, ImportFailure> {
    if tree.is_empty() {
        return Err(ImportFailure::single(
            "",
            "the archive holds no files (folders, hidden files and __MACOSX are ignored)",
        ));
    }
    if tree.root_files().any(|(path, _)| is_dice_annotations(path)) {
        return Ok(Format::Dice);
    }
    if tree
        .files()
        .any(|(path, _)| is_coco_annotations(file_name_of(path)))
    {
        return Ok(Format::Coco);
    }
    if yolo_data_yaml(tree).is_some() {
        return Ok(Format::Yolo);
    }
    let has_yolo_labels = tree.files().any(|(path, _)| {
        path.ends_with(".txt") && path.split('/').rev().skip(1).any(|dir| dir == "labels")
    });
    if has_yolo_labels {
        return Err(ImportFailure::single(
            "",
            "this looks like a YOLO dataset (labels/*.txt) but data.yaml, which names the \
             classes, is missing",
        ));
    }
    let has_class_folders = tree
        .files()
        .any(|(path, _)| path.contains('/') && image_check::has_image_extension(path));
    if has_class_folders {
        return Ok(Format::ImageFolder);
    }
    Err(ImportFailure::single(
        "",
        format!("no dataset format recognised: {WHAT_WE_LOOK_FOR}"),
    ))
}

/// Whether `format` can hold labels for `task`.
fn holds_task(format: Format, task: TaskType) -> bool {
    match format {
        Format::Dice => true,
        Format::ImageFolder => task == TaskType::Classification,
        Format::Coco | Format::Yolo => task != TaskType::Classification,
    }
}

/// The task types among `tasks` (in their order) that `format` can hold labels for; a
/// refusal naming every task type tried when there is none.
pub(crate) fn fitting_tasks(
    format: Format,
    tasks: &[TaskType],
) -> Result<Vec<TaskType>, ImportFailure> {
    let fitting: Vec<TaskType> = tasks
        .iter()
        .copied()
        .filter(|task| holds_task(format, *task))
        .collect();
    if !fitting.is_empty() {
        return Ok(fitting);
    }
    let holds = match format {
        Format::ImageFolder => "classification labels (one class per folder)",
        _ => "detection, segmentation or pose labels, not image classes",
    };
    Err(ImportFailure::single(
        "",
        format!(
            "a {format} upload holds {holds}; it cannot be imported for {}",
            task_list(tasks)
        ),
    ))
}

/// `detection`, `detection or pose`, `classification, detection or pose`.
pub(crate) fn task_list(tasks: &[TaskType]) -> String {
    let names: Vec<&str> = tasks.iter().map(|task| task.as_str()).collect();
    match names.split_last() {
        None => "no task type".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// `annotations.json` or `annotations_<task>.json`.
pub(crate) fn is_dice_annotations(name: &str) -> bool {
    name == "annotations.json"
        || name
            .strip_prefix("annotations_")
            .and_then(|rest| rest.strip_suffix(".json"))
            .is_some_and(|task| !task.is_empty() && !task.contains('/'))
}

pub(crate) fn is_coco_annotations(name: &str) -> bool {
    name.ends_with(".json")
        && (name.starts_with("instances_") || name.starts_with("person_keypoints_"))
}

pub(crate) fn yolo_data_yaml<'a>(
    tree: &DatasetTree<'a>,
) -> Option<&'a crate::archive::ExtractedFile> {
    tree.get("data.yaml").or_else(|| tree.get("data.yml"))
}
