//! Reading an ImageFolder upload (torchvision's layout): `<class>/<image>`, or
//! `<split>/<class>/<image>`; images deeper inside a class folder belong to that class.
//! Files at the root (a README, a class list) are not part of it and are ignored.

use std::collections::{BTreeMap, BTreeSet};

use crate::annotations::{DiceAnnotation, DiceClass};
use crate::convert::{self, Conversion, ConvertedImage};
use crate::issues::IssueLog;
use crate::splits::Split;
use crate::tree::DatasetTree;

pub(crate) fn convert<'a>(tree: &DatasetTree<'a>, issues: &mut IssueLog) -> Conversion<'a> {
    let mut conversion = Conversion::default();
    // With split folders at the root, the class is the second folder everywhere.
    let has_split_folders = tree.files().any(|(path, _)| {
        let segments: Vec<&str> = path.split('/').collect();
        segments.len() >= 3 && Split::from_name(segments[0]).is_some()
    });

    let mut labelled: Vec<(&'a str, ConvertedImage<'a>)> = Vec::new();
    for (relative, file) in tree.files() {
        let segments: Vec<&str> = relative.split('/').collect();
        if segments.len() == 1 {
            if file.image.is_some() {
                issues.push(
                    &file.archive_path,
                    "an image must be inside a class folder (<class>/<image>)",
                );
            }
            continue;
        }
        let (split, class) = if has_split_folders {
            match (Split::from_name(segments[0]), segments.len()) {
                (Some(split), 3..) => (Some(split), segments[1]),
                _ => {
                    issues.push(
                        &file.archive_path,
                        "with split folders every image must be at <split>/<class>/<image>",
                    );
                    continue;
                }
            }
        } else {
            (None, segments[0])
        };
        match convert::usable_image(file) {
            Ok(dimensions) => labelled.push((
                class,
                ConvertedImage {
                    id: relative.to_owned(),
                    file_name: relative.to_owned(),
                    file,
                    dimensions,
                    split_from_annotations: None,
                    split_from_folder: split,
                },
            )),
            Err(reason) => issues.push(&file.archive_path, reason),
        }
    }

    // Class ids follow the sorted folder names, as torchvision numbers them.
    let class_names: BTreeSet<&str> = labelled.iter().map(|(class, _)| *class).collect();
    conversion.classes = (0u32..)
        .zip(&class_names)
        .map(|(id, name)| DiceClass {
            id,
            name: (*name).to_owned(),
        })
        .collect();
    let class_ids: BTreeMap<&str, u32> = conversion
        .classes
        .iter()
        .map(|class| (class.name.as_str(), class.id))
        .collect();
    for (class, image) in labelled {
        let class_id = class_ids.get(class).copied().unwrap_or_default();
        conversion.annotations.push(DiceAnnotation {
            image_id: image.id.clone(),
            class_id,
            bbox: None,
            segmentation: None,
            keypoints: None,
        });
        conversion.images.push(image);
    }
    conversion
}
