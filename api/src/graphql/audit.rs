//! The audit log, as a list and live.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, viewer};
use super::live;
use super::types::AuditEntry;
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ID, Object, Subscription};
use futures_util::{Stream, StreamExt};
use keynet_domain::events::{Event, org_audit_topic};
use keynet_domain::ids::OrgId;
use keynet_domain::roles::Permission;

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Newest first; admins and owners only.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        first: Option<i32>,
        after: Option<String>,
        action: Option<String>,
    ) -> ApiResult<Conn<AuditEntry>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let entries = domain(ctx)
            .audit_log(viewer(ctx)?, org, action.as_deref(), page(first, after)?)
            .await?;
        Ok(connection(entries, |e| e.id.0, AuditEntry))
    }
}

#[derive(Default)]
pub struct AuditSubscription;

#[Subscription]
impl AuditSubscription {
    /// Each new audit entry of the organization as it is committed, while the viewer may
    /// read the audit log.
    async fn audit_log_added(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<AuditEntry>> + use<>, ApiError> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let ((), guard) = live::admit(ctx, move |_, viewer| async move {
            viewer.require(org, Permission::ReadAuditLog).map(drop)
        })
        .await?;
        let entries = domain(ctx)
            .events()
            .subscribe(&org_audit_topic(org))
            .filter_map(|event| async move {
                match event {
                    Event::AuditEntryAdded(entry) => Some(Ok(AuditEntry(entry))),
                    _ => None,
                }
            });
        Ok(guard.watch(entries))
    }
}
