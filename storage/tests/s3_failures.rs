//! How the S3 store fails: what its errors say (and never say: the secret key, the request's
//! signature), which failures it retries, and that a retried request resends its whole body.
//! Wrong settings meet a real `s3s-fs` server; S3's transient failures come from a small
//! stand-in that answers as S3 does when it sheds load.

#![expect(clippy::unwrap_used, reason = "tests")]

#[allow(
    dead_code,
    reason = "each test binary uses a part of the shared support"
)]
mod support;

use actix_web::{HttpRequest, HttpResponse, web};
use keynet_domain::storage::{BlobStore, StorageError};
use keynet_storage::{S3Settings, S3Store};
use keynet_testkit::stub::StubServer;
use std::sync::{Arc, Mutex};
use support::{S3Server, SECRET_KEY, bytes_stream, settings};

fn message(error: StorageError) -> String {
    match error {
        StorageError::Backend(e) => format!("{e:#}"),
        other => panic!("not a backend failure: {other:?}"),
    }
}

fn assert_reveals_no_secret(text: &str) {
    for secret in [SECRET_KEY, "X-Amz-Signature", "wrong-secret"] {
        assert!(!text.contains(secret), "{secret} in: {text}");
    }
}

#[tokio::test]
async fn check_says_what_is_wrong_with_the_settings() {
    let server = S3Server::start().await;
    let cases = [
        (
            S3Settings {
                secret_access_key: "wrong-secret".into(),
                ..settings(&server)
            },
            "the S3 bucket `keynet-test` cannot be used: S3 refused the credentials",
        ),
        (
            S3Settings {
                bucket: "no-such-bucket".into(),
                ..settings(&server)
            },
            "the S3 bucket `no-such-bucket` cannot be used: it does not exist",
        ),
        (
            S3Settings {
                // Nothing listens on port 9 of loopback (discard, never served here).
                endpoint: Some("http://127.0.0.1:9".into()),
                ..settings(&server)
            },
            "S3 HeadBucket of `keynet-test` failed: cannot reach S3 at http://127.0.0.1:9: ",
        ),
    ];
    for (settings, expected) in cases {
        let store = S3Store::new(&settings).unwrap();
        let error = message(store.check().await.unwrap_err());
        assert!(error.contains(expected), "{expected}\nnot in: {error}");
        assert_reveals_no_secret(&error);
    }
    let store = S3Store::new(&settings(&server)).unwrap();
    store.check().await.unwrap();
}

#[tokio::test]
async fn a_refused_request_reports_the_code_s3_gave() {
    let server = S3Server::start().await;
    let store = S3Store::new(&S3Settings {
        secret_access_key: "wrong-secret".into(),
        ..settings(&server)
    })
    .unwrap();
    let error = message(
        store
            .put_stream("orgs/1/a", bytes_stream(b"abc"), 10)
            .await
            .unwrap_err(),
    );
    assert!(
        error.contains("S3 PutObject of `orgs/1/a` failed: HTTP 403: SignatureDoesNotMatch"),
        "{error}"
    );
    assert_reveals_no_secret(&error);
}

/// What the stand-in received: each request's method and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An S3 stand-in that answers its first `failures` requests with `status` and an S3 error
/// document, then stores anything (200 with an ETag).
struct Flaky {
    received: Received,
    server: StubServer,
}

impl Flaky {
    fn start(failures: usize, status: u16, code: &'static str) -> Self {
        let received = Received::default();
        let state = web::Data::new((received.clone(), failures, status, code));
        let server = StubServer::start(move |app| {
            app.app_data(state.clone())
                .default_service(web::to(Self::answer));
        });
        Self { received, server }
    }

    async fn answer(
        request: HttpRequest,
        body: web::Bytes,
        state: web::Data<(Received, usize, u16, &'static str)>,
    ) -> HttpResponse {
        let (received, failures, status, code) = state.get_ref();
        let mut received = received.lock().unwrap();
        received.push((request.method().to_string(), body.to_vec()));
        if received.len() <= *failures {
            let document = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                 <Error><Code>{code}</Code><Message>Please reduce your request rate.</Message>\
                 <RequestId>req-{}</RequestId></Error>",
                received.len()
            );
            HttpResponse::build(actix_web::http::StatusCode::from_u16(*status).unwrap())
                .content_type("application/xml")
                .body(document)
        } else {
            HttpResponse::Ok()
                .insert_header(("ETag", "\"stored\""))
                .finish()
        }
    }

    fn store(&self) -> S3Store {
        S3Store::new(&S3Settings {
            endpoint: Some(self.server.url.clone()),
            bucket: "keynet-test".into(),
            path_style: true,
            access_key_id: "key".into(),
            secret_access_key: "wrong-secret".into(),
            ..S3Settings::default()
        })
        .unwrap()
    }

    fn received(&self) -> Vec<(String, Vec<u8>)> {
        self.received.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_the_whole_body() {
    let flaky = Flaky::start(1, 503, "SlowDown");
    let stored = flaky
        .store()
        .put_stream("a", bytes_stream(b"all of it"), 100)
        .await
        .unwrap();
    assert_eq!(stored, 9);
    let put = ("PUT".to_string(), b"all of it".to_vec());
    assert_eq!(flaky.received(), vec![put.clone(), put]);
}

#[tokio::test]
async fn a_file_is_read_again_for_each_attempt() {
    let flaky = Flaky::start(2, 500, "InternalError");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, b"weights").unwrap();
    assert_eq!(flaky.store().put_file("a", &path).await.unwrap(), 7);
    let put = ("PUT".to_string(), b"weights".to_vec());
    assert_eq!(flaky.received(), vec![put.clone(), put.clone(), put]);
}

#[tokio::test]
async fn retries_end_with_s3s_reason() {
    let flaky = Flaky::start(usize::MAX, 503, "SlowDown");
    let error = message(
        flaky
            .store()
            .put_stream("a", bytes_stream(b"x"), 100)
            .await
            .unwrap_err(),
    );
    assert!(
        error.contains(
            "S3 PutObject of `a` failed: HTTP 503: SlowDown: Please reduce your request rate. \
             (request id req-3)"
        ),
        "{error}"
    );
    assert_eq!(flaky.received().len(), 3);
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let flaky = Flaky::start(usize::MAX, 403, "AccessDenied");
    let result = flaky.store().delete("a").await;
    assert!(message(result.unwrap_err()).contains("HTTP 403: AccessDenied"));
    assert_eq!(flaky.received(), vec![("DELETE".to_string(), Vec::new())]);
}
