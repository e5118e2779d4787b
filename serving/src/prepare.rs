//! An image, as bytes from a request, into one input of the model: decoded (any format the
//! trainer reads), brought to the input's size (stretched, or letterboxed), its pixels
//! mapped to the input's range, normalised per channel and laid out as the model expects.
//! Stretched, these are the same steps, in the same order, as the reference trainer's own
//! inference (`features::load_features`). The [`Frame`] remembers where the input's pixels
//! lie in the original image, so boxes are answered in the original's pixels.

use crate::Error;
use crate::metadata::{ExportMetadata, Fit, Layout};
use image::{DynamicImage, ImageReader, Limits};
use std::io::Cursor;

/// Decoding stops at images larger than this on a side, and at this much memory: a small
/// file may claim huge dimensions, and no request may take a replica's memory.
const MAX_DECODED_SIDE: u32 = 16_384;
const MAX_DECODE_ALLOCATION: u64 = 512 * 1024 * 1024;
/// What a letterbox's border is filled with, as YOLO's letterbox fills it.
const LETTERBOX_GREY: u8 = 114;

/// One image ready for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// [`ExportMetadata::input_len`] values.
    pub input: Vec<f32>,
    pub frame: Frame,
}

/// The original image's size, and how the input's pixels map onto it: input `x` is original
/// `(x - pad_x) / scale_x` (likewise for `y`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub scale_x: f32,
    pub scale_y: f32,
    pub pad_x: f32,
    pub pad_y: f32,
}

impl Frame {
    /// The frame of an input of `input_width`×`input_height` made from an image of
    /// `width`×`height` (both at least 1) by `fit`.
    pub fn new(width: u32, height: u32, input_width: u32, input_height: u32, fit: Fit) -> Self {
        let (w, h) = (width.max(1) as f32, height.max(1) as f32);
        let (iw, ih) = (input_width as f32, input_height as f32);
        match fit {
            Fit::Stretch => Self {
                width,
                height,
                scale_x: iw / w,
                scale_y: ih / h,
                pad_x: 0.0,
                pad_y: 0.0,
            },
            Fit::Letterbox => {
                let scale = (iw / w).min(ih / h);
                let (inner_w, inner_h) = letterbox_inner(width, height, input_width, input_height);
                Self {
                    width,
                    height,
                    scale_x: scale,
                    scale_y: scale,
                    // As Ultralytics rounds the border (`round(d / 2 - 0.1)`).
                    pad_x: ((iw - inner_w as f32) / 2.0 - 0.1).round().max(0.0),
                    pad_y: ((ih - inner_h as f32) / 2.0 - 0.1).round().max(0.0),
                }
            }
        }
    }

    /// A point of the input, in the original image's pixels (inside it).
    pub fn to_original(&self, x: f32, y: f32) -> (f32, f32) {
        let x = (x - self.pad_x) / self.scale_x;
        let y = (y - self.pad_y) / self.scale_y;
        (
            x.clamp(0.0, self.width as f32),
            y.clamp(0.0, self.height as f32),
        )
    }
}

/// The size the image is scaled to inside a letterbox: its aspect kept, at least a pixel.
fn letterbox_inner(width: u32, height: u32, input_width: u32, input_height: u32) -> (u32, u32) {
    let scale =
        (input_width as f32 / width.max(1) as f32).min(input_height as f32 / height.max(1) as f32);
    let side = |value: u32, limit: u32| ((value as f32 * scale).round() as u32).clamp(1, limit);
    (side(width, input_width), side(height, input_height))
}

pub(crate) fn image_to_input(bytes: &[u8], spec: &ExportMetadata) -> Result<Prepared, Error> {
    let image = decode(bytes)?;
    let (width, height) = (image.width(), image.height());
    let (input_width, input_height) = (spec.width as u32, spec.height as u32);
    let frame = Frame::new(width, height, input_width, input_height, spec.fit);
    let pixels = match spec.fit {
        Fit::Stretch => interleaved(
            &image.resize_exact(input_width, input_height, spec.resize.filter_type()),
            spec.channels,
        ),
        Fit::Letterbox => {
            let (inner_w, inner_h) = letterbox_inner(width, height, input_width, input_height);
            let inner = interleaved(
                &image.resize_exact(inner_w, inner_h, spec.resize.filter_type()),
                spec.channels,
            );
            let mut canvas = vec![LETTERBOX_GREY; spec.height * spec.width * spec.channels];
            let row = inner_w as usize * spec.channels;
            let (left, top) = (frame.pad_x as usize, frame.pad_y as usize);
            for (y, line) in inner.chunks_exact(row).enumerate() {
                let start = ((top + y) * spec.width + left) * spec.channels;
                canvas[start..start + row].copy_from_slice(line);
            }
            canvas
        }
    };
    Ok(Prepared {
        input: normalised(&pixels, spec),
        frame,
    })
}

/// The image's pixels, interleaved (H, W, C) with 1 (grey) or 3 (RGB) channels.
fn interleaved(image: &DynamicImage, channels: usize) -> Vec<u8> {
    match channels {
        1 => image.to_luma8().into_raw(),
        _ => image.to_rgb8().into_raw(),
    }
}

/// Interleaved pixels of the input's size as the model's values.
fn normalised(pixels: &[u8], spec: &ExportMetadata) -> Vec<f32> {
    let [low, high] = spec.input_range;
    let scale = (high - low) / 255.0;
    let channels = spec.channels;
    let plane = spec.height * spec.width;
    let mut input = vec![0.0; spec.input_len()];
    // `pixels` is interleaved (H, W, C): pixel `index`, channel `channel`.
    for (position, value) in pixels.iter().enumerate() {
        let (index, channel) = (position / channels, position % channels);
        let scaled = low + f32::from(*value) * scale;
        let normalised = (scaled - spec.mean[channel]) / spec.std[channel];
        let at = match spec.layout {
            Layout::Nchw => channel * plane + index,
            Layout::Nhwc => position,
        };
        input[at] = normalised;
    }
    input
}

fn decode(bytes: &[u8]) -> Result<DynamicImage, Error> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Input(format!("the image cannot be read: {e}")))?;
    if reader.format().is_none() {
        return Err(Error::Input(
            "the body is not an image in a known format (PNG, JPEG, BMP, GIF, WebP, TIFF)".into(),
        ));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOCATION);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| Error::Input(format!("the image cannot be decoded: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretched_frame_scales_each_axis() {
        let frame = Frame::new(200, 100, 20, 20, Fit::Stretch);
        assert_eq!(frame.to_original(10.0, 10.0), (100.0, 50.0));
        assert_eq!(frame.to_original(20.0, 20.0), (200.0, 100.0));
    }

    #[test]
    fn a_letterboxed_frame_removes_the_border_and_keeps_the_aspect() {
        // 200×100 into 20×20: scaled by 0.1 to 20×10, 5 rows of border above and below.
        let frame = Frame::new(200, 100, 20, 20, Fit::Letterbox);
        assert_eq!((frame.pad_x, frame.pad_y), (0.0, 5.0));
        assert_eq!(frame.to_original(10.0, 10.0), (100.0, 50.0));
        // A point in the border lies on the image's edge.
        assert_eq!(frame.to_original(0.0, 1.0), (0.0, 0.0));
        assert_eq!(frame.to_original(20.0, 19.0), (200.0, 100.0));
    }
}
