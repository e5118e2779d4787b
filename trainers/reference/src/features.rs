//! Images to feature vectors: RGB, resized to `size`×`size`, values in [0, 1], laid out
//! channel-major (C, H, W) so the vector is exactly what an ONNX `[N, 3, H, W]` input
//! becomes after `Flatten` — the exported model needs no other preprocessing.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

pub const CHANNELS: usize = 3;
/// Pixels per side are clamped to this range: below it nothing is learnable, above it a
/// linear model on raw pixels only gets slower (a platform default like 640 would mean
/// 1.2 M weights per class).
pub const MIN_IMGSZ: u32 = 4;
pub const MAX_IMGSZ: u32 = 64;

const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"];

pub fn effective_imgsz(requested: u32) -> u32 {
    requested.clamp(MIN_IMGSZ, MAX_IMGSZ)
}

pub fn feature_len(size: u32) -> usize {
    CHANNELS * (size as usize) * (size as usize)
}

pub fn load_features(path: &Path, size: u32) -> Result<Vec<f64>, String> {
    let image = image::ImageReader::open(path)
        .map_err(|error| error.to_string())?
        .with_guessed_format()
        .map_err(|error| error.to_string())?
        .decode()
        .map_err(|error| error.to_string())?;
    let rgb = image
        .resize_exact(size, size, FilterType::Triangle)
        .to_rgb8();
    let plane = (size as usize) * (size as usize);
    let mut features = vec![0.0; CHANNELS * plane];
    for (index, pixel) in rgb.pixels().enumerate() {
        for channel in 0..CHANNELS {
            features[channel * plane + index] = f64::from(pixel.0[channel]) / 255.0;
        }
    }
    Ok(features)
}

pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Every image file under `dir`, recursively, as (`/`-separated path relative to `dir`,
/// full path), sorted so predictions come out in a stable order.
pub fn list_images(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if is_image_file(&path) {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((relative, path));
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_major_values_in_unit_range() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("red.png");
        image::RgbImage::from_pixel(10, 6, image::Rgb([255, 0, 51]))
            .save(&path)
            .expect("save");
        let features = load_features(&path, 4).expect("features");
        assert_eq!(features.len(), feature_len(4));
        assert!(features[..16].iter().all(|v| (*v - 1.0).abs() < 1e-9));
        assert!(features[16..32].iter().all(|v| v.abs() < 1e-9));
        assert!(features[32..].iter().all(|v| (*v - 0.2).abs() < 1e-9));
    }

    #[test]
    fn lists_images_recursively_and_sorted() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("b/c")).expect("mkdir");
        for name in ["z.PNG", "b/c/x.jpg", "a.txt", "b/y.webp"] {
            std::fs::write(dir.path().join(name), b"").expect("write");
        }
        let names: Vec<String> = list_images(dir.path())
            .expect("list")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, vec!["b/c/x.jpg", "b/y.webp", "z.PNG"]);
        assert_eq!(effective_imgsz(640), MAX_IMGSZ);
        assert_eq!(effective_imgsz(1), MIN_IMGSZ);
    }

    #[test]
    fn undecodable_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("broken.png");
        std::fs::write(&path, b"not a png").expect("write");
        assert!(load_features(&path, 8).is_err());
    }
}
