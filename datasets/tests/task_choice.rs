//! A dataset may declare several task types: the upload is imported for the first of them
//! its format and labels fit, and refused only when none does, naming those tried.

mod common;

use common::{
    Sandbox, assert_fatal, assert_issue, entry, expect_failure, expect_success, png, zip_of,
};
use keynet_datasets::TaskType::{Classification, Detection, Pose, Segmentation};

fn yolo(data_yaml: &str, label: &str) -> Vec<u8> {
    zip_of(&vec![
        entry("data.yaml", data_yaml),
        entry("images/a.png", png(10, 10, 1)),
        entry("labels/a.txt", label),
    ])
}

#[test]
fn yolo_boxes_import_for_detection_beside_classification() {
    let zip = yolo("names: [cat, dog]\n", "0 0.5 0.5 0.2 0.2\n");
    let imported = expect_success(Sandbox::new(&zip).import_for_any(&[Classification, Detection]));
    assert_eq!(imported.task, Detection);
    assert_eq!(imported.annotations.annotations.len(), 1);
}

#[test]
fn class_folders_import_for_classification_beside_detection() {
    let zip = zip_of(&vec![entry("cat/a.png", png(10, 10, 1))]);
    let imported = expect_success(Sandbox::new(&zip).import_for_any(&[Classification, Detection]));
    assert_eq!(imported.task, Classification);
}

#[test]
fn the_labels_choose_among_task_types_the_format_can_hold() {
    // Box and two keypoints: not a box (4 values) nor a polygon (an even count), a pose.
    let zip = yolo(
        "names: [person]\nkpt_shape: [2, 3]\n",
        "0 0.5 0.5 0.2 0.2 0.4 0.4 2 0.6 0.6 2\n",
    );
    let imported = expect_success(Sandbox::new(&zip).import_for_any(&[Detection, Pose]));
    assert_eq!(imported.task, Pose);
}

#[test]
fn a_format_fitting_no_task_type_names_those_tried() {
    let zip = zip_of(&vec![entry("cat/a.png", png(10, 10, 1))]);
    let failure = expect_failure(Sandbox::new(&zip).import_for_any(&[Detection, Segmentation]));
    assert_fatal(
        &failure,
        "",
        "cannot be imported for detection or segmentation",
    );
}

#[test]
fn labels_fitting_no_task_type_name_those_tried_and_the_closest_problems() {
    let zip = yolo("names: [cat]\n", "0 0.5 0.5\n");
    let failure = expect_failure(Sandbox::new(&zip).import_for_any(&[Detection, Segmentation]));
    assert_eq!(
        failure.errors[0].reason,
        "the YOLO upload fits none of the task types tried (detection or segmentation); \
         the problems below are those for detection, the closest fit"
    );
    assert_issue(
        &failure,
        "labels/a.txt",
        "line 1: expected `class cx cy w h`",
    );
}

#[test]
fn one_task_type_reports_its_problems_alone() {
    let zip = yolo("names: [cat]\n", "0 0.5 0.5\n");
    let failure = expect_failure(Sandbox::new(&zip).import_for_any(&[Detection]));
    assert_eq!(failure.errors.len(), 1, "{:#?}", failure.errors);
    assert_issue(
        &failure,
        "labels/a.txt",
        "line 1: expected `class cx cy w h`",
    );
}

#[test]
fn a_task_type_the_format_cannot_hold_is_named_as_tried() {
    let zip = yolo("names: [cat]\n", "0 0.5 0.5\n");
    let failure = expect_failure(Sandbox::new(&zip).import_for_any(&[Classification, Detection]));
    assert_eq!(
        failure.errors[0].reason,
        "the YOLO upload fits none of the task types tried (classification or detection); \
         the problems below are those for detection"
    );
    assert_issue(
        &failure,
        "labels/a.txt",
        "line 1: expected `class cx cy w h`",
    );
}
