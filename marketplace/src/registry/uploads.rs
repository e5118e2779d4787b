//! Blob uploads: started with `POST`, fed in one or more chunks (`PATCH`, or the body of
//! the final `PUT`), finished with the digest the client computed. Each chunk is stored as
//! it arrives, hashed on the way; an upload sent in one chunk (what `docker push` does)
//! becomes the blob without being read again. Nothing is kept when the digest is wrong.

use super::access::RepositoryAccess;
use super::names::Digest;
use super::{RegistryCode, refuse};
use crate::Marketplace;
use crate::entities::registry_uploads::{self, UploadPart, UploadParts};
use crate::entities::{registry_blob_links, registry_blobs};
use crate::error::Result;
use futures_util::{StreamExt, TryStreamExt};
use keynet_domain::Error as DomainError;
use keynet_domain::ids::RegistryUploadId;
use keynet_domain::storage::{ByteStream, StorageError};
use keynet_domain::time::now;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest as _, Sha256};
use std::sync::Mutex;

impl Marketplace {
    pub async fn start_blob_upload(
        &self,
        access: &RepositoryAccess,
    ) -> Result<registry_uploads::Model> {
        let at = now();
        Ok(registry_uploads::ActiveModel {
            id: Set(RegistryUploadId::new()),
            org_id: Set(access.trainer.org_id),
            trainer_id: Set(access.trainer.id),
            parts: Set(UploadParts::default()),
            size: Set(0),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&self.db)
        .await?)
    }

    /// Links a blob the caller may already pull from another repository (a cross-repository
    /// mount); `None` when it cannot, and the client uploads it instead.
    pub async fn mount_blob(
        &self,
        access: &RepositoryAccess,
        from: &RepositoryAccess,
        digest: &Digest,
    ) -> Result<Option<registry_blobs::Model>> {
        let Ok(blob) = self.registry_blob(from, digest).await else {
            return Ok(None);
        };
        self.link_blob(access, digest).await?;
        Ok(Some(blob))
    }

    pub async fn blob_upload(
        &self,
        access: &RepositoryAccess,
        upload: &str,
    ) -> Result<registry_uploads::Model> {
        let unknown = || {
            refuse(
                RegistryCode::BlobUploadUnknown,
                format!("no upload {upload} in {}", access.name),
            )
        };
        let id = RegistryUploadId::parse(upload).ok_or_else(unknown)?;
        registry_uploads::Entity::find_by_id(id)
            .filter(registry_uploads::Column::TrainerId.eq(access.trainer.id))
            .one(&self.db)
            .await?
            .ok_or_else(unknown)
    }

    /// Appends a chunk. `start`, from a `Content-Range` header, must be where the upload
    /// stands: a client resuming from the wrong offset is told (416) rather than corrupting
    /// the blob.
    pub async fn append_blob_upload(
        &self,
        access: &RepositoryAccess,
        upload: &str,
        start: Option<u64>,
        body: ByteStream<'_>,
    ) -> Result<registry_uploads::Model> {
        let upload = self.blob_upload(access, upload).await?;
        if let Some(start) = start
            && start != upload.size as u64
        {
            return Err(refuse(
                RegistryCode::RangeInvalid,
                format!(
                    "the chunk starts at byte {start} but the upload has {} bytes; resume from there",
                    upload.size
                ),
            ));
        }
        let remaining = self
            .domain
            .config()
            .max_upload_bytes
            .saturating_sub(upload.size as u64);
        let key = format!("registry/uploads/{}/{}", upload.id, upload.parts.0.len());
        let (size, digest) = self.store_hashed(&key, body, remaining).await?;
        if size == 0 {
            self.blobs
                .delete(&key)
                .await
                .map_err(DomainError::storage)?;
            return Ok(upload);
        }
        let mut parts = upload.parts.0.clone();
        parts.push(UploadPart {
            key,
            size: size as i64,
            digest: digest.to_string(),
        });
        let updated = registry_uploads::Entity::update_many()
            .col_expr(
                registry_uploads::Column::Parts,
                sea_orm::sea_query::Expr::value(UploadParts(parts.clone())),
            )
            .col_expr(
                registry_uploads::Column::Size,
                sea_orm::sea_query::Expr::value(upload.size + size as i64),
            )
            .col_expr(
                registry_uploads::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now()),
            )
            .filter(registry_uploads::Column::Id.eq(upload.id))
            // Two chunks racing for one offset: only the first is kept.
            .filter(registry_uploads::Column::Size.eq(upload.size))
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 0 {
            self.delete_quietly(&parts[parts.len() - 1].key).await;
            return Err(refuse(
                RegistryCode::RangeInvalid,
                "another chunk of this upload arrived at the same time; ask where it stands and resume",
            ));
        }
        Ok(registry_uploads::Model {
            parts: UploadParts(parts),
            size: upload.size + size as i64,
            ..upload
        })
    }

    /// Finishes an upload (after its last chunk, if the `PUT` had one): the stored bytes
    /// must hash to `digest`. The blob is then linked to the repository; bytes already
    /// stored under that digest are not stored twice.
    pub async fn finish_blob_upload(
        &self,
        access: &RepositoryAccess,
        upload: &str,
        digest: &Digest,
    ) -> Result<registry_blobs::Model> {
        let upload = self.blob_upload(access, upload).await?;
        let (key, actual) = match upload.parts.0.as_slice() {
            [single] => (single.key.clone(), single.digest.clone()),
            parts => {
                let key = format!("registry/uploads/{}/whole", upload.id);
                let (_, actual) = self.concatenate(parts, &key).await?;
                (key, actual.to_string())
            }
        };
        if actual != digest.as_str() {
            self.discard_upload(&upload, Some(&key)).await?;
            return Err(refuse(
                RegistryCode::DigestInvalid,
                format!(
                    "the uploaded bytes hash to {actual}, not {digest}; the upload was discarded"
                ),
            ));
        }
        let blob = registry_blobs::ActiveModel {
            digest: Set(digest.to_string()),
            size: Set(upload.size),
            key: Set(key.clone()),
            created_at: Set(now()),
        };
        registry_blobs::Entity::insert(blob)
            .on_conflict(
                OnConflict::column(registry_blobs::Column::Digest)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let stored = registry_blobs::Entity::find_by_id(digest.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                DomainError::Internal(anyhow::anyhow!("registry blob {digest} vanished"))
            })?;
        self.link_blob(access, digest).await?;
        // The bytes were there already (another push): ours are a copy.
        let keep = (stored.key == key).then_some(key.as_str());
        self.discard_upload(&upload, keep).await?;
        Ok(stored)
    }

    pub async fn cancel_blob_upload(&self, access: &RepositoryAccess, upload: &str) -> Result<()> {
        let upload = self.blob_upload(access, upload).await?;
        self.discard_upload(&upload, None).await
    }

    pub(super) async fn link_blob(&self, access: &RepositoryAccess, digest: &Digest) -> Result<()> {
        registry_blob_links::Entity::insert(registry_blob_links::ActiveModel {
            trainer_id: Set(access.trainer.id),
            digest: Set(digest.to_string()),
            org_id: Set(access.trainer.org_id),
            created_at: Set(now()),
        })
        .on_conflict(
            OnConflict::columns([
                registry_blob_links::Column::TrainerId,
                registry_blob_links::Column::Digest,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// Stores `body` under `key`, at most `max_bytes` of it, hashing it on the way.
    async fn store_hashed(
        &self,
        key: &str,
        body: ByteStream<'_>,
        max_bytes: u64,
    ) -> Result<(u64, Digest)> {
        let hasher = Mutex::new(Sha256::new());
        let hashed = body
            .inspect_ok(|chunk| {
                if let Ok(mut hasher) = hasher.lock() {
                    hasher.update(chunk);
                }
            })
            .boxed();
        let size = self
            .blobs
            .put_stream(key, hashed, max_bytes)
            .await
            .map_err(|e| match e {
                StorageError::TooLarge { limit } => refuse(
                    RegistryCode::TooLarge,
                    format!("a blob may have at most {limit} more bytes here; nothing of this chunk was kept"),
                ),
                other => DomainError::storage(other).into(),
            })?;
        let hasher = hasher
            .into_inner()
            .map_err(|_| DomainError::Internal(anyhow::anyhow!("upload hasher poisoned")))?;
        Ok((size, Digest::from_hasher(hasher)))
    }

    /// Writes the parts one after another under `key` (an upload sent in several chunks).
    async fn concatenate(&self, parts: &[UploadPart], key: &str) -> Result<(u64, Digest)> {
        let blobs = self.blobs.clone();
        let keys: Vec<String> = parts.iter().map(|p| p.key.clone()).collect();
        let chained = futures_util::stream::iter(keys)
            .then(move |key| {
                let blobs = blobs.clone();
                async move {
                    blobs
                        .open(&key)
                        .await
                        .map(|reader| {
                            tokio_util::io::ReaderStream::with_capacity(
                                reader,
                                super::BLOB_READ_CHUNK,
                            )
                        })
                        .map_err(std::io::Error::other)
                }
            })
            .try_flatten()
            .boxed();
        self.store_hashed(key, chained, u64::MAX).await
    }

    /// Removes an upload and its stored parts, except `keep` (the key that became a blob).
    async fn discard_upload(
        &self,
        upload: &registry_uploads::Model,
        keep: Option<&str>,
    ) -> Result<()> {
        registry_uploads::Entity::delete_by_id(upload.id)
            .exec(&self.db)
            .await?;
        let whole = format!("registry/uploads/{}/whole", upload.id);
        for key in upload
            .parts
            .0
            .iter()
            .map(|p| p.key.as_str())
            .chain(std::iter::once(whole.as_str()))
            .filter(|key| Some(*key) != keep)
        {
            self.delete_quietly(key).await;
        }
        Ok(())
    }

    /// Best effort: a leftover part costs space, not correctness.
    async fn delete_quietly(&self, key: &str) {
        match self.blobs.delete(key).await {
            Ok(()) | Err(StorageError::NotFound(_)) => {}
            Err(e) => tracing::warn!(key, error = %e, "could not remove an upload part"),
        }
    }
}
