//! A GraphQL-over-HTTP client and the few steps most tests start with.

use serde_json::{Value, json};

#[derive(Clone)]
pub struct Gql {
    pub base_url: String,
    pub http: reqwest::Client,
}

/// A signed-up user with a session.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub user_id: String,
    pub token: String,
    pub refresh_token: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl Gql {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            http: reqwest::Client::new(),
        }
    }

    /// `GET {base_url}{path}`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .unwrap()
    }

    /// The body of `GET {base_url}{path}` as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// The whole response body of one operation.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// `data` of an operation that must succeed.
    pub async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.post(token, query, variables).await;
        assert!(
            response.get("errors").is_none_or(Value::is_null),
            "unexpected errors for {query}: {response:#}"
        );
        response["data"].clone()
    }

    /// The first error of an operation that must fail: its `extensions.code` and the error.
    pub async fn error(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (String, Value) {
        let response = self.post(token, query, variables).await;
        let error = response["errors"][0].clone();
        assert!(
            !error.is_null(),
            "expected an error for {query}: {response:#}"
        );
        let code = error["extensions"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_string();
        (code, error)
    }

    pub async fn code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        self.error(token, query, variables).await.0
    }

    pub async fn signup(&self, email: &str) -> Account {
        self.signup_with(email, None).await
    }

    pub async fn signup_with(&self, email: &str, invitation_token: Option<&str>) -> Account {
        let data = self
            .data(
                None,
                "mutation($input: SignupInput!) { signup(input: $input) { accessToken refreshToken user { id email } } }",
                json!({"input": {
                    "email": email,
                    "password": PASSWORD,
                    "displayName": email.split('@').next().unwrap(),
                    "invitationToken": invitation_token,
                }}),
            )
            .await;
        Account {
            email: email.to_string(),
            user_id: data["signup"]["user"]["id"].as_str().unwrap().to_string(),
            token: data["signup"]["accessToken"].as_str().unwrap().to_string(),
            refresh_token: data["signup"]["refreshToken"].as_str().unwrap().to_string(),
        }
    }

    /// Creates an organization owned by `owner`; returns its id.
    pub async fn create_org(&self, owner: &Account, slug: &str) -> String {
        let data = self
            .data(
                Some(&owner.token),
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }",
                json!({"input": {"name": slug.to_uppercase(), "slug": slug}}),
            )
            .await;
        data["createOrganization"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn create_project(&self, token: &str, org_id: &str, title: &str) -> String {
        let data = self
            .data(
                Some(token),
                "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
                json!({"input": {"orgId": org_id, "title": title, "taskType": "CLASSIFICATION"}}),
            )
            .await;
        data["createProject"]["id"].as_str().unwrap().to_string()
    }

    /// Sends an archive by the direct upload and waits (bounded) until its import is over;
    /// returns the dataset's `importStatus`.
    pub async fn import_archive(&self, token: &str, dataset: &str, archive: Vec<u8>) -> String {
        self.upload_dataset(token, dataset, archive).await;
        self.wait_for_import(token, dataset).await
    }

    /// Sends an archive by the direct upload, which queues its import; returns the upload's id.
    pub async fn upload_dataset(&self, token: &str, dataset: &str, archive: Vec<u8>) -> String {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(archive).file_name("data.zip"),
        );
        let response = self
            .http
            .post(format!(
                "{}/api/v1/datasets/{dataset}/upload",
                self.base_url
            ))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        body["upload"]["id"].as_str().unwrap().to_string()
    }

    /// Waits (bounded) until the dataset's import is over; returns its `importStatus`.
    pub async fn wait_for_import(&self, token: &str, dataset: &str) -> String {
        let query = "query($d: ID!) { dataset(id: $d) { importStatus } }";
        for _ in 0..300 {
            let data = self.data(Some(token), query, json!({"d": dataset})).await;
            let status = data["dataset"]["importStatus"]
                .as_str()
                .unwrap()
                .to_string();
            if status == "READY" || status == "FAILED" {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the import of dataset {dataset} did not finish");
    }

    pub async fn invite(&self, inviter: &Account, org_id: &str, email: &str, role: &str) -> String {
        let data = self
            .data(
                Some(&inviter.token),
                "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { id } }",
                json!({"input": {"orgId": org_id, "email": email, "role": role}}),
            )
            .await;
        data["inviteMember"]["id"].as_str().unwrap().to_string()
    }
}
