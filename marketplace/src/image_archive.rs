//! A pushed image as the tar `docker load` reads (the `docker save` layout: `manifest.json`,
//! the config, one file per layer), streamed from the registry's blobs so a worker can
//! load a version into its engine without the engine pulling from anywhere.

use crate::Marketplace;
use crate::entities::registry_blobs;
use crate::error::{Error, Result};
use crate::registry::BLOB_READ_CHUNK;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use keynet_domain::Error as DomainError;
use keynet_domain::entities::trainer_versions;
use sea_orm::EntityTrait as _;
use serde_json::json;
use tokio_util::io::ReaderStream;

const BLOCK: usize = 512;

/// A tar header for a regular file of `size` bytes.
fn header(path: &str, size: u64) -> Result<Bytes> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path).map_err(Error::internal)?;
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    Ok(Bytes::copy_from_slice(header.as_bytes()))
}

/// Zero bytes that round `size` up to a whole block.
fn padding(size: u64) -> Bytes {
    let rest = (size % BLOCK as u64) as usize;
    Bytes::from(vec![0; if rest == 0 { 0 } else { BLOCK - rest }])
}

/// A whole small file: header, content, padding.
fn small_file(path: &str, content: Vec<u8>) -> Result<Bytes> {
    let size = content.len() as u64;
    let mut bytes = header(path, size)?.to_vec();
    bytes.extend_from_slice(&content);
    bytes.extend_from_slice(&padding(size));
    Ok(Bytes::from(bytes))
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

impl Marketplace {
    /// The version's image as a `docker load` archive; its layers are read from the blob
    /// store as the stream is consumed.
    pub async fn image_archive(
        &self,
        version: &trainer_versions::Model,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let (manifest, config) = self
            .pushed_image(version)
            .await?
            .map_err(|check| DomainError::invalid("version", check.message))?;
        let config_name = format!("{}.json", hex(manifest.config().digest().as_ref()));
        let layer_names: Vec<String> = manifest
            .layers()
            .iter()
            .map(|layer| format!("{}.tar", hex(layer.digest().as_ref())))
            .collect();
        let index = json!([{"Config": config_name, "RepoTags": [], "Layers": layer_names}]);
        let mut parts: Vec<BoxStream<'static, std::io::Result<Bytes>>> = vec![
            stream::iter([
                Ok(small_file("manifest.json", index.to_string().into_bytes())?),
                Ok(small_file(&config_name, config)?),
            ])
            .boxed(),
        ];
        for (layer, name) in manifest.layers().iter().zip(&layer_names) {
            let digest = layer.digest().to_string();
            let blob = registry_blobs::Entity::find_by_id(digest.clone())
                .one(&self.db)
                .await?
                .ok_or_else(|| {
                    DomainError::invalid("version", format!("the layer {digest} is missing"))
                })?;
            let size = blob.size as u64;
            let blobs = self.blobs.clone();
            let content = stream::once(async move {
                blobs
                    .open(&blob.key)
                    .await
                    .map(|reader| ReaderStream::with_capacity(reader, BLOB_READ_CHUNK))
                    .map_err(|e| std::io::Error::other(e.to_string()))
            })
            .try_flatten();
            parts.push(stream::once(std::future::ready(Ok(header(name, size)?))).boxed());
            parts.push(content.boxed());
            parts.push(stream::once(std::future::ready(Ok(padding(size)))).boxed());
        }
        // The end of the archive: two zero blocks.
        parts.push(stream::once(std::future::ready(Ok(Bytes::from(vec![0; 2 * BLOCK])))).boxed());
        Ok(stream::iter(parts).flatten().boxed())
    }
}
