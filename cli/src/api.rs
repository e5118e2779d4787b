//! The server operations `keynet-train` uses, typed. The GraphQL text of each lives next
//! to the type it decodes into, so a field added to one is seen in the other.

use crate::client::Client;
use crate::error::Result;
use chrono::{DateTime, Utc};
use keynet_hyperparameters::{HyperParameter, ParamType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Items asked for per page of a paginated list.
const PAGE_SIZE: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    pub access_token: String,
    pub user: Account,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// A new API token: the secret (shown once) and when it expires.
pub struct PushToken {
    pub secret: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub org_id: String,
    pub title: String,
    pub task_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub nodes: Vec<T>,
    pub page_info: PageInfo,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub id: String,
    pub upload_key: String,
    pub repository: String,
    pub expires_at: DateTime<Utc>,
    pub version: VersionReport,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: String,
    pub status: String,
    pub message: String,
}

/// A version with what its checks found so far.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    pub id: String,
    pub version: i64,
    pub status: String,
    pub image: String,
    pub manifest_digest: Option<String>,
    pub created_at: DateTime<Utc>,
    pub checks: Vec<Check>,
}

impl VersionReport {
    /// READY, REJECTED or EXPIRED: nothing will change any more.
    pub fn settled(&self) -> bool {
        matches!(self.status.as_str(), "READY" | "REJECTED" | "EXPIRED")
    }
}

const VERSION_FIELDS: &str =
    "id version status image manifestDigest createdAt checks { name status message }";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trainer {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub versions: Vec<VersionReport>,
}

/// Exchanges an email and password for an access token.
pub async fn sign_in(client: &Client, email: &str, password: &str) -> Result<SignedIn> {
    #[derive(Deserialize)]
    struct Data {
        login: SignedIn,
    }
    let data: Data = client
        .run(
            "mutation($input: LoginInput!) { login(input: $input) { accessToken user { id email } } }",
            json!({"input": {"email": email, "password": password}}),
        )
        .await?;
    Ok(data.login)
}

pub async fn me(client: &Client) -> Result<Account> {
    #[derive(Deserialize)]
    struct Data {
        me: Account,
    }
    let data: Data = client.run("{ me { id email } }", json!({})).await?;
    Ok(data.me)
}

/// Every organization the credential reaches (an API token reaches its own only).
pub async fn organizations(client: &Client) -> Result<Vec<Organization>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        my_organizations: Page<Organization>,
    }
    all_pages(|after| async move {
        let data: Data = client
            .run(
                "query($first: Int, $after: String) { myOrganizations(first: $first, after: $after) { nodes { id slug name } pageInfo { hasNextPage endCursor } } }",
                json!({"first": PAGE_SIZE, "after": after}),
            )
            .await?;
        Ok(data.my_organizations)
    })
    .await
}

/// A new API token of `org_id` that may push trainers.
pub async fn create_push_token(client: &Client, org_id: &str, name: &str) -> Result<PushToken> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Token {
        expires_at: Option<DateTime<Utc>>,
    }
    #[derive(Deserialize)]
    struct Created {
        token: Token,
        secret: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        create_api_token: Created,
    }
    let data: Data = client
        .run(
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { expiresAt } } }",
            json!({"input": {"name": name, "orgId": org_id, "scopes": ["TRAINER_PUSH"]}}),
        )
        .await?;
    Ok(PushToken {
        secret: data.create_api_token.secret,
        expires_at: data.create_api_token.token.expires_at,
    })
}

/// One page of the projects the credential may push trainers for.
pub async fn trainable_projects(client: &Client, after: Option<String>) -> Result<Page<Project>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        trainable_projects: Page<Project>,
    }
    let data: Data = client
        .run(
            "query($first: Int, $after: String) { trainableProjects(first: $first, after: $after) { nodes { id orgId title taskType } pageInfo { hasNextPage endCursor } } }",
            json!({"first": PAGE_SIZE, "after": after}),
        )
        .await?;
    Ok(data.trainable_projects)
}

pub async fn project(client: &Client, id: &str) -> Result<Project> {
    #[derive(Deserialize)]
    struct Data {
        project: Project,
    }
    let data: Data = client
        .run(
            "query($id: ID!) { project(id: $id) { id orgId title taskType } }",
            json!({"id": id}),
        )
        .await?;
    Ok(data.project)
}

/// A declaration as the server's GraphQL `HyperParameterInput`. The declaration's own JSON
/// is the stored form (the type in lower case, a false switch left out); GraphQL spells
/// its enum values in upper case.
#[derive(Debug, Serialize)]
pub struct HyperParameterInput<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    param_type: &'static str,
    default: &'a Option<Value>,
    required: bool,
    help: &'a Option<String>,
    choices: &'a [Value],
    switch: bool,
}

impl<'a> From<&'a HyperParameter> for HyperParameterInput<'a> {
    fn from(parameter: &'a HyperParameter) -> Self {
        // Every field named, so a field added to the declaration cannot be left unsent.
        let HyperParameter {
            name,
            param_type,
            default,
            required,
            help,
            choices,
            switch,
        } = parameter;
        Self {
            name,
            param_type: match param_type {
                ParamType::Str => "STR",
                ParamType::Int => "INT",
                ParamType::Float => "FLOAT",
                ParamType::Bool => "BOOL",
            },
            default,
            required: *required,
            help,
            choices,
            switch: *switch,
        }
    }
}

/// An upload key for the next version of `model_name`, declaring its hyperparameters.
pub async fn request_upload(
    client: &Client,
    project_id: &str,
    model_name: &str,
    hyperparameters: &[HyperParameter],
) -> Result<Upload> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        request_trainer_upload: Upload,
    }
    let hyperparameters: Vec<HyperParameterInput> = hyperparameters
        .iter()
        .map(HyperParameterInput::from)
        .collect();
    let query = format!(
        "mutation($input: RequestTrainerUploadInput!) {{ requestTrainerUpload(input: $input) {{ id uploadKey repository expiresAt version {{ {VERSION_FIELDS} }} }} }}"
    );
    let data: Data = client
        .run(
            &query,
            json!({"input": {"projectId": project_id, "modelName": model_name, "hyperParameters": hyperparameters}}),
        )
        .await?;
    Ok(data.request_trainer_upload)
}

pub async fn version(client: &Client, id: &str) -> Result<VersionReport> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        trainer_version: VersionReport,
    }
    let query = format!("query($id: ID!) {{ trainerVersion(id: $id) {{ {VERSION_FIELDS} }} }}");
    let data: Data = client.run(&query, json!({"id": id})).await?;
    Ok(data.trainer_version)
}

/// The version an upload key was issued for, used or not.
pub async fn version_of_upload(client: &Client, upload_key: &str) -> Result<VersionReport> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        trainer_upload_version: VersionReport,
    }
    let query = format!(
        "query($key: String!) {{ trainerUploadVersion(uploadKey: $key) {{ {VERSION_FIELDS} }} }}"
    );
    let data: Data = client.run(&query, json!({"key": upload_key})).await?;
    Ok(data.trainer_upload_version)
}

/// Every trainer of `org_id` with its versions.
pub async fn trainers(client: &Client, org_id: &str) -> Result<Vec<Trainer>> {
    #[derive(Deserialize)]
    struct Data {
        trainers: Page<Trainer>,
    }
    let query = format!(
        "query($org: ID!, $first: Int, $after: String) {{ trainers(orgId: $org, first: $first, after: $after) {{ nodes {{ id name slug versions {{ {VERSION_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let query = query.as_str();
    all_pages(|after| async move {
        let data: Data = client
            .run(
                query,
                json!({"org": org_id, "first": PAGE_SIZE, "after": after}),
            )
            .await?;
        Ok(data.trainers)
    })
    .await
}

/// Follows `pageInfo` until the last page.
async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(after).await?;
        items.extend(page.nodes);
        match page.page_info.end_cursor {
            Some(cursor) if page.page_info.has_next_page => after = Some(cursor),
            _ => return Ok(items),
        }
    }
}
