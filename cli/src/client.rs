//! A small GraphQL-over-HTTP client of the Keynet server: one POST to `/graphql` per
//! operation, the bearer credential in `Authorization`, and the server's
//! `errors[].extensions.code` carried into [`Error::Server`] so the CLI can tell a bad
//! input from an expired token from an outage.

use crate::error::{Error, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Long enough for a slow server, short enough that a dead one is reported.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    bearer: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    code: Option<String>,
}

/// A server URL as given: `http(s)://host[:port][/prefix]`, trailing slashes removed.
pub fn server_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| Error::Usage(format!("{url:?} is not a server URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Usage(format!(
            "{url:?} is not a server URL: it needs http:// or https:// and a host"
        )));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

impl Client {
    pub fn new(server_url: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("keynet-train/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::Network {
                url: server_url.to_string(),
                source,
            })?;
        Ok(Self {
            http,
            endpoint: format!("{server_url}/graphql"),
            bearer: None,
        })
    }

    /// The same client, authenticated as `credential` (an API token or an access token).
    pub fn authenticated(&self, credential: &str) -> Self {
        Self {
            bearer: Some(credential.to_string()),
            ..self.clone()
        }
    }

    /// Runs `query` and decodes its `data` into `T`.
    pub async fn run<T: DeserializeOwned>(&self, query: &str, variables: Value) -> Result<T> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .json(&serde_json::json!({"query": query, "variables": variables}));
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer);
        }
        let network = |source| Error::Network {
            url: self.endpoint.clone(),
            source,
        };
        let response = request.send().await.map_err(network)?;
        let status = response.status();
        let body = response.bytes().await.map_err(network)?;
        let decoded: Response = match serde_json::from_slice(&body) {
            Ok(decoded) => decoded,
            Err(_) if status == reqwest::StatusCode::UNAUTHORIZED => {
                return Err(Error::Auth("the server refused your credentials".into()));
            }
            Err(_) => {
                return Err(Error::Server {
                    code: format!("HTTP_{}", status.as_u16()),
                    message: format!(
                        "{} answered {status} with a body that is not GraphQL: {}",
                        self.endpoint,
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    ),
                });
            }
        };
        if let Some(error) = decoded.errors.into_iter().next() {
            let code = error
                .extensions
                .and_then(|extensions| extensions.code)
                .unwrap_or_else(|| "INTERNAL_SERVER_ERROR".into());
            return Err(Error::Server {
                code,
                message: error.message,
            });
        }
        let data = decoded.data.ok_or_else(|| Error::Server {
            code: "INTERNAL_SERVER_ERROR".into(),
            message: "the answer held neither data nor errors".into(),
        })?;
        serde_json::from_value(data).map_err(|e| Error::Server {
            code: "INTERNAL_SERVER_ERROR".into(),
            message: format!("the answer did not have the expected shape: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised_and_nonsense_refused() {
        assert_eq!(
            server_url("http://127.0.0.1:8080/").expect("valid"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_url(" https://keynet.example.com/api ").expect("valid"),
            "https://keynet.example.com/api"
        );
        for bad in ["keynet.example.com", "ftp://host", "http://", ""] {
            let error = server_url(bad).expect_err(bad);
            assert_eq!(error.exit_code(), 2, "{bad}: {error}");
        }
    }
}
