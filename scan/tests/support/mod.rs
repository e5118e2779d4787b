//! Fixture layers for the scan's tests, written with the `tar` crate (an implementation
//! independent of the scanner's reader), and a Debian-like base to build images on.
//!
//! Each test binary uses part of this module.
#![allow(dead_code)]

use flate2::Compression;
use flate2::write::GzEncoder;
use keynet_scan::Error;
use keynet_scan::layers::{LayerScan, Limits, scan_layer};
use std::io::Write;
use tar::{EntryType, Header};

pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// One layer being written. Paths are given as in a layer tar (`usr/bin/x`).
pub struct Layer {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for Layer {
    fn default() -> Self {
        Self::new()
    }
}

impl Layer {
    pub fn new() -> Self {
        Self {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: EntryType, mode: u32, size: u64) -> Header {
        let mut header = Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(size);
        header.set_mtime(1_700_000_000);
        header
    }

    /// A regular file, mode 0644, owned by root.
    pub fn file(self, path: &str, contents: &[u8]) -> Self {
        self.file_with(path, contents, 0o644, 0)
    }

    pub fn file_with(mut self, path: &str, contents: &[u8], mode: u32, uid: u64) -> Self {
        let mut header = Self::header(EntryType::Regular, mode, contents.len() as u64);
        header.set_uid(uid);
        self.builder
            .append_data(&mut header, path, contents)
            .expect("append file");
        self
    }

    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        let mut header = Self::header(EntryType::Directory, mode, 0);
        self.builder
            .append_data(&mut header, path, &[][..])
            .expect("append dir");
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut header = Self::header(EntryType::Symlink, 0o777, 0);
        self.builder
            .append_link(&mut header, path, target)
            .expect("append symlink");
        self
    }

    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut header = Self::header(EntryType::Link, 0o644, 0);
        self.builder
            .append_link(&mut header, path, target)
            .expect("append hardlink");
        self
    }

    /// Deletes `path` of the layers below (`dir/.wh.name`).
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
        let marker = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&marker, b"")
    }

    /// Hides what the layers below hold in `dir` (`dir/.wh..wh..opq`).
    pub fn opaque(self, dir: &str) -> Self {
        self.file(&format!("{dir}/.wh..wh..opq"), b"")
    }

    /// An entry written byte for byte, for names and targets a well-behaved writer refuses
    /// (`..`, absolute, NUL, not UTF-8). `name` and `link` must fit their 100-byte fields.
    pub fn raw(mut self, name: &[u8], kind: EntryType, link: &[u8], contents: &[u8]) -> Self {
        let mut header = Self::header(kind, 0o644, contents.len() as u64);
        let bytes = header.as_mut_bytes();
        bytes[..name.len()].copy_from_slice(name);
        bytes[157..157 + link.len()].copy_from_slice(link);
        header.set_cksum();
        self.builder
            .append(&header, contents)
            .expect("append raw entry");
        self
    }

    /// An extension header (`L` GNU long name, `x` PAX records) for the next entry.
    pub fn extension(mut self, kind: EntryType, contents: &[u8]) -> Self {
        let mut header = Self::header(kind, 0o644, contents.len() as u64);
        header.as_mut_bytes()[..13].copy_from_slice(b"././@LongLink");
        header.set_cksum();
        self.builder
            .append(&header, contents)
            .expect("append extension");
        self
    }

    /// The tar with its end-of-archive marker.
    pub fn tar(self) -> Vec<u8> {
        self.builder.into_inner().expect("finish tar")
    }

    pub fn gzip(self) -> Vec<u8> {
        gzip(&self.tar())
    }

    pub fn zstd(self) -> Vec<u8> {
        zstd(&self.tar())
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("zstd")
}

/// One PAX record, `"<length> key=value\n"`.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3; // space, '=', newline
    let mut length = body_len + 1;
    while length != body_len + length.to_string().len() {
        length = body_len + length.to_string().len();
    }
    let mut record = format!("{length} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

pub fn scan(bytes: &[u8], media_type: &str) -> Result<LayerScan, Error> {
    scan_layer(bytes, media_type, &Limits::default())
}

pub fn scan_ok(bytes: &[u8], media_type: &str) -> LayerScan {
    scan(bytes, media_type).expect("the layer is accepted")
}

pub const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                              VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";

pub const DPKG_STATUS: &str = "\
Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs.

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib (1:1.2.13.dfsg-1)
Version: 1:1.2.13.dfsg-1+b1

Package: bash
Status: install ok installed
Version: 5.2.15-2+b2

Package: old-removed
Status: deinstall ok config-files
Version: 0.1-1
";

pub const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

pub fn python_metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: fixture\n\nLong description.\n")
        .into_bytes()
}

/// A Debian 12 base layer: os-release (the `/etc` one a symlink, as in Debian), the dpkg
/// database, passwd, the setuid `passwd` binary, a sticky `/tmp`.
pub fn debian_base() -> Layer {
    Layer::new()
        .dir("etc", 0o755)
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file("usr/lib/os-release", OS_RELEASE.as_bytes())
        .file("etc/passwd", PASSWD.as_bytes())
        .file("var/lib/dpkg/status", DPKG_STATUS.as_bytes())
        .file_with("usr/bin/passwd", b"\x7fELF fixture", 0o4755, 0)
        .dir("tmp", 0o1777)
        .file("usr/share/doc/bash/README", b"Bash is the shell.\n")
}

/// A PEM private key with a plausible body (random-looking base64, not a real key).
pub fn private_key_pem() -> String {
    let body: String = (0..6)
        .map(|i| format!("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{i}mAwggJiAgEAAoGBAL1{i}\n"))
        .collect();
    format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n")
}

/// The first bytes of a protocol-4 pickle.
pub const PICKLE: &[u8] = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.";
