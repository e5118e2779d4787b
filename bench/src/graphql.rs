//! The two GraphQL reads under test, sent over HTTP with keep-alive, as a client would.

use anyhow::{Context, Result, bail, ensure};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use std::sync::Arc;

pub const ME: &str = "query { me { id email displayName } }";

pub const ORG_MEMBERS: &str = "query($slug: String!) { organization(slug: $slug) { id name \
     members(first: 20) { edges { node { role joinedAt user { id email displayName } } } } } }";

/// One prepared request: the body is serialized once, so the load loop spends its CPU on
/// the request itself rather than on building it.
#[derive(Clone)]
pub struct GraphqlCall {
    client: reqwest::Client,
    url: Arc<str>,
    authorization: Arc<str>,
    body: Arc<str>,
}

impl GraphqlCall {
    pub fn new(
        client: &reqwest::Client,
        base_url: &str,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Self {
        Self {
            client: client.clone(),
            url: format!("{base_url}/graphql").into(),
            authorization: format!("Bearer {token}").into(),
            body: json!({"query": query, "variables": variables})
                .to_string()
                .into(),
        }
    }

    async fn response(&self) -> Result<(reqwest::StatusCode, Vec<u8>)> {
        let response = self
            .client
            .post(&*self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, &*self.authorization)
            .body(self.body.to_string())
            .send()
            .await
            .context("GraphQL request failed")?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .context("cannot read the GraphQL response")?;
        Ok((status, body.to_vec()))
    }

    /// The load-loop request: fails on a non-200 answer or any GraphQL error, without
    /// parsing the JSON (that cost would land in the client, not the server).
    pub async fn send(&self) -> Result<()> {
        let (status, body) = self.response().await?;
        if !status.is_success() || contains(&body, b"\"errors\"") {
            bail!(
                "GraphQL request answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }

    /// `data` of the response, parsed: checks a request before it is put under load.
    pub async fn data(&self) -> Result<Value> {
        let (status, body) = self.response().await?;
        let response: Value = serde_json::from_slice(&body).context("the response is not JSON")?;
        ensure!(
            status.is_success() && response.get("errors").is_none_or(Value::is_null),
            "GraphQL request answered {status}: {response}"
        );
        Ok(response["data"].clone())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Checks that `organization{members}` answers the expected number of members.
pub async fn check_member_count(call: &GraphqlCall, expected: usize) -> Result<()> {
    let data = call.data().await?;
    let edges = data["organization"]["members"]["edges"]
        .as_array()
        .context("no members edges in the answer")?;
    ensure!(
        edges.len() == expected,
        "organization.members returned {} members, expected {expected}",
        edges.len()
    );
    Ok(())
}

/// Checks that `me` answers the expected account.
pub async fn check_me(call: &GraphqlCall, email: &str) -> Result<()> {
    let data = call.data().await?;
    ensure!(
        data["me"]["email"] == email,
        "me answered {data}, expected {email}"
    );
    Ok(())
}

/// `GET /healthz`: the HTTP round trip alone (client, actix, the platform's middleware), no
/// GraphQL and no SQL. The floor under both GraphQL reads.
pub async fn healthz(client: &reqwest::Client, url: &str) -> Result<()> {
    let response = client
        .get(url)
        .send()
        .await
        .context("health request failed")?;
    ensure!(
        response.status().is_success(),
        "healthz answered {}",
        response.status()
    );
    response
        .bytes()
        .await
        .context("cannot read the health answer")?;
    Ok(())
}

/// One `login` mutation, as a client signs in; returns nothing but fails on any error.
pub async fn login(
    client: &reqwest::Client,
    base_url: &str,
    email: &str,
    password: &str,
) -> Result<()> {
    let body = json!({
        "query": "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
        "variables": {"input": {"email": email, "password": password}},
    });
    let response: Value = client
        .post(format!("{base_url}/graphql"))
        .json(&body)
        .send()
        .await
        .context("login request failed")?
        .json()
        .await
        .context("the login response is not JSON")?;
    ensure!(
        response["data"]["login"]["accessToken"].is_string(),
        "login failed: {response}"
    );
    Ok(())
}
