//! DataLoaders for references inside lists (an audit entry's actor, an invitation's
//! inviter): one query per list, not one per row. Created per request, so nothing cached
//! crosses requests or tenants.

use async_graphql::dataloader::Loader;
use keynet_domain::entities::users;
use keynet_domain::ids::UserId;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;

pub struct UserLoader(pub DatabaseConnection);

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
