//! Dataset archives built by the tests: real, small images in real zip files.

use image::{ImageFormat, Rgb, RgbImage};
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;

/// A PNG of `width`×`height` whose pixels depend on `seed`, so different seeds give
/// different files (and different content hashes).
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 7 + seed) as u8,
            (y * 13 + seed * 3) as u8,
            (seed * 29) as u8,
        ])
    });
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// A zip of the given `(path, bytes)` entries.
pub fn zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in entries {
        writer
            .start_file(path.as_str(), SimpleFileOptions::default())
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// An ImageFolder archive: `<class>/<n>.png`, `count` distinct images per class.
pub fn image_folder(classes: &[(&str, u32)]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut seed = 0;
    for (class, count) in classes {
        for n in 0..*count {
            seed += 1;
            entries.push((format!("{class}/{n}.png"), png(16 + seed % 5, 12, seed)));
        }
    }
    zip(&entries)
}
