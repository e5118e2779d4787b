//! Reading a COCO upload: one or more `instances_<split>.json` (or, for pose,
//! `person_keypoints_<split>.json`) anywhere in the upload, with the images they name.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use crate::annotations::{DiceAnnotation, DiceClass, Segmentation};
use crate::archive::ExtractedFile;
use crate::convert::{self, Conversion, ConvertedImage, JsonId};
use crate::detect::is_coco_annotations;
use crate::image_check;
use crate::issues::IssueLog;
use crate::model::TaskType;
use crate::splits::Split;
use crate::tree::{self, DatasetTree, file_name_of};

#[derive(Debug, Deserialize)]
struct CocoFile {
    images: Vec<CocoImage>,
    #[serde(default)]
    annotations: Vec<CocoAnnotation>,
    #[serde(default)]
    categories: Vec<CocoCategory>,
}

#[derive(Debug, Deserialize)]
struct CocoImage {
    id: JsonId,
    file_name: String,
}

#[derive(Debug, Deserialize)]
struct CocoAnnotation {
    image_id: JsonId,
    category_id: i64,
    #[serde(default)]
    bbox: Option<Vec<f64>>,
    #[serde(default)]
    segmentation: Option<Segmentation>,
    #[serde(default)]
    keypoints: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
struct CocoCategory {
    id: i64,
    name: String,
}

/// One annotation file, parsed.
struct Source<'a> {
    file: &'a ExtractedFile,
    /// `train2017` in `instances_train2017.json`.
    suffix: String,
    content: CocoFile,
}

pub(crate) fn convert<'a>(
    tree: &DatasetTree<'a>,
    task: TaskType,
    issues: &mut IssueLog,
) -> Conversion<'a> {
    let mut conversion = Conversion::default();
    let sources: Vec<Source<'a>> = annotation_files(tree, task)
        .into_iter()
        .filter_map(|(suffix, file)| {
            convert::read_json::<CocoFile>(file, issues).map(|content| Source {
                file,
                suffix,
                content,
            })
        })
        .collect();

    // COCO category ids have gaps (1…90 for COCO itself); DICE classes are numbered
    // 0…n-1 in the order of the category ids, which is what YOLO-style trainers expect.
    let mut categories: BTreeMap<i64, String> = BTreeMap::new();
    for source in &sources {
        for category in &source.content.categories {
            if let Some(known) = categories.get(&category.id)
                && *known != category.name
            {
                issues.push(
                    &source.file.archive_path,
                    format!(
                        "category {} is '{}' here but '{known}' in another annotation file",
                        category.id, category.name
                    ),
                );
                continue;
            }
            categories.insert(category.id, category.name.clone());
        }
    }
    let mut class_of_category = HashMap::new();
    for (class_id, (category_id, name)) in (0u32..).zip(&categories) {
        class_of_category.insert(*category_id, class_id);
        conversion.classes.push(DiceClass {
            id: class_id,
            name: name.clone(),
        });
    }

    let finder = ImageFinder::new(tree);
    let mut claimed: BTreeSet<&'a str> = BTreeSet::new();
    for source in sources {
        let origin = source.file.archive_path.as_str();
        let split = Split::from_name(&source.suffix);
        // COCO image id → DICE image id, for this file only (ids restart in each file).
        let mut image_ids: HashMap<JsonId, Option<String>> = HashMap::new();
        for image in source.content.images {
            if image_ids.contains_key(&image.id) {
                issues.push(
                    origin,
                    format!("image id {} is listed more than once", image.id),
                );
                continue;
            }
            let Some((relative, file)) =
                finder.find(&image.file_name, &source.suffix, issues, origin)
            else {
                image_ids.insert(image.id, None);
                continue;
            };
            if !claimed.insert(relative) {
                issues.push(
                    origin,
                    format!("image {} ({relative}) is listed more than once", image.id),
                );
                image_ids.insert(image.id, None);
                continue;
            }
            match convert::usable_image(file) {
                Ok(dimensions) => {
                    let file_name = dice_file_name(relative);
                    image_ids.insert(image.id, Some(file_name.clone()));
                    conversion.images.push(ConvertedImage {
                        id: file_name.clone(),
                        file_name,
                        file,
                        dimensions,
                        split_from_annotations: split,
                        split_from_folder: tree::split_from_folders(relative),
                    });
                }
                Err(reason) => {
                    issues.push(&file.archive_path, reason);
                    image_ids.insert(image.id, None);
                }
            }
        }

        for (index, coco) in source.content.annotations.into_iter().enumerate() {
            let image_id = match image_ids.get(&coco.image_id) {
                Some(Some(image_id)) => image_id.clone(),
                // The image was refused; that is reported already.
                Some(None) => continue,
                None => {
                    issues.push(
                        origin,
                        format!(
                            "annotation #{index} names image {}, which is not in \"images\"",
                            coco.image_id
                        ),
                    );
                    continue;
                }
            };
            let Some(class_id) = class_of_category.get(&coco.category_id) else {
                issues.push(
                    origin,
                    format!(
                        "annotation #{index} names category {}, which is not in \"categories\"",
                        coco.category_id
                    ),
                );
                continue;
            };
            match to_dice(coco, image_id, *class_id, task) {
                Ok(annotation) => conversion.annotations.push(annotation),
                Err(reason) => issues.push(origin, format!("annotation #{index}: {reason}")),
            }
        }
    }

    // Images no annotation file mentions are kept, unlabelled (e.g. a test folder).
    for (relative, file) in tree.files() {
        if claimed.contains(relative) || !image_check::has_image_extension(relative) {
            continue;
        }
        match convert::usable_image(file) {
            Ok(dimensions) => conversion.images.push(ConvertedImage {
                id: dice_file_name(relative),
                file_name: dice_file_name(relative),
                file,
                dimensions,
                split_from_annotations: None,
                split_from_folder: tree::split_from_folders(relative),
            }),
            Err(reason) => issues.push(&file.archive_path, reason),
        }
    }
    conversion
}

/// The annotation files to read with their split suffix: `person_keypoints_*` for pose
/// when there are any, else `instances_*`.
fn annotation_files<'a>(
    tree: &DatasetTree<'a>,
    task: TaskType,
) -> Vec<(String, &'a ExtractedFile)> {
    let with_prefix = |prefix: &str| -> Vec<(String, &'a ExtractedFile)> {
        tree.files()
            .filter(|(path, _)| is_coco_annotations(file_name_of(path)))
            .filter_map(|(path, file)| {
                let suffix = file_name_of(path)
                    .strip_prefix(prefix)?
                    .strip_suffix(".json")?;
                Some((suffix.to_owned(), file))
            })
            .collect()
    };
    let keypoint_files = with_prefix("person_keypoints_");
    if task == TaskType::Pose && !keypoint_files.is_empty() {
        keypoint_files
    } else {
        with_prefix("instances_")
    }
}

/// Path under `images/` in the DICE layout.
fn dice_file_name(relative: &str) -> String {
    relative
        .strip_prefix("images/")
        .unwrap_or(relative)
        .to_owned()
}

fn to_dice(
    coco: CocoAnnotation,
    image_id: String,
    class_id: u32,
    task: TaskType,
) -> Result<DiceAnnotation, String> {
    let bbox = match coco.bbox.as_deref() {
        None | Some([]) => None,
        Some(&[x, y, w, h]) => Some([x, y, w, h]),
        Some(other) => {
            return Err(format!(
                "bbox must be [x, y, width, height]; found {} numbers",
                other.len()
            ));
        }
    };
    // Detection-only exports write `"segmentation": []`.
    let segmentation = coco.segmentation.filter(|segmentation| {
        !matches!(segmentation, Segmentation::Polygons(polygons) if polygons.is_empty())
    });
    let keypoints = coco.keypoints.filter(|keypoints| !keypoints.is_empty());
    let annotation = DiceAnnotation {
        image_id,
        class_id,
        bbox,
        segmentation,
        keypoints,
    };
    convert::check_annotation(&annotation, task)?;
    Ok(annotation)
}

/// Finds the file a COCO `file_name` means. COCO writes names relative to an image
/// folder that is not part of the file (`000001.jpg` for `train2017/000001.jpg`), so the
/// name is tried as given, under `images/`, under the split's folder, and finally by file
/// name alone, preferring the split's folder when several match.
struct ImageFinder<'a, 't> {
    tree: &'t DatasetTree<'a>,
    by_file_name: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a, 't> ImageFinder<'a, 't> {
    fn new(tree: &'t DatasetTree<'a>) -> Self {
        let mut by_file_name: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
        for (relative, _) in tree.files() {
            by_file_name
                .entry(file_name_of(relative))
                .or_default()
                .push(relative);
        }
        Self { tree, by_file_name }
    }

    fn find(
        &self,
        file_name: &str,
        suffix: &str,
        issues: &mut IssueLog,
        origin: &str,
    ) -> Option<(&'a str, &'a ExtractedFile)> {
        let name = file_name.replace('\\', "/");
        let name = name.trim_start_matches("./").trim_start_matches('/');
        let direct = [
            name.to_owned(),
            format!("images/{name}"),
            format!("{suffix}/{name}"),
            format!("images/{suffix}/{name}"),
        ];
        if let Some(found) = direct.iter().find_map(|path| self.tree.entry(path)) {
            return Some(found);
        }
        let candidates = self
            .by_file_name
            .get(file_name_of(name))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let in_split_folder: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|path| path.split('/').any(|segment| segment == suffix))
            .collect();
        let chosen = match (candidates, in_split_folder.as_slice()) {
            ([only], _) | (_, [only]) => Some(*only),
            ([], _) => {
                issues.push(
                    origin,
                    format!("names image file '{file_name}', which is not in the upload"),
                );
                None
            }
            _ => {
                issues.push(
                    origin,
                    format!(
                        "image file '{file_name}' is ambiguous: {}",
                        candidates.join(", ")
                    ),
                );
                None
            }
        };
        chosen.and_then(|path| self.tree.entry(path))
    }
}
