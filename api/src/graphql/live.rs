//! Live access: a subscription delivers only while its viewer may still see what it follows.
//!
//! Each subscription is admitted by a check (the same one a query of that thing makes). The
//! check runs again, on a freshly authenticated viewer, whenever that user's access may have
//! changed — a membership, role, session or API token of theirs, an organization deleted
//! (`Event::AccessChanged` on their access topic), or announcements missed — and the
//! subscription ends when the credential it was opened with expires. A failed check ends the
//! subscription with its error (`UNAUTHENTICATED`, `FORBIDDEN` or `NOT_FOUND`).

use super::context::{shared_domain, viewer};
use crate::error::{ApiError, ApiResult};
use async_graphql::Context;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use keynet_domain::events::{Event, user_access_topic};
use keynet_domain::time::{Timestamp, now};
use keynet_domain::{Domain, Error, Viewer};
use std::future::Future;
use std::sync::Arc;

/// The bearer credential a graphql-ws connection was opened with, kept so that a live view
/// can authenticate it again.
#[derive(Clone)]
pub struct Bearer(pub String);

type Check =
    Arc<dyn Fn(Arc<Domain>, Arc<Viewer>) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// What keeps watching a subscription's access once it was admitted.
pub struct Guard {
    domain: Arc<Domain>,
    viewer: Arc<Viewer>,
    bearer: Option<Bearer>,
    check: Check,
}

/// Admits a subscription if `check` passes for the viewer now; its result (the job, the
/// dataset …) goes to the subscription, and the guard watches the stream built from it.
pub async fn admit<A, F, Fut>(ctx: &Context<'_>, check: F) -> ApiResult<(A, Guard)>
where
    F: Fn(Arc<Domain>, Arc<Viewer>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<A, Error>> + Send + 'static,
    A: Send + 'static,
{
    let domain = shared_domain(ctx);
    let connection_viewer = viewer(ctx)?;
    if connection_viewer.expires_at.is_some_and(|at| at <= now()) {
        return Err(Error::CredentialRejected.into());
    }
    let bearer = ctx.data_opt::<Bearer>().cloned();
    // A connection lives long: what its viewer may do is read again for each subscription.
    let viewer = Arc::new(match &bearer {
        Some(Bearer(bearer)) => {
            domain
                .authenticate(bearer, connection_viewer.client_addr.clone())
                .await?
        }
        None => connection_viewer.clone(),
    });
    let check = Arc::new(check);
    let admitted = check(domain.clone(), viewer.clone()).await?;
    let check: Check = Arc::new(move |domain, viewer| {
        let passes = check(domain, viewer);
        Box::pin(async move { passes.await.map(drop) })
    });
    let guard = Guard {
        domain,
        viewer,
        bearer,
        check,
    };
    Ok((admitted, guard))
}

impl Guard {
    /// `items`, for as long as the viewer keeps access; then the reason, and the end.
    pub fn watch<T: Send + 'static>(
        self,
        items: impl Stream<Item = ApiResult<T>> + Send + 'static,
    ) -> BoxStream<'static, ApiResult<T>> {
        let changes = self
            .domain
            .events()
            .subscribe(&user_access_topic(self.viewer.user_id));
        let watched = Watched {
            guard: self,
            items: items.boxed(),
            changes,
            ended: false,
        };
        stream::unfold(watched, |mut watched| async move {
            watched.next().await.map(|item| (item, watched))
        })
        .boxed()
    }

    /// Authenticates the credential again (a revoked session or token fails here) and runs
    /// the subscription's check with what the viewer may do now.
    async fn still_allowed(&self) -> Result<(), Error> {
        let viewer = match &self.bearer {
            Some(Bearer(bearer)) => Arc::new(
                self.domain
                    .authenticate(bearer, self.viewer.client_addr.clone())
                    .await?,
            ),
            None => self.viewer.clone(),
        };
        (self.check)(self.domain.clone(), viewer).await
    }
}

struct Watched<T> {
    guard: Guard,
    items: BoxStream<'static, ApiResult<T>>,
    changes: BoxStream<'static, Event>,
    ended: bool,
}

impl<T> Watched<T> {
    async fn next(&mut self) -> Option<ApiResult<T>> {
        if self.ended {
            return None;
        }
        let expiry = self.guard.viewer.expires_at;
        loop {
            tokio::select! {
                // A change of access is handled before anything else that is ready.
                biased;
                change = self.changes.next() => match change {
                    Some(Event::AccessChanged { .. } | Event::Missed) => {
                        if let Err(refused) = self.guard.still_allowed().await {
                            return self.end(refused);
                        }
                    }
                    Some(_) => {}
                    None => return None,
                },
                () = until(expiry) => return self.end(Error::CredentialRejected),
                item = self.items.next() => return item,
            }
        }
    }

    fn end(&mut self, reason: Error) -> Option<ApiResult<T>> {
        self.ended = true;
        Some(Err(ApiError::from(reason)))
    }
}

/// Resolves at `at`; never when there is no expiry.
async fn until(at: Option<Timestamp>) {
    match at {
        Some(at) => tokio::time::sleep((at - now()).to_std().unwrap_or_default()).await,
        None => std::future::pending().await,
    }
}
