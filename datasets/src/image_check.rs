//! Cheap image checks that keep import speed close to plain `unzip`: dimensions come from
//! the header only (imagesize), and truncation is caught by following the container's
//! structure while the bytes stream past, never by decoding pixels.

use std::path::Path;

/// Extensions treated as images (lowercase, without the dot).
pub(crate) const IMAGE_EXTENSIONS: &[&str] =
    &["jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff"];

pub(crate) fn has_image_extension(path: &str) -> bool {
    extension(path).is_some_and(|ext| IMAGE_EXTENSIONS.contains(&ext.as_str()))
}

/// Lowercased extension of the last path segment, if it has one.
pub(crate) fn extension(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Width and height of a readable image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dimensions {
    pub width: u32,
    pub height: u32,
}

/// Reads the dimensions from the file's header and combines them with the streaming
/// completeness verdict. `Err` carries the reason the image is unusable.
pub(crate) fn probe(path: &Path, completeness: Result<(), String>) -> Result<Dimensions, String> {
    let size = imagesize::size(path).map_err(|error| match error {
        imagesize::ImageError::NotSupported => {
            "unreadable image: not a recognised image format".to_owned()
        }
        imagesize::ImageError::CorruptedImage => {
            "unreadable image: the header ends before the image size".to_owned()
        }
        imagesize::ImageError::IoError(error) => format!("unreadable image: {error}"),
    })?;
    completeness?;
    let width = u32::try_from(size.width).map_err(|_| "unreadable image: width out of range")?;
    let height = u32::try_from(size.height).map_err(|_| "unreadable image: height out of range")?;
    if width == 0 || height == 0 {
        return Err(format!(
            "unreadable image: its header says {width}×{height} pixels"
        ));
    }
    Ok(Dimensions { width, height })
}

/// Follows an image's container structure over streamed bytes to tell whether the file
/// reached its end marker. Formats without a cheap structural end are not judged.
#[derive(Debug)]
pub(crate) struct CompletenessCheck {
    head: Vec<u8>,
    state: Checker,
    total: u64,
}

#[derive(Debug)]
enum Checker {
    /// Still collecting the first bytes to recognise the format.
    Sniffing,
    Png(PngWalker),
    Jpeg(JpegWalker),
    /// RIFF (WebP) and BMP declare their total size in the header.
    DeclaredSize(u64),
    Unchecked,
}

const SNIFF_LEN: usize = 12;
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

impl Default for CompletenessCheck {
    fn default() -> Self {
        Self {
            head: Vec::with_capacity(SNIFF_LEN),
            state: Checker::Sniffing,
            total: 0,
        }
    }
}

impl CompletenessCheck {
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.total = self.total.saturating_add(bytes.len() as u64);
        if let Checker::Sniffing = self.state {
            let wanted = SNIFF_LEN - self.head.len();
            let (start, rest) = bytes.split_at(wanted.min(bytes.len()));
            self.head.extend_from_slice(start);
            if self.head.len() == SNIFF_LEN {
                self.recognise();
                let head = std::mem::take(&mut self.head);
                self.feed_checker(&head);
                self.head = head;
            }
            self.feed_checker(rest);
        } else {
            self.feed_checker(bytes);
        }
    }

    fn recognise(&mut self) {
        let head = &self.head;
        self.state = if head.starts_with(PNG_SIGNATURE) {
            Checker::Png(PngWalker::default())
        } else if head.starts_with(&[0xFF, 0xD8]) {
            Checker::Jpeg(JpegWalker::default())
        } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
            let declared = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            Checker::DeclaredSize(u64::from(declared) + 8)
        } else if head.starts_with(b"BM") {
            let declared = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
            // Some writers leave the field 0; nothing to check then.
            if declared == 0 {
                Checker::Unchecked
            } else {
                Checker::DeclaredSize(u64::from(declared))
            }
        } else {
            Checker::Unchecked
        };
    }

    fn feed_checker(&mut self, bytes: &[u8]) {
        match &mut self.state {
            Checker::Png(walker) => walker.feed(bytes),
            Checker::Jpeg(walker) => walker.feed(bytes),
            Checker::Sniffing | Checker::DeclaredSize(_) | Checker::Unchecked => {}
        }
    }

    /// The verdict once every byte was fed.
    pub(crate) fn finish(self) -> Result<(), String> {
        match self.state {
            Checker::Png(walker) if !walker.complete => {
                Err("truncated image: the PNG data ends before its IEND chunk".to_owned())
            }
            Checker::Jpeg(walker) if walker.state != JpegState::Done => {
                Err("truncated image: the JPEG data ends before its end-of-image marker".to_owned())
            }
            Checker::DeclaredSize(declared) if self.total < declared => Err(format!(
                "truncated image: the header declares {declared} bytes but the file has {}",
                self.total
            )),
            _ => Ok(()),
        }
    }
}

/// Walks PNG chunks (length, type, data, CRC) until IEND.
#[derive(Debug)]
struct PngWalker {
    skip: u64,
    header: [u8; 8],
    filled: usize,
    complete: bool,
}

impl Default for PngWalker {
    fn default() -> Self {
        Self {
            skip: PNG_SIGNATURE.len() as u64,
            header: [0; 8],
            filled: 0,
            complete: false,
        }
    }
}

impl PngWalker {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.complete {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = &bytes[n..];
                self.skip -= n as u64;
                continue;
            }
            let n = (self.header.len() - self.filled).min(bytes.len());
            self.header[self.filled..self.filled + n].copy_from_slice(&bytes[..n]);
            self.filled += n;
            bytes = &bytes[n..];
            if self.filled == self.header.len() {
                self.filled = 0;
                let length = u32::from_be_bytes([
                    self.header[0],
                    self.header[1],
                    self.header[2],
                    self.header[3],
                ]);
                if &self.header[4..8] == b"IEND" {
                    self.complete = true;
                } else {
                    // Chunk data, then its CRC.
                    self.skip = u64::from(length) + 4;
                }
            }
        }
    }
}

/// Walks JPEG marker segments and entropy-coded scans until the end-of-image marker.
/// Bytes after EOI (e.g. a phone's appended motion-photo video) are fine.
#[derive(Debug)]
struct JpegWalker {
    state: JpegState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JpegState {
    /// Between segments: looking for 0xFF (stray bytes are tolerated, as libjpeg does).
    SeekMarker,
    /// After 0xFF: the marker code.
    MarkerCode,
    LengthHigh {
        marker: u8,
    },
    LengthLow {
        marker: u8,
        high: u8,
    },
    SkipSegment {
        remaining: u32,
        then_scan: bool,
    },
    /// Inside entropy-coded data, where 0xFF is followed by a stuffed 0x00 or a restart.
    Scan,
    ScanAfterFf,
    Done,
}

impl Default for JpegWalker {
    fn default() -> Self {
        Self {
            state: JpegState::SeekMarker,
        }
    }
}

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;

impl JpegWalker {
    fn feed(&mut self, mut bytes: &[u8]) {
        while let Some((&byte, rest)) = bytes.split_first() {
            match self.state {
                JpegState::Done => return,
                JpegState::SeekMarker | JpegState::Scan => {
                    // Fast path: jump to the next 0xFF.
                    match bytes.iter().position(|&b| b == 0xFF) {
                        Some(at) => {
                            bytes = &bytes[at + 1..];
                            self.state = if self.state == JpegState::Scan {
                                JpegState::ScanAfterFf
                            } else {
                                JpegState::MarkerCode
                            };
                        }
                        None => return,
                    }
                    continue;
                }
                JpegState::ScanAfterFf => {
                    self.state = match byte {
                        0x00 | 0xD0..=0xD7 => JpegState::Scan,
                        0xFF => JpegState::ScanAfterFf,
                        marker => Self::after_marker(marker),
                    };
                }
                JpegState::MarkerCode => {
                    self.state = match byte {
                        0xFF => JpegState::MarkerCode,
                        marker => Self::after_marker(marker),
                    };
                }
                JpegState::LengthHigh { marker } => {
                    self.state = JpegState::LengthLow { marker, high: byte };
                }
                JpegState::LengthLow { marker, high } => {
                    let length = u32::from(u16::from_be_bytes([high, byte]));
                    self.state = JpegState::SkipSegment {
                        remaining: length.saturating_sub(2),
                        then_scan: marker == SOS,
                    };
                    self.finish_skip_if_empty();
                }
                JpegState::SkipSegment {
                    remaining,
                    then_scan,
                } => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    bytes = &bytes[n..];
                    self.state = JpegState::SkipSegment {
                        remaining: remaining - n as u32,
                        then_scan,
                    };
                    self.finish_skip_if_empty();
                    continue;
                }
            }
            bytes = rest;
        }
    }

    fn after_marker(marker: u8) -> JpegState {
        match marker {
            EOI => JpegState::Done,
            // SOI, TEM and restart markers carry no length.
            0xD8 | 0x01 | 0xD0..=0xD7 => JpegState::SeekMarker,
            marker => JpegState::LengthHigh { marker },
        }
    }

    fn finish_skip_if_empty(&mut self) {
        if let JpegState::SkipSegment {
            remaining: 0,
            then_scan,
        } = self.state
        {
            self.state = if then_scan {
                JpegState::Scan
            } else {
                JpegState::SeekMarker
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(bytes: &[u8], chunk: usize) -> Result<(), String> {
        let mut check = CompletenessCheck::default();
        for part in bytes.chunks(chunk.max(1)) {
            check.feed(part);
        }
        check.finish()
    }

    fn tiny_png() -> Vec<u8> {
        let mut png = PNG_SIGNATURE.to_vec();
        // IHDR (13 bytes of data) + CRC, then IEND.
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&[0; 13]);
        png.extend_from_slice(&[0; 4]);
        png.extend_from_slice(&0u32.to_be_bytes());
        png.extend_from_slice(b"IEND");
        png.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
        png
    }

    fn tiny_jpeg() -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8];
        // APP1 segment whose payload contains an embedded EOI (like an EXIF thumbnail).
        jpeg.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00]);
        // SOS header, then scan data with a stuffed byte and a restart marker.
        jpeg.extend_from_slice(&[0xFF, SOS, 0x00, 0x04, 0x01, 0x02]);
        jpeg.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        jpeg.extend_from_slice(&[0xFF, EOI]);
        jpeg
    }

    #[test]
    fn complete_files_pass_whatever_the_chunking() {
        for chunk in [1, 2, 3, 7, 1000] {
            assert_eq!(verdict(&tiny_png(), chunk), Ok(()), "png chunk {chunk}");
            assert_eq!(verdict(&tiny_jpeg(), chunk), Ok(()), "jpeg chunk {chunk}");
        }
    }

    #[test]
    fn truncated_files_are_caught() {
        let png = tiny_png();
        let jpeg = tiny_jpeg();
        for cut in 12..png.len() - 8 {
            assert!(verdict(&png[..cut], 5).is_err(), "png cut at {cut}");
        }
        for cut in 12..jpeg.len() - 1 {
            assert!(verdict(&jpeg[..cut], 5).is_err(), "jpeg cut at {cut}");
        }
    }

    #[test]
    fn extensions_are_case_insensitive_and_need_a_stem() {
        assert!(has_image_extension("a/b/Photo.JPG"));
        assert!(!has_image_extension("a/.png"));
        assert!(!has_image_extension("a/readme.txt"));
    }
}
