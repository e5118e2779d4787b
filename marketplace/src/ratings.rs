//! Ratings of listed trainers: one per user (rating again replaces it), and only by members
//! of an organization that has run the trainer, so a rating comes from a user of it.

use crate::Marketplace;
use crate::entities::trainer_ratings;
use crate::error::Result;
use keynet_domain::Error as DomainError;
use keynet_domain::audit::Change;
use keynet_domain::entities::{jobs, trainer_versions};
use keynet_domain::ids::{OrgId, TrainerId};
use keynet_domain::roles::Permission;
use keynet_domain::time::now;
use keynet_domain::validate;
use keynet_domain::viewer::Viewer;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;

pub struct NewRating {
    pub trainer_id: TrainerId,
    /// 1 to 5.
    pub rating: i32,
    pub review: String,
}

#[derive(Clone, Debug, Default)]
pub struct RatingSummary {
    /// None while unrated.
    pub average: Option<f64>,
    pub count: i64,
}

impl Marketplace {
    pub async fn rate_trainer(
        &self,
        viewer: &Viewer,
        input: NewRating,
    ) -> Result<trainer_ratings::Model> {
        let trainer = self.listed_trainer(input.trainer_id).await?;
        if !(1..=5).contains(&input.rating) {
            return Err(DomainError::invalid("rating", "a rating is 1 to 5").into());
        }
        let review = validate::text("review", &input.review, 4000)?;
        let org = self
            .rating_org(viewer, trainer.id, trainer.org_id)
            .await?
            .ok_or_else(|| {
                DomainError::invalid(
                    "trainerId",
                    if viewer.role_in(trainer.org_id).is_some() {
                        "a trainer's own organization cannot rate it"
                    } else {
                        "only members of an organization that has run this trainer can rate it"
                    },
                )
            })?;
        let at = now();
        let mut tx = self.begin().await?;
        trainer_ratings::Entity::insert(trainer_ratings::ActiveModel {
            trainer_id: Set(trainer.id),
            user_id: Set(viewer.user_id),
            org_id: Set(org),
            rating: Set(input.rating),
            review: Set(review),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([
                trainer_ratings::Column::TrainerId,
                trainer_ratings::Column::UserId,
            ])
            .update_columns([
                trainer_ratings::Column::OrgId,
                trainer_ratings::Column::Rating,
                trainer_ratings::Column::Review,
                trainer_ratings::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(&*tx)
        .await?;
        let rated = trainer_ratings::Entity::find_by_id((trainer.id, viewer.user_id))
            .one(&*tx)
            .await?
            .ok_or(DomainError::NotFound("rating"))?;
        // In the rater's organization: its log shows what its members say in public.
        Change::new(org, "trainer.rated", "trainer", trainer.id)
            .by(viewer)
            .meta(json!({"trainer": trainer.name, "rating": rated.rating}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(rated)
    }

    /// The organization a rating is given in: one of the viewer's, other than the author's,
    /// where a job (any status) has used a version of the trainer and the viewer may run
    /// jobs. `None` when no such organization ran it; where one did but the viewer's role
    /// (or token) may not run jobs there, that refusal.
    async fn rating_org(
        &self,
        viewer: &Viewer,
        trainer: TrainerId,
        author: OrgId,
    ) -> Result<Option<OrgId>> {
        let mut refusal = None;
        for org in self.orgs_that_ran(viewer, trainer, author).await? {
            match viewer.require(org, Permission::RunJobs) {
                Ok(_) => return Ok(Some(org)),
                Err(error) => {
                    refusal.get_or_insert(error);
                }
            }
        }
        refusal.map_or(Ok(None), |refused| Err(refused.into()))
    }

    /// The viewer's organizations, other than the author's, where a job has used a version
    /// of the trainer.
    async fn orgs_that_ran(
        &self,
        viewer: &Viewer,
        trainer: TrainerId,
        author: OrgId,
    ) -> Result<Vec<OrgId>> {
        let orgs: Vec<OrgId> = viewer
            .visible_orgs()
            .into_iter()
            .filter(|org| *org != author)
            .collect();
        let versions = Query::select()
            .column(trainer_versions::Column::Id)
            .from(trainer_versions::Entity)
            .and_where(trainer_versions::Column::TrainerId.eq(trainer))
            .to_owned();
        Ok(jobs::Entity::find()
            .select_only()
            .column(jobs::Column::OrgId)
            .filter(jobs::Column::OrgId.is_in(orgs))
            .filter(jobs::Column::TrainerVersionId.in_subquery(versions))
            .distinct()
            .order_by_asc(jobs::Column::OrgId)
            .into_tuple::<OrgId>()
            .all(&self.db)
            .await?)
    }
}
