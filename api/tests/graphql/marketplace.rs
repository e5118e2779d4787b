//! The public marketplace: publishing (admins, READY versions only), what other
//! organizations see and may run, search, filters, the three orders with their cursors,
//! ratings and the usage an author sees.

use chrono::{Duration, Utc};
use keynet_domain::entities::jobs::{self, Resources};
use keynet_domain::entities::trainer_versions::{self, VersionStatus};
use keynet_testkit::trainer::{TRAINER, install_program};
use keynet_testkit::{Account, TestApp};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

on_both_backends!(
    publishing_lists_ready_versions_for_every_org,
    the_marketplace_is_searched_sorted_rated_and_used,
);

const PUBLISH: &str = "mutation($t: ID!, $v: ID!) { publishTrainer(trainerId: $t, versionId: $v) { published marketplaceSlug publishedVersion { id } } }";
const UNPUBLISH: &str =
    "mutation($t: ID!) { unpublishTrainer(trainerId: $t) { published marketplaceSlug } }";
const LISTING: &str = "query($s: String!) { marketplaceTrainer(slug: $s) { name published publishedVersion { id } versions { id status checks { name } scan { passed } } } }";
const LIST: &str = "query($sort: MarketplaceSort!, $q: String, $task: TaskType, $fw: String, $first: Int, $after: String) {
    marketplaceTrainers(sort: $sort, search: $q, taskType: $task, framework: $fw, first: $first, after: $after) {
        edges { node { name } } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
const START: &str = "mutation($p: ID!, $v: ID!, $s: ID!) { startTrainingJob(input: {projectId: $p, trainerVersionId: $v, datasetSnapshotId: $s, modelName: \"x\"}) { id } }";
const RATE: &str = "mutation($i: RateTrainerInput!) { rateTrainer(input: $i) { rating review trainer { rating { average count } } } }";
const USAGE: &str = "query($t: ID!) { trainer(id: $t) { usage { total { runs organizations gpuSeconds } versions { version usage { runs organizations gpuSeconds } } } } }";

/// An organization that can run jobs: its owner, a project and a snapshot to train on.
struct Team {
    owner: Account,
    org: String,
    project: String,
    snapshot: String,
}

async fn team(app: &TestApp, slug: &str) -> Team {
    let owner = app.signup(&format!("owner@{slug}.example.com")).await;
    let org = app.create_org(&owner, slug).await;
    let project = app.create_project(&owner.token, &org, "Parts").await;
    let snapshot = app
        .snapshot_of(&owner.token, &project, &[("bolt", 6), ("nut", 6)])
        .await;
    Team {
        owner,
        org,
        project,
        snapshot,
    }
}

/// The reference trainer, where the process executor may run it.
fn program(app: &TestApp) -> String {
    install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap()
}

async fn trainer_of(app: &TestApp, token: &str, version: &str) -> String {
    app.data(
        Some(token),
        "query($v: ID!) { trainerVersion(id: $v) { trainerId } }",
        json!({"v": version}),
    )
    .await["trainerVersion"]["trainerId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A training job of `team` with `version`, left to finish.
async fn run(app: &TestApp, team: &Team, version: &str) -> String {
    app.start_training(
        &team.owner.token,
        &team.project,
        version,
        &team.snapshot,
        json!({}),
    )
    .await
}

async fn start_code(app: &TestApp, team: &Team, version: &str) -> String {
    app.code(
        Some(&team.owner.token),
        START,
        json!({"p": team.project, "v": version, "s": team.snapshot}),
    )
    .await
}

fn field_error(error: &(String, Value)) -> (&str, Option<&str>) {
    (error.0.as_str(), error.1["extensions"]["field"].as_str())
}

async fn publishing_lists_ready_versions_for_every_org(app: &TestApp) {
    let image = program(app);
    let author = app.signup("author@acme.example.com").await;
    let acme = app.create_org(&author, "acme").await;
    let member = app
        .join(&author, &acme, "member@acme.example.com", "MEMBER")
        .await;
    let ready = app
        .register_trainer(&author.token, &acme, "Bolt Finder", &image)
        .await;
    let rejected = app
        .register_trainer(&author.token, &acme, "Bolt Finder", &image)
        .await;
    trainer_versions::ActiveModel {
        id: Set(rejected.parse().unwrap()),
        status: Set(VersionStatus::Rejected),
        ..Default::default()
    }
    .update(app.platform().domain.db())
    .await
    .unwrap();
    let trainer = trainer_of(app, &author.token, &ready).await;
    let globex = team(app, "globex").await;
    let publish = |version: &str| json!({"t": trainer, "v": version});

    // Only admins of the trainer's organization publish, and only a READY version.
    assert_eq!(
        app.code(Some(&member.token), PUBLISH, publish(&ready))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.code(Some(&globex.owner.token), PUBLISH, publish(&ready))
            .await,
        "NOT_FOUND"
    );
    let refused = app
        .error(Some(&author.token), PUBLISH, publish(&rejected))
        .await;
    assert_eq!(
        field_error(&refused),
        ("BAD_USER_INPUT", Some("versionId")),
        "{refused:?}"
    );
    // Unlisted, the trainer is nobody else's to find or run.
    assert_eq!(
        app.code(
            Some(&globex.owner.token),
            LISTING,
            json!({"s": "acme/bolt-finder"})
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(start_code(app, &globex, &ready).await, "NOT_FOUND");

    let published = app
        .data(Some(&author.token), PUBLISH, publish(&ready))
        .await;
    assert_eq!(
        published["publishTrainer"],
        json!({"published": true, "marketplaceSlug": "acme/bolt-finder", "publishedVersion": {"id": ready}})
    );

    // Everyone sees its READY versions with their checks and scan; its authors see all.
    let seen = app
        .data(
            Some(&globex.owner.token),
            LISTING,
            json!({"s": "acme/bolt-finder"}),
        )
        .await;
    assert_eq!(
        seen["marketplaceTrainer"],
        json!({"name": "Bolt Finder", "published": true, "publishedVersion": {"id": ready},
               "versions": [{"id": ready, "status": "READY", "checks": [], "scan": null}]})
    );
    let own = app
        .data(
            Some(&author.token),
            LISTING,
            json!({"s": "acme/bolt-finder"}),
        )
        .await;
    assert_eq!(
        own["marketplaceTrainer"]["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Its usage is its authors' business.
    assert_eq!(
        app.code(Some(&globex.owner.token), USAGE, json!({"t": trainer}))
            .await,
        "NOT_FOUND"
    );

    // Another organization's job runs the listed READY version, by id; not the rejected one.
    let job = run(app, &globex, &ready).await;
    assert_eq!(
        app.wait_for_job(&globex.owner.token, &job, &[]).await["status"],
        "SUCCEEDED"
    );
    assert_eq!(start_code(app, &globex, &rejected).await, "NOT_FOUND");

    // Unpublished: gone from the marketplace, and other organizations' new jobs are refused.
    assert_eq!(
        app.code(Some(&member.token), UNPUBLISH, json!({"t": trainer}))
            .await,
        "FORBIDDEN"
    );
    let unpublished = app
        .data(Some(&author.token), UNPUBLISH, json!({"t": trainer}))
        .await;
    assert_eq!(
        unpublished["unpublishTrainer"],
        json!({"published": false, "marketplaceSlug": null})
    );
    assert!(
        walk(app, &globex.owner.token, "NEWEST", json!({}))
            .await
            .is_empty()
    );
    assert_eq!(
        app.code(
            Some(&globex.owner.token),
            LISTING,
            json!({"s": "acme/bolt-finder"})
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(start_code(app, &globex, &ready).await, "NOT_FOUND");

    let audit = app
        .data(
            Some(&author.token),
            "query($o: ID!) { auditLog(orgId: $o, action: \"trainer.published\") { edges { node { action } } } unpublished: auditLog(orgId: $o, action: \"trainer.unpublished\") { edges { node { action } } } }",
            json!({"o": acme}),
        )
        .await;
    assert_eq!(audit["auditLog"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(audit["unpublished"]["edges"].as_array().unwrap().len(), 1);
}

/// The names `marketplaceTrainers` lists in `sort` order with `filter`, one page at a time.
async fn walk(app: &TestApp, token: &str, sort: &str, filter: Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut variables = json!({"sort": sort, "first": 1, "after": after});
        variables
            .as_object_mut()
            .unwrap()
            .extend(filter.as_object().unwrap().clone());
        let page = app.data(Some(token), LIST, variables).await["marketplaceTrainers"].clone();
        assert_eq!(page["pageInfo"]["hasPreviousPage"], !after.is_null());
        names.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap().to_string()),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            return names;
        }
        assert!(names.len() < 10, "paging does not end: {names:?}");
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// Sets what usage is computed from: `gpus` for `seconds` of wall time.
async fn ran_for(app: &TestApp, job: &str, gpus: i32, seconds: i64) {
    let started = Utc::now() - Duration::hours(1);
    jobs::ActiveModel {
        id: Set(job.parse().unwrap()),
        resources: Set(Resources {
            gpus,
            cpus: 1.0,
            memory_mb: 512,
        }),
        started_at: Set(Some(started)),
        finished_at: Set(Some(started + Duration::seconds(seconds))),
        ..Default::default()
    }
    .update(app.platform().domain.db())
    .await
    .unwrap();
}

async fn the_marketplace_is_searched_sorted_rated_and_used(app: &TestApp) {
    let image = program(app);
    let acme = team(app, "acme").await;
    let author = &acme.owner.token;
    let mut trainers = Vec::new();
    let mut versions = Vec::new();
    for (name, description, task_type, framework) in [
        (
            "Alpha Detector",
            "finds bolts on belts",
            "DETECTION",
            "PyTorch",
        ),
        (
            "Beta Segmenter",
            "pixel masks of parts",
            "SEGMENTATION",
            "onnx",
        ),
        (
            "Gamma Classifier",
            "sorts parts by kind",
            "CLASSIFICATION",
            "pytorch",
        ),
        (
            "Delta Unlisted",
            "never published parts",
            "CLASSIFICATION",
            "pytorch",
        ),
    ] {
        let trainer = app
            .data(
                Some(author),
                "mutation($i: CreateTrainerInput!) { createTrainer(input: $i) { id } }",
                json!({"i": {"orgId": acme.org, "name": name, "description": description,
                             "taskTypes": [task_type], "frameworks": [framework]}}),
            )
            .await["createTrainer"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        versions.push(app.register_trainer(author, &acme.org, name, &image).await);
        trainers.push(trainer);
    }
    let beta_v2 = app
        .register_trainer(author, &acme.org, "Beta Segmenter", &image)
        .await;
    let [alpha, beta, gamma, _] = &trainers[..] else {
        unreachable!()
    };
    for (trainer, version) in trainers.iter().zip(&versions).take(3) {
        app.data(Some(author), PUBLISH, json!({"t": trainer, "v": version}))
            .await;
    }

    let globex = team(app, "globex").await;
    let initech = team(app, "initech").await;

    // Search in name and description, filters, and the unlisted trainer never shows.
    let reader = &globex.owner.token;
    for (filter, expected) in [
        (json!({"q": "MASK"}), vec!["Beta Segmenter"]),
        (
            json!({"q": "parts"}),
            vec!["Gamma Classifier", "Beta Segmenter"],
        ),
        (json!({"task": "CLASSIFICATION"}), vec!["Gamma Classifier"]),
        (
            json!({"fw": "PyTorch"}),
            vec!["Gamma Classifier", "Alpha Detector"],
        ),
        (json!({"q": "delta"}), vec![]),
    ] {
        assert_eq!(
            walk(app, reader, "NEWEST", filter.clone()).await,
            expected,
            "{filter}"
        );
    }

    // Two other organizations run them; the author's own run counts for nothing.
    let runs = [
        (&globex, &versions[1], 2, 30),
        (&globex, &versions[2], 1, 5),
        (&initech, &beta_v2, 1, 10),
        (&acme, &versions[1], 4, 100),
    ];
    let mut jobs = Vec::new();
    for (team, version, ..) in &runs {
        jobs.push(run(app, team, version).await);
    }
    for ((team, _, gpus, seconds), job) in runs.iter().zip(&jobs) {
        app.wait_for_job(&team.owner.token, job, &[]).await;
        ran_for(app, job, *gpus, *seconds).await;
    }

    // Ratings: only by organizations that ran the trainer, not its own, 1 to 5, one per user.
    let rate = |trainer: &str, rating: i32| json!({"i": {"trainerId": trainer, "rating": rating, "review": "ok"}});
    let globex_token = Some(globex.owner.token.as_str());
    let never_ran = app.error(globex_token, RATE, rate(alpha, 4)).await;
    assert_eq!(
        field_error(&never_ran),
        ("BAD_USER_INPUT", Some("trainerId")),
        "{never_ran:?}"
    );
    let own = app.error(Some(author), RATE, rate(beta, 5)).await;
    assert_eq!(field_error(&own), ("BAD_USER_INPUT", Some("trainerId")));
    // A viewer of an organization that ran it: their role may not, like running a job.
    let onlooker = app
        .join(
            &globex.owner,
            &globex.org,
            "viewer@globex.example.com",
            "VIEWER",
        )
        .await;
    let by_role = app.error(Some(&onlooker.token), RATE, rate(beta, 5)).await;
    assert_eq!(field_error(&by_role), ("FORBIDDEN", None), "{by_role:?}");
    for out_of_range in [0, 6] {
        let refused = app
            .error(globex_token, RATE, rate(beta, out_of_range))
            .await;
        assert_eq!(field_error(&refused), ("BAD_USER_INPUT", Some("rating")));
    }
    app.data(globex_token, RATE, rate(gamma, 5)).await;
    app.data(globex_token, RATE, rate(beta, 4)).await;
    let changed = app
        .data(
            globex_token,
            RATE,
            json!({"i": {"trainerId": beta, "rating": 1, "review": "worse now"}}),
        )
        .await;
    assert_eq!(
        changed["rateTrainer"],
        json!({"rating": 1, "review": "worse now", "trainer": {"rating": {"average": 1.0, "count": 1}}})
    );
    let second = app
        .data(Some(&initech.owner.token), RATE, rate(beta, 4))
        .await;
    assert_eq!(
        second["rateTrainer"]["trainer"]["rating"],
        json!({"average": 2.5, "count": 2})
    );
    let unrated = app
        .data(
            Some(author),
            "query($t: ID!) { trainer(id: $t) { rating { average count } } }",
            json!({"t": alpha}),
        )
        .await;
    assert_eq!(
        unrated["trainer"]["rating"],
        json!({"average": null, "count": 0})
    );

    // The three orders, walked page by page through their cursors.
    let everyone = ["Alpha Detector", "Beta Segmenter", "Gamma Classifier"];
    let reader = &initech.owner.token;
    for (sort, order) in [
        ("NEWEST", [2, 1, 0]),
        ("POPULAR", [1, 2, 0]),
        ("RATING", [2, 1, 0]),
    ] {
        let expected: Vec<&str> = order.iter().map(|i| everyone[*i]).collect();
        assert_eq!(walk(app, reader, sort, json!({})).await, expected, "{sort}");
    }

    // The author sees other organizations' use, per version.
    let usage = app.data(Some(author), USAGE, json!({"t": beta})).await;
    assert_eq!(
        usage["trainer"]["usage"],
        json!({
            "total": {"runs": 2, "organizations": 2, "gpuSeconds": 70.0},
            "versions": [
                {"version": 2, "usage": {"runs": 1, "organizations": 1, "gpuSeconds": 10.0}},
                {"version": 1, "usage": {"runs": 1, "organizations": 1, "gpuSeconds": 60.0}},
            ],
        })
    );
}
