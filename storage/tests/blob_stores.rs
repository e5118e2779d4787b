//! One behaviour suite, run against both stores: the local filesystem and S3 (a real
//! `s3s-fs` server on loopback). Each behaviour is one generic function; `for_each_store!`
//! turns it into a test per store.

#![expect(clippy::unwrap_used, reason = "tests")]

#[allow(
    dead_code,
    reason = "each test binary uses a part of the shared support"
)]
mod support;

use bytes::Bytes;
use futures_util::stream;
use keynet_domain::storage::{BlobStore, StorageError};
use std::time::Duration;
use support::{
    Fixture, MIB, bytes_stream, digest_of, noise_digest, noise_file, noise_stream, read_all,
};

macro_rules! for_each_store {
    ($($behaviour:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(&super::support::local()).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(&super::support::s3().await).await;
                }
            )*
        }
    };
}

for_each_store!(
    put_file_round_trips,
    put_file_larger_than_the_multipart_threshold_round_trips,
    put_stream_of_many_chunks_round_trips,
    put_stream_of_exactly_one_part_round_trips,
    put_stream_of_nothing_stores_an_empty_blob,
    put_replaces_an_existing_blob,
    too_large_stream_keeps_nothing,
    too_large_stream_keeps_the_previous_blob,
    broken_stream_keeps_nothing,
    missing_blobs_are_absent,
    delete_removes_a_blob,
    invalid_keys_are_refused,
);

fn assert_invalid_key(result: Result<impl std::fmt::Debug, StorageError>, key: &str) {
    match result {
        Err(StorageError::Backend(e)) => {
            assert!(e.to_string().contains("invalid blob key"), "{key:?}: {e:#}")
        }
        other => panic!("{key:?} was not refused: {other:?}"),
    }
}

async fn put_file_round_trips(fixture: &impl Fixture) {
    let store = fixture.store();
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * MIB + 1;
    let (path, digest) = noise_file(dir.path(), 1, size);
    let key = "orgs/0190/blobs/sha256/abc.bin";
    assert_eq!(store.put_file(key, &path).await.unwrap(), size as u64);
    assert_eq!(store.size(key).await.unwrap(), Some(size as u64));
    assert_eq!(
        digest_of(store.open(key).await.unwrap()).await,
        (size, digest)
    );
}

/// 64 MiB is where the S3 store switches to a multipart upload from disk.
async fn put_file_larger_than_the_multipart_threshold_round_trips(fixture: &impl Fixture) {
    let store = fixture.store();
    let dir = tempfile::tempdir().unwrap();
    let size = 64 * MIB + 8 * MIB + 3;
    let (path, digest) = noise_file(dir.path(), 2, size);
    assert_eq!(
        store.put_file("big/file", &path).await.unwrap(),
        size as u64
    );
    assert_eq!(store.size("big/file").await.unwrap(), Some(size as u64));
    assert_eq!(
        digest_of(store.open("big/file").await.unwrap()).await,
        (size, digest)
    );
    assert_eq!(fixture.leftovers(), Vec::<String>::new());
}

/// Larger than two 8 MiB parts, in HTTP-sized chunks.
async fn put_stream_of_many_chunks_round_trips(fixture: &impl Fixture) {
    let store = fixture.store();
    let (size, chunk) = (20 * MIB + 5, 64 * 1024);
    let stored = store
        .put_stream(
            "uploads/stream.zip",
            noise_stream(3, size, chunk),
            size as u64,
        )
        .await
        .unwrap();
    assert_eq!(stored, size as u64);
    let read = digest_of(store.open("uploads/stream.zip").await.unwrap()).await;
    assert_eq!(read, (size, noise_digest(3, size, chunk)));
    assert_eq!(fixture.leftovers(), Vec::<String>::new());
}

async fn put_stream_of_exactly_one_part_round_trips(fixture: &impl Fixture) {
    let store = fixture.store();
    let (size, chunk) = (8 * MIB, 1000);
    let stored = store
        .put_stream("one-part", noise_stream(4, size, chunk), u64::MAX)
        .await
        .unwrap();
    assert_eq!(stored, size as u64);
    let read = digest_of(store.open("one-part").await.unwrap()).await;
    assert_eq!(read, (size, noise_digest(4, size, chunk)));
}

async fn put_stream_of_nothing_stores_an_empty_blob(fixture: &impl Fixture) {
    let store = fixture.store();
    let stored = store
        .put_stream("empty", Box::pin(stream::empty()), 0)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(store.size("empty").await.unwrap(), Some(0));
    assert!(
        read_all(store.open("empty").await.unwrap())
            .await
            .is_empty()
    );
}

async fn put_replaces_an_existing_blob(fixture: &impl Fixture) {
    let store = fixture.store();
    store
        .put_stream("doc", bytes_stream(b"first version"), 100)
        .await
        .unwrap();
    store
        .put_stream("doc", bytes_stream(b"second"), 100)
        .await
        .unwrap();
    assert_eq!(read_all(store.open("doc").await.unwrap()).await, b"second");
}

async fn too_large_stream_keeps_nothing(fixture: &impl Fixture) {
    let store = fixture.store();
    // Over the limit within the first part, and after some parts were sent (S3 multipart).
    for (limit, size) in [(1000, 1001), (10 * MIB, 12 * MIB)] {
        let result = store
            .put_stream("too/large", noise_stream(5, size, 64 * 1024), limit as u64)
            .await;
        assert!(
            matches!(result, Err(StorageError::TooLarge { limit: l }) if l == limit as u64),
            "{limit}: {result:?}"
        );
        assert_eq!(store.size("too/large").await.unwrap(), None);
    }
    // The S3 store aborts the multipart upload; s3s-fs removes the parts then.
    assert_eq!(fixture.leftovers(), Vec::<String>::new());
}

async fn too_large_stream_keeps_the_previous_blob(fixture: &impl Fixture) {
    let store = fixture.store();
    store
        .put_stream("kept", bytes_stream(b"the original"), 100)
        .await
        .unwrap();
    let result = store
        .put_stream("kept", bytes_stream(b"far too long for the limit"), 10)
        .await;
    assert!(
        matches!(result, Err(StorageError::TooLarge { limit: 10 })),
        "{result:?}"
    );
    assert_eq!(
        read_all(store.open("kept").await.unwrap()).await,
        b"the original"
    );
}

async fn broken_stream_keeps_nothing(fixture: &impl Fixture) {
    let store = fixture.store();
    for before_break in [100, 9 * MIB] {
        let broken = stream::iter([
            Ok(Bytes::from(vec![1; before_break])),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client gone",
            )),
        ]);
        let result = store.put_stream("broken", Box::pin(broken), u64::MAX).await;
        assert!(
            matches!(result, Err(StorageError::Backend(_))),
            "{result:?}"
        );
        assert_eq!(store.size("broken").await.unwrap(), None);
    }
    assert_eq!(fixture.leftovers(), Vec::<String>::new());
}

async fn missing_blobs_are_absent(fixture: &impl Fixture) {
    let store = fixture.store();
    assert_eq!(store.size("no/such/blob").await.unwrap(), None);
    match store.open("no/such/blob").await {
        Err(StorageError::NotFound(key)) => assert_eq!(key, "no/such/blob"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("opened a missing blob"),
    }
    // Deleting is idempotent.
    store.delete("no/such/blob").await.unwrap();
}

async fn delete_removes_a_blob(fixture: &impl Fixture) {
    let store = fixture.store();
    store
        .put_stream("a/b/c", bytes_stream(b"content"), 100)
        .await
        .unwrap();
    store
        .put_stream("a/b/other", bytes_stream(b"stays"), 100)
        .await
        .unwrap();
    store.delete("a/b/c").await.unwrap();
    assert_eq!(store.size("a/b/c").await.unwrap(), None);
    assert!(matches!(
        store.open("a/b/c").await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(store.size("a/b/other").await.unwrap(), Some(5));
}

async fn invalid_keys_are_refused(fixture: &impl Fixture) {
    let store = fixture.store();
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = noise_file(dir.path(), 6, 10);
    let ttl = Duration::from_secs(60);
    for key in [
        "",
        "/etc/passwd",
        "../escape",
        "a/../../b",
        "a//b",
        "a/./b",
        "a b",
        "a\\b",
        "é",
    ] {
        assert_invalid_key(store.put_file(key, &file).await, key);
        assert_invalid_key(store.put_stream(key, bytes_stream(b"x"), 10).await, key);
        assert_invalid_key(store.open(key).await.map(|_| ()), key);
        assert_invalid_key(store.size(key).await, key);
        assert_invalid_key(store.delete(key).await, key);
        assert_invalid_key(store.download_url(key, ttl, None).await, key);
        assert_invalid_key(store.upload_url(key, 1, ttl).await, key);
    }
}
