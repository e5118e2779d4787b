//! Sign-up, email verification, password reset and change.

use keynet_api::settings::Settings;
use keynet_domain::entities::{audit_log, bus_messages, invitations, tasks, user_tokens};
use keynet_domain::tasks::SEND_EMAIL;
use keynet_testkit::TestApp;
use keynet_testkit::gql::PASSWORD;
use keynet_testkit::mail::{Email, outbox};
use keynet_workers::{EmailHandler, Mailer, RunnerConfig, TaskRunner};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SIGNUP: &str = "mutation($input: SignupInput!) { signup(input: $input) { user { id } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: {email: $email, password: $password}) { accessToken refreshToken } }";

on_both_backends!(
    signup_refuses_bad_input,
    email_verification,
    password_reset,
    password_change,
    link_emails_are_capped_per_address where super::three_link_emails_an_hour,
    sent_links_leave_no_secret_in_the_database,
    undelivered_emails_keep_no_secret where super::no_workers,
);

fn no_workers(settings: &mut Settings) {
    settings.run_workers = false;
}

fn three_link_emails_an_hour(settings: &mut Settings) {
    settings.email.account_emails_per_hour = 3;
}

/// Waits until every queued email was delivered (the worker deletes a task once it is).
async fn emails_delivered(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let queued = tasks::Entity::find()
            .filter(tasks::Column::Kind.eq(SEND_EMAIL))
            .count(app.platform().domain.db())
            .await
            .unwrap();
        if queued == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{queued} emails still queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn emails_to(app: &TestApp, to: &str) -> Vec<Email> {
    outbox(&app.data_dir.path().join("outbox"))
        .into_iter()
        .filter(|email| email.to == to)
        .collect()
}

async fn signup_refuses_bad_input(app: &TestApp) {
    let signup = |email: &str, password: &str, name: &str| json!({"input": {"email": email, "password": password, "displayName": name}});
    for (vars, field) in [
        (signup("not-an-email", PASSWORD, "Ada"), "email"),
        (signup("ada@example.com", "short", "Ada"), "password"),
        (signup("ada@example.com", PASSWORD, "   "), "displayName"),
    ] {
        let (code, error) = app.error(None, SIGNUP, vars).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert_eq!(error["extensions"]["field"], field);
    }
    app.signup("ada@example.com").await;
    let (code, _) = app
        .error(
            None,
            SIGNUP,
            signup("ADA@Example.com", PASSWORD, "Ada again"),
        )
        .await;
    assert_eq!(code, "CONFLICT", "emails are unique regardless of case");
    // The refused attempts created nothing: exactly one account can sign in.
    app.data(
        None,
        LOGIN,
        json!({"email": "ada@example.com", "password": PASSWORD}),
    )
    .await;
}

async fn email_verification(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let me = "{ me { emailVerified } }";
    assert_eq!(
        app.data(Some(&ada.token), me, json!({})).await["me"]["emailVerified"],
        false
    );
    let token = app
        .email("ada@example.com", "Confirm your email")
        .await
        .link_token("/verify-email");
    // The link opens the console; opening it changes nothing (mail scanners open links too):
    // the console verifies when the person asks it to.
    let page = app.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.text().await.unwrap().contains("<div id=\"root\">"));
    let verify = "mutation($t: String!) { verifyEmail(token: $t) { emailVerified } }";
    let data = app.data(None, verify, json!({"t": token})).await;
    assert_eq!(data["verifyEmail"]["emailVerified"], true);
    assert_eq!(
        app.code(None, verify, json!({"t": token})).await,
        "BAD_USER_INPUT",
        "single use"
    );
    assert_eq!(
        app.code(None, verify, json!({"t": "forged"})).await,
        "BAD_USER_INPUT"
    );
    let resend = "mutation { resendVerification }";
    assert_eq!(
        app.code(Some(&ada.token), resend, json!({})).await,
        "CONFLICT"
    );
}

async fn password_reset(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let request = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    // Unknown addresses get the same answer, and no email.
    assert_eq!(
        app.data(None, request, json!({"e": "nobody@example.com"}))
            .await["requestPasswordReset"],
        true
    );
    let asked = app
        .data(None, request, json!({"e": "ada@example.com"}))
        .await;
    assert_eq!(asked["requestPasswordReset"], true);
    let first = app
        .emails("ada@example.com", "Reset your", 1)
        .await
        .remove(0)
        .link_token("/reset-password");
    app.data(None, request, json!({"e": "ada@example.com"}))
        .await;
    let token =
        app.emails("ada@example.com", "Reset your", 2).await[1].link_token("/reset-password");
    assert_ne!(first, token);
    assert!(
        outbox(&app.data_dir.path().join("outbox"))
            .iter()
            .all(|e| e.to != "nobody@example.com")
    );

    let reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
    // Asking again made the first link useless.
    let (code, error) = app
        .error(
            None,
            reset,
            json!({"t": first, "p": "a brand new password"}),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("token"))
    );
    let (code, error) = app
        .error(None, reset, json!({"t": token, "p": "short"}))
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("newPassword"))
    );
    app.data(
        None,
        reset,
        json!({"t": token, "p": "a brand new password"}),
    )
    .await;
    assert_eq!(
        app.code(
            None,
            reset,
            json!({"t": token, "p": "another new password"})
        )
        .await,
        "BAD_USER_INPUT"
    );

    let login = |password: &str| json!({"email": "ada@example.com", "password": password});
    assert_eq!(
        app.code(None, LOGIN, login(PASSWORD)).await,
        "UNAUTHENTICATED"
    );
    app.data(None, LOGIN, login("a brand new password")).await;
    // The reset signed out every earlier session.
    let refresh = "mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken } }";
    assert_eq!(
        app.code(None, refresh, json!({"r": ada.refresh_token}))
            .await,
        "UNAUTHENTICATED"
    );
    let notice = app
        .email("ada@example.com", "Your Keynet password was reset")
        .await;
    assert_password_notice(&notice, "was reset through a link sent to this address");
}

/// The notice names what happened and when, says what to do if it was not the owner, and
/// carries no link with a secret.
fn assert_password_notice(notice: &Email, what: &str) {
    let body = &notice.body;
    assert!(body.contains(what), "{body}");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(body.contains(&today) && body.contains("UTC"), "{body}");
    assert!(body.contains("If this was not you"), "{body}");
    assert!(!body.contains("token"), "{body}");
}

async fn password_change(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let other_session = app
        .data(
            None,
            LOGIN,
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let (code, error) = app
        .error(
            Some(&ada.token),
            change,
            json!({"c": "wrong password!", "n": "a brand new password"}),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("currentPassword"))
    );
    // A reset link asked for earlier, perhaps by whoever had the old password.
    let request = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    app.data(None, request, json!({"e": "ada@example.com"}))
        .await;
    let reset_link = app
        .email("ada@example.com", "Reset your")
        .await
        .link_token("/reset-password");
    app.data(
        Some(&ada.token),
        change,
        json!({"c": PASSWORD, "n": "a brand new password"}),
    )
    .await;
    let refresh = "mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken } }";
    // Every session is signed out, this one too.
    let other = other_session["login"]["refreshToken"].as_str().unwrap();
    for session in [ada.refresh_token.as_str(), other] {
        assert_eq!(
            app.code(None, refresh, json!({"r": session})).await,
            "UNAUTHENTICATED"
        );
    }
    let reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
    assert_eq!(
        app.code(
            None,
            reset,
            json!({"t": reset_link, "p": "the attacker's password"})
        )
        .await,
        "BAD_USER_INPUT",
        "the change ended the outstanding reset link"
    );
    let notice = app
        .email("ada@example.com", "Your Keynet password was changed")
        .await;
    assert_password_notice(&notice, "was changed by someone signed in to your account");
    app.data(
        None,
        LOGIN,
        json!({"email": "ada@example.com", "password": "a brand new password"}),
    )
    .await;
    assert_eq!(
        app.code(None, change, json!({"c": PASSWORD, "n": "x"}))
            .await,
        "UNAUTHENTICATED"
    );
}

async fn link_emails_are_capped_per_address(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let request = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    let resend = "mutation { resendVerification }";
    // The verification sent at sign-up and two reset links: three this hour.
    for sent in 2..=3 {
        app.data(None, request, json!({"e": "ada@example.com"}))
            .await;
        app.emails("ada@example.com", "Reset your", sent - 1).await;
    }
    // Over the cap every request gets the usual answer, and no email goes out.
    for _ in 0..3 {
        let answer = app
            .data(None, request, json!({"e": "ada@example.com"}))
            .await;
        assert_eq!(answer, json!({"requestPasswordReset": true}));
        let answer = app.data(Some(&ada.token), resend, json!({})).await;
        assert_eq!(answer, json!({"resendVerification": true}));
    }
    emails_delivered(app).await;
    let sent = emails_to(app, "ada@example.com");
    assert_eq!(sent.len(), 3, "{sent:?}");
    // The refused requests issued no link, nor ended the last one sent.
    let newest =
        app.emails("ada@example.com", "Reset your", 2).await[1].link_token("/reset-password");
    let reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }";
    app.data(
        None,
        reset,
        json!({"t": newest, "p": "a brand new password"}),
    )
    .await;
    // Another address is not held back by Ada's.
    app.signup("bob@example.com").await;
    app.email("bob@example.com", "Confirm your email").await;

    // An hour later the address may get links again.
    user_tokens::Entity::update_many()
        .col_expr(
            user_tokens::Column::CreatedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(61)),
        )
        .exec(app.platform().domain.db())
        .await
        .unwrap();
    app.data(None, request, json!({"e": "ada@example.com"}))
        .await;
    app.emails("ada@example.com", "Reset your", 3).await;
}

/// The rows of every table a link's secret could have reached on its way to the email.
async fn rows_near_links(db: &DatabaseConnection) -> String {
    let rows = [
        tasks::Entity::find().into_json().all(db).await.unwrap(),
        user_tokens::Entity::find()
            .into_json()
            .all(db)
            .await
            .unwrap(),
        invitations::Entity::find()
            .into_json()
            .all(db)
            .await
            .unwrap(),
        audit_log::Entity::find().into_json().all(db).await.unwrap(),
        bus_messages::Entity::find()
            .into_json()
            .all(db)
            .await
            .unwrap(),
    ];
    serde_json::to_string(&rows).unwrap()
}

async fn sent_links_leave_no_secret_in_the_database(app: &TestApp) {
    let ada = app.signup("ada@example.com").await;
    let verification = app
        .email("ada@example.com", "Confirm your email")
        .await
        .link_token("/verify-email");
    let request = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    app.data(None, request, json!({"e": "ada@example.com"}))
        .await;
    let reset = app
        .email("ada@example.com", "Reset your")
        .await
        .link_token("/reset-password");
    let org = app.create_org(&ada, "acme").await;
    app.invite(&ada, &org, "bob@example.com", "MEMBER").await;
    let invitation = app
        .email("bob@example.com", "invited you")
        .await
        .link_token("/invitations/accept");
    emails_delivered(app).await;

    let stored = rows_near_links(app.platform().domain.db()).await;
    assert!(stored.contains("bob@example.com"), "the tables were read");
    for secret in [&verification, &reset, &invitation] {
        assert!(
            !stored.contains(secret.as_str()),
            "{secret} is stored: {stored}"
        );
    }
    // The links still work: only their hashes were kept.
    let verify = "mutation($t: String!) { verifyEmail(token: $t) { emailVerified } }";
    app.data(None, verify, json!({"t": verification})).await;
    app.signup_with("bob@example.com", Some(&invitation)).await;
}

/// An email that cannot be delivered is kept as a dead task for an operator, without its
/// link.
async fn undelivered_emails_keep_no_secret(app: &TestApp) {
    app.signup("ada@example.com").await;
    let request = "mutation($e: String!) { requestPasswordReset(email: $e) }";
    app.data(None, request, json!({"e": "ada@example.com"}))
        .await;
    let db = app.platform().domain.db();
    // One attempt each, so the test need not wait out the back-off.
    tasks::Entity::update_many()
        .col_expr(tasks::Column::MaxAttempts, Expr::value(1))
        .exec(db)
        .await
        .unwrap();
    let queued = tasks::Entity::find().all(db).await.unwrap();
    assert_eq!(queued.len(), 2, "verification and reset: {queued:?}");
    assert!(queued.iter().all(|task| task.payload["link"].is_string()));

    // Nothing listens on this port: every delivery fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let mailer = Mailer::smtp(&url, "Keynet <noreply@keynet.local>").unwrap();
    let runner = TaskRunner::new(db.clone(), RunnerConfig::default()).handle(EmailHandler(mailer));
    let stop = CancellationToken::new();
    let running = tokio::spawn(runner.run(stop.clone()));
    let deadline = Instant::now() + Duration::from_secs(15);
    let dead = loop {
        let rows = tasks::Entity::find().all(db).await.unwrap();
        if rows.iter().all(|task| task.status == tasks::Status::Dead) {
            break rows;
        }
        assert!(Instant::now() < deadline, "not dead yet: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.cancel();
    running.await.unwrap();

    for task in dead {
        let kept = &task.payload;
        assert_eq!(kept["to"], "ada@example.com", "{kept}");
        assert!(kept["subject"].is_string(), "{kept}");
        assert!(kept.get("link").is_none(), "{kept}");
        assert!(!kept.to_string().contains("token="), "{kept}");
        assert!(task.last_error.is_some());
    }
}
