//! The web console as the binary serves it: its files from the build embedded in the
//! binary, its client-side routes answering `index.html` to browsers only, and its session's
//! refresh token in an HttpOnly cookie that only the console's session endpoints see.

use crate::static_files::{assert_served_for_good, header, references};
use keynet_testkit::TestApp;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    the_console_comes_from_this_server,
    browsers_get_the_console_on_its_routes_and_callers_get_json,
    a_console_session_lives_in_an_http_only_cookie,
    the_session_endpoints_refuse_what_is_not_the_console,
    a_reused_cookie_ends_the_session,
    cookies_are_secure_behind_https
        where |settings| settings.public_url = Some("https://keynet.example.com".into()),
);

const SESSION: &str = "/console/session";
const REFRESH: &str = "/console/session/refresh";
const HEADER: (&str, &str) = ("x-keynet-console", "1");

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap()
}

async fn the_console_comes_from_this_server(app: &TestApp) {
    let html = app.get_text("/").await;
    let assets: Vec<String> = references(&html)
        .into_iter()
        .filter(|reference| reference.starts_with("/assets/"))
        .collect();
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "a script and a stylesheet: {html}"
    );
    for asset in &assets {
        let content_type = if asset.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert_served_for_good(app, asset, content_type).await;
    }
    let missing = app.get("/assets/index-00000000.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&missing.json().await.unwrap()), "NOT_FOUND");
}

async fn browsers_get_the_console_on_its_routes_and_callers_get_json(app: &TestApp) {
    let index = app.get_text("/").await;
    let navigate = |path: &str| {
        app.http
            .get(format!("{}{path}", app.url()))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
    };
    // A reload on one of the console's pages: the console, which routes it.
    let page = navigate("/orgs/acme/projects").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert!(header(&page, "content-security-policy").contains("script-src 'self';"));
    assert_eq!(page.text().await.unwrap(), index);
    // An API caller on a path that does not exist: the API's answer, not a page.
    for response in [
        app.get("/orgs/acme/projects").await,
        app.http
            .post(format!("{}/orgs/acme", app.url()))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(code(&response.json().await.unwrap()), "NOT_FOUND");
    }
    // The API's own routes stay theirs, whatever the caller accepts.
    let health = navigate("/healthz").await.unwrap();
    assert_eq!(header(&health, "content-type"), "application/json");
}

/// `POST /console/session` with `refresh_token`: the response, checked to have set the cookie,
/// and the cookie's `name=value`.
async fn start_session(app: &TestApp, refresh_token: &str) -> (Response, String) {
    let response = app
        .http
        .post(format!("{}{SESSION}", app.url()))
        .header(HEADER.0, HEADER.1)
        .json(&json!({"refreshToken": refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = set_cookie(&response);
    (response, cookie)
}

/// The `name=value` of the response's cookie.
fn set_cookie(response: &Response) -> String {
    header(response, "set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn refresh(app: &TestApp, cookie: Option<&str>) -> Response {
    let mut request = app
        .http
        .post(format!("{}{REFRESH}", app.url()))
        .header(HEADER.0, HEADER.1);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn a_console_session_lives_in_an_http_only_cookie(app: &TestApp) {
    let account = app.signup("ada@example.com").await;
    let (started, cookie) = start_session(app, &account.refresh_token).await;
    let attributes = header(&started, "set-cookie").to_string();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console/session",
        "Max-Age=2592000",
    ] {
        assert!(attributes.contains(attribute), "{attributes}");
    }
    assert!(
        !attributes.contains("Secure"),
        "over plain HTTP: {attributes}"
    );
    assert_eq!(cookie, format!("keynet_refresh={}", account.refresh_token));

    // A reload: the cookie gives a fresh access token that works, and a rotated cookie.
    let renewed = refresh(app, Some(&cookie)).await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let rotated = set_cookie(&renewed);
    assert_ne!(rotated, cookie);
    let body: Value = renewed.json().await.unwrap();
    let access_token = body["accessToken"].as_str().unwrap();
    assert!(body["expiresAt"].as_str().unwrap().contains('T'), "{body}");
    let me = app
        .data(Some(access_token), "{ me { email } }", json!({}))
        .await;
    assert_eq!(me["me"]["email"], "ada@example.com");

    // Signing out: the `logout` mutation ends the session, the DELETE drops the cookie.
    app.data(Some(access_token), "mutation { logout }", json!({}))
        .await;
    let ended = app
        .http
        .delete(format!("{}{SESSION}", app.url()))
        .header(HEADER.0, HEADER.1)
        .header("cookie", &rotated)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_removal(&ended);
    let after = refresh(app, Some(&rotated)).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_removal(&after);
    assert_eq!(code(&after.json().await.unwrap()), "UNAUTHENTICATED");
}

fn assert_removal(response: &Response) {
    let cleared = header(response, "set-cookie");
    assert!(
        cleared.starts_with("keynet_refresh=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

async fn the_session_endpoints_refuse_what_is_not_the_console(app: &TestApp) {
    let account = app.signup("ada@example.com").await;
    let cookie = format!("keynet_refresh={}", account.refresh_token);
    // Without the console's header (a form or an image on another site cannot send one).
    for method in [Method::POST, Method::DELETE] {
        let refused = app
            .http
            .request(method.clone(), format!("{}{SESSION}", app.url()))
            .header("cookie", &cookie)
            .json(&json!({"refreshToken": account.refresh_token}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method}");
        assert!(header(&refused, "set-cookie").is_empty(), "{method}");
        assert_eq!(code(&refused.json().await.unwrap()), "FORBIDDEN");
    }
    let refused = app
        .http
        .post(format!("{}{REFRESH}", app.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(&refused.json().await.unwrap()), "FORBIDDEN");
    // Nothing was used up: the refresh token still works once.
    assert_eq!(refresh(app, Some(&cookie)).await.status(), StatusCode::OK);

    // Bodies that carry no refresh token.
    for (body, expected) in [
        ("{}", "BAD_REQUEST"),
        ("{\"refreshToken\": 7}", "BAD_REQUEST"),
        ("{\"refreshToken\": \"\"}", "BAD_USER_INPUT"),
        ("not json", "BAD_REQUEST"),
    ] {
        let refused = app
            .http
            .post(format!("{}{SESSION}", app.url()))
            .header(HEADER.0, HEADER.1)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&refused.json().await.unwrap()), expected, "{body}");
    }
    let too_long = app
        .http
        .post(format!("{}{SESSION}", app.url()))
        .header(HEADER.0, HEADER.1)
        .json(&json!({"refreshToken": "x".repeat(4096)}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // No cookie, or one that is no refresh token: signed out.
    for cookie in [None, Some("keynet_refresh=forged")] {
        let refused = refresh(app, cookie).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{cookie:?}");
        assert_eq!(code(&refused.json().await.unwrap()), "UNAUTHENTICATED");
    }
}

async fn a_reused_cookie_ends_the_session(app: &TestApp) {
    let account = app.signup("ada@example.com").await;
    let (_, first) = start_session(app, &account.refresh_token).await;
    let renewed = refresh(app, Some(&first)).await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let second = set_cookie(&renewed);
    // The first cookie again (copied by someone): the whole session ends, the second too.
    assert_eq!(
        refresh(app, Some(&first)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(app, Some(&second)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn cookies_are_secure_behind_https(app: &TestApp) {
    let account = app.signup("ada@example.com").await;
    let (started, _) = start_session(app, &account.refresh_token).await;
    assert!(
        header(&started, "set-cookie").contains("Secure"),
        "{}",
        header(&started, "set-cookie")
    );
}
