//! The uncompressed byte stream of one layer, with its bounds counted as it flows: total
//! size and decompression ratio are checked on every read, so a bomb stops after at most one
//! buffer past the limit, long before it is fully inflated.

use super::{Compression, Limits};
use crate::Error;
use std::cell::Cell;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

/// Buffer between the blob and the decompressor.
const COMPRESSED_BUFFER: usize = 64 * 1024;
/// Buffer between the decompressor and the tar reader: skipped file contents are consumed
/// from it in place, so bigger means fewer calls into the decompressor.
const UNCOMPRESSED_BUFFER: usize = 256 * 1024;

/// Our errors travel through `io::Read` inside an `io::Error`; this puts one in.
fn wrap(error: Error) -> io::Error {
    io::Error::other(error)
}

/// Takes our error back out of an `io::Error`; any other error is an I/O error.
pub(super) fn unwrap_error(error: io::Error) -> Error {
    if !error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Error::Io(error);
    }
    let kind = error.kind();
    match error.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(ours)) => *ours,
        Some(Err(other)) => Error::Io(io::Error::new(kind, other)),
        None => Error::Io(io::Error::from(kind)),
    }
}

fn is_ours(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<Error>())
}

/// Counts the bytes read from the blob, and marks the blob's own read errors as I/O errors
/// so that they are not mistaken for corrupt compressed data further up.
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| wrap(Error::Io(e)))?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Enforces the size and ratio limits on the uncompressed stream and turns decompressor
/// errors into [`Error::Truncated`] or [`Error::Decompress`].
pub(super) struct Bounded<'a> {
    inner: Box<dyn Read + 'a>,
    format: &'static str,
    compressed: Rc<Cell<u64>>,
    uncompressed: u64,
    max_uncompressed: u64,
    max_ratio: u64,
    ratio_floor: u64,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| self.classify(e))?;
        self.uncompressed += n as u64;
        if self.uncompressed > self.max_uncompressed {
            return Err(wrap(Error::TooLarge {
                max: self.max_uncompressed,
            }));
        }
        let compressed = self.compressed.get();
        if self.uncompressed > self.ratio_floor
            && self.uncompressed > compressed.saturating_mul(self.max_ratio)
        {
            return Err(wrap(Error::CompressionRatio {
                uncompressed: self.uncompressed,
                compressed,
                max_ratio: self.max_ratio,
            }));
        }
        Ok(n)
    }
}

impl Bounded<'_> {
    fn classify(&self, error: io::Error) -> io::Error {
        if is_ours(&error) {
            error
        } else if error.kind() == io::ErrorKind::UnexpectedEof {
            wrap(Error::Truncated {
                what: format!("the {} stream ends early ({error})", self.format),
            })
        } else {
            wrap(Error::Decompress {
                format: self.format,
                message: error.to_string(),
            })
        }
    }
}

/// The uncompressed layer, buffered for the tar reader.
pub(super) fn open<'a, R: Read + 'a>(
    blob: R,
    compression: Compression,
    limits: &Limits,
) -> Result<BufReader<Bounded<'a>>, Error> {
    let compressed = Rc::new(Cell::new(0));
    let counted = Counted {
        inner: blob,
        count: Rc::clone(&compressed),
    };
    let (inner, format): (Box<dyn Read + 'a>, _) = match compression {
        Compression::None => (Box::new(counted), "tar"),
        // Multi-member, as Go's gzip reader (Docker, containerd) reads layers: pigz and
        // concatenated streams are valid layers.
        Compression::Gzip => (
            Box::new(flate2::bufread::MultiGzDecoder::new(
                BufReader::with_capacity(COMPRESSED_BUFFER, counted),
            )),
            "gzip",
        ),
        // libzstd's default window limit (2^27 bytes) bounds the decoder's memory whatever
        // the frame header asks for.
        Compression::Zstd => (
            Box::new(
                zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(
                    COMPRESSED_BUFFER,
                    counted,
                ))
                .map_err(Error::Io)?,
            ),
            "zstd",
        ),
    };
    let bounded = Bounded {
        inner,
        format,
        compressed,
        uncompressed: 0,
        max_uncompressed: limits.max_uncompressed,
        max_ratio: limits.max_ratio,
        ratio_floor: limits.ratio_floor,
    };
    Ok(BufReader::with_capacity(UNCOMPRESSED_BUFFER, bounded))
}
