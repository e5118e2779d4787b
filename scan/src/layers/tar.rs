//! A tar reader for hostile layers.
//!
//! Written here rather than taken from the `tar` crate (0.4), which reads GNU long names and
//! PAX headers of any size into memory, skips the data of link and directory headers that
//! Go's reader (Docker, containerd) treats as header-only, and cannot tell the end-of-archive
//! marker from a stream that stops at a header boundary. This reader follows Go's
//! `archive/tar` on every point where readers could disagree (which name wins, prefix use,
//! numeric fields, checksums, header-only types), bounds every extension header, reads each
//! header into a stack buffer, and skips contents straight out of the decompressor's buffer.
//! GNU sparse files are refused: no image builder writes them. The tests build archives with
//! the `tar` crate, an independent writer.

use super::stream::unwrap_error;
use crate::Error;
use std::io::BufRead;

const BLOCK: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Regular,
    Hardlink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Header {
    pub kind: Kind,
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Size of the contents: 0 for header-only types, whatever the header says.
    pub size: u64,
}

pub(super) struct TarReader<R> {
    inner: R,
    /// Bytes of the uncompressed stream consumed so far, for messages.
    offset: u64,
    /// Contents of the current entry not read yet, then its padding to a block.
    remaining: u64,
    padding: u64,
    headers: u64,
    max_headers: u64,
    max_extension: u64,
    /// Name and link target of the current entry, as raw bytes.
    name: Vec<u8>,
    link: Vec<u8>,
    extension: Vec<u8>,
}

/// What PAX records of the next entry override.
#[derive(Default)]
struct Pax {
    path: bool,
    linkpath: bool,
    size: Option<u64>,
    uid: Option<u64>,
    gid: Option<u64>,
    sparse: bool,
}

impl<R: BufRead> TarReader<R> {
    pub fn new(inner: R, max_headers: u64, max_extension: u64) -> Self {
        Self {
            inner,
            offset: 0,
            remaining: 0,
            padding: 0,
            headers: 0,
            max_headers,
            max_extension,
            name: Vec::new(),
            link: Vec::new(),
            extension: Vec::new(),
        }
    }

    /// The raw name of the current entry.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The raw link target of the current entry (empty for other types).
    pub fn link(&self) -> &[u8] {
        &self.link
    }

    fn entry_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    fn malformed(&self, why: impl Into<String>) -> Error {
        Error::MalformedTar {
            offset: self.offset,
            why: why.into(),
        }
    }

    /// The next entry's header, or `None` at the end-of-archive marker. Contents of the
    /// previous entry that were not read are skipped.
    pub fn next(&mut self) -> Result<Option<Header>, Error> {
        let rest = self.remaining.saturating_add(self.padding);
        self.skip(rest)?;
        self.remaining = 0;
        self.padding = 0;

        let mut long_name = false;
        let mut long_link = false;
        let mut pax = Pax::default();
        let mut pending_extension = false;
        loop {
            let mut block = [0u8; BLOCK];
            if !self.read_block(&mut block)? {
                return Err(Error::Truncated {
                    what: format!(
                        "the tar stream stops at byte {} without its end-of-archive marker",
                        self.offset
                    ),
                });
            }
            if block.iter().all(|&b| b == 0) {
                if pending_extension {
                    return Err(self.malformed("an extension header is followed by no entry"));
                }
                return Ok(None);
            }
            self.headers += 1;
            if self.headers > self.max_headers {
                return Err(Error::TooManyEntries {
                    max: self.max_headers,
                });
            }
            self.check_checksum(&block)?;
            let type_flag = block[156];
            let size = self.numeric(&block[124..136], "size")?;
            match type_flag {
                b'L' => {
                    self.read_extension(size)?;
                    self.name.clear();
                    self.name.extend_from_slice(&self.extension);
                    self.cut_gnu_string(true)?;
                    long_name = true;
                    pending_extension = true;
                    continue;
                }
                b'K' => {
                    self.read_extension(size)?;
                    self.link.clear();
                    self.link.extend_from_slice(&self.extension);
                    self.cut_gnu_string(false)?;
                    long_link = true;
                    pending_extension = true;
                    continue;
                }
                b'x' => {
                    self.read_extension(size)?;
                    // Go merges PAX records before applying GNU long names: the GNU name
                    // wins, so a PAX path must not overwrite one read earlier.
                    pax = self.parse_pax(long_name, long_link)?;
                    pending_extension = true;
                    continue;
                }
                b'g' => {
                    // Global PAX headers carry nothing Docker or containerd apply.
                    self.skip(size.saturating_add(padding_of(size)))?;
                    continue;
                }
                _ => {}
            }

            if !long_name && !pax.path {
                self.name.clear();
                let name = until_nul(&block[0..100]);
                if is_ustar(&block) {
                    let prefix = until_nul(&block[345..500]);
                    if !prefix.is_empty() {
                        self.name.extend_from_slice(prefix);
                        self.name.push(b'/');
                    }
                }
                self.name.extend_from_slice(name);
            }
            if !long_link && !pax.linkpath {
                self.link.clear();
                self.link.extend_from_slice(until_nul(&block[157..257]));
            }
            if pax.sparse || type_flag == b'S' {
                return Err(Error::UnsupportedEntryType {
                    entry: self.entry_lossy(),
                    type_flag: 'S',
                });
            }
            let kind = match type_flag {
                b'0' | 0 if self.name.ends_with(b"/") => Kind::Directory,
                b'0' | 0 => Kind::Regular,
                b'1' => Kind::Hardlink,
                b'2' => Kind::Symlink,
                b'3' => Kind::CharDevice,
                b'4' => Kind::BlockDevice,
                b'5' => Kind::Directory,
                b'6' => Kind::Fifo,
                other => {
                    return Err(Error::UnsupportedEntryType {
                        entry: self.entry_lossy(),
                        type_flag: char::from(other),
                    });
                }
            };
            let mode = self.numeric(&block[100..108], "mode")?;
            let uid = match pax.uid {
                Some(uid) => uid,
                None => self.numeric(&block[108..116], "uid")?,
            };
            let gid = match pax.gid {
                Some(gid) => gid,
                None => self.numeric(&block[116..124], "gid")?,
            };
            // Go reads no contents for these types, whatever the size field says; skipping
            // them here would make this reader see different entries than the runtime.
            let size = match kind {
                Kind::Regular => pax.size.unwrap_or(size),
                _ => 0,
            };
            self.remaining = size;
            self.padding = padding_of(size);
            let mode = (mode & 0o7777) as u32;
            return Ok(Some(Header {
                kind,
                mode,
                uid,
                gid,
                size,
            }));
        }
    }

    /// Reads up to `cap` bytes of the current entry's contents into `out` (cleared first).
    pub fn read_contents(&mut self, cap: u64, out: &mut Vec<u8>) -> Result<(), Error> {
        out.clear();
        let mut want = self.remaining.min(cap);
        while want > 0 {
            let available = self.inner.fill_buf().map_err(unwrap_error)?;
            if available.is_empty() {
                return Err(self.truncated_inside());
            }
            let n = available
                .len()
                .min(usize::try_from(want).unwrap_or(usize::MAX));
            out.extend_from_slice(&available[..n]);
            self.inner.consume(n);
            self.offset += n as u64;
            self.remaining -= n as u64;
            want -= n as u64;
        }
        Ok(())
    }

    /// After the end-of-archive marker only zero padding may follow. Reading it to the end
    /// also makes the decompressor check its trailer (gzip CRC and length).
    pub fn finish(mut self) -> Result<(), Error> {
        loop {
            let available = self.inner.fill_buf().map_err(unwrap_error)?;
            if available.is_empty() {
                return Ok(());
            }
            if let Some(at) = available.iter().position(|&b| b != 0) {
                return Err(Error::TrailingData {
                    offset: self.offset + at as u64,
                });
            }
            let n = available.len();
            self.inner.consume(n);
            self.offset += n as u64;
        }
    }

    fn truncated_inside(&self) -> Error {
        Error::Truncated {
            what: format!(
                "the layer ends inside entry {:?} (byte {})",
                self.entry_lossy(),
                self.offset
            ),
        }
    }

    fn skip(&mut self, mut amount: u64) -> Result<(), Error> {
        while amount > 0 {
            let available = self.inner.fill_buf().map_err(unwrap_error)?.len();
            if available == 0 {
                return Err(self.truncated_inside());
            }
            let n = available.min(usize::try_from(amount).unwrap_or(usize::MAX));
            self.inner.consume(n);
            self.offset += n as u64;
            amount -= n as u64;
        }
        Ok(())
    }

    /// Fills `block`; `false` when the stream ended before its first byte.
    fn read_block(&mut self, block: &mut [u8; BLOCK]) -> Result<bool, Error> {
        let mut filled = 0;
        while filled < BLOCK {
            let available = self.inner.fill_buf().map_err(unwrap_error)?;
            if available.is_empty() {
                if filled == 0 {
                    return Ok(false);
                }
                return Err(Error::Truncated {
                    what: format!("the tar stream ends inside a header (byte {})", self.offset),
                });
            }
            let n = available.len().min(BLOCK - filled);
            block[filled..filled + n].copy_from_slice(&available[..n]);
            self.inner.consume(n);
            self.offset += n as u64;
            filled += n;
        }
        Ok(true)
    }

    /// Reads the contents of an extension header (GNU long name or link, PAX records) into
    /// `self.extension`, refusing more than the limit.
    fn read_extension(&mut self, size: u64) -> Result<(), Error> {
        if size > self.max_extension {
            return Err(self.malformed(format!(
                "an extension header of {size} bytes (at most {} accepted)",
                self.max_extension
            )));
        }
        let mut extension = std::mem::take(&mut self.extension);
        self.remaining = size;
        let read = self.read_contents(size, &mut extension);
        self.extension = extension;
        read?;
        self.remaining = 0;
        self.skip(padding_of(size))
    }

    /// GNU long names are NUL-terminated; Go keeps what precedes the first NUL. Anything
    /// after it is refused rather than dropped, so no reader can see another name.
    fn cut_gnu_string(&mut self, is_name: bool) -> Result<(), Error> {
        let value = if is_name {
            &mut self.name
        } else {
            &mut self.link
        };
        if let Some(nul) = value.iter().position(|&b| b == 0) {
            if value[nul..].iter().any(|&b| b != 0) {
                return Err(Error::NulInPath {
                    entry: String::from_utf8_lossy(value).into_owned(),
                });
            }
            value.truncate(nul);
        }
        Ok(())
    }

    fn parse_pax(&mut self, long_name: bool, long_link: bool) -> Result<Pax, Error> {
        let records = std::mem::take(&mut self.extension);
        let pax = self.apply_pax(&records, long_name, long_link);
        self.extension = records;
        pax
    }

    fn apply_pax(
        &mut self,
        mut rest: &[u8],
        long_name: bool,
        long_link: bool,
    ) -> Result<Pax, Error> {
        let mut pax = Pax::default();
        while !rest.is_empty() {
            let (key, value, after) =
                pax_record(rest).ok_or_else(|| self.malformed("a malformed PAX record"))?;
            rest = after;
            match key {
                b"path" | b"linkpath" if value.contains(&0) => {
                    return Err(Error::NulInPath {
                        entry: String::from_utf8_lossy(value).into_owned(),
                    });
                }
                b"path" if !long_name => {
                    self.name.clear();
                    self.name.extend_from_slice(value);
                    pax.path = true;
                }
                b"linkpath" if !long_link => {
                    self.link.clear();
                    self.link.extend_from_slice(value);
                    pax.linkpath = true;
                }
                b"size" => pax.size = Some(self.pax_number(value, "size")?),
                b"uid" => pax.uid = Some(self.pax_number(value, "uid")?),
                b"gid" => pax.gid = Some(self.pax_number(value, "gid")?),
                _ if key.starts_with(b"GNU.sparse.") => pax.sparse = true,
                _ => {}
            }
        }
        Ok(pax)
    }

    fn pax_number(&self, value: &[u8], field: &str) -> Result<u64, Error> {
        std::str::from_utf8(value)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                self.malformed(format!(
                    "PAX {field} {:?} is not a number",
                    String::from_utf8_lossy(value)
                ))
            })
    }

    /// A numeric field: octal text, or base-256 when the high bit is set (GNU, for values
    /// octal cannot hold). Negative base-256 values are refused.
    fn numeric(&self, field: &[u8], name: &str) -> Result<u64, Error> {
        if field[0] & 0x80 != 0 {
            if field[0] & 0x40 != 0 {
                return Err(self.malformed(format!("negative {name}")));
            }
            let mut value: u64 = u64::from(field[0] & 0x3f);
            for &b in &field[1..] {
                value = value
                    .checked_mul(256)
                    .map(|v| v + u64::from(b))
                    .ok_or_else(|| self.malformed(format!("{name} overflows")))?;
            }
            return Ok(value);
        }
        let text = trim_octal(field);
        if text.is_empty() {
            return Ok(0);
        }
        let mut value: u64 = 0;
        for &b in text {
            if !(b'0'..=b'7').contains(&b) {
                return Err(self.malformed(format!(
                    "{name} field {:?} is not octal",
                    String::from_utf8_lossy(field)
                )));
            }
            value = value
                .checked_mul(8)
                .map(|v| v + u64::from(b - b'0'))
                .ok_or_else(|| self.malformed(format!("{name} overflows")))?;
        }
        Ok(value)
    }

    /// The checksum counts the header with its own field as spaces; Go accepts both the
    /// unsigned sum and the signed one that some old writers used.
    fn check_checksum(&self, block: &[u8; BLOCK]) -> Result<(), Error> {
        let recorded = self.numeric(&block[148..156], "checksum")?;
        let (mut unsigned, mut signed) = (0u64, 0i64);
        for (i, &b) in block.iter().enumerate() {
            let b = if (148..156).contains(&i) { b' ' } else { b };
            unsigned += u64::from(b);
            signed += i64::from(b as i8);
        }
        if recorded == unsigned || i64::try_from(recorded).is_ok_and(|r| r == signed) {
            Ok(())
        } else {
            Err(self.malformed("header checksum mismatch"))
        }
    }
}

fn padding_of(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn until_nul(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(end) => &field[..end],
        None => field,
    }
}

fn trim_octal(field: &[u8]) -> &[u8] {
    let is_pad = |b: &u8| *b == b' ' || *b == 0;
    let start = field.iter().position(|b| !is_pad(b)).unwrap_or(field.len());
    let end = field
        .iter()
        .rposition(|b| !is_pad(b))
        .map_or(start, |e| e + 1);
    &field[start..end]
}

/// POSIX ustar (and PAX) headers, whose prefix field extends the name; GNU headers use those
/// bytes for other things.
fn is_ustar(block: &[u8; BLOCK]) -> bool {
    &block[257..263] == b"ustar\0" && &block[263..265] == b"00"
}

/// One PAX record, `"<length> <key>=<value>\n"` where length counts the whole record.
fn pax_record(input: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let space = input.iter().position(|&b| b == b' ')?;
    let length: usize = std::str::from_utf8(&input[..space]).ok()?.parse().ok()?;
    if length <= space + 1 || length > input.len() || input[length - 1] != b'\n' {
        return None;
    }
    let record = &input[space + 1..length - 1];
    let equals = record.iter().position(|&b| b == b'=')?;
    let key = &record[..equals];
    if key.is_empty() || key.contains(&0) {
        return None;
    }
    Some((key, &record[equals + 1..], &input[length..]))
}
