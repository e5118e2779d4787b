//! Manifests and indexes: checked against what the repository holds before they are
//! stored, kept byte for byte, and found by tag or digest.

use super::access::RepositoryAccess;
use super::names::{Digest, Reference};
use super::{MAX_MANIFEST_BYTES, RegistryCode, refuse};
use crate::Marketplace;
use crate::entities::{registry_manifests, registry_tags};
use crate::error::Result;
use keynet_domain::entities::trainer_versions::{self, VersionStatus};
use keynet_domain::time::now;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

const CONFIG_TYPES: [&str; 2] = [
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
];
const LAYER_TYPES: [&str; 4] = [
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    /// One image: a config and its layers.
    Image,
    /// An index (manifest list): one image per platform.
    Index,
}

impl ManifestKind {
    fn of(media_type: &str) -> Result<Self> {
        match media_type {
            DOCKER_MANIFEST | OCI_MANIFEST => Ok(Self::Image),
            DOCKER_LIST | OCI_INDEX => Ok(Self::Index),
            other => Err(refuse(
                RegistryCode::ManifestInvalid,
                format!(
                    "unsupported manifest media type {other:?}; supported: {DOCKER_MANIFEST}, {DOCKER_LIST}, {OCI_MANIFEST}, {OCI_INDEX}"
                ),
            )),
        }
    }
}

pub struct PushedManifest {
    pub digest: Digest,
    pub kind: ManifestKind,
}

pub struct TagPage {
    pub tags: Vec<String>,
    /// The last tag of this page when more follow (the `last` of the next request).
    pub next: Option<String>,
}

impl Marketplace {
    /// Stores a manifest under `reference`. `content_type` says what it is; everything it
    /// refers to must already be in this repository, with the sizes it states.
    pub async fn put_manifest(
        &self,
        access: &RepositoryAccess,
        reference: &Reference,
        content_type: &str,
        body: &[u8],
    ) -> Result<PushedManifest> {
        if body.len() > MAX_MANIFEST_BYTES {
            return Err(refuse(
                RegistryCode::TooLarge,
                format!("a manifest may have at most {MAX_MANIFEST_BYTES} bytes"),
            ));
        }
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        let kind = ManifestKind::of(media_type)?;
        let digest = Digest::of(body);
        if let Reference::Digest(named) = reference
            && *named != digest
        {
            return Err(refuse(
                RegistryCode::DigestInvalid,
                format!("the manifest's bytes hash to {digest}, not {named}"),
            ));
        }
        let content = std::str::from_utf8(body)
            .map_err(|_| refuse(RegistryCode::ManifestInvalid, "a manifest is UTF-8 JSON"))?;
        match kind {
            ManifestKind::Image => self.check_image_manifest(access, media_type, body).await?,
            ManifestKind::Index => self.check_index(access, media_type, body).await?,
        }
        let at = now();
        let mut tx = self.begin().await?;
        registry_manifests::Entity::insert(registry_manifests::ActiveModel {
            trainer_id: Set(access.trainer.id),
            digest: Set(digest.to_string()),
            org_id: Set(access.trainer.org_id),
            media_type: Set(media_type.to_string()),
            content: Set(content.to_string()),
            size: Set(body.len() as i64),
            created_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([
                registry_manifests::Column::TrainerId,
                registry_manifests::Column::Digest,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&*tx)
        .await?;
        if let Reference::Tag(tag) = reference {
            registry_tags::Entity::insert(registry_tags::ActiveModel {
                trainer_id: Set(access.trainer.id),
                tag: Set(tag.clone()),
                org_id: Set(access.trainer.org_id),
                digest: Set(digest.to_string()),
                updated_at: Set(at),
            })
            .on_conflict(
                OnConflict::columns([registry_tags::Column::TrainerId, registry_tags::Column::Tag])
                    .update_columns([
                        registry_tags::Column::Digest,
                        registry_tags::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&*tx)
            .await?;
        }
        let tag = match reference {
            Reference::Tag(tag) => Some(tag.as_str()),
            Reference::Digest(_) => None,
        };
        self.record_push(&mut tx, access, tag, &digest).await?;
        self.commit(tx).await?;
        Ok(PushedManifest { digest, kind })
    }

    async fn check_image_manifest(
        &self,
        access: &RepositoryAccess,
        media_type: &str,
        body: &[u8],
    ) -> Result<()> {
        let manifest = ImageManifest::from_reader(body).map_err(|e| {
            refuse(
                RegistryCode::ManifestInvalid,
                format!("not an image manifest: {e}"),
            )
        })?;
        check_schema(
            manifest.schema_version(),
            manifest.media_type().as_ref().map(|m| m.to_string()),
            media_type,
        )?;
        check_media_type("config", manifest.config(), &CONFIG_TYPES)?;
        self.check_blob_present(access, manifest.config()).await?;
        for layer in manifest.layers() {
            check_media_type("layer", layer, &LAYER_TYPES)?;
            self.check_blob_present(access, layer).await?;
        }
        Ok(())
    }

    async fn check_index(
        &self,
        access: &RepositoryAccess,
        media_type: &str,
        body: &[u8],
    ) -> Result<()> {
        let index = ImageIndex::from_reader(body)
            .map_err(|e| refuse(RegistryCode::ManifestInvalid, format!("not an index: {e}")))?;
        check_schema(
            index.schema_version(),
            index.media_type().as_ref().map(|m| m.to_string()),
            media_type,
        )?;
        for entry in index.manifests() {
            let digest = Digest::parse(entry.digest().as_ref())?;
            let present =
                registry_manifests::Entity::find_by_id((access.trainer.id, digest.to_string()))
                    .one(&self.db)
                    .await?;
            if present.is_none() {
                return Err(refuse(
                    RegistryCode::ManifestBlobUnknown,
                    format!(
                        "the index refers to manifest {digest}, which {} does not have; push it first",
                        access.name
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn check_blob_present(
        &self,
        access: &RepositoryAccess,
        descriptor: &Descriptor,
    ) -> Result<()> {
        let digest = Digest::parse(descriptor.digest().as_ref())?;
        let blob = self.registry_blob(access, &digest).await.map_err(|_| {
            refuse(
                RegistryCode::ManifestBlobUnknown,
                format!("blob {digest} is not in {}; push it first", access.name),
            )
        })?;
        if blob.size as u64 != descriptor.size() {
            return Err(refuse(
                RegistryCode::ManifestInvalid,
                format!(
                    "the manifest says blob {digest} has {} bytes, but it has {}",
                    descriptor.size(),
                    blob.size
                ),
            ));
        }
        Ok(())
    }

    /// The manifest `reference` names in this repository.
    pub async fn registry_manifest(
        &self,
        access: &RepositoryAccess,
        reference: &Reference,
    ) -> Result<registry_manifests::Model> {
        let digest = match reference {
            Reference::Digest(digest) => Some(digest.to_string()),
            Reference::Tag(tag) => {
                registry_tags::Entity::find_by_id((access.trainer.id, tag.clone()))
                    .one(&self.db)
                    .await?
                    .map(|t| t.digest)
            }
        };
        let manifest = match digest {
            Some(digest) => {
                registry_manifests::Entity::find_by_id((access.trainer.id, digest))
                    .one(&self.db)
                    .await?
            }
            None => None,
        };
        manifest.ok_or_else(|| {
            refuse(
                RegistryCode::ManifestUnknown,
                format!("{} has no manifest {}", access.name, describe(reference)),
            )
        })
    }

    /// Deletes a manifest (by digest) and the tags pointing at it.
    pub async fn delete_manifest(
        &self,
        access: &RepositoryAccess,
        reference: &Reference,
    ) -> Result<()> {
        let Reference::Digest(digest) = reference else {
            return Err(refuse(
                RegistryCode::Unsupported,
                "manifests are deleted by digest; a tag moves when another manifest is pushed to it",
            ));
        };
        self.registry_manifest(access, reference).await?;
        let pinned = trainer_versions::Entity::find()
            .filter(trainer_versions::Column::TrainerId.eq(access.trainer.id))
            .filter(trainer_versions::Column::ManifestDigest.eq(digest.as_str()))
            // READY versions are what jobs run; pushes still being checked or rejected may go.
            .filter(trainer_versions::Column::Status.eq(VersionStatus::Ready))
            .one(&self.db)
            .await?;
        if let Some(version) = pinned {
            return Err(refuse(
                RegistryCode::Denied,
                format!(
                    "version {} of this trainer is pinned to {digest} and ready: ready versions never change",
                    version.version
                ),
            ));
        }
        let tx = self.db.begin().await?;
        registry_tags::Entity::delete_many()
            .filter(registry_tags::Column::TrainerId.eq(access.trainer.id))
            .filter(registry_tags::Column::Digest.eq(digest.as_str()))
            .exec(&tx)
            .await?;
        registry_manifests::Entity::delete_by_id((access.trainer.id, digest.to_string()))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tags in lexical order, `first` at most, after `after`.
    pub async fn registry_tags(
        &self,
        access: &RepositoryAccess,
        first: Option<u64>,
        after: Option<&str>,
    ) -> Result<TagPage> {
        let limit = first.unwrap_or(1000).min(1000);
        let mut query = registry_tags::Entity::find()
            .filter(registry_tags::Column::TrainerId.eq(access.trainer.id))
            .order_by_asc(registry_tags::Column::Tag)
            .limit(limit + 1);
        if let Some(after) = after {
            query = query.filter(registry_tags::Column::Tag.gt(after));
        }
        let mut tags: Vec<String> = query
            .all(&self.db)
            .await?
            .into_iter()
            .map(|t| t.tag)
            .collect();
        let next = if tags.len() as u64 > limit {
            tags.truncate(limit as usize);
            tags.last().cloned()
        } else {
            None
        };
        Ok(TagPage { tags, next })
    }
}

fn describe(reference: &Reference) -> String {
    match reference {
        Reference::Tag(tag) => format!("tagged {tag}"),
        Reference::Digest(digest) => digest.to_string(),
    }
}

fn check_schema(version: u32, declared: Option<String>, content_type: &str) -> Result<()> {
    if version != 2 {
        return Err(refuse(
            RegistryCode::ManifestInvalid,
            format!("schemaVersion {version} is not supported; only 2"),
        ));
    }
    if let Some(declared) = declared
        && declared != content_type
    {
        return Err(refuse(
            RegistryCode::ManifestInvalid,
            format!("the manifest says it is {declared} but was sent as {content_type}"),
        ));
    }
    Ok(())
}

fn check_media_type(role: &str, descriptor: &Descriptor, known: &[&str]) -> Result<()> {
    let media_type = descriptor.media_type().to_string();
    if known.contains(&media_type.as_str()) {
        return Ok(());
    }
    Err(refuse(
        RegistryCode::ManifestInvalid,
        format!(
            "{role} {} has media type {media_type:?}, which a trainer image cannot have; known: {}",
            descriptor.digest(),
            known.join(", ")
        ),
    ))
}
