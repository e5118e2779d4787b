//! GraphQL output types: thin views over domain rows. Fields that reach other rows go
//! through the domain (with the viewer) or a DataLoader.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, viewer};
use super::enums::{
    DatasetSplit, DatasetStatus, ImportStatus, InvitationStatus, Role, Scope, TaskType,
    UploadStatus,
};
use super::loaders::{NotesLoader, UserLoader};
use super::samples::DatasetSamples;
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use keynet_domain::entities::datasets::SplitConfig as DomainSplitConfig;
use keynet_domain::entities::{
    api_tokens, audit_log, dataset_import_errors, dataset_snapshots, dataset_uploads, datasets,
    experiment_notes, invitations, organizations, projects, users,
};
use keynet_domain::experiments::ExperimentView;
use keynet_domain::ids::UserId;
use keynet_domain::invitations::status;
use keynet_domain::orgs::Member as DomainMember;
use keynet_domain::time::now;

pub(super) fn id(value: impl ToString) -> ID {
    ID(value.to_string())
}

pub(super) async fn load_user(ctx: &Context<'_>, user: Option<UserId>) -> ApiResult<Option<User>> {
    let Some(user) = user else { return Ok(None) };
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    loader
        .load_one(user)
        .await
        .map(|found| found.map(User))
        .map_err(|e| ApiError::from(keynet_domain::Error::Internal(anyhow::anyhow!("{e}"))))
}

pub struct User(pub users::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Organization(pub organizations::Model);

#[Object]
impl Organization {
    /// Bytes of files the organization stores; a file shared by several datasets or
    /// snapshots counts once.
    async fn storage_bytes(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(domain(ctx).storage_bytes(viewer(ctx)?, self.0.id).await?)
    }
    /// This calendar month's usage per meter (UTC) with a forecast; admins and owners.
    async fn usage_this_period(&self, ctx: &Context<'_>) -> ApiResult<super::billing::PeriodUsage> {
        let usage = super::billing::billing(ctx)
            .current_usage(viewer(ctx)?, self.0.id)
            .await?;
        Ok(super::billing::PeriodUsage(usage))
    }
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The signed-in user's role here.
    async fn viewer_role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        Ok(viewer(ctx)?.role_in(self.0.id).map(Role::from))
    }
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Member>> {
        let members = domain(ctx)
            .members(viewer(ctx)?, self.0.id, page(first, after)?)
            .await?;
        Ok(connection(members, |m| m.membership.id.0, Member))
    }
}

pub struct Member(pub DomainMember);

#[Object]
impl Member {
    async fn user(&self) -> User {
        User(self.0.user.clone())
    }
    async fn role(&self) -> Role {
        self.0.membership.role.into()
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.membership.created_at
    }
}

pub struct Invitation(pub invitations::Model);

#[Object]
impl Invitation {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn status(&self) -> InvitationStatus {
        status(&self.0, now()).into()
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn last_sent_at(&self) -> DateTime<Utc> {
        self.0.last_sent_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.invited_by).await
    }
}

/// What an invitee sees of the organization before joining it.
#[derive(SimpleObject)]
pub struct InvitedOrganization {
    pub name: String,
    pub slug: String,
}

#[derive(SimpleObject)]
pub struct InvitationPreview {
    pub organization: InvitedOrganization,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub struct ApiToken(pub api_tokens::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The token's first characters, to recognise it; the secret is never shown again.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn user_id(&self) -> ID {
        id(self.0.user_id)
    }
    async fn scopes(&self) -> Vec<Scope> {
        self.0.scopes.0.iter().copied().map(Scope::from).collect()
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub token: ApiToken,
    /// Shown once: store it now.
    pub secret: String,
}

pub struct Project(pub projects::Model);

#[Object]
impl Project {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn task_type(&self) -> TaskType {
        self.0.task_type.into()
    }
    async fn archived(&self) -> bool {
        self.0.archived_at.is_some()
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    /// e.g. `member.role_changed`, `api_token.created`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }
    async fn metadata(&self) -> Json<serde_json::Value> {
        Json(self.0.metadata.clone())
    }
    async fn client_address(&self) -> Option<&str> {
        self.0.client_addr.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires; refresh before then.
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

impl From<keynet_domain::auth::Session> for AuthPayload {
    fn from(session: keynet_domain::auth::Session) -> Self {
        Self {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: session.expires_at,
            user: User(session.user),
        }
    }
}

/// Ratios (adding up to 1) and the seed of the random split.
#[derive(SimpleObject, InputObject, Clone, Copy)]
#[graphql(input_name = "SplitConfigInput")]
pub struct SplitConfig {
    pub train: f64,
    pub val: f64,
    pub test: f64,
    pub seed: u64,
}

pub type SplitConfigInput = SplitConfig;

impl From<DomainSplitConfig> for SplitConfig {
    fn from(c: DomainSplitConfig) -> Self {
        Self {
            train: c.train,
            val: c.val,
            test: c.test,
            seed: c.seed,
        }
    }
}

impl From<SplitConfig> for DomainSplitConfig {
    fn from(c: SplitConfig) -> Self {
        Self {
            train: c.train,
            val: c.val,
            test: c.test,
            seed: c.seed,
        }
    }
}

pub struct Dataset(pub datasets::Model);

#[Object]
impl Dataset {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn project_id(&self) -> ID {
        id(self.0.project_id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn task_types(&self) -> Vec<TaskType> {
        self.0
            .task_types
            .0
            .iter()
            .copied()
            .map(TaskType::from)
            .collect()
    }
    async fn split_config(&self) -> SplitConfig {
        self.0.split_config.into()
    }
    /// Whether the dataset has content to snapshot and train on.
    async fn status(&self) -> DatasetStatus {
        if self.0.has_content() {
            DatasetStatus::Ready
        } else {
            DatasetStatus::Empty
        }
    }
    /// How the most recent import went (or stands, while it runs); null before the first.
    async fn last_import(&self) -> Option<DatasetImport> {
        self.0.last_import().map(|last| DatasetImport {
            upload_id: id(last.upload_id),
            status: last.status.into(),
            error: last.error,
            at: last.at,
        })
    }
    /// The state of the most recent import, `EMPTY` before the first (`READY`: it
    /// succeeded; `FAILED`: it was refused, the dataset keeps its content).
    #[graphql(
        deprecation = "use `status` (is the dataset usable) and `lastImport` (how the last import went)"
    )]
    async fn import_status(&self) -> ImportStatus {
        self.0.import_status.into()
    }
    /// The format detected at the last successful import (`dice`, `yolo`, `coco`, `image_folder`).
    async fn format(&self) -> Option<&str> {
        self.0.format.as_deref()
    }
    /// Images, classes, annotations per class, image sizes, images without labels,
    /// duplicates; from the last successful import.
    async fn statistics(&self) -> Option<Json<serde_json::Value>> {
        self.0.statistics.clone().map(Json)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Newest first.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn uploads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<DatasetUpload>> {
        let uploads = domain(ctx)
            .dataset_uploads(viewer(ctx)?, self.0.id, page(first, after)?)
            .await?;
        Ok(connection(uploads, |u| u.id.0, DatasetUpload))
    }
    /// Newest first.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn snapshots(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Snapshot>> {
        let snapshots = domain(ctx)
            .dataset_snapshots(viewer(ctx)?, self.0.id, page(first, after)?)
            .await?;
        Ok(connection(snapshots, |s| s.id.0, Snapshot))
    }
    /// Its images with their labels (boxes for detection), to look at: `offset` counts from
    /// the first image in import order, `first` is 1 to 100; of one `split` or all. Each
    /// image's `url` works for an hour.
    #[graphql(complexity = "list_complexity(child_complexity, Some(first))")]
    async fn samples(
        &self,
        ctx: &Context<'_>,
        split: Option<DatasetSplit>,
        #[graphql(default = 24)] first: i32,
        #[graphql(default = 0)] offset: i32,
    ) -> ApiResult<DatasetSamples> {
        let offset = usize::try_from(offset)
            .map_err(|_| keynet_domain::Error::invalid("offset", "must not be negative"))?;
        let samples = domain(ctx)
            .dataset_samples(
                viewer(ctx)?,
                self.0.id,
                split.map(Into::into),
                offset,
                usize::try_from(first).unwrap_or(0),
            )
            .await?;
        Ok(samples.into())
    }
    /// What the most recent import refused: each file with the reason.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn import_errors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ImportError>> {
        let errors = domain(ctx)
            .import_errors(viewer(ctx)?, self.0.id, page(first, after)?)
            .await?;
        Ok(connection(errors, |e| e.id.0, ImportError))
    }
}

/// A dataset's most recent import.
#[derive(SimpleObject)]
pub struct DatasetImport {
    pub upload_id: ID,
    /// `QUEUED`, `IMPORTING`, then `SUCCEEDED` or `FAILED`.
    pub status: UploadStatus,
    /// Why it was refused: the first problem and how many more (each in `importErrors`).
    pub error: Option<String>,
    /// When it reached `status`.
    pub at: DateTime<Utc>,
}

pub struct Snapshot(pub dataset_snapshots::Model);

#[Object]
impl Snapshot {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn dataset_id(&self) -> ID {
        id(self.0.dataset_id)
    }
    /// 1, 2, 3 … per dataset.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
    /// The split configuration the snapshot's splits were assigned with.
    async fn split_config(&self) -> SplitConfig {
        self.0.split_config.into()
    }
    async fn image_count(&self) -> i64 {
        self.0.image_count
    }
    /// A zip of the DICE layout (annotations, `splits.json`, `images/`), streamed; the link
    /// works for an hour without signing in.
    async fn download_url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(domain(ctx)
            .snapshot_download_url(viewer(ctx)?, self.0.id)
            .await?)
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct DatasetUpload(pub dataset_uploads::Model);

#[Object]
impl DatasetUpload {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn dataset_id(&self) -> ID {
        id(self.0.dataset_id)
    }
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    async fn size_bytes(&self) -> i64 {
        self.0.declared_size
    }
    async fn status(&self) -> UploadStatus {
        self.0.status.into()
    }
    /// Problems the import found; the first ones are in `dataset.importErrors`.
    async fn error_count(&self) -> i32 {
        self.0.error_count
    }
    /// More problems were found than were kept.
    async fn errors_truncated(&self) -> bool {
        self.0.errors_truncated
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
}

#[derive(SimpleObject)]
pub struct CreatedDatasetUpload {
    pub upload: DatasetUpload,
    /// PUT the zip here, exactly `sizeBytes` bytes, then call `completeDatasetUpload`.
    pub upload_url: String,
}

pub struct ImportError(pub dataset_import_errors::Model);

#[Object]
impl ImportError {
    /// The file in the archive.
    async fn file(&self) -> &str {
        &self.0.file
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
}

pub struct Experiment(pub ExperimentView);

#[Object]
impl Experiment {
    async fn id(&self) -> ID {
        id(self.0.experiment.id)
    }
    async fn project_id(&self) -> ID {
        id(self.0.experiment.project_id)
    }
    async fn name(&self) -> &str {
        &self.0.experiment.name
    }
    async fn description(&self) -> &str {
        &self.0.experiment.description
    }
    async fn tags(&self) -> &[String] {
        &self.0.experiment.tags.0
    }
    /// Whether you starred it.
    async fn starred(&self) -> bool {
        self.0.starred
    }
    async fn archived(&self) -> bool {
        self.0.experiment.archived_at.is_some()
    }
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.experiment.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.experiment.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.experiment.updated_at
    }
    /// The jobs attached to the experiment, newest first.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<super::job_types::Job>> {
        let runs = domain(ctx)
            .experiment_runs(viewer(ctx)?, self.0.experiment.id, page(first, after)?)
            .await?;
        Ok(connection(runs, |j| j.id.0, super::job_types::Job))
    }
    /// Oldest first.
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExperimentNote>> {
        let loader = ctx.data_unchecked::<DataLoader<NotesLoader>>();
        let notes = loader
            .load_one(self.0.experiment.id)
            .await
            .map_err(|e| ApiError::from(keynet_domain::Error::Internal(anyhow::anyhow!("{e}"))))?;
        Ok(notes
            .unwrap_or_default()
            .into_iter()
            .map(ExperimentNote)
            .collect())
    }
}

pub struct ExperimentNote(pub experiment_notes::Model);

#[Object]
impl ExperimentNote {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn experiment_id(&self) -> ID {
        id(self.0.experiment_id)
    }
    /// Markdown.
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.author_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
