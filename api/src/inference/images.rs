//! The image of a `POST /v1/infer/…` request, in any of the three shapes the endpoint takes:
//! the raw body (`image/jpeg`, `image/png`, …, or no content type), a multipart form with an
//! `image` (or `file`) part, or JSON `{"image": "<base64>"}` (a `data:` URL is accepted).

use super::refusal::Refusal;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use base64::Engine;
use futures_util::StreamExt;

#[derive(serde::Deserialize)]
struct JsonImage {
    image: Option<String>,
}

pub async fn image_of(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, Refusal> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let image = if content_type.starts_with("multipart/form-data") {
        from_multipart(req, payload, limit).await?
    } else if content_type.starts_with("application/json") {
        let body = crate::http::read_limited(req, payload, limit).await?;
        from_json(&body)?
    } else {
        crate::http::read_limited(req, payload, limit).await?
    };
    if image.is_empty() {
        return Err(Refusal::bad_input(
            "image",
            "is empty; send the image as the body, as a multipart `image` part, or as base64 in JSON {\"image\": …}",
        ));
    }
    Ok(image)
}

fn from_json(body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let parsed: JsonImage = serde_json::from_slice(body).map_err(|e| {
        Refusal::bad_input(
            "body",
            format!("is not JSON {{\"image\": \"<base64>\"}}: {e}"),
        )
    })?;
    let text = parsed
        .image
        .ok_or_else(|| Refusal::bad_input("image", "is missing: send {\"image\": \"<base64>\"}"))?;
    // A data URL (`data:image/png;base64,…`) as browsers make them.
    let encoded = match text.split_once(";base64,") {
        Some((prefix, data)) if prefix.starts_with("data:") => data,
        _ => text.as_str(),
    };
    let encoded = encoded.trim();
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
        .map_err(|e| Refusal::bad_input("image", format!("is not base64: {e}")))
}

async fn from_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, Refusal> {
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    while let Some(field) = multipart.next().await {
        let mut field = field
            .map_err(|e| Refusal::bad_input("body", format!("is not a multipart form: {e}")))?;
        if !matches!(field.name(), Some("image" | "file")) {
            continue;
        }
        let mut image = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| Refusal::bad_input("image", format!("cannot be read: {e}")))?;
            if image.len() + chunk.len() > limit {
                return Err(crate::http::BodyError::TooLarge(limit).into());
            }
            image.extend_from_slice(&chunk);
        }
        return Ok(image);
    }
    Err(Refusal::bad_input(
        "image",
        "the multipart form has no `image` part",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_takes_plain_base64_and_data_urls() {
        assert_eq!(from_json(br#"{"image": "AQID"}"#).ok(), Some(vec![1, 2, 3]));
        assert_eq!(
            from_json(br#"{"image": "data:image/png;base64,AQID"}"#).ok(),
            Some(vec![1, 2, 3])
        );
        let missing = from_json(br#"{"picture": "AQID"}"#).err();
        assert_eq!(missing.and_then(|r| r.field).as_deref(), Some("image"));
        let broken = from_json(br#"{"image": "!!"}"#).err();
        assert_eq!(broken.and_then(|r| r.field).as_deref(), Some("image"));
        let not_json = from_json(b"\x89PNG").err();
        assert_eq!(not_json.and_then(|r| r.field).as_deref(), Some("body"));
    }
}
