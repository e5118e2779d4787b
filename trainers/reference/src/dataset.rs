//! Reading a DICE classification dataset (trainer contract, "Dataset layout"): the
//! annotation file for the task (fallback `annotations.json`), `images/…`, and an optional
//! `splits.json`. Anything inconsistent is a `dataset` failure naming the culprit, because
//! a compliance run has to tell a trainer author what is wrong with their data.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::failure::Failure;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassInfo {
    pub id: u32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub image_id: String,
    /// As written in the annotation file, relative to `images/`.
    pub file_name: String,
    pub path: PathBuf,
    /// Index into [`Dataset::classes`], not the class id.
    pub label: usize,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub classes: Vec<ClassInfo>,
    pub train: Vec<Sample>,
    pub val: Vec<Sample>,
    pub annotations_file: String,
    /// Things worth a warning that do not stop training.
    pub notes: Vec<String>,
}

/// Ids are strings or numbers in uploads; both are compared as text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum JsonId {
    Int(i64),
    Text(String),
}

impl JsonId {
    fn into_text(self) -> String {
        match self {
            JsonId::Int(int) => int.to_string(),
            JsonId::Text(text) => text,
        }
    }
}

#[derive(Debug, Deserialize)]
struct AnnotationFile {
    #[serde(default)]
    classes: Vec<ClassInfo>,
    #[serde(default)]
    images: Vec<ImageEntry>,
    #[serde(default)]
    annotations: Vec<AnnotationEntry>,
}

#[derive(Debug, Deserialize)]
struct ImageEntry {
    id: JsonId,
    file_name: String,
}

#[derive(Debug, Deserialize)]
struct AnnotationEntry {
    image_id: JsonId,
    class_id: u32,
}

#[derive(Debug, Default, Deserialize)]
struct SplitsFile {
    #[serde(default)]
    train: Vec<JsonId>,
    #[serde(default)]
    val: Vec<JsonId>,
}

/// The annotation file chosen for `task`, as the contract orders it.
pub fn annotations_path(dataset_dir: &Path, task: &str) -> Option<PathBuf> {
    [
        format!("annotations_{task}.json"),
        "annotations.json".to_string(),
    ]
    .into_iter()
    .map(|name| dataset_dir.join(name))
    .find(|path| path.is_file())
}

pub fn load(dataset_dir: &Path, task: &str) -> Result<Dataset, Failure> {
    if !dataset_dir.is_dir() {
        return Err(Failure::dataset(format!(
            "dataset folder {} does not exist",
            dataset_dir.display()
        )));
    }
    let annotations_path = annotations_path(dataset_dir, task).ok_or_else(|| {
        Failure::dataset(format!(
            "no annotations_{task}.json nor annotations.json in {}",
            dataset_dir.display()
        ))
    })?;
    let annotations_file = file_label(&annotations_path);
    let parsed: AnnotationFile = read_json(&annotations_path)?;
    let mut notes = Vec::new();

    let classes = parsed.classes;
    if classes.is_empty() {
        return Err(Failure::dataset(format!(
            "{annotations_file} declares no classes"
        )));
    }
    let mut class_index = HashMap::new();
    for (index, class) in classes.iter().enumerate() {
        if class_index.insert(class.id, index).is_some() {
            return Err(Failure::dataset(format!(
                "{annotations_file}: class id {} is declared twice",
                class.id
            )));
        }
    }

    let images_dir = dataset_dir.join("images");
    let mut order = Vec::new();
    let mut files = HashMap::new();
    for image in parsed.images {
        let id = image.id.into_text();
        let path = safe_join(&images_dir, &image.file_name).ok_or_else(|| {
            Failure::dataset(format!(
                "{annotations_file}: image {id} has an unsafe file_name {:?}",
                image.file_name
            ))
        })?;
        if files.insert(id.clone(), (image.file_name, path)).is_some() {
            return Err(Failure::dataset(format!(
                "{annotations_file}: image id {id} is declared twice"
            )));
        }
        order.push(id);
    }

    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut conflicting = 0usize;
    for annotation in parsed.annotations {
        let image_id = annotation.image_id.into_text();
        if !files.contains_key(&image_id) {
            return Err(Failure::dataset(format!(
                "{annotations_file}: an annotation names unknown image {image_id}"
            )));
        }
        let label = *class_index.get(&annotation.class_id).ok_or_else(|| {
            Failure::dataset(format!(
                "{annotations_file}: image {image_id} is labelled with unknown class {}",
                annotation.class_id
            ))
        })?;
        // Classification has one label per image; the first one counts.
        let first = *labels.entry(image_id).or_insert(label);
        if first != label {
            conflicting += 1;
        }
    }
    if conflicting > 0 {
        notes.push(format!(
            "{conflicting} extra labels disagree with an image's first label; the first is used"
        ));
    }
    let unlabelled = order.iter().filter(|id| !labels.contains_key(*id)).count();
    if unlabelled > 0 {
        notes.push(format!(
            "{unlabelled} images have no label and are not used"
        ));
    }

    let sample = |id: &String| -> Option<Sample> {
        let label = *labels.get(id)?;
        let (file_name, path) = files.get(id)?;
        Some(Sample {
            image_id: id.clone(),
            file_name: file_name.clone(),
            path: path.clone(),
            label,
        })
    };

    let splits_path = dataset_dir.join("splits.json");
    let (train, mut val) = if splits_path.is_file() {
        let splits: SplitsFile = read_json(&splits_path)?;
        let pick = |ids: Vec<JsonId>, split: &str| -> Result<Vec<Sample>, Failure> {
            let mut samples = Vec::new();
            for id in ids.into_iter().map(JsonId::into_text) {
                if !files.contains_key(&id) {
                    return Err(Failure::dataset(format!(
                        "splits.json: the {split} split names unknown image {id}"
                    )));
                }
                samples.extend(sample(&id));
            }
            Ok(samples)
        };
        (pick(splits.train, "train")?, pick(splits.val, "val")?)
    } else {
        notes.push(
            "no splits.json: every fifth labelled image of each class is held out for validation"
                .into(),
        );
        holdout_split(order.iter().filter_map(sample).collect())
    };

    if train.is_empty() {
        return Err(Failure::dataset(format!(
            "no labelled training images (annotations: {annotations_file})"
        )));
    }
    if val.is_empty() {
        notes.push(
            "the validation split is empty: validation metrics are computed on the training images"
                .into(),
        );
        val = train.clone();
    }
    if let Some(missing) = train
        .iter()
        .chain(&val)
        .find(|sample| !sample.path.is_file())
    {
        return Err(Failure::dataset(format!(
            "image file images/{} (image {}) is missing",
            missing.file_name, missing.image_id
        )));
    }
    Ok(Dataset {
        classes,
        train,
        val,
        annotations_file,
        notes,
    })
}

/// Without `splits.json`: per class, every fifth image goes to validation, so the split
/// is stratified and the same on every run.
fn holdout_split(samples: Vec<Sample>) -> (Vec<Sample>, Vec<Sample>) {
    let mut seen_per_class: HashMap<usize, usize> = HashMap::new();
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for sample in samples {
        let seen = seen_per_class.entry(sample.label).or_default();
        *seen += 1;
        if seen.is_multiple_of(5) {
            val.push(sample);
        } else {
            train.push(sample);
        }
    }
    (train, val)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::dataset(format!("cannot read {}: {error}", file_label(path))))?;
    serde_json::from_str(&text)
        .map_err(|error| Failure::dataset(format!("{} is not valid: {error}", file_label(path))))
}

fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `base/relative` when `relative` stays inside `base` (no absolute path, no `..`).
pub fn safe_join(base: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    let mut joined = base.to_path_buf();
    let mut any = false;
    for component in relative.components() {
        match component {
            Component::Normal(part) => {
                joined.push(part);
                any = true;
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    any.then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, value: serde_json::Value) {
        std::fs::write(dir.join(name), value.to_string()).expect("write");
    }

    fn dataset_with_files(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("images/sub")).expect("mkdir");
        for name in names {
            std::fs::write(dir.path().join("images").join(name), b"x").expect("write");
        }
        dir
    }

    #[test]
    fn reads_classes_labels_and_splits() {
        let dir = dataset_with_files(&["a.png", "sub/b.png", "c.png"]);
        write(
            dir.path(),
            "annotations_classification.json",
            json!({
                "classes": [{"id": 4, "name": "cat"}, {"id": 9, "name": "dog"}],
                "images": [
                    {"id": 1, "file_name": "a.png", "width": 1, "height": 1},
                    {"id": "b", "file_name": "sub/b.png", "width": 1, "height": 1},
                    {"id": 3, "file_name": "c.png", "width": 1, "height": 1}
                ],
                "annotations": [
                    {"image_id": 1, "class_id": 9},
                    {"image_id": "b", "class_id": 4},
                    {"image_id": "3", "class_id": 9}
                ]
            }),
        );
        write(
            dir.path(),
            "splits.json",
            json!({"train": [1, "b"], "val": [3], "test": []}),
        );
        let dataset = load(dir.path(), "classification").expect("load");
        assert_eq!(dataset.annotations_file, "annotations_classification.json");
        assert_eq!(dataset.classes.len(), 2);
        assert_eq!(
            dataset
                .train
                .iter()
                .map(|s| (s.image_id.as_str(), s.label))
                .collect::<Vec<_>>(),
            vec![("1", 1), ("b", 0)]
        );
        assert_eq!(dataset.val.len(), 1);
        assert_eq!(dataset.val[0].image_id, "3");
    }

    #[test]
    fn falls_back_to_annotations_json_and_holds_out_without_splits() {
        let names: Vec<String> = (0..10).map(|i| format!("{i}.png")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let dir = dataset_with_files(&refs);
        let images: Vec<_> = (0..10)
            .map(|i| json!({"id": i, "file_name": format!("{i}.png")}))
            .collect();
        let annotations: Vec<_> = (0..10)
            .map(|i| json!({"image_id": i, "class_id": i % 2}))
            .collect();
        write(
            dir.path(),
            "annotations.json",
            json!({"classes": [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}],
                   "images": images, "annotations": annotations}),
        );
        let dataset = load(dir.path(), "classification").expect("load");
        assert_eq!(dataset.annotations_file, "annotations.json");
        assert_eq!((dataset.train.len(), dataset.val.len()), (8, 2));
        assert!(
            dataset
                .notes
                .iter()
                .any(|note| note.contains("splits.json"))
        );
    }

    #[test]
    fn inconsistent_datasets_fail_with_a_reason() {
        let cases = [
            (
                json!({"classes": [], "images": [], "annotations": []}),
                "no classes",
            ),
            (
                json!({"classes": [{"id": 0, "name": "a"}], "images": [{"id": 1, "file_name": "a.png"}],
                       "annotations": [{"image_id": 2, "class_id": 0}]}),
                "unknown image 2",
            ),
            (
                json!({"classes": [{"id": 0, "name": "a"}], "images": [{"id": 1, "file_name": "a.png"}],
                       "annotations": [{"image_id": 1, "class_id": 5}]}),
                "unknown class 5",
            ),
            (
                json!({"classes": [{"id": 0, "name": "a"}], "images": [{"id": 1, "file_name": "../a.png"}],
                       "annotations": []}),
                "unsafe file_name",
            ),
            (
                json!({"classes": [{"id": 0, "name": "a"}], "images": [{"id": 1, "file_name": "gone.png"}],
                       "annotations": [{"image_id": 1, "class_id": 0}]}),
                "is missing",
            ),
            (
                json!({"classes": [{"id": 0, "name": "a"}], "images": [{"id": 1, "file_name": "a.png"}],
                       "annotations": []}),
                "no labelled training images",
            ),
        ];
        for (annotations, expected) in cases {
            let dir = dataset_with_files(&["a.png"]);
            write(dir.path(), "annotations.json", annotations);
            let error = load(dir.path(), "classification").expect_err(expected);
            assert_eq!(error.error_type, "dataset");
            assert!(
                error.message.contains(expected),
                "{error} should say {expected}"
            );
        }
        let empty = tempfile::tempdir().expect("tempdir");
        let error = load(empty.path(), "classification").expect_err("no annotations");
        assert!(error.message.contains("annotations.json"), "{error}");
        let error = load(&empty.path().join("nope"), "classification").expect_err("no folder");
        assert!(error.message.contains("does not exist"), "{error}");
    }
}
