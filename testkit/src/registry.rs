//! A small OCI registry client for the registry tests: token requests, blob uploads and
//! manifests over plain HTTP, with the set-up steps (a trainer, an API token) they need.

use crate::gql::Gql;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const CONFIG: &str = "application/vnd.docker.container.image.v1+json";

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A Docker schema 2 manifest over a config and layers (with their real digests and sizes).
pub fn image_manifest(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": CONFIG, "size": config.len(), "digest": digest(config)},
        "layers": layers.iter().map(|layer| json!({
            "mediaType": LAYER_GZIP, "size": layer.len(), "digest": digest(layer),
        })).collect::<Vec<_>>(),
    }))
    .unwrap()
}

#[derive(Clone)]
pub struct Registry {
    pub http: reqwest::Client,
    pub base: String,
}

impl Registry {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// `GET /v2/token` with Basic credentials and the given scopes.
    pub async fn token(&self, user: &str, password: &str, scopes: &[&str]) -> Response {
        let query: Vec<(&str, &str)> = std::iter::once(("service", "keynet"))
            .chain(scopes.iter().map(|s| ("scope", *s)))
            .collect();
        self.http
            .get(format!("{}/v2/token", self.base))
            .basic_auth(user, Some(password))
            .query(&query)
            .send()
            .await
            .unwrap()
    }

    /// A registry token for `repository:<repo>:<actions>`.
    pub async fn bearer(&self, user: &str, password: &str, repo: &str, actions: &str) -> String {
        let response = self
            .token(user, password, &[&format!("repository:{repo}:{actions}")])
            .await;
        assert_eq!(response.status(), 200, "token for {repo}");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    pub async fn send(
        &self,
        method: Method,
        bearer: Option<&str>,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.http.request(method, url).body(body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// A request with a bearer and neither headers nor body.
    pub async fn call(&self, method: Method, bearer: &str, path: &str) -> Response {
        self.send(method, Some(bearer), path, &[], vec![]).await
    }

    /// Uploads `bytes` in one request (`POST …/blobs/uploads/?digest=`); the response.
    pub async fn push_blob(&self, bearer: &str, repo: &str, bytes: &[u8]) -> Response {
        self.send(
            Method::POST,
            Some(bearer),
            &format!("/v2/{repo}/blobs/uploads/?digest={}", digest(bytes)),
            &[("content-type", "application/octet-stream")],
            bytes.to_vec(),
        )
        .await
    }

    pub async fn put_manifest(
        &self,
        bearer: &str,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Response {
        self.send(
            Method::PUT,
            Some(bearer),
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", media_type)],
            body.to_vec(),
        )
        .await
    }
}

/// The `errors[0].code` of a registry error response, with its status.
pub async fn error_code(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["errors"][0]["code"].as_str().unwrap_or("").to_string(),
    )
}

impl Gql {
    /// A trainer of `org_id`; its slug.
    pub async fn create_trainer(&self, token: &str, org_id: &str, name: &str) -> String {
        let data = self
            .data(
                Some(token),
                "mutation($input: CreateTrainerInput!) { createTrainer(input: $input) { id slug } }",
                json!({"input": {"orgId": org_id, "name": name, "taskTypes": ["CLASSIFICATION"]}}),
            )
            .await;
        data["createTrainer"]["slug"].as_str().unwrap().to_string()
    }

    /// An API token of the session's user for `org_id` with `scopes`; its secret.
    pub async fn api_token(&self, token: &str, org_id: &str, scopes: &[&str]) -> String {
        let data = self
            .data(
                Some(token),
                "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }",
                json!({"input": {"name": "registry", "orgId": org_id, "scopes": scopes, "expiresAt": null}}),
            )
            .await;
        data["createApiToken"]["secret"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// An uncompressed layer holding `files` (path, content, mode).
pub fn tar_layer(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(0);
        tar.append_data(&mut header, path, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

/// A linux/amd64 image config with an entrypoint and `labels`.
pub fn image_config(labels: &[(&str, &str)], layers: &[&[u8]]) -> Vec<u8> {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
        .collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/train"], "User": "1000", "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| digest(l)).collect::<Vec<_>>()},
    }))
    .unwrap()
}

impl Registry {
    /// Pushes the config and uncompressed `layers`, then an OCI manifest over them to
    /// `reference`; the manifest's response.
    pub async fn push_image(
        &self,
        bearer: &str,
        repo: &str,
        reference: &str,
        config: &[u8],
        layers: &[&[u8]],
    ) -> Response {
        for blob in std::iter::once(config).chain(layers.iter().copied()) {
            let pushed = self.push_blob(bearer, repo, blob).await;
            assert_eq!(pushed.status(), 201, "blob upload to {repo}");
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": config.len(), "digest": digest(config)},
            "layers": layers.iter().map(|layer| json!({
                "mediaType": OCI_LAYER_TAR, "size": layer.len(), "digest": digest(layer),
            })).collect::<Vec<_>>(),
        }))
        .unwrap();
        self.put_manifest(bearer, repo, reference, OCI_MANIFEST, &manifest)
            .await
    }
}

/// A version announced with `requestTrainerUpload`, and what pushing it needs.
pub struct UploadTicket {
    pub version_id: String,
    pub key: String,
    /// `<org>/<trainer>`, as the registry's paths name it.
    pub repo: String,
}

impl Gql {
    /// `requestTrainerUpload` of the next version of `model_name` in `project_id`, which
    /// declares `hyper_parameters` (a JSON list of `HyperParameterInput`).
    pub async fn request_trainer_upload(
        &self,
        token: &str,
        project_id: &str,
        model_name: &str,
        hyper_parameters: Value,
    ) -> UploadTicket {
        let upload = self
            .data(
                Some(token),
                "mutation($input: RequestTrainerUploadInput!) { requestTrainerUpload(input: $input) {
                    id uploadKey repository
                } }",
                json!({"input": {"projectId": project_id, "modelName": model_name, "hyperParameters": hyper_parameters}}),
            )
            .await["requestTrainerUpload"]
            .clone();
        let text = |field: &str| upload[field].as_str().unwrap().to_string();
        let repository = text("repository");
        let (_host, repo) = repository.split_once('/').unwrap();
        UploadTicket {
            version_id: text("id"),
            key: text("uploadKey"),
            repo: repo.to_string(),
        }
    }

    /// Polls trainer version `id` until its checks have stopped moving (bounded): the
    /// `trainerVersion { status <fields> }` it read last.
    pub async fn settled_version(&self, token: &str, id: &str, fields: &str) -> Value {
        let query = format!("query($id: ID!) {{ trainerVersion(id: $id) {{ status {fields} }} }}");
        for _ in 0..600 {
            let version =
                self.data(Some(token), &query, json!({"id": id})).await["trainerVersion"].clone();
            if !matches!(
                version["status"].as_str(),
                Some("VALIDATING" | "SCANNING" | "AWAITING_UPLOAD")
            ) {
                return version;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the checks of trainer version {id} did not finish");
    }
}

impl Registry {
    /// Pushes an image with the ticket's upload key to the one tag it allows; the
    /// manifest's response.
    pub async fn push_upload(
        &self,
        ticket: &UploadTicket,
        config: &[u8],
        layers: &[&[u8]],
    ) -> Response {
        let bearer = self
            .bearer("upload", &ticket.key, &ticket.repo, "push,pull")
            .await;
        self.push_image(&bearer, &ticket.repo, &ticket.key, config, layers)
            .await
    }
}

/// An OCI image layout tar (`oci-layout`, `index.json`, `blobs/sha256/…`) of an image with
/// `config` and uncompressed `layers`, as `docker save` of Docker 25+ or skopeo write it.
pub fn oci_layout_archive(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": config.len(), "digest": digest(config)},
        "layers": layers.iter().map(|layer| json!({
            "mediaType": OCI_LAYER_TAR, "size": layer.len(), "digest": digest(layer),
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "size": manifest.len(), "digest": digest(&manifest)}],
    }))
    .unwrap();
    let blob_path = |bytes: &[u8]| format!("blobs/sha256/{}", &digest(bytes)["sha256:".len()..]);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), index),
        (blob_path(&manifest), manifest.clone()),
        (blob_path(config), config.to_vec()),
    ];
    for layer in layers {
        files.push((blob_path(layer), layer.to_vec()));
    }
    let entries: Vec<(&str, &[u8], u32)> = files
        .iter()
        .map(|(path, bytes)| (path.as_str(), bytes.as_slice(), 0o644))
        .collect();
    tar_layer(&entries)
}

/// A one-file tar whose entry name is `path` byte for byte, `..` and all (the tar crate's
/// builder refuses such names, which is what a hostile archive has).
pub fn tar_with_raw_path(path: &str, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut tar = tar::Builder::new(Vec::new());
    tar.append(&header, data).unwrap();
    tar.into_inner().unwrap()
}

/// The line `name` of a `trainerVersion { checks { name … } }` answer.
pub fn check_line<'a>(version: &'a Value, name: &str) -> &'a Value {
    version["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {version}"))
}
