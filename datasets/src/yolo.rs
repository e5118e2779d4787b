//! Reading a YOLO (Ultralytics) upload: `data.yaml` naming the classes, images under an
//! `images/` folder and, beside it, `labels/…/<stem>.txt` with one normalised object per
//! line. Both common layouts work: `images/train/x.jpg` + `labels/train/x.txt`
//! (Ultralytics) and `train/images/x.jpg` + `train/labels/x.txt` (Roboflow).

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;

use crate::annotations::{DiceAnnotation, DiceClass, Segmentation};
use crate::archive::ExtractedFile;
use crate::convert::{self, Conversion, ConvertedImage, polygon_bbox, round_px};
use crate::detect::yolo_data_yaml;
use crate::image_check::{self, Dimensions};
use crate::issues::IssueLog;
use crate::model::TaskType;
use crate::splits::Split;
use crate::tree::{self, DatasetTree};

/// What `data.yaml` says.
#[derive(Debug, Default)]
struct DataYaml {
    names: BTreeMap<u32, String>,
    /// Keypoints per object and numbers per keypoint (2: x y, 3: x y visibility).
    keypoint_shape: Option<(usize, usize)>,
    /// Image folders (relative to the dataset root) that `train:`/`val:`/`test:` name.
    split_folders: Vec<(String, Split)>,
}

/// Slack for normalised coordinates written with float noise (e.g. `1.0000001`).
const NORMALISED_TOLERANCE: f64 = 1e-6;

pub(crate) fn convert<'a>(
    tree: &DatasetTree<'a>,
    task: TaskType,
    issues: &mut IssueLog,
) -> Conversion<'a> {
    let mut conversion = Conversion::default();
    let Some(yaml_file) = yolo_data_yaml(tree) else {
        return conversion;
    };
    let Some(config) = read_data_yaml(yaml_file, tree, task, issues) else {
        return conversion;
    };
    conversion.classes = config
        .names
        .iter()
        .map(|(id, name)| DiceClass {
            id: *id,
            name: name.clone(),
        })
        .collect();

    let mut used_labels = BTreeSet::new();
    for (relative, file) in tree.files() {
        let Some(label_path) = label_path_for(relative) else {
            if image_check::has_image_extension(relative) && !is_under(relative, "labels") {
                issues.push(
                    &file.archive_path,
                    "a YOLO image must be inside an images/ folder (with its labels in labels/)",
                );
            }
            continue;
        };
        let label_file = tree.get(&label_path);
        if label_file.is_some() {
            // Even if the image is refused below: its label is not an orphan.
            used_labels.insert(label_path);
        }
        let dimensions = match convert::usable_image(file) {
            Ok(dimensions) => dimensions,
            Err(reason) => {
                issues.push(&file.archive_path, reason);
                continue;
            }
        };
        let file_name = relative
            .strip_prefix("images/")
            .unwrap_or(relative)
            .to_owned();
        if let Some(label_file) = label_file
            && let Some(text) = convert::read_text(label_file, issues)
        {
            let context = LabelContext {
                source: &label_file.archive_path,
                image_id: &file_name,
                dimensions,
                config: &config,
                task,
            };
            conversion
                .annotations
                .extend(parse_labels(&text, &context, issues));
        }
        conversion.images.push(ConvertedImage {
            id: file_name.clone(),
            file_name,
            file,
            dimensions,
            split_from_annotations: split_from_data_yaml(relative, &config),
            split_from_folder: tree::split_from_folders(relative),
        });
    }

    for (relative, file) in tree.files() {
        let is_label = relative.ends_with(".txt")
            && is_under(relative, "labels")
            && tree::file_name_of(relative) != "classes.txt";
        if is_label && !used_labels.contains(relative) {
            issues.push(
                &file.archive_path,
                "this label file has no matching image (same name, in the images/ folder beside labels/)",
            );
        }
    }
    conversion
}

fn is_under(relative: &str, folder: &str) -> bool {
    relative
        .split('/')
        .rev()
        .skip(1)
        .any(|segment| segment == folder)
}

/// Ultralytics' rule: the last `images` folder becomes `labels`, the extension `.txt`.
fn label_path_for(relative: &str) -> Option<String> {
    let mut segments: Vec<&str> = relative.split('/').collect();
    let (file_name, folders) = segments.split_last_mut()?;
    let images_at = folders.iter().rposition(|segment| *segment == "images")?;
    let stem = file_name
        .rsplit_once('.')
        .map_or(*file_name, |(stem, _)| stem);
    let label_name = format!("{stem}.txt");
    folders[images_at] = "labels";
    let mut path = folders.join("/");
    path.push('/');
    path.push_str(&label_name);
    Some(path)
}

fn split_from_data_yaml(relative: &str, config: &DataYaml) -> Option<Split> {
    config
        .split_folders
        .iter()
        .filter(|(folder, _)| {
            relative
                .strip_prefix(folder.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(folder, _)| folder.len())
        .map(|(_, split)| *split)
}

fn read_data_yaml(
    file: &ExtractedFile,
    tree: &DatasetTree<'_>,
    task: TaskType,
    issues: &mut IssueLog,
) -> Option<DataYaml> {
    let source = file.archive_path.as_str();
    let text = convert::read_text(file, issues)?;
    let yaml: Value = match serde_yaml_ng::from_str(&text) {
        Ok(yaml) => yaml,
        Err(error) => {
            issues.push(source, format!("malformed YAML: {error}"));
            return None;
        }
    };
    let mut config = DataYaml::default();
    match yaml.get("names") {
        Some(Value::Sequence(names)) => {
            for (index, name) in names.iter().enumerate() {
                let Some(name) = scalar_text(name) else {
                    issues.push(source, format!("names[{index}] is not a class name"));
                    continue;
                };
                config.names.insert(u32::try_from(index).ok()?, name);
            }
        }
        Some(Value::Mapping(names)) => {
            for (key, name) in names {
                let id = scalar_text(key).and_then(|key| key.parse::<u32>().ok());
                match (id, scalar_text(name)) {
                    (Some(id), Some(name)) => {
                        config.names.insert(id, name);
                    }
                    _ => issues.push(
                        source,
                        "`names` must map class indices (0, 1, …) to class names",
                    ),
                }
            }
        }
        _ => issues.push(
            source,
            "data.yaml needs `names`: a list of class names or a map {index: name}",
        ),
    }
    if let Some(count) = yaml.get("nc").and_then(Value::as_u64)
        && count != config.names.len() as u64
    {
        issues.push(
            source,
            format!(
                "nc is {count} but `names` lists {} classes",
                config.names.len()
            ),
        );
    }
    config.keypoint_shape = match yaml.get("kpt_shape") {
        Some(Value::Sequence(shape)) => match shape.as_slice() {
            [count, dims] => match (count.as_u64(), dims.as_u64()) {
                (Some(count), Some(dims @ (2 | 3))) => {
                    Some((usize::try_from(count).ok()?, usize::try_from(dims).ok()?))
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    if task == TaskType::Pose && config.keypoint_shape.is_none() {
        issues.push(
            source,
            "a pose dataset needs `kpt_shape: [keypoints, 2 or 3]` in data.yaml",
        );
    }
    config.split_folders = split_folders(&yaml, tree);
    Some(config)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The folders `train:`, `val:` and `test:` point to, when they exist in the upload.
/// Paths are taken relative to the upload's root whatever their `./` or `../` prefix
/// (Roboflow writes `../train/images`); absolute paths name someone else's disk and file
/// lists (`.txt`) are not supported, so both are ignored. A folder claimed by two splits
/// (`train` and `val` both `images/train`, as small demo sets do) decides nothing.
fn split_folders(yaml: &Value, tree: &DatasetTree<'_>) -> Vec<(String, Split)> {
    let mut folders: Vec<(String, Split)> = Vec::new();
    for (key, split) in [
        ("train", Split::Train),
        ("val", Split::Val),
        ("test", Split::Test),
    ] {
        let paths: Vec<&str> = match yaml.get(key) {
            Some(Value::String(path)) => vec![path.as_str()],
            Some(Value::Sequence(paths)) => paths.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for path in paths {
            let is_absolute = path.starts_with('/') || path.as_bytes().get(1) == Some(&b':');
            if is_absolute || path.ends_with(".txt") {
                continue;
            }
            let folder = path
                .split(['/', '\\'])
                .filter(|segment| !matches!(*segment, "" | "." | ".."))
                .collect::<Vec<_>>()
                .join("/");
            if !folder.is_empty() && tree.has_folder(&folder) {
                folders.push((folder, split));
            }
        }
    }
    let claimed_twice: BTreeSet<String> = folders
        .iter()
        .filter(|(folder, split)| {
            folders
                .iter()
                .any(|(other, other_split)| other == folder && other_split != split)
        })
        .map(|(folder, _)| folder.clone())
        .collect();
    folders.retain(|(folder, _)| !claimed_twice.contains(folder));
    folders
}

struct LabelContext<'a> {
    source: &'a str,
    image_id: &'a str,
    dimensions: Dimensions,
    config: &'a DataYaml,
    task: TaskType,
}

fn parse_labels(
    text: &str,
    context: &LabelContext<'_>,
    issues: &mut IssueLog,
) -> Vec<DiceAnnotation> {
    let mut annotations = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        match parse_line(&fields, context) {
            Ok(annotation) => annotations.push(annotation),
            Err(reason) => issues.push(context.source, format!("line {}: {reason}", index + 1)),
        }
    }
    annotations
}

fn parse_line(fields: &[&str], context: &LabelContext<'_>) -> Result<DiceAnnotation, String> {
    let (class_field, coordinate_fields) = fields
        .split_first()
        .ok_or_else(|| "empty line".to_owned())?;
    let class_id = parse_class(class_field)?;
    if !context.config.names.contains_key(&class_id) {
        return Err(format!(
            "class {class_id} is not in data.yaml `names` ({} classes)",
            context.config.names.len()
        ));
    }
    let values = coordinate_fields
        .iter()
        .map(|field| {
            field
                .parse::<f64>()
                .ok()
                .filter(|value| value.is_finite())
                .ok_or_else(|| format!("'{field}' is not a number"))
        })
        .collect::<Result<Vec<f64>, String>>()?;

    let width = f64::from(context.dimensions.width);
    let height = f64::from(context.dimensions.height);
    let mut annotation = DiceAnnotation {
        image_id: context.image_id.to_owned(),
        class_id,
        bbox: None,
        segmentation: None,
        keypoints: None,
    };
    match (context.task, values.len()) {
        (TaskType::Pose, _) => {
            let (count, dims) = context.config.keypoint_shape.unwrap_or((0, 3));
            let expected = count.saturating_mul(dims).saturating_add(4);
            if values.len() != expected {
                return Err(format!(
                    "expected `class cx cy w h` and {count} keypoints of {dims} numbers \
                     ({} values), found {}",
                    expected.saturating_add(1),
                    fields.len()
                ));
            }
            let (bbox, keypoints) = values.split_at(4);
            check_normalised(bbox)?;
            annotation.bbox = Some(box_to_pixels(bbox, width, height));
            annotation.keypoints = Some(keypoints_to_pixels(keypoints, dims, width, height)?);
        }
        (_, 4) => {
            check_normalised(&values)?;
            let bbox = box_to_pixels(&values, width, height);
            annotation.bbox = Some(bbox);
            if context.task == TaskType::Segmentation {
                // A box-only line in a segmentation set: its rectangle is the region.
                let [x, y, w, h] = bbox;
                annotation.segmentation = Some(Segmentation::Polygons(vec![vec![
                    x,
                    y,
                    round_px(x + w),
                    y,
                    round_px(x + w),
                    round_px(y + h),
                    x,
                    round_px(y + h),
                ]]));
            }
        }
        (_, n) if n >= 6 && n % 2 == 0 => {
            check_normalised(&values)?;
            let polygon: Vec<f64> = values
                .chunks_exact(2)
                .flat_map(|point| [round_px(point[0] * width), round_px(point[1] * height)])
                .collect();
            annotation.bbox = polygon_bbox(&polygon);
            if context.task == TaskType::Segmentation {
                annotation.segmentation = Some(Segmentation::Polygons(vec![polygon]));
            }
        }
        (TaskType::Segmentation, _) => {
            return Err(format!(
                "expected `class x1 y1 x2 y2 x3 y3 …` (a polygon of at least 3 points) \
                 or `class cx cy w h`, found {} values",
                fields.len()
            ));
        }
        _ => {
            return Err(format!(
                "expected `class cx cy w h` (5 values), found {}",
                fields.len()
            ));
        }
    }
    Ok(annotation)
}

/// A class index; some tools write it as a float (`0.0`).
fn parse_class(field: &str) -> Result<u32, String> {
    if let Ok(class) = field.parse::<u32>() {
        return Ok(class);
    }
    match field.parse::<f64>() {
        Ok(value) if value >= 0.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX) => {
            Ok(value as u32)
        }
        _ => Err(format!("'{field}' is not a class index")),
    }
}

fn check_normalised(values: &[f64]) -> Result<(), String> {
    match values
        .iter()
        .find(|value| !(-NORMALISED_TOLERANCE..=1.0 + NORMALISED_TOLERANCE).contains(*value))
    {
        Some(value) => Err(format!(
            "coordinates must be normalised to 0–1 of the image size; found {value}"
        )),
        None => Ok(()),
    }
}

/// `cx cy w h` (normalised) → `[x, y, w, h]` in pixels from the top-left corner.
fn box_to_pixels(values: &[f64], width: f64, height: f64) -> [f64; 4] {
    let (cx, cy, w, h) = (values[0], values[1], values[2], values[3]);
    [
        round_px((cx - w / 2.0) * width),
        round_px((cy - h / 2.0) * height),
        round_px(w * width),
        round_px(h * height),
    ]
}

/// Normalised keypoints → COCO-style pixel triples. With 2 numbers per keypoint a point
/// at (0, 0) is the Ultralytics convention for "not labelled".
fn keypoints_to_pixels(
    values: &[f64],
    dims: usize,
    width: f64,
    height: f64,
) -> Result<Vec<f64>, String> {
    let mut pixels = Vec::with_capacity(values.len() / dims.max(1) * 3);
    for point in values.chunks_exact(dims.max(1)) {
        let (x, y) = (point[0], point[1]);
        check_normalised(&[x, y])?;
        let visibility = match point.get(2) {
            Some(visibility) => *visibility,
            None if x == 0.0 && y == 0.0 => 0.0,
            None => 2.0,
        };
        pixels.extend([round_px(x * width), round_px(y * height), visibility]);
    }
    Ok(pixels)
}
