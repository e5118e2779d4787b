//! DataLoaders for references inside lists (an audit entry's actor, an invitation's
//! inviter): one query per list, not one per row. Created per request, so nothing cached
//! crosses requests or tenants.

use async_graphql::dataloader::Loader;
use keynet_domain::Domain;
use keynet_domain::entities::{experiment_notes, users};
use keynet_domain::ids::{ExperimentId, OrgId, UserId};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
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
