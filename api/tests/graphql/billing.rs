//! Billing over the API, on both backends: jobs metered into the ledger (each fact once,
//! however often it is reported), usage grouped, quotas refusing jobs before they are
//! queued (also when two race for the last slot), plans, invoices drafted from the ledger,
//! quota thresholds announced once, and the authors' earnings.

use chrono::{Duration, Utc};
use keynet_api::settings::{DockerMode, Settings};
use keynet_billing::entities::billing_accounts::{self, AccountStatus};
use keynet_billing::ledger::{self, Usage};
use keynet_billing::meters::Meter;
use keynet_domain::entities::jobs;
use keynet_domain::ids::{JobId, OrgId, ProjectId, TrainerVersionId};
use keynet_domain::jobs::billing::AttemptUsage;
use keynet_domain::jobs::lifecycle::{AttemptReport, Ending};
use keynet_testkit::jobs::JobSetup;
use keynet_testkit::trainer::{TRAINER, install_program};
use keynet_testkit::{TestApp, ws};
use keynet_workers::{ImportHandler, RunnerConfig, TaskRunner};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

on_both_backends!(
    jobs_are_metered_once_and_usage_is_grouped where super::process_only,
    quotas_refuse_jobs_before_they_are_queued where super::small_plans,
    plans_invoices_and_permissions where super::process_only,
    quota_thresholds_are_announced_once where super::no_workers,
    authors_earn_from_other_orgs_use where super::process_only,
);

fn process_only(settings: &mut Settings) {
    settings.executor.docker = DockerMode::Off;
    settings.executor.relay_interval_ms = 50;
}

/// The free plan allows one job at a time, one inference request a minute and 36,000
/// GPU-seconds; the team plan stores at most one byte.
fn small_plans(settings: &mut Settings) {
    process_only(settings);
    settings.billing.plans.free.concurrent_jobs = Some(1);
    settings.billing.plans.free.inference_requests_per_minute = Some(1);
    settings.billing.plans.team.storage_bytes = Some(1);
}

/// No workers: the test runs the dataset import with a runner of its own, then plays the
/// job worker. The free plan allows 20 GPU-seconds a month.
fn no_workers(settings: &mut Settings) {
    process_only(settings);
    settings.run_workers = false;
    settings.billing.plans.free.gpu_seconds_per_month = Some(20);
}

async fn setup(app: &TestApp) -> JobSetup {
    let image = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    app.job_setup(TRAINER, &image).await
}

/// This month and the next, so everything metered in this test is inside.
fn range() -> Value {
    let from = keynet_billing::periods::Period::containing(Utc::now()).start;
    json!({"from": from, "to": from + Duration::days(62)})
}

async fn usage(app: &TestApp, token: &str, org: &str, group_by: Value) -> Vec<Value> {
    let mut variables = range();
    variables["o"] = json!(org);
    variables["g"] = group_by;
    app.data(
        Some(token),
        "query($o: ID!, $from: DateTime!, $to: DateTime!, $g: [UsageGroupBy!]!) {
            usage(orgId: $o, from: $from, to: $to, groupBy: $g) {
                day month meter projectId experimentId jobId trainerVersionId quantity creditedQuantity
            } }",
        variables,
    )
    .await["usage"]
        .as_array()
        .unwrap()
        .clone()
}

fn quantity_of(groups: &[Value], meter: &str) -> i64 {
    groups
        .iter()
        .find(|g| g["meter"] == meter)
        .map_or(0, |g| g["quantity"].as_i64().unwrap())
}

async fn job_row(app: &TestApp, job: &str) -> jobs::Model {
    jobs::Entity::find_by_id(JobId::parse(job).unwrap())
        .one(app.platform().domain.db())
        .await
        .unwrap()
        .unwrap()
}

const START_INFERENCE: &str = "mutation($j: ID!, $s: ID!) { startInferenceJob(input: {jobId: $j, checkpoint: BEST, datasetSnapshotId: $s}) { id } }";

async fn jobs_are_metered_once_and_usage_is_grouped(app: &TestApp) {
    let s = setup(app).await;
    let job = app
        .start_training(&s.token, &s.project, &s.version, &s.snapshot, json!({}))
        .await;
    assert_eq!(
        app.wait_for_job(&s.token, &job, &[]).await["status"],
        "SUCCEEDED"
    );
    let row = job_row(app, &job).await;
    // CPUs asked (1 by default) × runtime, whole seconds rounded up; no GPU asked, no
    // GPU-seconds.
    let cpu_seconds = (row.runtime_ms + 999) / 1000;
    assert!(cpu_seconds >= 1, "{row:?}");
    let by_meter = usage(app, &s.token, &s.org, json!(["METER"])).await;
    assert_eq!(quantity_of(&by_meter, "CPU_SECONDS"), cpu_seconds);
    assert_eq!(quantity_of(&by_meter, "GPU_SECONDS"), 0);

    // 16 reports of the same attempt at once (a retried worker, duplicated callbacks): the
    // ledger keeps the one it had.
    let usage_of_attempt = AttemptUsage {
        job: &row,
        runtime_ms: row.runtime_ms,
        platform_fault: None,
    };
    let facts = keynet_billing::metering::attempt_facts(&usage_of_attempt, Some(row.org_id));
    let db = app.platform().domain.db().clone();
    let reports: Vec<_> = (0..16)
        .map(|_| {
            let db = db.clone();
            let facts = facts.clone();
            tokio::spawn(async move { ledger::record(&db, facts).await.unwrap() })
        })
        .collect();
    let mut inserted = 0;
    for report in reports {
        inserted += report.await.unwrap();
    }
    assert_eq!(inserted, 0, "the worker had recorded these facts already");
    let again = usage(app, &s.token, &s.org, json!(["METER"])).await;
    assert_eq!(quantity_of(&again, "CPU_SECONDS"), cpu_seconds);

    // An inference job is one request.
    app.data(
        Some(&s.token),
        START_INFERENCE,
        json!({"j": job, "s": s.snapshot}),
    )
    .await;
    let by_job = usage(app, &s.token, &s.org, json!(["JOB", "METER", "PROJECT"])).await;
    let training_cpu = by_job
        .iter()
        .find(|g| g["jobId"] == job.as_str() && g["meter"] == "CPU_SECONDS")
        .unwrap();
    assert_eq!(training_cpu["quantity"], cpu_seconds);
    assert_eq!(training_cpu["projectId"], s.project.as_str());
    assert!(
        training_cpu["day"].is_null(),
        "not grouped by day: {training_cpu}"
    );
    assert_eq!(quantity_of(&by_job, "INFERENCE_REQUESTS"), 1);

    let by_day = usage(app, &s.token, &s.org, json!(["DAY"])).await;
    assert_eq!(by_day.len(), 1, "{by_day:?}");
    assert_eq!(by_day[0]["day"], Utc::now().format("%Y-%m-%d").to_string());
    let total = usage(app, &s.token, &s.org, json!([])).await;
    assert_eq!(total.len(), 1);
    // The training CPU-seconds, the inference request and whatever the inference job ran.
    assert!(total[0]["quantity"].as_i64().unwrap() > cpu_seconds);

    let this_period = app
        .data(
            Some(&s.token),
            "query { myOrganizations { edges { node { usageThisPeriod { periodStart meters { meter quantity creditedQuantity forecast } } } } } }",
            json!({}),
        )
        .await;
    let meters = &this_period["myOrganizations"]["edges"][0]["node"]["usageThisPeriod"]["meters"];
    let cpu = meters
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["meter"] == "CPU_SECONDS")
        .unwrap();
    assert!(cpu["quantity"].as_i64().unwrap() >= cpu_seconds);
    assert!(cpu["forecast"].as_i64().unwrap() >= cpu["quantity"].as_i64().unwrap());

    // Bad ranges name their field.
    for (from, to) in [
        (Utc::now(), Utc::now() - Duration::hours(1)),
        (Utc::now() - Duration::days(500), Utc::now()),
    ] {
        let (code, error) = app
            .error(
                Some(&s.token),
                "query($o: ID!, $from: DateTime!, $to: DateTime!) { usage(orgId: $o, from: $from, to: $to, groupBy: []) { quantity } }",
                json!({"o": s.org, "from": from, "to": to}),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert_eq!(error["extensions"]["field"], "to");
    }
}

/// The error of a job start that must be refused by a quota: its `quota` extension.
async fn refused_quota(app: &TestApp, token: &str, query: &str, variables: Value) -> String {
    let (code, error) = app.error(Some(token), query, variables).await;
    assert_eq!(code, "QUOTA_EXCEEDED", "{error}");
    assert!(!error["message"].as_str().unwrap().is_empty());
    error["extensions"]["quota"].as_str().unwrap().to_string()
}

const START_TRAINING: &str =
    "mutation($i: StartTrainingJobInput!) { startTrainingJob(input: $i) { id } }";

fn training_input(s: &JobSetup, extra: Value) -> Value {
    let mut input = json!({
        "projectId": s.project,
        "trainerVersionId": s.version,
        "datasetSnapshotId": s.snapshot,
        "modelName": "m",
        "config": {"epochs": 2, "batchSize": 8, "learningRate": 0.5, "imgsz": 16},
    });
    if let (Value::Object(input), Value::Object(extra)) = (&mut input, extra) {
        input.extend(extra);
    }
    json!({"i": input})
}

async fn job_count(app: &TestApp, s: &JobSetup) -> usize {
    app.data(
        Some(&s.token),
        "query($p: ID!) { jobs(projectId: $p, first: 100) { edges { cursor } } }",
        json!({"p": s.project}),
    )
    .await["jobs"]["edges"]
        .as_array()
        .unwrap()
        .len()
}

async fn set_account(
    app: &TestApp,
    org: &str,
    change: impl FnOnce(&mut billing_accounts::ActiveModel),
) {
    let db = app.platform().domain.db();
    let org = OrgId::parse(org).unwrap();
    let account = billing_accounts::Entity::find_by_id(org)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut update: billing_accounts::ActiveModel = account.into();
    change(&mut update);
    update.update(db).await.unwrap();
}

async fn quotas_refuse_jobs_before_they_are_queued(app: &TestApp) {
    let s = setup(app).await;
    let slow = training_input(
        &s,
        json!({"hyperparameters": {"sleep-ms-per-epoch": "1500"}}),
    );
    let running = app.data(Some(&s.token), START_TRAINING, slow.clone()).await["startTrainingJob"]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        refused_quota(app, &s.token, START_TRAINING, slow.clone()).await,
        "concurrent_jobs"
    );
    assert_eq!(
        job_count(app, &s).await,
        1,
        "the refused job left nothing behind"
    );
    assert_eq!(
        app.wait_for_job(&s.token, &running, &[]).await["status"],
        "SUCCEEDED"
    );

    // Two jobs at once for the last slot: one is admitted.
    let (a, b) = tokio::join!(
        app.post(Some(&s.token), START_TRAINING, slow.clone()),
        app.post(Some(&s.token), START_TRAINING, slow.clone()),
    );
    let admitted: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|r| r["errors"].is_null())
        .collect();
    assert_eq!(admitted.len(), 1, "{a}\n{b}");
    let refused = if a["errors"].is_null() { &b } else { &a };
    assert_eq!(refused["errors"][0]["extensions"]["code"], "QUOTA_EXCEEDED");
    let second = admitted[0]["data"]["startTrainingJob"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.wait_for_job(&s.token, &second, &[]).await["status"],
        "SUCCEEDED"
    );

    // GPUs × the wall-clock limit must fit in what is left of the month's GPU-seconds.
    let greedy = training_input(
        &s,
        json!({"resources": {"gpus": 2}, "maxRuntimeSeconds": 36_000}),
    );
    assert_eq!(
        refused_quota(app, &s.token, START_TRAINING, greedy).await,
        "gpu_seconds_per_month"
    );

    // One inference request a minute.
    app.data(
        Some(&s.token),
        START_INFERENCE,
        json!({"j": running, "s": s.snapshot}),
    )
    .await;
    let inference = app
        .data(
            Some(&s.token),
            "query($p: ID!) { jobs(projectId: $p, kind: INFERENCE) { edges { node { id } } } }",
            json!({"p": s.project}),
        )
        .await["jobs"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.wait_for_job(&s.token, &inference, &[]).await;
    assert_eq!(
        refused_quota(
            app,
            &s.token,
            START_INFERENCE,
            json!({"j": running, "s": s.snapshot})
        )
        .await,
        "inference_requests_per_minute"
    );

    // A payment that failed: within the grace period jobs still start; after it, not.
    let failed_at = |days: i64| Some(Utc::now() - Duration::days(days));
    set_account(app, &s.org, |a| {
        a.status = Set(AccountStatus::PastDue);
        a.payment_failed_at = Set(failed_at(1));
    })
    .await;
    let quick = training_input(&s, json!({}));
    let within_grace = app
        .data(Some(&s.token), START_TRAINING, quick.clone())
        .await;
    let job = within_grace["startTrainingJob"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.wait_for_job(&s.token, &job, &[]).await;
    set_account(app, &s.org, |a| a.payment_failed_at = Set(failed_at(30))).await;
    assert_eq!(
        refused_quota(app, &s.token, START_TRAINING, quick.clone()).await,
        "payment"
    );
    set_account(app, &s.org, |a| {
        a.status = Set(AccountStatus::Active);
        a.payment_failed_at = Set(None);
    })
    .await;

    // The team plan here stores at most one byte; the dataset is more.
    app.data(
        Some(&s.token),
        "mutation($o: ID!) { changePlan(orgId: $o, plan: TEAM) { plan } }",
        json!({"o": s.org}),
    )
    .await;
    assert_eq!(
        refused_quota(app, &s.token, START_TRAINING, quick).await,
        "storage_bytes"
    );
}

const ACCOUNT: &str = "query($o: ID!) { billingAccount(orgId: $o) {
    plan effectivePlan status graceEndsAt
    quotas { concurrentJobs gpuSecondsPerMonth storageBytes inferenceRequestsPerMinute }
    used { concurrentJobs gpuSecondsPerMonth storageBytes inferenceRequestsPerMinute }
    prices { currency monthlyFee gpuHour cpuHour thousandInferenceRequests }
} }";

async fn plans_invoices_and_permissions(app: &TestApp) {
    let s = setup(app).await;
    let owner_token = s.token.clone();
    let owner = keynet_testkit::Account {
        email: "owner@example.com".into(),
        user_id: String::new(),
        token: owner_token.clone(),
        refresh_token: String::new(),
    };
    let admin = app.join(&owner, &s.org, "admin@example.com", "ADMIN").await;
    let member = app
        .join(&owner, &s.org, "member@example.com", "MEMBER")
        .await;

    let account = app
        .data(Some(&admin.token), ACCOUNT, json!({"o": s.org}))
        .await["billingAccount"]
        .clone();
    assert_eq!(account["plan"], "FREE");
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["quotas"]["concurrentJobs"], 2);
    assert!(account["used"]["storageBytes"].as_i64().unwrap() > 0);
    assert_eq!(account["prices"]["currency"], "usd");
    assert_eq!(
        app.code(Some(&member.token), ACCOUNT, json!({"o": s.org}))
            .await,
        "FORBIDDEN"
    );

    let change = "mutation($o: ID!, $p: PlanName!) { changePlan(orgId: $o, plan: $p) { plan quotas { concurrentJobs } prices { monthlyFee } } }";
    assert_eq!(
        app.code(Some(&admin.token), change, json!({"o": s.org, "p": "TEAM"}))
            .await,
        "FORBIDDEN",
        "changing the plan is the owner's"
    );
    let team = app
        .data(Some(&owner_token), change, json!({"o": s.org, "p": "TEAM"}))
        .await["changePlan"]
        .clone();
    assert_eq!(team["plan"], "TEAM");
    assert_eq!(team["quotas"]["concurrentJobs"], 10);
    assert_eq!(team["prices"]["monthlyFee"], 4900);
    let audit = app
        .data(
            Some(&owner_token),
            "query($o: ID!) { auditLog(orgId: $o, action: \"billing.plan_changed\") { edges { node { metadata } } } }",
            json!({"o": s.org}),
        )
        .await;
    assert_eq!(
        audit["auditLog"]["edges"][0]["node"]["metadata"],
        json!({"from": "free", "to": "team"})
    );

    let job = app
        .start_training(&owner_token, &s.project, &s.version, &s.snapshot, json!({}))
        .await;
    app.wait_for_job(&owner_token, &job, &[]).await;
    let row = job_row(app, &job).await;
    let cpu_seconds = (row.runtime_ms + 999) / 1000;
    // The platform's failure: metered, credited.
    let db = app.platform().domain.db();
    let credited = AttemptUsage {
        job: &jobs::Model {
            attempt: 99,
            ..row.clone()
        },
        runtime_ms: 3_600_000,
        platform_fault: Some("executor_error".into()),
    };
    ledger::record(db, keynet_billing::metering::attempt_facts(&credited, None))
        .await
        .unwrap();

    let billing = &app.platform().billing;
    assert_eq!(billing.draft_invoices_for(Utc::now()).await.unwrap(), 1);
    assert_eq!(
        billing.draft_invoices_for(Utc::now()).await.unwrap(),
        0,
        "drafted once"
    );
    let invoices = app
        .data(
            Some(&admin.token),
            "query($o: ID!) { invoices(orgId: $o) { edges { node { id plan currency status subtotal credits total
                lines { meter description quantity creditedQuantity unitPrice unitPricePer amount } } } } }",
            json!({"o": s.org}),
        )
        .await["invoices"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(invoices.len(), 1);
    let invoice = &invoices[0]["node"];
    assert_eq!(invoice["plan"], "TEAM");
    assert_eq!(invoice["status"], "DRAFT");
    let lines = invoice["lines"].as_array().unwrap();
    // The team plan since a moment ago: its fee prorated by the seconds in force.
    let fee = &lines[0];
    assert_eq!(fee["meter"], Value::Null);
    assert_eq!(fee["unitPrice"], 4900);
    assert_eq!(
        fee["amount"],
        keynet_billing::meters::amount(
            fee["quantity"].as_i64().unwrap(),
            4900,
            fee["unitPricePer"].as_i64().unwrap()
        )
    );
    let cpu = lines.iter().find(|l| l["meter"] == "CPU_SECONDS").unwrap();
    assert_eq!(cpu["quantity"], cpu_seconds);
    assert_eq!(cpu["creditedQuantity"], 3600);
    assert_eq!(cpu["unitPrice"], 5);
    assert_eq!(cpu["unitPricePer"], 3600);
    assert_eq!(
        cpu["amount"],
        keynet_billing::meters::amount(cpu_seconds, 5, 3600)
    );
    // An hour of CPU credited would have cost 5.
    assert_eq!(invoice["credits"], 5);
    let sum: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(invoice["subtotal"], sum);
    assert_eq!(invoice["total"], sum);
    let one = app
        .data(
            Some(&admin.token),
            "query($i: ID!) { invoice(id: $i) { id total } }",
            json!({"i": invoice["id"]}),
        )
        .await;
    assert_eq!(one["invoice"]["total"], sum);
    assert_eq!(
        app.code(
            Some(&member.token),
            "query($i: ID!) { invoice(id: $i) { id } }",
            json!({"i": invoice["id"]})
        )
        .await,
        "FORBIDDEN"
    );
}

/// Starts a one-GPU training job with a wall-clock limit of 10 s (the least allowed).
async fn start_gpu_job(app: &TestApp, s: &JobSetup) -> String {
    let input = training_input(
        s,
        json!({"resources": {"gpus": 1}, "maxRuntimeSeconds": 10}),
    );
    app.data(Some(&s.token), START_TRAINING, input).await["startTrainingJob"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Plays the worker: begins the job's attempt, and reports that it ran `runtime_ms`.
async fn run_attempt(app: &TestApp, job: &str, runtime_ms: i64) -> jobs::Model {
    let domain = &app.platform().domain;
    let attempt = domain
        .begin_attempt(JobId::parse(job).unwrap())
        .await
        .unwrap()
        .unwrap();
    finish_attempt(app, &attempt.job, runtime_ms).await
}

async fn finish_attempt(app: &TestApp, job: &jobs::Model, runtime_ms: i64) -> jobs::Model {
    let report = AttemptReport {
        ending: Ending::Exited { code: 0 },
        runtime_ms,
        executor: Some("test".into()),
    };
    app.platform()
        .domain
        .finish_attempt(job, report)
        .await
        .unwrap()
        .unwrap()
}

async fn threshold(socket: &mut ws::Subscription) -> Value {
    let event = socket.next_message().await.unwrap();
    event["payload"]["data"]["usageThresholdReached"].clone()
}

async fn quota_thresholds_are_announced_once(app: &TestApp) {
    let domain = &app.platform().domain;
    let imports = TaskRunner::new(domain.db().clone(), RunnerConfig::default())
        .handle(ImportHandler(domain.clone()));
    let stop = CancellationToken::new();
    let importing = tokio::spawn(imports.run(stop.clone()));
    let s = setup(app).await;
    stop.cancel();
    importing.await.unwrap();
    let mut socket = ws::connect(app.url(), json!({"token": s.token}))
        .await
        .unwrap();
    socket
        .subscribe(
            "t",
            "subscription($o: ID!) { usageThresholdReached(orgId: $o) { quota percent used limit } }",
            json!({"o": s.org}),
        )
        .await;
    // 9 of 20 GPU-seconds (45 %): nothing to announce.
    let job = start_gpu_job(app, &s).await;
    run_attempt(app, &job, 8_200).await;
    // 17 of 20 (85 %): 80 % reached.
    let job = start_gpu_job(app, &s).await;
    let second = run_attempt(app, &job, 7_100).await;
    assert_eq!(
        threshold(&mut socket).await,
        json!({"quota": "gpu_seconds_per_month", "percent": 80, "used": 17, "limit": 20})
    );
    // The same attempt reported again changes nothing and announces nothing.
    let again = AttemptUsage {
        job: &second,
        runtime_ms: 7_100,
        platform_fault: None,
    };
    ledger::record(
        domain.db(),
        keynet_billing::metering::attempt_facts(&again, None),
    )
    .await
    .unwrap();
    // A third job's worst case (10 GPU-seconds) does not fit in the 3 left.
    let refused = training_input(
        &s,
        json!({"resources": {"gpus": 1}, "maxRuntimeSeconds": 10}),
    );
    assert_eq!(
        refused_quota(app, &s.token, START_TRAINING, refused.clone()).await,
        "gpu_seconds_per_month"
    );
    // On the team plan it starts; the owner goes back to free while it runs, and its 3
    // seconds bring the month to 100 % of the free quota.
    let change = "mutation($o: ID!, $p: PlanName!) { changePlan(orgId: $o, plan: $p) { plan } }";
    app.data(Some(&s.token), change, json!({"o": s.org, "p": "TEAM"}))
        .await;
    let job = start_gpu_job(app, &s).await;
    let attempt = domain
        .begin_attempt(JobId::parse(&job).unwrap())
        .await
        .unwrap()
        .unwrap();
    app.data(Some(&s.token), change, json!({"o": s.org, "p": "FREE"}))
        .await;
    finish_attempt(app, &attempt.job, 3_000).await;
    assert_eq!(
        threshold(&mut socket).await,
        json!({"quota": "gpu_seconds_per_month", "percent": 100, "used": 20, "limit": 20})
    );
    let used = app.data(Some(&s.token), ACCOUNT, json!({"o": s.org})).await;
    assert_eq!(used["billingAccount"]["used"]["gpuSecondsPerMonth"], 20);
}

async fn authors_earn_from_other_orgs_use(app: &TestApp) {
    let author = setup(app).await;
    let buyer = app.signup("buyer@example.com").await;
    let buyer_org = app.create_org(&buyer, "buyer").await;
    app.data(
        Some(&buyer.token),
        "mutation($o: ID!) { changePlan(orgId: $o, plan: TEAM) { plan } }",
        json!({"o": buyer_org}),
    )
    .await;
    let version = TrainerVersionId::parse(&author.version).unwrap();
    let author_org = OrgId::parse(&author.org).unwrap();
    let fact = |org: &str, meter: Meter, quantity: i64, job: JobId| Usage {
        org_id: OrgId::parse(org).unwrap(),
        meter,
        quantity,
        idempotency_key: format!("job:{job}:attempt:1:{}", meter.name()),
        occurred_at: Utc::now(),
        project_id: None::<ProjectId>,
        experiment_id: None,
        job_id: Some(job),
        trainer_version_id: Some(version),
        trainer_org_id: Some(author_org),
        deployment_id: None,
        deployment_key_id: None,
        credit_reason: None,
    };
    let bought = JobId::new();
    let own = JobId::new();
    ledger::record(
        app.platform().domain.db(),
        vec![
            fact(&buyer_org, Meter::GpuSeconds, 3600, bought),
            fact(&buyer_org, Meter::CpuSeconds, 7200, bought),
            // The author's own use earns nothing.
            fact(&author.org, Meter::GpuSeconds, 3600, own),
            fact(&author.org, Meter::CpuSeconds, 3600, own),
        ],
    )
    .await
    .unwrap();
    let query = "query($o: ID!, $from: DateTime!, $to: DateTime!) { authorEarnings(orgId: $o, from: $from, to: $to) {
        trainerName runs gpuSeconds cpuSeconds revenue authorShare } }";
    let mut variables = range();
    variables["o"] = json!(author.org);
    let earnings = app
        .data(Some(&author.token), query, variables.clone())
        .await;
    // At the buyer's team prices: an hour of GPU 250, two hours of CPU 10; 70 % of 260.
    assert_eq!(
        earnings["authorEarnings"],
        json!([{"trainerName": TRAINER, "runs": 1, "gpuSeconds": 3600, "cpuSeconds": 7200,
                "revenue": 260, "authorShare": 182}])
    );
    variables["o"] = json!(buyer_org);
    let none = app.data(Some(&buyer.token), query, variables).await;
    assert_eq!(none["authorEarnings"], json!([]));
}
