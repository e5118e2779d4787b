//! Ratings of listed trainers: one per user (rating again replaces it), and only by members
//! of an organization that has run the trainer, so a rating comes from a user of it.

use crate::audit::Change;
use crate::domain::Domain;
use crate::entities::{jobs, trainer_ratings, trainer_versions};
use crate::error::{Error, Result};
use crate::ids::{OrgId, TrainerId};
use crate::roles::Permission;
use crate::time::now;
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;

pub struct NewRating {
    pub trainer_id: TrainerId,
    /// 1 to 5.
    pub rating: i32,
    pub review: String,
}

pub struct RatingSummary {
    /// None while unrated.
    pub average: Option<f64>,
    pub count: i64,
}

impl Domain {
    pub async fn rate_trainer(
        &self,
        viewer: &Viewer,
        input: NewRating,
    ) -> Result<trainer_ratings::Model> {
        let trainer = self.listed_trainer(input.trainer_id).await?;
        if !(1..=5).contains(&input.rating) {
            return Err(Error::invalid("rating", "a rating is 1 to 5"));
        }
        let review = validate::text("review", &input.review, 4000)?;
        let org = self
            .rating_org(viewer, trainer.id, trainer.org_id)
            .await?
            .ok_or_else(|| {
                Error::invalid(
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
            .ok_or(Error::NotFound("rating"))?;
        // In the rater's organization: its log shows what its members say in public.
        Change::new(org, "trainer.rated", "trainer", trainer.id)
            .by(viewer)
            .meta(json!({"trainer": trainer.name, "rating": rated.rating}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(rated)
    }

    /// The average and number of a trainer's ratings.
    pub async fn trainer_rating(&self, trainer: TrainerId) -> Result<RatingSummary> {
        let (count, sum) = trainer_ratings::Entity::find()
            .select_only()
            .expr(Expr::col(trainer_ratings::Column::Rating).count())
            .expr(Expr::col(trainer_ratings::Column::Rating).sum())
            .filter(trainer_ratings::Column::TrainerId.eq(trainer))
            .into_tuple::<(i64, Option<i64>)>()
            .one(&self.db)
            .await?
            .unwrap_or((0, None));
        Ok(RatingSummary {
            average: sum.map(|sum| sum as f64 / count as f64),
            count,
        })
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
        refusal.map_or(Ok(None), Err)
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
