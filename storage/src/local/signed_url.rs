//! The local store's signed URLs: `{base}/api/v1/blobs/{key}?expires=…&signature=…` with
//! `filename` (downloads) or `size` (uploads). The signature is an HMAC-SHA256 over the
//! method, key, expiry and those parameters, so a link works only for the request it was
//! made for.

use crate::Error;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The path under the public URL where Keynet serves the local store's blobs.
pub const BLOBS_PATH: &str = "/api/v1/blobs/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
        }
    }
}

/// What a verified URL allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    pub method: Method,
    pub key: String,
    /// The exact body size of an upload (always set for [`Method::Put`]).
    pub size: Option<u64>,
    /// The name a download is saved under (see [`crate::content_disposition`]).
    pub filename: Option<String>,
}

/// The signed parts of a URL.
struct Claims<'a> {
    method: Method,
    key: &'a str,
    expires: u64,
    size: Option<u64>,
    filename: Option<&'a str>,
}

impl Claims<'_> {
    /// One field per line with the free-form filename last: keys, numbers and the method
    /// hold no line break, so no two claims share a message. The prefix keeps these MACs
    /// apart from anything else the same key might sign.
    fn message(&self) -> String {
        format!(
            "keynet-blob-url-v1\n{}\n{}\n{}\n{}\n{}",
            self.method.as_str(),
            self.key,
            self.expires,
            self.size.map(|s| s.to_string()).unwrap_or_default(),
            self.filename.unwrap_or_default(),
        )
    }
}

pub(crate) struct UrlSigner {
    base_url: String,
    key: Vec<u8>,
}

impl UrlSigner {
    pub(crate) fn new(base_url: &str, key: Vec<u8>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
        }
    }

    fn mac(&self, claims: &Claims<'_>) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(claims.message().as_bytes());
        mac
    }

    pub(crate) fn sign(
        &self,
        method: Method,
        key: &str,
        ttl: Duration,
        size: Option<u64>,
        filename: Option<&str>,
    ) -> String {
        let expires_at = SystemTime::now() + ttl;
        let expires = expires_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or_default();
        let claims = Claims {
            method,
            key,
            expires,
            size,
            filename,
        };
        let signature = hex::encode(self.mac(&claims).finalize().into_bytes());
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("expires", &expires.to_string());
        if let Some(size) = size {
            query.append_pair("size", &size.to_string());
        }
        if let Some(filename) = filename {
            query.append_pair("filename", filename);
        }
        query.append_pair("signature", &signature);
        format!("{}{BLOBS_PATH}{key}?{}", self.base_url, query.finish())
    }

    /// Checks a request: `key` from the path, `query` the raw query string.
    pub(crate) fn verify(
        &self,
        method: Method,
        key: &str,
        query: &str,
    ) -> Result<SignedRequest, Error> {
        let params = QueryParams::parse(query)?;
        let signature = params
            .signature
            .ok_or_else(|| Error::MalformedUrl("it has no `signature`".into()))?;
        let expires = params
            .expires
            .ok_or_else(|| Error::MalformedUrl("it has no `expires`".into()))?
            .parse::<u64>()
            .map_err(|_| Error::MalformedUrl("`expires` is not a number of seconds".into()))?;
        let size = params
            .size
            .map(|s| s.parse::<u64>())
            .transpose()
            .map_err(|_| Error::MalformedUrl("`size` is not a number of bytes".into()))?;
        let claims = Claims {
            method,
            key,
            expires,
            size,
            filename: params.filename.as_deref(),
        };
        let signature = hex::decode(&signature).map_err(|_| Error::BadSignature)?;
        // verify_slice compares in constant time: no timing hints towards a valid MAC.
        self.mac(&claims)
            .verify_slice(&signature)
            .map_err(|_| Error::BadSignature)?;
        // Checked after the signature, so "expired" is only ever said of a genuine link.
        if SystemTime::now() > UNIX_EPOCH + Duration::from_secs(expires) {
            return Err(Error::ExpiredUrl);
        }
        // Only upload links are signed for PUT, and they always carry their size.
        if method == Method::Put && size.is_none() {
            return Err(Error::MalformedUrl("an upload link needs `size`".into()));
        }
        Ok(SignedRequest {
            method,
            key: key.to_string(),
            size,
            filename: params.filename,
        })
    }
}

#[derive(Default)]
struct QueryParams {
    expires: Option<String>,
    size: Option<String>,
    filename: Option<String>,
    signature: Option<String>,
}

impl QueryParams {
    /// Reads the signed parameters; other ones (cache busters) are ignored, but a repeated
    /// signed one is refused rather than guessing which one counts.
    fn parse(query: &str) -> Result<Self, Error> {
        let mut params = Self::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "expires" => &mut params.expires,
                "size" => &mut params.size,
                "filename" => &mut params.filename,
                "signature" => &mut params.signature,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(Error::MalformedUrl(format!("`{name}` appears twice")));
            }
        }
        Ok(params)
    }
}
