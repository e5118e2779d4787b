//! The tiny dataset of a compliance run, written in DICE form: two classes of small
//! generated images, every image annotated with a class, a box, a polygon and keypoints,
//! so one file serves whichever task type the trainer declares.

use anyhow::Context as _;
use keynet_domain::entities::projects::TaskType;
use serde_json::json;
use std::path::Path;

const SIDE: u32 = 16;
const PER_CLASS: u32 = 6;
const CLASSES: [&str; 2] = ["dark", "light"];

/// Writes the dataset into `dir` (`images/`, the task's annotation file, `splits.json`).
pub async fn write(dir: &Path, task_type: TaskType) -> anyhow::Result<()> {
    let images_dir = dir.join("images");
    tokio::fs::create_dir_all(&images_dir)
        .await
        .context("creating the compliance dataset")?;
    let mut images = Vec::new();
    let mut annotations = Vec::new();
    let mut train = Vec::new();
    let mut val = Vec::new();
    for (class_id, _) in CLASSES.iter().enumerate() {
        for n in 0..PER_CLASS {
            let id = images.len() as u32 + 1;
            let file_name = format!("{id}.png");
            // Dark and light images: a classifier can learn them in an epoch or two.
            let base = if class_id == 0 { 30 } else { 220 };
            let pixels: Vec<u8> = (0..SIDE)
                .flat_map(|y| (0..SIDE).map(move |x| (x, y)))
                .flat_map(|(x, y)| {
                    [
                        base,
                        (base as u32 + x * 3 + n) as u8,
                        (base as u32 + y * 3) as u8,
                    ]
                })
                .collect();
            tokio::fs::write(images_dir.join(&file_name), png_rgb(&pixels)?).await?;
            images.push(json!({"id": id, "file_name": file_name, "width": SIDE, "height": SIDE}));
            annotations.push(json!({
                "id": id,
                "image_id": id,
                "class_id": class_id,
                "bbox": [2, 2, 12, 12],
                "segmentation": [[2, 2, 14, 2, 14, 14, 2, 14]],
                "keypoints": [8, 8, 2],
            }));
            if n < PER_CLASS - 2 {
                train.push(id);
            } else {
                val.push(id);
            }
        }
    }
    let classes: Vec<_> = CLASSES
        .iter()
        .enumerate()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    let file = json!({"classes": classes, "images": images, "annotations": annotations});
    let name = format!("annotations_{}.json", task_name(task_type));
    tokio::fs::write(dir.join(name), serde_json::to_vec(&file)?).await?;
    let splits = json!({"train": train, "val": val, "test": []});
    tokio::fs::write(dir.join("splits.json"), serde_json::to_vec(&splits)?).await?;
    Ok(())
}

fn task_name(task_type: TaskType) -> &'static str {
    match task_type {
        TaskType::Classification => "classification",
        TaskType::Detection => "detection",
        TaskType::Segmentation => "segmentation",
        TaskType::Pose => "pose",
    }
}

/// A SIDE × SIDE 8-bit RGB PNG of `pixels` (rows top to bottom). The png crate alone: the
/// `image` crate would add its decoders and colour management to the server's build for
/// this one encoder.
fn png_rgb(pixels: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoded = Vec::new();
    let mut encoder = png::Encoder::new(&mut encoded, SIDE, SIDE);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(encoded)
}
