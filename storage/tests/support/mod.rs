//! What the storage tests share: both stores on fresh folders (S3 through a real `s3s-fs`
//! server on loopback), deterministic test data, and digests to compare blobs by.

#![expect(clippy::unwrap_used, reason = "tests")]

use bytes::Bytes;
use futures_util::stream;
use keynet_domain::storage::{BlobReader, BlobStore, ByteStream};
use keynet_storage::{LocalStore, S3Settings, S3Store};
pub use keynet_testkit::s3::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tokio::io::AsyncReadExt;

pub const MIB: usize = 1024 * 1024;
pub const SIGNING_KEY: [u8; 32] = [7; 32];
pub const PUBLIC_URL: &str = "http://keynet.test";

/// A store with whatever keeps it alive, and a look at what failed writes left behind.
pub trait Fixture {
    type Store: BlobStore;
    fn store(&self) -> &Self::Store;
    /// Names of temporary or partial files the backend still holds (none after any write,
    /// finished or failed).
    fn leftovers(&self) -> Vec<String>;
}

pub struct LocalFixture {
    pub store: LocalStore,
    dir: TempDir,
}

pub fn local() -> LocalFixture {
    let dir = tempfile::tempdir().unwrap();
    let store =
        LocalStore::new(dir.path().join("blobs"), PUBLIC_URL, SIGNING_KEY.to_vec()).unwrap();
    LocalFixture { store, dir }
}

impl Fixture for LocalFixture {
    type Store = LocalStore;

    fn store(&self) -> &LocalStore {
        &self.store
    }

    fn leftovers(&self) -> Vec<String> {
        files_under(self.dir.path())
            .into_iter()
            .filter(|name| name.starts_with(".keynet-partial-"))
            .collect()
    }
}

pub struct S3Fixture {
    pub store: S3Store,
    pub server: S3Server,
}

pub async fn s3() -> S3Fixture {
    let server = S3Server::start().await;
    let store = S3Store::new(&settings(&server)).unwrap();
    store.check().await.unwrap();
    S3Fixture { store, server }
}

impl Fixture for S3Fixture {
    type Store = S3Store;

    fn store(&self) -> &S3Store {
        &self.store
    }

    /// s3s-fs keeps the parts of unfinished multipart uploads as `.upload_id-…` files and
    /// writes through `.tmp.…` files, beside the bucket folders.
    fn leftovers(&self) -> Vec<String> {
        files_under(self.server.root.path())
            .into_iter()
            .filter(|name| name.starts_with(".upload_id-") || name.starts_with(".tmp."))
            .collect()
    }
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return names;
    };
    for entry in entries {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            names.extend(files_under(&entry.path()));
        } else {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

/// The storage settings that reach the test server.
pub fn settings(server: &S3Server) -> S3Settings {
    S3Settings {
        endpoint: Some(server.endpoint.clone()),
        region: "us-east-1".into(),
        bucket: BUCKET.into(),
        path_style: true,
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
    }
}

/// Deterministic bytes that differ per seed and do not repeat within a blob (xorshift).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn fill(&mut self, buffer: &mut [u8]) {
        for word in buffer.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            word.copy_from_slice(&self.0.to_le_bytes()[..word.len()]);
        }
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Bytes {
        let mut buffer = vec![0; len];
        self.fill(&mut buffer);
        buffer.into()
    }
}

/// The hex SHA-256 of `size` noise bytes of `seed`, as `noise_file` and `noise_stream` make.
pub fn noise_digest(seed: u64, size: usize, chunk: usize) -> String {
    let mut noise = Noise::new(seed);
    let mut hasher = Sha256::new();
    let mut left = size;
    while left > 0 {
        let len = chunk.min(left);
        hasher.update(noise.take(len));
        left -= len;
    }
    hex::encode(hasher.finalize())
}

/// Writes `size` noise bytes to a new file; returns it and its digest.
pub fn noise_file(dir: &Path, seed: u64, size: usize) -> (PathBuf, String) {
    use std::io::Write;
    let path = dir.join(format!("noise-{seed}-{size}"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut noise = Noise::new(seed);
    let mut left = size;
    while left > 0 {
        let len = MIB.min(left);
        file.write_all(&noise.take(len)).unwrap();
        left -= len;
    }
    file.flush().unwrap();
    (path, noise_digest(seed, size, MIB))
}

/// `size` noise bytes as a stream of `chunk`-byte pieces, made as they are read.
pub fn noise_stream(seed: u64, size: usize, chunk: usize) -> ByteStream<'static> {
    let pieces = stream::unfold(
        (Noise::new(seed), size),
        move |(mut noise, left)| async move {
            (left > 0).then(|| {
                let len = chunk.min(left);
                (Ok(noise.take(len)), (noise, left - len))
            })
        },
    );
    Box::pin(pieces)
}

pub async fn digest_of(mut reader: BlobReader) -> (usize, String) {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 256 * 1024];
    let mut size = 0;
    loop {
        let read = reader.read(&mut buffer).await.unwrap();
        if read == 0 {
            return (size, hex::encode(hasher.finalize()));
        }
        size += read;
        hasher.update(&buffer[..read]);
    }
}

pub async fn read_all(reader: BlobReader) -> Vec<u8> {
    let mut reader = reader;
    let mut content = Vec::new();
    reader.read_to_end(&mut content).await.unwrap();
    content
}

pub fn bytes_stream(content: &'static [u8]) -> ByteStream<'static> {
    Box::pin(stream::iter(
        content.chunks(7).map(|c| Ok(Bytes::from_static(c))),
    ))
}
