//! The public marketplace: publishing trainers, finding them, rating them, and the usage
//! their authors see.

use super::connection::{Conn, connection, list_complexity};
use super::context::{marketplace, page, parse_id, viewer};
use super::enums::{MarketplaceSort, TaskType};
use super::job_types::Trainer;
use super::types::id;
use crate::error::ApiResult;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use keynet_marketplace::entities::trainer_ratings;
use keynet_marketplace::{
    MarketplaceFilter, NewRating, RatingSummary, TrainerUsage as DomainUsage, UsageFigures,
};

#[derive(Default)]
pub struct MarketplaceListingQuery;

#[Object]
impl MarketplaceListingQuery {
    /// Signed-in users: the trainers every organization has published. `search` matches the
    /// name or description; `framework` one of the trainer's frameworks (case-insensitive).
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    #[expect(clippy::too_many_arguments, reason = "one argument per GraphQL filter")]
    async fn marketplace_trainers(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        task_type: Option<TaskType>,
        framework: Option<String>,
        #[graphql(default_with = "MarketplaceSort::Popular")] sort: MarketplaceSort,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Trainer>> {
        viewer(ctx)?;
        let filter = MarketplaceFilter {
            search,
            task_type: task_type.map(Into::into),
            framework,
            sort: sort.into(),
        };
        let trainers = marketplace(ctx)
            .marketplace_trainers(filter, page(first, after)?)
            .await?;
        Ok(connection(trainers, |t| t.id.0, Trainer))
    }

    /// Signed-in users: a published trainer by its slug, `<org-slug>/<trainer-slug>` (see
    /// `Trainer.marketplaceSlug`).
    async fn marketplace_trainer(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Trainer> {
        viewer(ctx)?;
        Ok(Trainer(marketplace(ctx).marketplace_trainer(&slug).await?))
    }
}

#[derive(InputObject)]
pub struct RateTrainerInput {
    pub trainer_id: ID,
    /// 1 to 5.
    pub rating: i32,
    #[graphql(default)]
    pub review: String,
}

#[derive(Default)]
pub struct MarketplaceListingMutation;

#[Object]
impl MarketplaceListingMutation {
    /// Admins: lists the trainer in the marketplace with `versionId` (READY) as its featured
    /// version; other organizations' jobs may then run its READY versions. Publishing again
    /// changes the featured version.
    async fn publish_trainer(
        &self,
        ctx: &Context<'_>,
        trainer_id: ID,
        version_id: ID,
    ) -> ApiResult<Trainer> {
        let trainer = marketplace(ctx)
            .publish_trainer(
                viewer(ctx)?,
                parse_id(&trainer_id, "trainerId")?,
                parse_id(&version_id, "versionId")?,
            )
            .await?;
        Ok(Trainer(trainer))
    }

    /// Admins: takes the trainer off the marketplace; queued jobs keep running.
    async fn unpublish_trainer(&self, ctx: &Context<'_>, trainer_id: ID) -> ApiResult<Trainer> {
        let trainer = marketplace(ctx)
            .unpublish_trainer(viewer(ctx)?, parse_id(&trainer_id, "trainerId")?)
            .await?;
        Ok(Trainer(trainer))
    }

    /// Members of an organization that has run the published trainer (a job of any status):
    /// the caller's rating, replacing their earlier one.
    async fn rate_trainer(
        &self,
        ctx: &Context<'_>,
        input: RateTrainerInput,
    ) -> ApiResult<TrainerReview> {
        let rating = marketplace(ctx)
            .rate_trainer(
                viewer(ctx)?,
                NewRating {
                    trainer_id: parse_id(&input.trainer_id, "trainerId")?,
                    rating: input.rating,
                    review: input.review,
                },
            )
            .await?;
        Ok(TrainerReview(rating))
    }
}

/// A user's rating of a trainer.
pub struct TrainerReview(trainer_ratings::Model);

#[Object]
impl TrainerReview {
    async fn rating(&self) -> i32 {
        self.0.rating
    }
    async fn review(&self) -> &str {
        &self.0.review
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The trainer, with its rating as it now stands.
    async fn trainer(&self, ctx: &Context<'_>) -> ApiResult<Trainer> {
        Ok(Trainer(
            marketplace(ctx).listed_trainer(self.0.trainer_id).await?,
        ))
    }
}

#[derive(SimpleObject)]
pub struct TrainerRating {
    /// Null while unrated.
    pub average: Option<f64>,
    pub count: i64,
}

impl From<RatingSummary> for TrainerRating {
    fn from(summary: RatingSummary) -> Self {
        Self {
            average: summary.average,
            count: summary.count,
        }
    }
}

/// Other organizations' use of a trainer (its own organization's jobs are not counted).
#[derive(SimpleObject)]
pub struct TrainerUsage {
    pub total: Usage,
    /// Every version, newest first.
    pub versions: Vec<TrainerVersionUsage>,
}

#[derive(SimpleObject)]
pub struct TrainerVersionUsage {
    pub version_id: ID,
    pub version: i32,
    pub usage: Usage,
}

#[derive(SimpleObject)]
pub struct Usage {
    /// Jobs of any kind and status.
    pub runs: i64,
    pub organizations: i64,
    /// GPUs × (finished − started) of the jobs that ran to an end.
    pub gpu_seconds: f64,
}

impl From<UsageFigures> for Usage {
    fn from(figures: UsageFigures) -> Self {
        Self {
            runs: figures.runs,
            organizations: figures.organizations,
            gpu_seconds: figures.gpu_seconds,
        }
    }
}

impl From<DomainUsage> for TrainerUsage {
    fn from(usage: DomainUsage) -> Self {
        Self {
            total: usage.total.into(),
            versions: usage
                .versions
                .into_iter()
                .map(|v| TrainerVersionUsage {
                    version_id: id(v.version_id),
                    version: v.version,
                    usage: v.figures.into(),
                })
                .collect(),
        }
    }
}
