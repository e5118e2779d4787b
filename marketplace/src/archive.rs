//! Pushing without a registry client: `POST /api/v1/trainer-uploads/{key}/archive` takes
//! the tar `docker save` writes (its `manifest.json`), or an OCI image layout (`index.json`,
//! `blobs/sha256/…`), and pushes what it holds through the registry exactly as `docker
//! push` would: each blob uploaded and verified, then the manifest tagged with the key.
//!
//! The archive is spooled to a private temporary folder, read once to a file per entry it
//! needs (paths checked; symbolic links, which `docker save` uses for repeated layers,
//! resolved inside the archive only), and removed when the push ends.

use crate::Marketplace;
use crate::error::{Error, Result};
use crate::registry::{
    BLOB_READ_CHUNK, Digest, PushedManifest, Reference, RegistryCode, RepositoryAccess,
};
use futures_util::TryStreamExt as _;
use keynet_domain::Error as DomainError;
use keynet_domain::storage::ByteStream;
use oci_spec::image::{ImageIndex, ImageManifest};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use tokio::io::AsyncWriteExt as _;
use tokio_util::io::ReaderStream;

const FIELD: &str = "archive";
/// `docker save` archives hold a few files per layer.
const MAX_ENTRIES: usize = 10_000;
const MAX_SMALL_FILE: u64 = 4 << 20;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// One entry of `docker save`'s `manifest.json`.
#[derive(Deserialize)]
struct SavedImage {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// The archive's files, each extracted once, with its digest and size.
struct Extracted {
    files: HashMap<String, ExtractedFile>,
    links: HashMap<String, String>,
}

#[derive(Clone)]
struct ExtractedFile {
    path: PathBuf,
    digest: String,
    size: u64,
}

impl Extracted {
    /// The file at `name`, following the archive's own links (a bounded number of hops).
    fn get(&self, name: &str) -> Result<&ExtractedFile> {
        let mut name = normalize(name)
            .ok_or_else(|| bad(format!("{name:?} is not a path inside the archive")))?;
        for _ in 0..8 {
            if let Some(file) = self.files.get(&name) {
                return Ok(file);
            }
            match self.links.get(&name) {
                Some(target) => name = target.clone(),
                None => break,
            }
        }
        Err(bad(format!("the archive has no file {name}")))
    }

    fn small(&self, name: &str) -> Result<Vec<u8>> {
        let file = self.get(name)?;
        if file.size > MAX_SMALL_FILE {
            return Err(bad(format!("{name} is too large ({} bytes)", file.size)));
        }
        std::fs::read(&file.path).map_err(Error::internal)
    }
}

fn bad(message: impl Into<String>) -> Error {
    DomainError::invalid(FIELD, message).into()
}

/// `a/./b` → `a/b`; `None` for absolute paths and `..`.
fn normalize(name: &str) -> Option<String> {
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_string()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A link's target as an archive path: relative targets are resolved against the link's
/// folder; a target leaving the archive is refused.
fn link_target(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let folder = Path::new(link)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Reads the tar at `archive` into `into`: every regular file hashed on the way.
fn extract(archive: &Path, into: &Path) -> Result<Extracted> {
    let file = std::fs::File::open(archive).map_err(Error::internal)?;
    let mut tar = tar::Archive::new(file);
    let mut extracted = Extracted {
        files: HashMap::new(),
        links: HashMap::new(),
    };
    let entries = tar
        .entries()
        .map_err(|e| bad(format!("not a tar archive: {e}")))?;
    for (index, entry) in entries.enumerate() {
        if index >= MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let mut entry = entry.map_err(|e| bad(format!("a broken tar entry: {e}")))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(name) = normalize(&raw) else {
            return Err(bad(format!("the entry {raw:?} leaves the archive")));
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .ok()
                .flatten()
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let resolved = if kind.is_symlink() {
                link_target(&name, &target)
            } else {
                normalize(&target)
            };
            let Some(resolved) = resolved else {
                return Err(bad(format!(
                    "the link {name} → {target} leaves the archive"
                )));
            };
            extracted.links.insert(name, resolved);
            continue;
        }
        if !kind.is_file() {
            return Err(bad(format!(
                "{name} is neither a file, a folder nor a link"
            )));
        }
        let path = into.join(format!("{index}"));
        let mut out = std::fs::File::create(&path).map_err(Error::internal)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 1 << 16];
        let mut size = 0u64;
        loop {
            let read = entry
                .read(&mut buffer)
                .map_err(|e| bad(format!("{name} is truncated: {e}")))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            out.write_all(&buffer[..read]).map_err(Error::internal)?;
            size += read as u64;
        }
        let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        extracted
            .files
            .insert(name, ExtractedFile { path, digest, size });
    }
    Ok(extracted)
}

/// What to push: each blob (by archive file) and the manifest with its media type.
struct Plan {
    blobs: Vec<ExtractedFile>,
    manifest: Vec<u8>,
    media_type: String,
}

/// Reads an OCI layout: `index.json` names the manifest (an image, or an index whose
/// linux image is taken), whose blobs sit under `blobs/<alg>/<hex>`.
fn oci_plan(extracted: &Extracted) -> Result<Plan> {
    let blob_name = |digest: &str| digest.replacen(':', "/", 1);
    let index = ImageIndex::from_reader(extracted.small("index.json")?.as_slice())
        .map_err(|e| bad(format!("index.json does not parse: {e}")))?;
    let mut descriptor = index
        .manifests()
        .first()
        .cloned()
        .ok_or_else(|| bad("index.json names no image"))?;
    // An index of platforms: take its first linux/amd64 or linux/arm64 image.
    if descriptor.media_type().to_string().contains("index") {
        let nested = ImageIndex::from_reader(
            extracted
                .small(&format!(
                    "blobs/{}",
                    blob_name(descriptor.digest().as_ref())
                ))?
                .as_slice(),
        )
        .map_err(|e| bad(format!("the nested index does not parse: {e}")))?;
        descriptor = nested
            .manifests()
            .iter()
            .find(|m| {
                m.platform().as_ref().is_some_and(|p| {
                    matches!(p.architecture().to_string().as_str(), "amd64" | "arm64")
                })
            })
            .cloned()
            .ok_or_else(|| bad("the index has no linux/amd64 or linux/arm64 image"))?;
    }
    let manifest_name = format!("blobs/{}", blob_name(descriptor.digest().as_ref()));
    let manifest = extracted.small(&manifest_name)?;
    let parsed = ImageManifest::from_reader(manifest.as_slice())
        .map_err(|e| bad(format!("{manifest_name} does not parse: {e}")))?;
    let mut blobs = vec![
        extracted
            .get(&format!(
                "blobs/{}",
                blob_name(parsed.config().digest().as_ref())
            ))?
            .clone(),
    ];
    for layer in parsed.layers() {
        blobs.push(
            extracted
                .get(&format!("blobs/{}", blob_name(layer.digest().as_ref())))?
                .clone(),
        );
    }
    Ok(Plan {
        blobs,
        manifest,
        media_type: descriptor.media_type().to_string(),
    })
}

/// Reads `docker save`'s `manifest.json` and writes the OCI manifest `docker push` would
/// have sent: the config, and each layer as stored (a tar, or gzip when it is one).
fn saved_plan(extracted: &Extracted) -> Result<Plan> {
    let saved: Vec<SavedImage> = serde_json::from_slice(&extracted.small("manifest.json")?)
        .map_err(|e| bad(format!("manifest.json does not parse: {e}")))?;
    let [image] = saved.as_slice() else {
        return Err(bad(format!(
            "the archive holds {} images; push one at a time",
            saved.len()
        )));
    };
    let config = extracted.get(&image.config)?.clone();
    let mut blobs = vec![config.clone()];
    let mut layers = Vec::new();
    for name in &image.layers {
        let layer = extracted.get(name)?.clone();
        let mut magic = [0u8; 2];
        let gzip = std::fs::File::open(&layer.path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && magic == [0x1f, 0x8b];
        let media_type = if gzip {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        } else {
            "application/vnd.oci.image.layer.v1.tar"
        };
        layers.push(json!({"mediaType": media_type, "digest": layer.digest, "size": layer.size}));
        blobs.push(layer);
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": config.size},
        "layers": layers,
    });
    Ok(Plan {
        blobs,
        manifest: serde_json::to_vec(&manifest).map_err(Error::internal)?,
        media_type: OCI_MANIFEST.into(),
    })
}

impl Marketplace {
    /// Pushes the image in `body` (a `docker save` or OCI layout tar) with the upload key
    /// `secret`, to the key's tag: the push becomes the key's version.
    pub async fn push_archive(&self, secret: &str, body: ByteStream<'_>) -> Result<PushedManifest> {
        let (access, tag) = self.upload_key_access(secret).await?;
        let folder = tempfile::Builder::new()
            .prefix("trainer-archive-")
            .tempdir_in(&self.domain.config().work_dir)
            .or_else(|_| tempfile::tempdir())
            .map_err(Error::internal)?;
        let archive = folder.path().join("archive.tar");
        self.spool(body, &archive).await?;
        let files = folder.path().join("files");
        std::fs::create_dir(&files).map_err(Error::internal)?;
        let plan = tokio::task::spawn_blocking(move || {
            let extracted = extract(&archive, &files)?;
            // The spooled archive is not needed once its files are out.
            let _ = std::fs::remove_file(&archive);
            if extracted.files.contains_key("index.json") {
                oci_plan(&extracted)
            } else if extracted.files.contains_key("manifest.json") {
                saved_plan(&extracted)
            } else {
                Err(bad(
                    "neither index.json (OCI layout) nor manifest.json (docker save) is in the archive",
                ))
            }
        })
        .await
        .map_err(Error::internal)??;
        for blob in &plan.blobs {
            self.push_file(&access, blob).await?;
        }
        let pushed = self
            .put_manifest(
                &access,
                &Reference::Tag(tag),
                &plan.media_type,
                &plan.manifest,
            )
            .await
            .map_err(as_archive_error)?;
        drop(folder);
        Ok(pushed)
    }

    /// Writes the body to `path`, at most the upload limit.
    async fn spool(&self, mut body: ByteStream<'_>, path: &Path) -> Result<()> {
        let limit = self.domain.config().max_upload_bytes;
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(Error::internal)?;
        let mut written = 0u64;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| bad(format!("the upload broke off: {e}")))?
        {
            written += chunk.len() as u64;
            if written > limit {
                return Err(bad(format!("an archive may have at most {limit} bytes")));
            }
            file.write_all(&chunk).await.map_err(Error::internal)?;
        }
        file.flush().await.map_err(Error::internal)
    }

    /// Uploads one extracted file as a registry blob, verified against its digest.
    async fn push_file(&self, access: &RepositoryAccess, file: &ExtractedFile) -> Result<()> {
        let digest = Digest::parse(&file.digest)?;
        if self.registry_blob(access, &digest).await.is_ok() {
            return Ok(());
        }
        let upload = self.start_blob_upload(access).await?;
        let reader = tokio::fs::File::open(&file.path)
            .await
            .map_err(Error::internal)?;
        let id = upload.id.to_string();
        self.append_blob_upload(
            access,
            &id,
            None,
            Box::pin(ReaderStream::with_capacity(reader, BLOB_READ_CHUNK)),
        )
        .await
        .map_err(as_archive_error)?;
        self.finish_blob_upload(access, &id, &digest)
            .await
            .map_err(as_archive_error)?;
        Ok(())
    }
}

/// Registry refusals in the REST API's terms: a refused key is forbidden, the rest is a
/// problem of the archive.
fn as_archive_error(error: Error) -> Error {
    match error {
        Error::Registry {
            code: RegistryCode::Denied | RegistryCode::Unauthorized,
            message,
        } => DomainError::forbidden(message).into(),
        Error::Registry { message, .. } => bad(message),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{link_target, normalize};

    #[test]
    fn paths_stay_inside_the_archive() {
        assert_eq!(normalize("./a/b.tar").as_deref(), Some("a/b.tar"));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(
            link_target("abc/layer.tar", "../def/layer.tar").as_deref(),
            Some("def/layer.tar")
        );
        assert_eq!(link_target("abc/layer.tar", "../../x"), None);
        assert_eq!(link_target("abc/layer.tar", "/etc/shadow"), None);
    }
}
