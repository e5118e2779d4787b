//! What a list of trainers shows beside each trainer (its rating, public slug, featured
//! version and versions), loaded for a whole page in one statement each: a page of fifty
//! costs what a page of one does.

use crate::Marketplace;
use crate::entities::trainer_ratings;
use crate::error::Result;
use crate::ratings::RatingSummary;
use keynet_domain::Error as DomainError;
use keynet_domain::entities::trainer_versions::{self, VersionStatus};
use keynet_domain::entities::{organizations, trainers};
use keynet_domain::ids::{OrgId, TrainerId, TrainerVersionId};
use keynet_domain::roles::Permission;
use keynet_domain::viewer::Viewer;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

impl Marketplace {
    /// The ratings of `trainers`; an unrated trainer is absent.
    pub async fn ratings_of(
        &self,
        trainers: &[TrainerId],
    ) -> Result<HashMap<TrainerId, RatingSummary>> {
        let rows = trainer_ratings::Entity::find()
            .select_only()
            .column(trainer_ratings::Column::TrainerId)
            .expr(Expr::col(trainer_ratings::Column::Rating).count())
            .expr(Expr::col(trainer_ratings::Column::Rating).sum())
            .filter(trainer_ratings::Column::TrainerId.is_in(trainers.iter().copied()))
            .group_by(trainer_ratings::Column::TrainerId)
            .into_tuple::<(TrainerId, i64, i64)>()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(trainer, count, sum)| {
                let average = Some(sum as f64 / count as f64);
                (trainer, RatingSummary { average, count })
            })
            .collect())
    }

    /// The slugs of `orgs`, the first half of a listed trainer's `<org>/<trainer>`.
    pub async fn org_slugs(&self, orgs: &[OrgId]) -> Result<HashMap<OrgId, String>> {
        let rows = organizations::Entity::find()
            .select_only()
            .column(organizations::Column::Id)
            .column(organizations::Column::Slug)
            .filter(organizations::Column::Id.is_in(orgs.iter().copied()))
            .into_tuple::<(OrgId, String)>()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Versions by id, for the versions listings feature; callers hold the ids of trainers
    /// they were allowed to see.
    pub async fn versions_by_id(
        &self,
        ids: &[TrainerVersionId],
    ) -> Result<HashMap<TrainerVersionId, trainer_versions::Model>> {
        let versions = trainer_versions::Entity::find()
            .filter(trainer_versions::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(versions.into_iter().map(|v| (v.id, v)).collect())
    }

    /// Every version of each of `trainers`, newest first, before [`visible_versions`]
    /// decides what a viewer sees of them.
    pub async fn versions_of(
        &self,
        trainers: &[TrainerId],
    ) -> Result<HashMap<TrainerId, Vec<trainer_versions::Model>>> {
        let versions = trainer_versions::Entity::find()
            .filter(trainer_versions::Column::TrainerId.is_in(trainers.iter().copied()))
            .order_by_desc(trainer_versions::Column::Version)
            .all(&self.db)
            .await?;
        let mut by_trainer: HashMap<TrainerId, Vec<_>> = HashMap::new();
        for version in versions {
            by_trainer
                .entry(version.trainer_id)
                .or_default()
                .push(version);
        }
        Ok(by_trainer)
    }
}

/// What `viewer` sees of a trainer's `versions` (newest first): every one for the
/// trainer's own organization, the READY ones of a listed trainer for everyone else.
pub fn visible_versions(
    viewer: &Viewer,
    trainer: &trainers::Model,
    versions: Vec<trainer_versions::Model>,
) -> Result<Vec<trainer_versions::Model>> {
    if viewer.role_in(trainer.org_id).is_some() {
        viewer.require(trainer.org_id, Permission::ReadProjects)?;
        return Ok(versions);
    }
    if trainer.published_version_id.is_none() {
        return Err(DomainError::NotFound("trainer").into());
    }
    Ok(versions
        .into_iter()
        .filter(|version| version.status == VersionStatus::Ready)
        .collect())
}

/// `<org-slug>/<trainer-slug>` while the trainer is listed (what `marketplaceTrainer`
/// takes); `None` while it is not.
pub fn marketplace_slug(trainer: &trainers::Model, org_slug: &str) -> Option<String> {
    trainer
        .published_version_id
        .map(|_| format!("{org_slug}/{}", trainer.slug))
}
