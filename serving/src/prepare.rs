//! An image, as bytes from a request, into one input of the model: decoded (any format the
//! trainer reads), resized exactly to the input's size, its pixels mapped to the input's
//! range, normalised per channel and laid out as the model expects. The same steps, in the
//! same order, as the reference trainer's own inference (`features::load_features`).

use crate::Error;
use crate::metadata::{ExportMetadata, Layout};
use image::{DynamicImage, ImageReader, Limits};
use std::io::Cursor;

/// Decoding stops at images larger than this on a side, and at this much memory: a small
/// file may claim huge dimensions, and no request may take a replica's memory.
const MAX_DECODED_SIDE: u32 = 16_384;
const MAX_DECODE_ALLOCATION: u64 = 512 * 1024 * 1024;

pub(crate) fn image_to_input(bytes: &[u8], spec: &ExportMetadata) -> Result<Vec<f32>, Error> {
    let image = decode(bytes)?;
    let resized = image.resize_exact(
        spec.width as u32,
        spec.height as u32,
        spec.resize.filter_type(),
    );
    let pixels: Vec<u8> = match spec.channels {
        1 => resized.to_luma8().into_raw(),
        _ => resized.to_rgb8().into_raw(),
    };
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
    Ok(input)
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
