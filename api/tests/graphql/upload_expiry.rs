//! A version whose upload key expired unused leaves `AWAITING_UPLOAD` for `EXPIRED`, once,
//! on both backends; a key not expired yet, or used, leaves its version alone; the next
//! version of the trainer takes the next number (an expired one's is not reused).

use chrono::{Duration, Utc};
use keynet_api::settings::Settings;
use keynet_domain::ids::TrainerVersionId;
use keynet_marketplace::entities::trainer_upload_keys;
use keynet_testkit::TestApp;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

on_both_backends!(
    an_unused_expired_upload_key_expires_its_version where super::no_workers,
);

/// The test runs the sweep itself.
fn no_workers(settings: &mut Settings) {
    settings.run_workers = false;
}

async fn request(app: &TestApp, token: &str, project: &str, model: &str) -> Value {
    app.data(
        Some(token),
        "mutation($p: ID!, $m: String!) { requestTrainerUpload(input: {projectId: $p, modelName: $m}) { id version { version } } }",
        json!({"p": project, "m": model}),
    )
    .await["requestTrainerUpload"]
        .clone()
}

async fn status(app: &TestApp, token: &str, version: &Value) -> String {
    app.data(
        Some(token),
        "query($id: ID!) { trainerVersion(id: $id) { status } }",
        json!({"id": version["id"]}),
    )
    .await["trainerVersion"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Moves the key of `version` to the past, and marks it used when `used`.
async fn age_key(app: &TestApp, version: &Value, used: bool) {
    let id = TrainerVersionId::parse(version["id"].as_str().unwrap()).unwrap();
    let past = Utc::now() - Duration::hours(1);
    let mut update = trainer_upload_keys::Entity::update_many()
        .col_expr(trainer_upload_keys::Column::ExpiresAt, Expr::value(past))
        .filter(trainer_upload_keys::Column::VersionId.eq(id));
    if used {
        update = update.col_expr(trainer_upload_keys::Column::UsedAt, Expr::value(Some(past)));
    }
    update.exec(app.platform().domain.db()).await.unwrap();
}

async fn an_unused_expired_upload_key_expires_its_version(app: &TestApp) {
    let owner = app.signup("author@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org, "Leaves").await;
    let token = owner.token.as_str();
    let abandoned = request(app, token, &project, "Abandoned").await;
    let waiting = request(app, token, &project, "Waiting").await;
    let used = request(app, token, &project, "Used").await;
    age_key(app, &abandoned, false).await;
    age_key(app, &used, true).await;

    let marketplace = &app.platform().marketplace;
    assert_eq!(marketplace.expire_unused_upload_keys().await.unwrap(), 1);
    assert_eq!(
        marketplace.expire_unused_upload_keys().await.unwrap(),
        0,
        "once"
    );
    assert_eq!(status(app, token, &abandoned).await, "EXPIRED");
    assert_eq!(status(app, token, &waiting).await, "AWAITING_UPLOAD");
    assert_eq!(status(app, token, &used).await, "AWAITING_UPLOAD");
    let audit = app
        .data(
            Some(token),
            "query($o: ID!) { auditLog(orgId: $o, action: \"trainer.upload_expired\") { edges { node { targetId } } } }",
            json!({"o": org}),
        )
        .await;
    assert_eq!(
        audit["auditLog"]["edges"],
        json!([{"node": {"targetId": abandoned["id"]}}])
    );

    let again = request(app, token, &project, "Abandoned").await;
    assert_eq!(abandoned["version"]["version"], 1);
    assert_eq!(
        again["version"]["version"], 2,
        "an expired number is not reused"
    );
}
