//! What resolvers take from the request context: the viewer, the domain and marketplace,
//! parsed ids and pages.

use super::loaders::TrainerFieldsLoader;
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID};
use keynet_domain::page::PageRequest;
use keynet_domain::{Domain, Error, Viewer};
use keynet_marketplace::Marketplace;
use std::str::FromStr;
use std::sync::Arc;

/// Per request: where it came from, and whether it presented a credential that failed.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub client_addr: Option<String>,
    pub credential_refused: bool,
}

pub fn domain<'a>(ctx: &Context<'a>) -> &'a Domain {
    ctx.data_unchecked::<Arc<Domain>>()
}

/// The domain for what outlives the request (a subscription's stream).
pub fn shared_domain(ctx: &Context<'_>) -> Arc<Domain> {
    ctx.data_unchecked::<Arc<Domain>>().clone()
}

pub fn marketplace<'a>(ctx: &Context<'a>) -> &'a Marketplace {
    ctx.data_unchecked::<Arc<Marketplace>>()
}

/// The request's loader of what lists of trainers show beside each trainer.
pub fn trainer_fields<'a>(ctx: &Context<'a>) -> &'a DataLoader<TrainerFieldsLoader> {
    ctx.data_unchecked::<DataLoader<TrainerFieldsLoader>>()
}

pub fn meta<'a>(ctx: &Context<'a>) -> &'a RequestMeta {
    ctx.data_unchecked::<RequestMeta>()
}

pub fn viewer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    ctx.data_opt::<Viewer>().ok_or_else(|| {
        ApiError::from(if meta(ctx).credential_refused {
            Error::CredentialRejected
        } else {
            Error::Unauthenticated
        })
    })
}

pub fn parse_id<T: FromStr>(id: &ID, field: &'static str) -> ApiResult<T> {
    id.parse()
        .map_err(|_| ApiError::from(Error::invalid(field, "not a valid id")))
}

pub fn page(first: Option<i32>, after: Option<String>) -> ApiResult<PageRequest> {
    Ok(PageRequest::new(first, after.as_deref())?)
}
