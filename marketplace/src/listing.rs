//! The public listing. An org admin publishes a READY version of a trainer; from then on
//! every signed-in user finds the trainer (by text, task type and framework, most popular,
//! best rated or newest first), sees its READY versions with their checks and scan, and
//! other organizations' jobs may run those versions by id, which pins their digest.
//!
//! A listing's public slug is `<org-slug>/<trainer-slug>`, the name of the trainer's
//! registry repository too. It is derived rather than stored in a global column: trainer
//! slugs are already unique per organization and organization slugs globally, and a derived
//! slug follows a renamed organization just as the repository does.

use crate::Marketplace;
use crate::entities::trainer_ratings;
use crate::error::Result;
use keynet_domain::Error as DomainError;
use keynet_domain::audit::Change;
use keynet_domain::datasets::task_type_name;
use keynet_domain::entities::projects::TaskType;
use keynet_domain::entities::trainer_versions::{self, VersionStatus};
use keynet_domain::entities::{jobs, organizations, trainers};
use keynet_domain::ids::{TrainerId, TrainerVersionId};
use keynet_domain::page::{Page, PageRequest};
use keynet_domain::roles::Permission;
use keynet_domain::search::{contains_text, json_array_has};
use keynet_domain::time::now;
use keynet_domain::viewer::Viewer;
use sea_orm::prelude::DateTimeUtc;
use sea_orm::sea_query::{Expr, Func, Query, SimpleExpr, SubQueryStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Set, Value,
};
use serde_json::json;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketplaceSort {
    /// Used by the most other organizations.
    Popular,
    /// Highest average rating; unrated trainers last.
    Rating,
    /// Most recently published.
    Newest,
}

#[derive(Debug)]
pub struct MarketplaceFilter {
    /// Matched, case-insensitively, in the name and the description.
    pub search: Option<String>,
    pub task_type: Option<TaskType>,
    /// One of the trainer's frameworks, which are kept in lower case.
    pub framework: Option<String>,
    pub sort: MarketplaceSort,
}

impl Marketplace {
    /// Admins: lists the trainer with `version` (READY, of this trainer) as its featured
    /// version; publishing again only changes the featured version.
    pub async fn publish_trainer(
        &self,
        viewer: &Viewer,
        trainer: TrainerId,
        version: TrainerVersionId,
    ) -> Result<trainers::Model> {
        let trainer = self.domain.trainer(viewer, trainer).await?;
        viewer.require(trainer.org_id, Permission::ManageTrainers)?;
        let version = trainer_versions::Entity::find_by_id(version)
            .filter(trainer_versions::Column::TrainerId.eq(trainer.id))
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound("trainer version"))?;
        if version.status != VersionStatus::Ready {
            return Err(DomainError::invalid(
                "versionId",
                format!(
                    "only a READY version can be published; version {} is not ready",
                    version.version
                ),
            )
            .into());
        }
        let at = now();
        let mut tx = self.begin().await?;
        let published = trainers::ActiveModel {
            id: Set(trainer.id),
            published_version_id: Set(Some(version.id)),
            // A new featured version keeps the listing's age; NEWEST orders by it.
            published_at: Set(Some(trainer.published_at.unwrap_or(at))),
            updated_at: Set(at),
            ..Default::default()
        }
        .update(&*tx)
        .await?;
        Change::new(trainer.org_id, "trainer.published", "trainer", trainer.id)
            .by(viewer)
            .meta(
                json!({"name": trainer.name, "version_id": version.id, "version": version.version}),
            )
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(published)
    }

    /// Admins: takes the trainer off the marketplace. Jobs already queued keep their version;
    /// new jobs of other organizations can no longer use it. Unpublished already: unchanged.
    pub async fn unpublish_trainer(
        &self,
        viewer: &Viewer,
        trainer: TrainerId,
    ) -> Result<trainers::Model> {
        let trainer = self.domain.trainer(viewer, trainer).await?;
        viewer.require(trainer.org_id, Permission::ManageTrainers)?;
        if trainer.published_version_id.is_none() {
            return Ok(trainer);
        }
        let mut tx = self.begin().await?;
        let unpublished = trainers::ActiveModel {
            id: Set(trainer.id),
            published_version_id: Set(None),
            published_at: Set(None),
            updated_at: Set(now()),
            ..Default::default()
        }
        .update(&*tx)
        .await?;
        Change::new(trainer.org_id, "trainer.unpublished", "trainer", trainer.id)
            .by(viewer)
            .meta(json!({"name": trainer.name}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(unpublished)
    }

    /// Listed trainers of every organization, in `filter.sort` order.
    pub async fn marketplace_trainers(
        &self,
        filter: MarketplaceFilter,
        page: PageRequest,
    ) -> Result<Page<trainers::Model>> {
        let mut query = listed();
        if let Some(search) = given(&filter.search) {
            query = query.filter(
                Condition::any()
                    .add(contains_text(trainers::Column::Name, search))
                    .add(contains_text(trainers::Column::Description, search)),
            );
        }
        if let Some(task_type) = filter.task_type {
            query = query.filter(json_array_has(
                trainers::Column::TaskTypes,
                task_type_name(task_type),
            ));
        }
        if let Some(framework) = given(&filter.framework) {
            query = query.filter(json_array_has(
                trainers::Column::Frameworks,
                &framework.to_ascii_lowercase(),
            ));
        }
        let key = filter.sort.key();
        if let Some(after) = page.after {
            // Keyset on (key, id): the rows after the cursor's trainer in this order.
            let at = self.sort_key_of(filter.sort, after).await?;
            query = query.filter(
                Condition::any()
                    .add(Expr::expr(key.clone()).lt(at.clone()))
                    .add(
                        Condition::all()
                            .add(Expr::expr(key.clone()).eq(at))
                            .add(trainers::Column::Id.lt(after)),
                    ),
            );
        }
        let rows = query
            .order_by(key, Order::Desc)
            .order_by(trainers::Column::Id, Order::Desc)
            .limit(page.first + 1)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    /// A listed trainer by its public slug, `<org-slug>/<trainer-slug>`.
    pub async fn marketplace_trainer(&self, slug: &str) -> Result<trainers::Model> {
        let (org_slug, trainer_slug) = slug
            .split_once('/')
            .ok_or_else(|| DomainError::invalid("slug", "a listing's slug is <org>/<trainer>"))?;
        let org = Query::select()
            .column(organizations::Column::Id)
            .from(organizations::Entity)
            .and_where(organizations::Column::Slug.eq(org_slug))
            .to_owned();
        listed()
            .filter(trainers::Column::OrgId.in_subquery(org))
            .filter(trainers::Column::Slug.eq(trainer_slug))
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound("trainer").into())
    }

    /// A listed trainer by id.
    pub async fn listed_trainer(&self, id: TrainerId) -> Result<trainers::Model> {
        listed()
            .filter(trainers::Column::Id.eq(id))
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound("trainer").into())
    }

    /// The sort key of the trainer a cursor points at.
    async fn sort_key_of(&self, sort: MarketplaceSort, id: Uuid) -> Result<Value> {
        let query = listed()
            .filter(trainers::Column::Id.eq(id))
            .select_only()
            .expr_as(sort.key(), "sort_key");
        let key = match sort {
            MarketplaceSort::Newest => query
                .into_tuple::<DateTimeUtc>()
                .one(&self.db)
                .await?
                .map(Value::from),
            MarketplaceSort::Popular | MarketplaceSort::Rating => query
                .into_tuple::<i64>()
                .one(&self.db)
                .await?
                .map(Value::from),
        };
        key.ok_or_else(|| {
            DomainError::invalid(
                "after",
                "that trainer is no longer listed; start again from the first page",
            )
            .into()
        })
    }
}

/// A READY version of a listed trainer: what any organization's jobs may run.
pub(crate) async fn listed_version(
    db: &DatabaseConnection,
    id: TrainerVersionId,
) -> keynet_domain::Result<trainer_versions::Model> {
    let listed_ids = listed()
        .select_only()
        .column(trainers::Column::Id)
        .into_query();
    trainer_versions::Entity::find_by_id(id)
        .filter(trainer_versions::Column::Status.eq(VersionStatus::Ready))
        .filter(trainer_versions::Column::TrainerId.in_subquery(listed_ids))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("trainer version"))
}

/// A filter's text, unless it is blank (then it filters nothing).
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// Trainers in the marketplace.
fn listed() -> Select<trainers::Entity> {
    trainers::Entity::find().filter(trainers::Column::PublishedVersionId.is_not_null())
}

impl MarketplaceSort {
    /// What the listing is ordered by, largest first (ties: the newer trainer first). Counts
    /// are integers on both databases, so a cursor compares them exactly.
    fn key(self) -> SimpleExpr {
        match self {
            Self::Popular => adopting_orgs(),
            Self::Rating => rating_per_mille(),
            Self::Newest => Expr::col((trainers::Entity, trainers::Column::PublishedAt)).into(),
        }
    }
}

/// How many other organizations have run the trainer (any job, any status): a figure one
/// organization cannot inflate by running it again and again.
fn adopting_orgs() -> SimpleExpr {
    let versions = Query::select()
        .column(trainer_versions::Column::Id)
        .from(trainer_versions::Entity)
        .and_where(
            Expr::col((
                trainer_versions::Entity,
                trainer_versions::Column::TrainerId,
            ))
            .equals((trainers::Entity, trainers::Column::Id)),
        )
        .to_owned();
    scalar(
        Query::select()
            .expr(Expr::col((jobs::Entity, jobs::Column::OrgId)).count_distinct())
            .from(jobs::Entity)
            .and_where(
                Expr::col((jobs::Entity, jobs::Column::TrainerVersionId)).in_subquery(versions),
            )
            .and_where(
                Expr::col((jobs::Entity, jobs::Column::OrgId))
                    .not_equals((trainers::Entity, trainers::Column::OrgId)),
            )
            .to_owned()
            .into_sub_query_statement(),
    )
}

/// The average rating in thousandths, 0 when unrated.
fn rating_per_mille() -> SimpleExpr {
    let rating = || Expr::col((trainer_ratings::Entity, trainer_ratings::Column::Rating));
    let average = Expr::expr(Func::sum(rating()))
        .mul(1000)
        .div(Func::count(rating()));
    scalar(
        Query::select()
            .expr(Func::coalesce([average, Expr::val(0).into()]))
            .from(trainer_ratings::Entity)
            .and_where(
                Expr::col((trainer_ratings::Entity, trainer_ratings::Column::TrainerId))
                    .equals((trainers::Entity, trainers::Column::Id)),
            )
            .to_owned()
            .into_sub_query_statement(),
    )
}

/// A subquery used as a value.
fn scalar(query: SubQueryStatement) -> SimpleExpr {
    SimpleExpr::SubQuery(None, Box::new(query))
}
