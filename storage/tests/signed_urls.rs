//! Signed URLs of both stores. The local store's are checked through `LocalStore::verify`
//! (the HTTP route that calls it lives in the API); S3's presigned URLs are used with a
//! real HTTP client against a real `s3s-fs` server.

#![expect(clippy::unwrap_used, reason = "tests")]

#[allow(
    dead_code,
    reason = "each test binary uses a part of the shared support"
)]
mod support;

use keynet_domain::storage::{BlobStore, StorageError};
use keynet_storage::{Error, LocalStore, Method, SignedRequest, content_disposition};
use std::time::Duration;
use support::{PUBLIC_URL, SIGNING_KEY, bytes_stream, read_all};

const MINUTE: Duration = Duration::from_secs(60);

/// The path key and the query of a local-store URL.
fn split(url: &str) -> (String, String) {
    let rest = url
        .strip_prefix(&format!("{PUBLIC_URL}/api/v1/blobs/"))
        .unwrap_or_else(|| panic!("unexpected URL {url}"));
    let (key, query) = rest.split_once('?').unwrap();
    (key.to_string(), query.to_string())
}

/// Changes the last character of the signature (or of the URL's S3 signature).
fn tamper(url: &str) -> String {
    let mut tampered = url.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    tampered
}

fn replace_param(query: &str, name: &str, value: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((n, _)) if n == name => format!("{n}={value}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

mod local {
    use super::*;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), PUBLIC_URL, SIGNING_KEY.to_vec()).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_download_link_verifies_for_its_blob() {
        let (_dir, store) = store();
        let url = store
            .download_url("orgs/1/data.zip", MINUTE, Some("my data & more.zip"))
            .await
            .unwrap();
        let (key, query) = split(&url);
        assert_eq!(key, "orgs/1/data.zip");
        assert_eq!(
            store.verify(Method::Get, &key, &query).unwrap(),
            SignedRequest {
                method: Method::Get,
                key: key.clone(),
                size: None,
                filename: Some("my data & more.zip".into()),
            }
        );
        // Unsigned extra parameters (cache busters) do no harm.
        let busted = format!("{query}&_=123");
        assert!(store.verify(Method::Get, &key, &busted).is_ok());
    }

    #[tokio::test]
    async fn an_upload_link_verifies_with_its_size() {
        let (_dir, store) = store();
        let url = store.upload_url("uploads/u1", 1234, MINUTE).await.unwrap();
        let (key, query) = split(&url);
        let request = store.verify(Method::Put, &key, &query).unwrap();
        assert_eq!(request.size, Some(1234));
        assert_eq!(request.filename, None);
    }

    #[tokio::test]
    async fn altered_links_are_refused() {
        let (_dir, store) = store();
        let download = store
            .download_url("orgs/1/a", MINUTE, Some("a.zip"))
            .await
            .unwrap();
        let (key, query) = split(&download);
        let upload = store.upload_url("orgs/1/a", 10, MINUTE).await.unwrap();
        let (_, upload_query) = split(&upload);
        let other_key = LocalStore::new("/unused", PUBLIC_URL, vec![8; 32]).unwrap();
        let expires: u64 = replace_param(&query, "x", "")
            .split('&')
            .find_map(|p| p.strip_prefix("expires="))
            .unwrap()
            .parse()
            .unwrap();
        let cases = [
            (
                "tampered signature",
                store.verify(Method::Get, &key, &tamper(&query)),
            ),
            (
                "another blob",
                store.verify(Method::Get, "orgs/1/b", &query),
            ),
            (
                "another filename",
                store.verify(
                    Method::Get,
                    &key,
                    &replace_param(&query, "filename", "b.zip"),
                ),
            ),
            (
                "a later expiry",
                store.verify(
                    Method::Get,
                    &key,
                    &replace_param(&query, "expires", &(expires + 3600).to_string()),
                ),
            ),
            (
                "a download link used to upload",
                store.verify(Method::Put, &key, &query),
            ),
            (
                "an upload link used to download",
                store.verify(Method::Get, &key, &upload_query),
            ),
            (
                "another size",
                store.verify(
                    Method::Put,
                    &key,
                    &replace_param(&upload_query, "size", "11"),
                ),
            ),
            (
                "another signing key",
                other_key.verify(Method::Get, &key, &query),
            ),
        ];
        for (case, result) in cases {
            assert!(
                matches!(result, Err(Error::BadSignature)),
                "{case}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn expired_links_are_refused() {
        let (_dir, store) = store();
        let url = store
            .download_url("a", Duration::from_secs(1), None)
            .await
            .unwrap();
        let (key, query) = split(&url);
        assert!(store.verify(Method::Get, &key, &query).is_ok());
        tokio::time::sleep(Duration::from_secs(2)).await;
        let result = store.verify(Method::Get, &key, &query);
        assert!(matches!(result, Err(Error::ExpiredUrl)), "{result:?}");
        assert_eq!(result.unwrap_err().to_string(), "the link expired");
    }

    #[tokio::test]
    async fn malformed_links_are_refused_with_the_reason() {
        let (_dir, store) = store();
        let url = store.download_url("a", MINUTE, None).await.unwrap();
        let (key, query) = split(&url);
        let unsigned = query.split("&signature").next().unwrap().to_string();
        let cases = [
            ("a", unsigned.clone(), "it has no `signature`"),
            (
                "a",
                replace_param(&query, "expires", "soon"),
                "`expires` is not a number",
            ),
            ("a", format!("{query}&expires=1"), "`expires` appears twice"),
            ("../a", query.clone(), "not a valid blob key"),
        ];
        for (key_in_path, query, reason) in cases {
            match store.verify(Method::Get, key_in_path, &query) {
                Err(error @ Error::MalformedUrl(_)) => {
                    assert!(error.to_string().contains(reason), "{error}")
                }
                other => panic!("{query}: {other:?}"),
            }
        }
        assert!(store.verify(Method::Get, &key, &query).is_ok());
    }

    #[tokio::test]
    async fn link_lifetimes_are_bounded() {
        let (_dir, store) = store();
        for ttl in [Duration::ZERO, Duration::from_secs(8 * 24 * 3600)] {
            let result = store.download_url("a", ttl, None).await;
            assert!(matches!(result, Err(StorageError::Backend(_))), "{ttl:?}");
        }
    }

    #[tokio::test]
    async fn signing_keys_must_be_long() {
        let result = LocalStore::new("/tmp/x", PUBLIC_URL, b"short".to_vec());
        assert!(
            matches!(
                result,
                Err(Error::Setting {
                    key: "signing_key",
                    ..
                })
            ),
            "{:?}",
            result.err()
        );
    }

    #[tokio::test]
    async fn an_upload_stores_exactly_the_signed_size() {
        let (_dir, store) = store();
        let url = store.upload_url("up/exact", 11, MINUTE).await.unwrap();
        let (key, query) = split(&url);
        let upload = store.verify(Method::Put, &key, &query).unwrap();

        let short = store
            .receive_upload(&upload, bytes_stream(b"too short"))
            .await;
        assert!(
            matches!(
                short,
                Err(Error::IncompleteUpload {
                    expected: 11,
                    received: 9
                })
            ),
            "{short:?}"
        );
        let long = store
            .receive_upload(&upload, bytes_stream(b"much too long"))
            .await;
        assert!(
            matches!(
                long,
                Err(Error::Storage(StorageError::TooLarge { limit: 11 }))
            ),
            "{long:?}"
        );
        assert_eq!(store.size("up/exact").await.unwrap(), None);

        let stored = store
            .receive_upload(&upload, bytes_stream(b"just right!"))
            .await;
        assert_eq!(stored.unwrap(), 11);
        let (reader, size) = store.open_with_size("up/exact").await.unwrap();
        assert_eq!(size, 11);
        assert_eq!(read_all(reader).await, b"just right!");
    }
}

mod s3 {
    use super::*;
    use reqwest::StatusCode;

    #[tokio::test]
    async fn a_presigned_download_serves_the_blob_under_its_name() {
        let s3 = support::s3().await;
        s3.store
            .put_stream("orgs/1/data.zip", bytes_stream(b"zip bytes"), 100)
            .await
            .unwrap();
        let url = s3
            .store
            .download_url("orgs/1/data.zip", MINUTE, Some("my data é.zip"))
            .await
            .unwrap();
        assert!(url.starts_with(&s3.server.endpoint), "{url}");
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-disposition"],
            content_disposition("my data é.zip").as_str()
        );
        assert_eq!(response.bytes().await.unwrap(), &b"zip bytes"[..]);
    }

    #[tokio::test]
    async fn a_presigned_upload_takes_exactly_the_signed_size() {
        let s3 = support::s3().await;
        let url = s3.store.upload_url("up/file", 5, MINUTE).await.unwrap();
        let client = reqwest::Client::new();

        let wrong_size = client.put(&url).body("123456").send().await.unwrap();
        assert_eq!(wrong_size.status(), StatusCode::FORBIDDEN);
        assert_eq!(s3.store.size("up/file").await.unwrap(), None);

        let response = client.put(&url).body("12345").send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{:?}",
            response.text().await
        );
        assert_eq!(s3.store.size("up/file").await.unwrap(), Some(5));
        let stored = read_all(s3.store.open("up/file").await.unwrap()).await;
        assert_eq!(stored, b"12345");
    }

    #[tokio::test]
    async fn expired_presigned_urls_are_refused() {
        let s3 = support::s3().await;
        s3.store
            .put_stream("a", bytes_stream(b"content"), 100)
            .await
            .unwrap();
        let second = Duration::from_secs(1);
        let download = s3.store.download_url("a", second, None).await.unwrap();
        let upload = s3.store.upload_url("b", 3, second).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let client = reqwest::Client::new();
        let response = client.get(&download).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = client.put(&upload).body("abc").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(s3.store.size("b").await.unwrap(), None);
    }

    #[tokio::test]
    async fn tampered_presigned_urls_are_refused() {
        let s3 = support::s3().await;
        s3.store
            .put_stream("a", bytes_stream(b"content"), 100)
            .await
            .unwrap();
        let download = s3.store.download_url("a", MINUTE, None).await.unwrap();
        assert!(download.contains("X-Amz-Signature="), "{download}");
        let response = reqwest::get(tamper(&download)).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        // Another blob under the same signature.
        let other = download.replacen("/a?", "/b?", 1);
        assert_eq!(
            reqwest::get(&other).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn upload_urls_stay_within_one_put() {
        let s3 = support::s3().await;
        let result = s3.store.upload_url("huge", 6 << 30, MINUTE).await;
        assert!(
            matches!(result, Err(StorageError::Backend(_))),
            "{result:?}"
        );
    }
}
