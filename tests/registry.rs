//! The OCI registry (`/v2/`) over HTTP: Docker token auth, blob uploads (monolithic,
//! chunked, resumed), manifests and tags, every bad input of the distribution spec, and
//! tenancy (another organization's token reaches nothing). Real `docker push`/`pull` is in
//! `registry_docker.rs`.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

use keynet_testkit::registry::{
    DOCKER_MANIFEST, OCI_INDEX, Registry, digest, error_code, image_manifest,
};
use keynet_testkit::{Account, Backend, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

struct Repo {
    app: TestApp,
    registry: Registry,
    owner: Account,
    org_id: String,
    /// `<org>/<trainer>`.
    name: String,
    /// The owner's API token with the TRAINER_PUSH scope.
    push_token: String,
}

async fn repo(backend: Backend) -> Repo {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let slug = app
        .create_trainer(&owner.token, &org_id, "Leaf Classifier")
        .await;
    let push_token = app
        .api_token(&owner.token, &org_id, &["TRAINER_PUSH"])
        .await;
    let registry = Registry::new(app.url());
    Repo {
        registry,
        name: format!("acme/{slug}"),
        app,
        owner,
        org_id,
        push_token,
    }
}

impl Repo {
    async fn bearer(&self, actions: &str) -> String {
        self.registry
            .bearer(&self.owner.email, &self.push_token, &self.name, actions)
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_follows_the_docker_token_flow() {
    let r = repo(Backend::Sqlite).await;
    let challenge = r
        .registry
        .send(Method::GET, None, "/v2/", &[], vec![])
        .await;
    assert_eq!(challenge.status(), 401);
    let header = challenge.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        header.starts_with(&format!("Bearer realm=\"{}/v2/token\"", r.app.url()))
            && header.contains("service=\"keynet\""),
        "{header}"
    );
    assert_eq!(error_code(challenge).await, (401, "UNAUTHORIZED".into()));

    // Wrong password, another user's email, no credentials: refused alike.
    for (user, password) in [
        (r.owner.email.as_str(), "knt_wrong"),
        ("someone@example.com", r.push_token.as_str()),
    ] {
        let refused = r.registry.token(user, password, &[]).await;
        assert_eq!(error_code(refused).await, (401, "UNAUTHORIZED".into()));
    }
    let anonymous = r
        .registry
        .send(Method::GET, None, "/v2/token?service=keynet", &[], vec![])
        .await;
    assert_eq!(anonymous.status(), 401);

    let issued: Value = r
        .registry
        .token(&r.owner.email, &r.push_token, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued["expires_in"], json!(300));
    assert_eq!(issued["token"], issued["access_token"]);
    let ok = r
        .registry
        .send(Method::GET, issued["token"].as_str(), "/v2/", &[], vec![])
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );

    // A session token is not a registry token.
    let session = r.registry.call(Method::GET, &r.owner.token, "/v2/").await;
    assert_eq!(session.status(), 401);
    r.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_upload_whole_in_chunks_and_resumed() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let r = repo(backend).await;
        let bearer = r.bearer("pull,push").await;
        let blobs = format!("/v2/{}/blobs", r.name);

        // Monolithic.
        let whole = b"a whole layer".to_vec();
        let created = r.registry.push_blob(&bearer, &r.name, &whole).await;
        assert_eq!(created.status(), 201);
        assert_eq!(
            created.headers()["docker-content-digest"],
            digest(&whole).as_str()
        );
        assert_eq!(
            created.headers()["location"],
            format!("{blobs}/{}", digest(&whole)).as_str()
        );
        let head = r
            .registry
            .call(
                Method::HEAD,
                &bearer,
                &format!("{blobs}/{}", digest(&whole)),
            )
            .await;
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["content-length"],
            whole.len().to_string().as_str()
        );
        let got = r
            .registry
            .call(Method::GET, &bearer, &format!("{blobs}/{}", digest(&whole)))
            .await;
        assert_eq!(got.bytes().await.unwrap().as_ref(), whole.as_slice());

        // Chunked, with a wrong offset refused and the upload resumed where it stood.
        let blob: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (first, rest) = blob.split_at(100_000);
        let started = r
            .registry
            .call(Method::POST, &bearer, &format!("{blobs}/uploads/"))
            .await;
        assert_eq!(started.status(), 202);
        let location = started.headers()["location"].to_str().unwrap().to_string();
        assert!(started.headers().contains_key("docker-upload-uuid"));
        let chunk = r
            .registry
            .send(
                Method::PATCH,
                Some(&bearer),
                &location,
                &[("content-range", "0-99999")],
                first.to_vec(),
            )
            .await;
        assert_eq!(chunk.status(), 202);
        assert_eq!(chunk.headers()["range"], "0-99999");
        let wrong = r
            .registry
            .send(
                Method::PATCH,
                Some(&bearer),
                &location,
                &[("content-range", "50000-249999")],
                rest.to_vec(),
            )
            .await;
        assert_eq!(error_code(wrong).await, (416, "BLOB_UPLOAD_INVALID".into()));
        let status = r.registry.call(Method::GET, &bearer, &location).await;
        assert_eq!(status.status(), 204);
        assert_eq!(
            status.headers()["range"],
            "0-99999",
            "the bad chunk left nothing"
        );
        let (second, last) = rest.split_at(150_000);
        let chunk = r
            .registry
            .send(
                Method::PATCH,
                Some(&bearer),
                &location,
                &[("content-range", "100000-249999")],
                second.to_vec(),
            )
            .await;
        assert_eq!(chunk.status(), 202);
        // The last chunk comes with the PUT.
        let finished = r
            .registry
            .send(
                Method::PUT,
                Some(&bearer),
                &format!("{location}?digest={}", digest(&blob)),
                &[],
                last.to_vec(),
            )
            .await;
        assert_eq!(finished.status(), 201);
        let got = r
            .registry
            .call(Method::GET, &bearer, &format!("{blobs}/{}", digest(&blob)))
            .await;
        assert_eq!(got.bytes().await.unwrap().as_ref(), blob.as_slice());
        let gone = r.registry.call(Method::GET, &bearer, &location).await;
        assert_eq!(error_code(gone).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));

        // The same bytes pushed again are accepted (and stored once).
        let again = r.registry.push_blob(&bearer, &r.name, &whole).await;
        assert_eq!(again.status(), 201);
        r.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_blob_requests_are_refused_and_keep_nothing() {
    let r = repo(Backend::Sqlite).await;
    let bearer = r.bearer("pull,push").await;
    let blobs = format!("/v2/{}/blobs", r.name);

    // A digest that does not match the bytes: DIGEST_INVALID, and the blob is not there.
    let claimed = digest(b"something else");
    let mismatch = r
        .registry
        .send(
            Method::POST,
            Some(&bearer),
            &format!("{blobs}/uploads/?digest={claimed}"),
            &[],
            b"these bytes".to_vec(),
        )
        .await;
    assert_eq!(error_code(mismatch).await, (400, "DIGEST_INVALID".into()));
    let absent = r
        .registry
        .call(Method::HEAD, &bearer, &format!("{blobs}/{claimed}"))
        .await;
    assert_eq!(absent.status(), 404);
    let absent = r
        .registry
        .call(
            Method::GET,
            &bearer,
            &format!("{blobs}/{}", digest(b"these bytes")),
        )
        .await;
    assert_eq!(error_code(absent).await, (404, "BLOB_UNKNOWN".into()));

    // Malformed digests.
    for bad in ["sha256:abc", "md5:0123", "nothex"] {
        let refused = r
            .registry
            .call(Method::GET, &bearer, &format!("{blobs}/{bad}"))
            .await;
        assert_eq!(
            error_code(refused).await,
            (400, "DIGEST_INVALID".into()),
            "{bad}"
        );
    }
    // A short upload: the client said the blob is longer than what it sent.
    let started = r
        .registry
        .call(Method::POST, &bearer, &format!("{blobs}/uploads/"))
        .await;
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let full = vec![7u8; 1000];
    r.registry
        .send(
            Method::PATCH,
            Some(&bearer),
            &location,
            &[],
            full[..600].to_vec(),
        )
        .await;
    let short = r
        .registry
        .call(
            Method::PUT,
            &bearer,
            &format!("{location}?digest={}", digest(&full)),
        )
        .await;
    assert_eq!(error_code(short).await, (400, "DIGEST_INVALID".into()));
    // A finish without a digest, an unknown upload, a malformed Content-Range.
    let started = r
        .registry
        .call(Method::POST, &bearer, &format!("{blobs}/uploads/"))
        .await;
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let no_digest = r.registry.call(Method::PUT, &bearer, &location).await;
    assert_eq!(error_code(no_digest).await, (400, "DIGEST_INVALID".into()));
    let bad_range = r
        .registry
        .send(
            Method::PATCH,
            Some(&bearer),
            &location,
            &[("content-range", "ten-20")],
            vec![1],
        )
        .await;
    assert_eq!(
        error_code(bad_range).await,
        (416, "BLOB_UPLOAD_INVALID".into())
    );
    for unknown in ["0190f0a0-0000-7000-8000-000000000000", "not-an-id"] {
        let refused = r
            .registry
            .call(Method::GET, &bearer, &format!("{blobs}/uploads/{unknown}"))
            .await;
        assert_eq!(
            error_code(refused).await,
            (404, "BLOB_UPLOAD_UNKNOWN".into())
        );
    }
    let cancelled = r.registry.call(Method::DELETE, &bearer, &location).await;
    assert_eq!(cancelled.status(), 204);
    // Names that are not <org>/<trainer>, or no such trainer.
    let invalid = r
        .registry
        .call(Method::GET, &bearer, "/v2/acme/a/b/tags/list")
        .await;
    assert_eq!(error_code(invalid).await.1, "NAME_INVALID");
    r.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_are_checked_stored_tagged_and_deleted_by_digest() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let r = repo(backend).await;
        let bearer = r.bearer("pull,push").await;
        let config = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/train"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let layer = b"\x1f\x8b layer bytes".as_slice();
        let manifest = image_manifest(config, &[layer]);

        // Blobs not pushed yet.
        let early = r
            .registry
            .put_manifest(&bearer, &r.name, "v1", DOCKER_MANIFEST, &manifest)
            .await;
        assert_eq!(
            error_code(early).await,
            (400, "MANIFEST_BLOB_UNKNOWN".into())
        );
        for blob in [config.as_slice(), layer] {
            assert_eq!(
                r.registry.push_blob(&bearer, &r.name, blob).await.status(),
                201
            );
        }

        // Unknown manifest media type, a layer of an unknown type, a wrong size, a digest
        // reference that is not the body's, schema version 1, not JSON, too large.
        let unknown_type = r
            .registry
            .put_manifest(&bearer, &r.name, "v1", "application/x-whatever", &manifest)
            .await;
        assert_eq!(
            error_code(unknown_type).await,
            (400, "MANIFEST_INVALID".into())
        );
        let mut odd: Value = serde_json::from_slice(&manifest).unwrap();
        odd["layers"][0]["mediaType"] = json!("application/x-executable");
        let odd_layer = r
            .registry
            .put_manifest(
                &bearer,
                &r.name,
                "v1",
                DOCKER_MANIFEST,
                &serde_json::to_vec(&odd).unwrap(),
            )
            .await;
        assert_eq!(
            error_code(odd_layer).await,
            (400, "MANIFEST_INVALID".into())
        );
        let mut wrong_size: Value = serde_json::from_slice(&manifest).unwrap();
        wrong_size["layers"][0]["size"] = json!(1);
        let wrong_size = r
            .registry
            .put_manifest(
                &bearer,
                &r.name,
                "v1",
                DOCKER_MANIFEST,
                &serde_json::to_vec(&wrong_size).unwrap(),
            )
            .await;
        assert_eq!(
            error_code(wrong_size).await,
            (400, "MANIFEST_INVALID".into())
        );
        let wrong_digest = r
            .registry
            .put_manifest(
                &bearer,
                &r.name,
                &digest(b"other"),
                DOCKER_MANIFEST,
                &manifest,
            )
            .await;
        assert_eq!(
            error_code(wrong_digest).await,
            (400, "DIGEST_INVALID".into())
        );
        let mut v1: Value = serde_json::from_slice(&manifest).unwrap();
        v1["schemaVersion"] = json!(1);
        let v1 = r
            .registry
            .put_manifest(
                &bearer,
                &r.name,
                "v1",
                DOCKER_MANIFEST,
                &serde_json::to_vec(&v1).unwrap(),
            )
            .await;
        assert_eq!(error_code(v1).await, (400, "MANIFEST_INVALID".into()));
        let garbage = r
            .registry
            .put_manifest(&bearer, &r.name, "v1", DOCKER_MANIFEST, b"{not json")
            .await;
        assert_eq!(error_code(garbage).await, (400, "MANIFEST_INVALID".into()));
        let huge = vec![b' '; (4 << 20) + 1];
        let too_large = r
            .registry
            .put_manifest(&bearer, &r.name, "v1", DOCKER_MANIFEST, &huge)
            .await;
        assert_eq!(too_large.status(), 413);
        let bad_tag = r
            .registry
            .put_manifest(&bearer, &r.name, ".hidden", DOCKER_MANIFEST, &manifest)
            .await;
        assert_eq!(error_code(bad_tag).await, (400, "MANIFEST_INVALID".into()));
        let missing = r
            .registry
            .call(
                Method::GET,
                &bearer,
                &format!("/v2/{}/manifests/v1", r.name),
            )
            .await;
        assert_eq!(
            error_code(missing).await,
            (404, "MANIFEST_UNKNOWN".into()),
            "nothing was stored"
        );

        // The good one, by tag; read back byte for byte by tag and by digest.
        let pushed = r
            .registry
            .put_manifest(&bearer, &r.name, "v1", DOCKER_MANIFEST, &manifest)
            .await;
        assert_eq!(pushed.status(), 201);
        let manifest_digest = digest(&manifest);
        assert_eq!(
            pushed.headers()["docker-content-digest"],
            manifest_digest.as_str()
        );
        for reference in ["v1", manifest_digest.as_str()] {
            let path = format!("/v2/{}/manifests/{reference}", r.name);
            let got = r.registry.call(Method::GET, &bearer, &path).await;
            assert_eq!(got.status(), 200);
            assert_eq!(got.headers()["content-type"], DOCKER_MANIFEST);
            assert_eq!(
                got.headers()["docker-content-digest"],
                manifest_digest.as_str()
            );
            assert_eq!(got.bytes().await.unwrap().as_ref(), manifest.as_slice());
            let head = r.registry.call(Method::HEAD, &bearer, &path).await;
            assert_eq!(head.status(), 200);
            assert_eq!(
                head.headers()["content-length"],
                manifest.len().to_string().as_str()
            );
        }

        // An index over it; one over a manifest the repository lacks is refused.
        let index = |child: &str, size: usize| {
            serde_json::to_vec(&json!({
                "schemaVersion": 2, "mediaType": OCI_INDEX,
                "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": child, "size": size,
                    "platform": {"architecture": "amd64", "os": "linux"}}],
            }))
            .unwrap()
        };
        let orphan = r
            .registry
            .put_manifest(
                &bearer,
                &r.name,
                "multi",
                OCI_INDEX,
                &index(&digest(b"x"), 1),
            )
            .await;
        assert_eq!(
            error_code(orphan).await,
            (400, "MANIFEST_BLOB_UNKNOWN".into())
        );
        let indexed = r
            .registry
            .put_manifest(
                &bearer,
                &r.name,
                "multi",
                OCI_INDEX,
                &index(&manifest_digest, manifest.len()),
            )
            .await;
        assert_eq!(indexed.status(), 201);

        // Tags, one per page, with the Link header to the next.
        let page = r
            .registry
            .call(
                Method::GET,
                &bearer,
                &format!("/v2/{}/tags/list?n=1", r.name),
            )
            .await;
        let link = page.headers()["link"].to_str().unwrap().to_string();
        assert!(
            link.contains("last=multi") && link.contains("rel=\"next\""),
            "{link}"
        );
        let body: Value = page.json().await.unwrap();
        assert_eq!(body, json!({"name": r.name, "tags": ["multi"]}));
        let rest: Value = r
            .registry
            .call(
                Method::GET,
                &bearer,
                &format!("/v2/{}/tags/list?n=1&last=multi", r.name),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(rest["tags"], json!(["v1"]));

        // Deleting needs the delete right (admins), and a digest.
        let denied = r
            .registry
            .call(
                Method::DELETE,
                &bearer,
                &format!("/v2/{}/manifests/{manifest_digest}", r.name),
            )
            .await;
        assert_eq!(error_code(denied).await, (403, "DENIED".into()));
        let admin_token = r.app.api_token(&r.owner.token, &r.org_id, &["ADMIN"]).await;
        let admin = r
            .registry
            .bearer(&r.owner.email, &admin_token, &r.name, "pull,delete")
            .await;
        let by_tag = r
            .registry
            .call(
                Method::DELETE,
                &admin,
                &format!("/v2/{}/manifests/v1", r.name),
            )
            .await;
        assert_eq!(error_code(by_tag).await, (405, "UNSUPPORTED".into()));
        let deleted = r
            .registry
            .call(
                Method::DELETE,
                &admin,
                &format!("/v2/{}/manifests/{manifest_digest}", r.name),
            )
            .await;
        assert_eq!(deleted.status(), 202);
        let gone = r
            .registry
            .call(Method::GET, &admin, &format!("/v2/{}/manifests/v1", r.name))
            .await;
        assert_eq!(error_code(gone).await, (404, "MANIFEST_UNKNOWN".into()));
        let unlinked = r
            .registry
            .call(
                Method::DELETE,
                &admin,
                &format!("/v2/{}/blobs/{}", r.name, digest(layer)),
            )
            .await;
        assert_eq!(unlinked.status(), 202);
        let blob_gone = r
            .registry
            .call(
                Method::HEAD,
                &admin,
                &format!("/v2/{}/blobs/{}", r.name, digest(layer)),
            )
            .await;
        assert_eq!(blob_gone.status(), 404);
        r.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_follow_roles_tokens_and_organizations() {
    let r = repo(Backend::Sqlite).await;
    let bearer = r.bearer("pull,push").await;
    let layer = b"private layer of acme".to_vec();
    assert_eq!(
        r.registry
            .push_blob(&bearer, &r.name, &layer)
            .await
            .status(),
        201
    );

    // Another organization's member, with a full token of their own org.
    let rival = r.app.signup("rival@example.com").await;
    let rival_org = r.app.create_org(&rival, "rival").await;
    let rival_slug = r
        .app
        .create_trainer(&rival.token, &rival_org, "Copycat")
        .await;
    let rival_token = r.app.api_token(&rival.token, &rival_org, &["ADMIN"]).await;
    let issued: Value = r
        .registry
        .token(
            &rival.email,
            &rival_token,
            &[&format!("repository:{}:pull,push,delete", r.name)],
        )
        .await
        .json()
        .await
        .unwrap();
    let rival_bearer = issued["token"].as_str().unwrap();
    let blob_path = format!("/v2/{}/blobs/{}", r.name, digest(&layer));
    for (method, path) in [
        (Method::GET, blob_path.clone()),
        (Method::HEAD, blob_path.clone()),
        (Method::POST, format!("/v2/{}/blobs/uploads/", r.name)),
        (Method::GET, format!("/v2/{}/tags/list", r.name)),
        (Method::DELETE, blob_path.clone()),
    ] {
        let refused = r
            .registry
            .send(method.clone(), Some(rival_bearer), &path, &[], vec![])
            .await;
        assert_eq!(refused.status(), 403, "{method} {path}");
    }
    // The same bytes in the rival's own repository: pushing them does not reveal acme's
    // copy (HEAD is 404 until the rival uploads them), and the rival's push stays theirs.
    let rival_repo = format!("rival/{rival_slug}");
    let own = r
        .registry
        .bearer(&rival.email, &rival_token, &rival_repo, "pull,push")
        .await;
    let probe = r
        .registry
        .call(
            Method::HEAD,
            &own,
            &format!("/v2/{rival_repo}/blobs/{}", digest(&layer)),
        )
        .await;
    assert_eq!(
        probe.status(),
        404,
        "a digest of another org is unknown here"
    );
    // A mount from acme's repository is not allowed either: the client uploads instead.
    let mount = r
        .registry
        .call(
            Method::POST,
            &own,
            &format!(
                "/v2/{rival_repo}/blobs/uploads/?mount={}&from={}",
                digest(&layer),
                r.name
            ),
        )
        .await;
    assert_eq!(mount.status(), 202, "no mount across organizations");

    // A viewer of acme pulls but does not push; a READ token of the owner neither pushes.
    let viewer = r
        .app
        .join(&r.owner, &r.org_id, "viewer@example.com", "VIEWER")
        .await;
    let viewer_token = r.app.api_token(&viewer.token, &r.org_id, &["READ"]).await;
    let read_only = r
        .registry
        .bearer(&viewer.email, &viewer_token, &r.name, "pull,push")
        .await;
    let pulled = r.registry.call(Method::GET, &read_only, &blob_path).await;
    assert_eq!(pulled.status(), 200);
    let pushed = r
        .registry
        .push_blob(&read_only, &r.name, b"viewer layer")
        .await;
    assert_eq!(error_code(pushed).await, (403, "DENIED".into()));
    let owner_read = r.app.api_token(&r.owner.token, &r.org_id, &["READ"]).await;
    let owner_read = r
        .registry
        .bearer(&r.owner.email, &owner_read, &r.name, "pull,push")
        .await;
    let pushed = r
        .registry
        .push_blob(&owner_read, &r.name, b"read token layer")
        .await;
    assert_eq!(error_code(pushed).await, (403, "DENIED".into()));

    // A token for one repository does not open another of the same org.
    let other_slug = r
        .app
        .create_trainer(&r.owner.token, &r.org_id, "Other")
        .await;
    let other = r
        .registry
        .call(
            Method::GET,
            &bearer,
            &format!("/v2/acme/{other_slug}/tags/list"),
        )
        .await;
    assert_eq!(other.status(), 403);
    // A repository that does not exist grants nothing.
    let ghost = r
        .registry
        .bearer(&r.owner.email, &r.push_token, "acme/ghost", "pull,push")
        .await;
    let refused = r
        .registry
        .call(Method::GET, &ghost, "/v2/acme/ghost/tags/list")
        .await;
    assert_eq!(refused.status(), 403);
    r.app.stop().await;
}
