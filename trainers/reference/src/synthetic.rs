//! A small generated DICE classification dataset (colour classes with seeded noise), for
//! this crate's tests, the scratch-image smoke test, and anyone who needs a dataset the
//! reference trainer can learn without downloading one.

use std::path::Path;

use serde_json::json;

use crate::dataset::ClassInfo;
use crate::rng::SplitMix64;

/// Class names and the colour each class's images are centred on.
pub const COLOURS: [(&str, [u8; 3]); 3] = [
    ("red", [200, 40, 40]),
    ("green", [40, 190, 60]),
    ("blue", [50, 60, 210]),
];

/// Writes `images/<class>/<n>.png` (`size`×`size`), `annotations_classification.json` and
/// `splits.json` (per class, the first 3/4 of the images train, the rest validate) into
/// `dir`. Returns the classes.
pub fn write_colour_dataset(
    dir: &Path,
    per_class: usize,
    size: u32,
    seed: u64,
) -> Result<Vec<ClassInfo>, Box<dyn std::error::Error>> {
    let mut rng = SplitMix64::new(seed);
    let classes: Vec<ClassInfo> = COLOURS
        .iter()
        .zip(0u32..)
        .map(|((name, _), id)| ClassInfo {
            id,
            name: (*name).to_string(),
        })
        .collect();
    let (mut images, mut annotations) = (Vec::new(), Vec::new());
    let (mut train, mut val) = (Vec::new(), Vec::new());
    let mut next_id = 1u64;
    for (class, (name, colour)) in classes.iter().zip(COLOURS) {
        std::fs::create_dir_all(dir.join("images").join(name))?;
        for index in 0..per_class {
            let image = image::RgbImage::from_fn(size, size, |_, _| {
                image::Rgb(colour.map(|c| jitter(c, &mut rng)))
            });
            let file_name = format!("{name}/{index:03}.png");
            image.save(dir.join("images").join(&file_name))?;
            images.push(
                json!({"id": next_id, "file_name": file_name, "width": size, "height": size}),
            );
            annotations.push(json!({"image_id": next_id, "class_id": class.id}));
            if index < per_class * 3 / 4 {
                &mut train
            } else {
                &mut val
            }
            .push(next_id);
            next_id += 1;
        }
    }
    std::fs::write(
        dir.join("annotations_classification.json"),
        serde_json::to_vec_pretty(&json!({
            "classes": classes, "images": images, "annotations": annotations
        }))?,
    )?;
    std::fs::write(
        dir.join("splits.json"),
        serde_json::to_vec_pretty(&json!({"train": train, "val": val, "test": []}))?,
    )?;
    Ok(classes)
}

/// ±50 around the class colour: classes stay separable, pixels are not constant.
fn jitter(value: u8, rng: &mut SplitMix64) -> u8 {
    let shifted = i32::from(value) + rng.below(101) as i32 - 50;
    shifted.clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_dataset_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let classes = write_colour_dataset(dir.path(), 4, 8, 1).expect("write");
        let dataset = crate::dataset::load(dir.path(), "classification").expect("load");
        assert_eq!(dataset.classes, classes);
        assert_eq!((dataset.train.len(), dataset.val.len()), (9, 3));
    }
}
