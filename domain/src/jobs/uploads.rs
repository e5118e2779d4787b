//! Images uploaded to run inference on (`createInferenceUpload`, then `startInferenceJob`
//! with `imageUploadId`): one image per upload, PUT to a signed URL of exactly the
//! declared size.

use crate::domain::Domain;
use crate::entities::inference_uploads;
use crate::error::{Error, Result};
use crate::ids::{InferenceUploadId, ProjectId};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::time::now;
use crate::viewer::Viewer;
use sea_orm::{ActiveModelTrait, Set};

/// What inference accepts: the formats the reference images come in.
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tiff"];
const MAX_IMAGE_BYTES: i64 = 64 << 20;
const MAX_FILENAME: usize = 200;

pub struct CreatedInferenceUpload {
    pub upload: inference_uploads::Model,
    /// PUT exactly `size_bytes` here.
    pub url: String,
}

fn check_image_name(name: &str) -> Result<String> {
    let name = name.trim();
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    let plain = !name.is_empty()
        && name.chars().count() <= MAX_FILENAME
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !plain || !extension.is_some_and(|ext| IMAGE_EXTENSIONS.contains(&ext.as_str())) {
        return Err(Error::invalid(
            "filename",
            format!(
                "an image file name (letters, digits, . _ -) ending in {}",
                IMAGE_EXTENSIONS.join(", ")
            ),
        ));
    }
    Ok(name.to_string())
}

impl Domain {
    pub async fn create_inference_upload(
        &self,
        viewer: &Viewer,
        project: ProjectId,
        filename: &str,
        size_bytes: i64,
    ) -> Result<CreatedInferenceUpload> {
        let project = self.project(viewer, project).await?;
        viewer.require(project.org_id, Permission::RunJobs)?;
        let filename = check_image_name(filename)?;
        if !(1..=MAX_IMAGE_BYTES).contains(&size_bytes) {
            return Err(Error::invalid(
                "sizeBytes",
                format!("must be between 1 and {MAX_IMAGE_BYTES} bytes"),
            ));
        }
        let id = InferenceUploadId::new();
        let upload = inference_uploads::ActiveModel {
            id: Set(id),
            org_id: Set(project.org_id),
            project_id: Set(project.id),
            blob_key: Set(format!(
                "orgs/{}/inference-uploads/{id}/{filename}",
                project.org_id
            )),
            filename: Set(filename),
            size_bytes: Set(size_bytes),
            created_by: Set(Some(viewer.user_id)),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await?;
        let url = self
            .blobs
            .upload_url(
                &upload.blob_key,
                size_bytes as u64,
                self.config.signed_url_ttl,
            )
            .await
            .map_err(Error::storage)?;
        Ok(CreatedInferenceUpload { upload, url })
    }

    /// An upload the viewer may run inference on, whose file has arrived whole.
    pub(crate) async fn uploaded_image(
        &self,
        viewer: &Viewer,
        id: InferenceUploadId,
    ) -> Result<inference_uploads::Model> {
        let upload = find_scoped::<inference_uploads::Entity>(
            &self.db,
            viewer,
            (inference_uploads::Column::Id, id),
            inference_uploads::Column::OrgId,
            "image upload",
        )
        .await?;
        let stored = self
            .blobs
            .size(&upload.blob_key)
            .await
            .map_err(Error::storage)?;
        if stored != Some(upload.size_bytes as u64) {
            return Err(Error::invalid(
                "imageUploadId",
                "the image has not been uploaded (PUT it to the upload URL first)",
            ));
        }
        Ok(upload)
    }

    /// Copies an uploaded image into a job's input folder (the worker's side).
    pub async fn download_inference_upload(
        &self,
        id: InferenceUploadId,
        dir: &std::path::Path,
    ) -> Result<()> {
        use sea_orm::EntityTrait;
        let upload = inference_uploads::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("image upload"))?;
        let io = |e: std::io::Error| Error::Internal(e.into());
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let mut reader = self
            .blobs
            .open(&upload.blob_key)
            .await
            .map_err(Error::storage)?;
        let mut file = tokio::fs::File::create(dir.join(&upload.filename))
            .await
            .map_err(io)?;
        tokio::io::copy(&mut reader, &mut file).await.map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_image_names_are_accepted() {
        assert_eq!(
            check_image_name(" part-1.PNG ").expect("valid"),
            "part-1.PNG"
        );
        for bad in ["../x.png", "a/b.png", ".png", "notes.txt", "x", "a b.png"] {
            assert!(check_image_name(bad).is_err(), "{bad}");
        }
    }
}
