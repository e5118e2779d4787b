//! Reading and unlinking blobs. A repository sees only the blobs linked to it.

use super::access::RepositoryAccess;
use super::names::Digest;
use super::{RegistryCode, refuse};
use crate::Marketplace;
use crate::entities::{registry_blob_links, registry_blobs};
use crate::error::Result;
use keynet_domain::Error as DomainError;
use keynet_domain::storage::BlobReader;
use sea_orm::EntityTrait;

impl Marketplace {
    /// The blob, if this repository has it.
    pub async fn registry_blob(
        &self,
        access: &RepositoryAccess,
        digest: &Digest,
    ) -> Result<registry_blobs::Model> {
        let linked =
            registry_blob_links::Entity::find_by_id((access.trainer.id, digest.to_string()))
                .one(&self.db)
                .await?
                .is_some();
        let blob = if linked {
            registry_blobs::Entity::find_by_id(digest.to_string())
                .one(&self.db)
                .await?
        } else {
            None
        };
        blob.ok_or_else(|| {
            refuse(
                RegistryCode::BlobUnknown,
                format!("{} has no blob {digest}", access.name),
            )
        })
    }

    pub async fn open_registry_blob(&self, blob: &registry_blobs::Model) -> Result<BlobReader> {
        Ok(self
            .blobs
            .open(&blob.key)
            .await
            .map_err(DomainError::storage)?)
    }

    /// Removes the blob from this repository. The bytes stay while another repository
    /// links them.
    pub async fn unlink_registry_blob(
        &self,
        access: &RepositoryAccess,
        digest: &Digest,
    ) -> Result<()> {
        let removed =
            registry_blob_links::Entity::delete_by_id((access.trainer.id, digest.to_string()))
                .exec(&self.db)
                .await?;
        if removed.rows_affected == 0 {
            return Err(refuse(
                RegistryCode::BlobUnknown,
                format!("{} has no blob {digest}", access.name),
            ));
        }
        Ok(())
    }
}
