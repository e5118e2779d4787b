//! DataLoaders for references inside lists (an audit entry's actor, an invitation's
//! inviter, a listed trainer's rating): one query per list, not one per row. Created per request, so nothing cached
//! crosses requests or tenants.

use crate::error::ApiError;
use async_graphql::dataloader::Loader;
use keynet_domain::Domain;
use keynet_domain::entities::{experiment_notes, trainer_versions, users};
use keynet_domain::ids::{ExperimentId, OrgId, TrainerId, TrainerVersionId, UserId};
use keynet_marketplace::{Marketplace, RatingSummary};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

pub struct UserLoader(pub DatabaseConnection);

/// The notes of experiments, limited to the viewer's organizations.
pub struct NotesLoader {
    pub domain: Arc<Domain>,
    pub orgs: Vec<OrgId>,
}

impl Loader<ExperimentId> for NotesLoader {
    type Value = Vec<experiment_notes::Model>;
    type Error = Arc<keynet_domain::Error>;

    async fn load(
        &self,
        keys: &[ExperimentId],
    ) -> Result<HashMap<ExperimentId, Self::Value>, Self::Error> {
        let mut by_experiment: HashMap<ExperimentId, Self::Value> = HashMap::new();
        for note in self
            .domain
            .experiment_notes(&self.orgs, keys)
            .await
            .map_err(Arc::new)?
        {
            by_experiment
                .entry(note.experiment_id)
                .or_default()
                .push(note);
        }
        Ok(by_experiment)
    }
}

impl Loader<UserId> for UserLoader {
    type Value = users::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, users::Model>, Self::Error> {
        Ok(users::Entity::find()
            .filter(users::Column::Id.is_in(keys.iter().copied()))
            .all(&self.0)
            .await
            .map_err(Arc::new)?
            .into_iter()
            .map(|user| (user.id, user))
            .collect())
    }
}

/// What lists of trainers show beside each trainer (marketplace listings, an org's
/// trainers), one statement per field for the whole list. The keys name the field.
pub struct TrainerFieldsLoader(pub Arc<Marketplace>);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RatingOf(pub TrainerId);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlugOf(pub OrgId);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VersionById(pub TrainerVersionId);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VersionsOf(pub TrainerId);

/// Turns a marketplace answer keyed by ids into the loader's, keyed by `wrap`.
fn keyed<K: Eq + Hash, V, W: Eq + Hash>(
    loaded: keynet_marketplace::Result<HashMap<K, V>>,
    wrap: impl Fn(K) -> W,
) -> Result<HashMap<W, V>, ApiError> {
    Ok(loaded?.into_iter().map(|(k, v)| (wrap(k), v)).collect())
}

impl Loader<RatingOf> for TrainerFieldsLoader {
    type Value = RatingSummary;
    type Error = ApiError;

    async fn load(&self, keys: &[RatingOf]) -> Result<HashMap<RatingOf, RatingSummary>, ApiError> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        keyed(self.0.ratings_of(&ids).await, RatingOf)
    }
}

impl Loader<SlugOf> for TrainerFieldsLoader {
    type Value = String;
    type Error = ApiError;

    async fn load(&self, keys: &[SlugOf]) -> Result<HashMap<SlugOf, String>, ApiError> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        keyed(self.0.org_slugs(&ids).await, SlugOf)
    }
}

impl Loader<VersionById> for TrainerFieldsLoader {
    type Value = trainer_versions::Model;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[VersionById],
    ) -> Result<HashMap<VersionById, Self::Value>, ApiError> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        keyed(self.0.versions_by_id(&ids).await, VersionById)
    }
}

impl Loader<VersionsOf> for TrainerFieldsLoader {
    type Value = Vec<trainer_versions::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[VersionsOf],
    ) -> Result<HashMap<VersionsOf, Self::Value>, ApiError> {
        let ids: Vec<_> = keys.iter().map(|k| k.0).collect();
        keyed(self.0.versions_of(&ids).await, VersionsOf)
    }
}
