//! Sessions: sign-in, refresh-token rotation and reuse detection, sign-out, throttling, and
//! access tokens that are forged, expired or signed the wrong way.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keynet_api::settings::Settings;
use keynet_domain::auth::passwords;
use keynet_domain::entities::users;
use keynet_testkit::TestApp;
use keynet_testkit::app::JWT_SECRET;
use keynet_testkit::gql::PASSWORD;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken refreshToken expiresAt user { email } } }";
const REFRESH: &str =
    "mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken } }";
const ME: &str = "{ me { email } }";

fn credentials(password: &str) -> Value {
    json!({"email": "ada@example.com", "password": password})
}

fn throttle_quickly(settings: &mut Settings) {
    settings.auth.login_slow_after = 2;
    settings.auth.login_max_failures = 4;
}

on_both_backends!(
    refresh_tokens_rotate_and_reuse_revokes,
    logout_ends_the_session,
    revoked_sessions_refuse_their_access_tokens_at_once,
    failed_logins_are_throttled where super::throttle_quickly,
    bad_access_tokens_are_refused,
    outdated_password_hashes_are_upgraded_at_sign_in,
);

async fn refresh_tokens_rotate_and_reuse_revokes(app: &TestApp) {
    app.signup("ada@example.com").await;
    let (code, error) = app.error(None, LOGIN, credentials("wrong password!")).await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert_eq!(error["message"], "invalid email or password");
    let session = app.data(None, LOGIN, credentials(PASSWORD)).await["login"].clone();
    assert_eq!(session["user"]["email"], "ada@example.com");
    let first = session["refreshToken"].as_str().unwrap();

    let rotated = app.data(None, REFRESH, json!({"r": first})).await["refreshSession"].clone();
    let second = rotated["refreshToken"].as_str().unwrap();
    assert_ne!(first, second);
    let token = rotated["accessToken"].as_str().unwrap();
    assert_eq!(
        app.data(Some(token), ME, json!({})).await["me"]["email"],
        "ada@example.com"
    );

    // Someone presents the first token again: it was copied. The whole session ends.
    assert_eq!(
        app.code(None, REFRESH, json!({"r": first})).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.code(None, REFRESH, json!({"r": second})).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.code(None, REFRESH, json!({"r": "made-up"})).await,
        "UNAUTHENTICATED"
    );
}

async fn logout_ends_the_session(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let other = app.data(None, LOGIN, credentials(PASSWORD)).await["login"].clone();
    app.data(Some(&ada.token), "mutation { logout }", json!({}))
        .await;
    assert_eq!(
        app.code(None, REFRESH, json!({"r": ada.refresh_token}))
            .await,
        "UNAUTHENTICATED"
    );
    // Other sessions of the same user are untouched.
    app.data(None, REFRESH, json!({"r": other["refreshToken"]}))
        .await;
    assert_eq!(
        app.code(None, "mutation { logout }", json!({})).await,
        "UNAUTHENTICATED"
    );
}

/// An access token dies with its session, not minutes later when it expires: on sign-out, on
/// a password change, and when a used refresh token is presented again.
async fn revoked_sessions_refuse_their_access_tokens_at_once(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let second = app.data(None, LOGIN, credentials(PASSWORD)).await["login"].clone();
    let third = app.data(None, LOGIN, credentials(PASSWORD)).await["login"].clone();
    let token = |session: &Value| session["accessToken"].as_str().unwrap().to_string();

    app.data(Some(&token(&second)), "mutation { logout }", json!({}))
        .await;
    assert_eq!(
        app.code(Some(&token(&second)), ME, json!({})).await,
        "UNAUTHENTICATED"
    );
    // The others go on.
    app.data(Some(&ada.token), ME, json!({})).await;
    app.data(Some(&token(&third)), ME, json!({})).await;

    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    app.data(
        Some(&ada.token),
        change,
        json!({"c": PASSWORD, "n": "a brand new password"}),
    )
    .await;
    // A password change ends every session, the one that made it too.
    for session_token in [token(&third), ada.token.clone()] {
        assert_eq!(
            app.code(Some(&session_token), ME, json!({})).await,
            "UNAUTHENTICATED"
        );
    }

    // Refresh-token reuse (theft): the whole session, access tokens included, is revoked.
    let fresh = app
        .data(
            None,
            LOGIN,
            json!({"email": "ada@example.com", "password": "a brand new password"}),
        )
        .await["login"]
        .clone();
    let first_refresh = fresh["refreshToken"].as_str().unwrap();
    let rotated =
        app.data(None, REFRESH, json!({"r": first_refresh})).await["refreshSession"].clone();
    app.data(Some(&token(&rotated)), ME, json!({})).await;
    assert_eq!(
        app.code(None, REFRESH, json!({"r": first_refresh})).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.code(Some(&token(&rotated)), ME, json!({})).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.code(Some(&token(&fresh)), ME, json!({})).await,
        "UNAUTHENTICATED"
    );
}

async fn failed_logins_are_throttled(app: &TestApp) {
    app.signup("ada@example.com").await;
    for _ in 0..4 {
        assert_eq!(
            app.code(None, LOGIN, credentials("wrong password!")).await,
            "UNAUTHENTICATED"
        );
    }
    let (code, error) = app.error(None, LOGIN, credentials(PASSWORD)).await;
    assert_eq!(code, "RATE_LIMITED", "locked even with the right password");
    assert!(error["extensions"]["retryAfter"].as_i64().unwrap() > 0);
    // The lock holds for the address too, whatever account it tries.
    app.signup("bob@example.com").await;
    let bob = json!({"email": "bob@example.com", "password": PASSWORD});
    assert_eq!(app.code(None, LOGIN, bob).await, "RATE_LIMITED");
}

async fn stored_hash(app: &TestApp) -> String {
    users::Entity::find()
        .filter(users::Column::Email.eq("ada@example.com"))
        .one(app.platform().domain.db())
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

/// A hash of `password` made with weaker argon2 parameters than Keynet's (as stored before
/// a policy change).
fn weak_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(8 * 1024, 1, 1, None).unwrap();
    let salt = SaltString::encode_b64(b"a salt of sixteen").unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

async fn outdated_password_hashes_are_upgraded_at_sign_in(app: &TestApp) {
    app.signup("ada@example.com").await;
    let weak = weak_hash(PASSWORD);
    assert!(weak.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(weak.clone()))
        .filter(users::Column::Email.eq("ada@example.com"))
        .exec(app.platform().domain.db())
        .await
        .unwrap();

    // A failed sign-in changes nothing.
    assert_eq!(
        app.code(None, LOGIN, credentials("wrong password!")).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(stored_hash(app).await, weak);

    app.data(None, LOGIN, credentials(PASSWORD)).await;
    let upgraded = stored_hash(app).await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    assert!(!passwords::is_outdated(&upgraded));
    assert!(
        passwords::verify(PASSWORD.into(), upgraded.clone())
            .await
            .unwrap()
    );
    // And the account still signs in with the same password, leaving the hash alone.
    app.data(None, LOGIN, credentials(PASSWORD)).await;
    assert_eq!(stored_hash(app).await, upgraded);
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// The session an access token names (its `sid` claim), read without verifying it.
fn session_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn claims(user: &str, session: &str, exp_offset_secs: i64, audience: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": user, "sid": session,
        "iss": "keynet", "aud": audience, "iat": now, "nbf": now, "exp": now + exp_offset_secs,
    })
}

/// `claims` with `nbf` changed: moved `offset_secs` from now, or left out (`None`).
fn claims_with_nbf(user: &str, session: &str, offset_secs: Option<i64>) -> Value {
    let mut claims = claims(user, session, 600, "keynet-api");
    match offset_secs {
        Some(offset) => claims["nbf"] = json!(Utc::now().timestamp() + offset),
        None => drop(claims.as_object_mut().unwrap().remove("nbf")),
    }
    claims
}

fn sign(alg: Algorithm, kid: &str, secret: &[u8], claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

async fn bad_access_tokens_are_refused(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let kid = kid_of(&ada.token);
    let session = session_of(&ada.token);
    let secret = JWT_SECRET.as_bytes();
    let valid = sign(
        Algorithm::HS256,
        &kid,
        secret,
        &claims(&ada.user_id, &session, 600, "keynet-api"),
    );
    assert_eq!(
        app.data(Some(&valid), ME, json!({})).await["me"]["email"],
        "ada@example.com"
    );
    // A server whose clock is a little ahead signed it: within the leeway it is accepted.
    let skewed = sign(
        Algorithm::HS256,
        &kid,
        secret,
        &claims_with_nbf(&ada.user_id, &session, Some(2)),
    );
    assert_eq!(
        app.data(Some(&skewed), ME, json!({})).await["me"]["email"],
        "ada@example.com"
    );

    let none_header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64_url(&claims(&ada.user_id, &session, 600, "keynet-api").to_string());
    let forged = [
        (
            "expired",
            sign(
                Algorithm::HS256,
                &kid,
                secret,
                &claims(&ada.user_id, &session, -120, "keynet-api"),
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::HS256,
                &kid,
                secret,
                &claims(&ada.user_id, &session, 600, "elsewhere"),
            ),
        ),
        (
            "wrong algorithm",
            sign(
                Algorithm::HS512,
                &kid,
                secret,
                &claims(&ada.user_id, &session, 600, "keynet-api"),
            ),
        ),
        (
            "wrong key",
            sign(
                Algorithm::HS256,
                &kid,
                b"another-secret-0123456789abcdef012345",
                &claims(&ada.user_id, &session, 600, "keynet-api"),
            ),
        ),
        (
            "a session that does not exist",
            sign(
                Algorithm::HS256,
                &kid,
                secret,
                &claims(
                    &ada.user_id,
                    "01900000-0000-7000-8000-000000000000",
                    600,
                    "keynet-api",
                ),
            ),
        ),
        (
            "not valid yet (nbf a minute ahead, beyond the leeway)",
            sign(
                Algorithm::HS256,
                &kid,
                secret,
                &claims_with_nbf(&ada.user_id, &session, Some(60)),
            ),
        ),
        (
            "without nbf",
            sign(
                Algorithm::HS256,
                &kid,
                secret,
                &claims_with_nbf(&ada.user_id, &session, None),
            ),
        ),
        ("alg none", format!("{none_header}.{payload}.")),
        ("garbage", "not.a.token".to_string()),
        ("unknown api token", format!("knt_{}", "a".repeat(48))),
    ];
    for (what, token) in forged {
        let (code, error) = app.error(Some(&token), ME, json!({})).await;
        assert_eq!(code, "UNAUTHENTICATED", "{what}");
        assert!(
            error["message"].as_str().unwrap().contains("invalid"),
            "{what}: {error}"
        );
    }
    let response = app
        .http
        .post(format!("{}/graphql", app.url()))
        .header("authorization", "Basic YWRhOnB3")
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
