//! Deployments end to end on the process executor, on both backends: a trained reference
//! model deployed from its checkpoint (exported for it), called through `/v1/infer` as a raw
//! body, a multipart form and base64 JSON, and through the Open Inference Protocol; its
//! answers equal the trainer's own inference job on the same image. Keys (rotation,
//! revocation, rate limit), scoped org tokens, stop and start, scale to zero and the cold
//! start, metering into `usage(groupBy: DEPLOYMENT)`, and every bad input named. A detection
//! export answers boxes in the posted image's pixels, and one whose metadata does not say
//! detection fails its deployment with the reason.

use keynet_testkit::TestApp;
use keynet_testkit::jobs::JobSetup;
use keynet_testkit::trainer::{TRAINER, install_program};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

on_both_backends!(
    a_trained_model_is_served_and_metered where super::serving,
    keys_limits_and_lifecycle where super::serving,
    bad_requests_are_refused_by_name where super::serving,
    an_idle_deployment_scales_to_zero_and_starts_again where super::serving,
    tritonclient_calls_a_deployment where super::serving,
    the_plans_quota_refuses_before_inference where super::three_a_minute,
    load_scales_replicas_up_and_back_down where super::serving,
    a_detector_answers_boxes_in_the_images_pixels where super::serving,
    onnx_runtime_answers_what_the_trainer_predicts where super::on_onnx_runtime,
);

fn serving(settings: &mut keynet_api::settings::Settings) {
    super::jobs::process_only(settings);
    settings.serving.meter_flush_ms = 50;
    settings.serving.max_request_bytes = 256 * 1024;
    // The tests call more often than the free plan's 60 a minute; the quota has its own test.
    settings.billing.plans.free.inference_requests_per_minute = None;
}

/// Replicas on ONNX Runtime: the library of the clients' `onnxruntime` wheel.
fn on_onnx_runtime(settings: &mut keynet_api::settings::Settings) {
    serving(settings);
    settings.serving.onnxruntime_library = Some(keynet_testkit::clients::onnxruntime_library(
        &keynet_testkit::clients::clients_python(),
    ));
}

fn three_a_minute(settings: &mut keynet_api::settings::Settings) {
    serving(settings);
    settings.billing.plans.free.inference_requests_per_minute = Some(3);
}

/// The longest a test waits for a deployment's state.
const WAIT: Duration = Duration::from_secs(120);

const DEPLOYMENT: &str = "query($d: ID!) { deployment(id: $d) { id status statusReason inferUrl oipUrl replicas { slot status } } }";

struct Deployed {
    setup: JobSetup,
    training: String,
    deployment: String,
    key: String,
}

async fn wait_for_status(app: &TestApp, token: &str, deployment: &str, wanted: &str) -> Value {
    let started = Instant::now();
    loop {
        let found = app
            .data(Some(token), DEPLOYMENT, json!({"d": deployment}))
            .await["deployment"]
            .clone();
        if found["status"] == wanted {
            return found;
        }
        assert!(
            started.elapsed() < WAIT,
            "deployment still not {wanted}: {found}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_key(
    app: &TestApp,
    token: &str,
    deployment: &str,
    extra: Value,
) -> (String, String) {
    let mut input = json!({"deploymentId": deployment, "name": "service"});
    if let (Value::Object(input), Value::Object(extra)) = (&mut input, extra) {
        input.extend(extra);
    }
    let created = app
        .data(
            Some(token),
            "mutation($i: CreateDeploymentKeyInput!) { createDeploymentKey(input: $i) { secret key { id prefix } } }",
            json!({"i": input}),
        )
        .await["createDeploymentKey"]
        .clone();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("kdk_"), "{created}");
    assert!(secret.starts_with(created["key"]["prefix"].as_str().unwrap()));
    (created["key"]["id"].as_str().unwrap().to_string(), secret)
}

/// Trains the reference trainer and deploys its last checkpoint (exported on the way), with
/// `settings`; waits until it is READY and makes a key.
async fn deploy(app: &TestApp, settings: Value) -> Deployed {
    let image = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    let setup = app.job_setup(TRAINER, &image).await;
    let training = app.trained(&setup).await;
    let created = create_deployment(
        app,
        &setup.token,
        json!({
            "projectId": setup.project,
            "name": "classifier",
            "runtime": "ONNX",
            "source": {"trainingJobId": training, "checkpoint": "LAST"},
            "settings": settings,
        }),
    )
    .await;
    assert_eq!(created["status"], "PENDING", "{created}");
    assert_eq!(created["sourceJobId"], training.as_str());
    let deployment = created["id"].as_str().unwrap().to_string();
    wait_for_status(app, &setup.token, &deployment, "READY").await;
    let (_, key) = create_key(app, &setup.token, &deployment, json!({})).await;
    Deployed {
        setup,
        training,
        deployment,
        key,
    }
}

fn infer_url(app: &TestApp, deployment: &str) -> String {
    format!("{}/v1/infer/{deployment}", app.url())
}

async fn post_raw(app: &TestApp, key: &str, deployment: &str, body: Vec<u8>) -> reqwest::Response {
    app.http
        .post(infer_url(app, deployment))
        .bearer_auth(key)
        .header("content-type", "image/png")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, response.json().await.unwrap())
}

/// The predictions the reference trainer's own inference job makes for `png` with the
/// training job's last checkpoint.
async fn inference_job_predictions(app: &TestApp, d: &Deployed, png: &[u8]) -> Value {
    let token = &d.setup.token;
    let upload = app
        .data(
            Some(token),
            "mutation($p: ID!, $n: Int!) { createInferenceUpload(projectId: $p, filename: \"probe.png\", sizeBytes: $n) { uploadId uploadUrl } }",
            json!({"p": d.setup.project, "n": png.len()}),
        )
        .await["createInferenceUpload"]
        .clone();
    let put = app
        .http
        .put(upload["uploadUrl"].as_str().unwrap())
        .body(png.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let job = app
        .data(
            Some(token),
            "mutation($i: StartInferenceJobInput!) { startInferenceJob(input: $i) { id } }",
            json!({"i": {"jobId": d.training, "checkpoint": "LAST", "imageUploadId": upload["uploadId"]}}),
        )
        .await["startInferenceJob"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = app.wait_for_job(token, &job, &[]).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    app.job_fields(
        token,
        &job,
        "inferenceResults(first: 1) { edges { node { predictions } } }",
    )
    .await["inferenceResults"]["edges"][0]["node"]["predictions"]
        .clone()
}

fn assert_same_predictions(endpoint: &Value, trainer: &Value) {
    let endpoint = endpoint.as_array().unwrap();
    let trainer = trainer.as_array().unwrap();
    assert!(!endpoint.is_empty());
    for (served, expected) in endpoint.iter().zip(trainer) {
        assert_eq!(
            served["class_id"], expected["class_id"],
            "{endpoint:?} vs {trainer:?}"
        );
        assert_eq!(served["class_name"], expected["class_name"]);
        let difference =
            (served["score"].as_f64().unwrap() - expected["score"].as_f64().unwrap()).abs();
        assert!(difference <= 1e-4, "{endpoint:?} vs {trainer:?}");
    }
}

async fn a_trained_model_is_served_and_metered(app: &TestApp) {
    let d = deploy(app, json!({"maxBatchSize": 4, "maxQueueDelayMs": 2})).await;
    let png = keynet_testkit::fixtures::png(24, 20, 5);

    // The raw body: the trainer's own inference job on the same image agrees.
    let (status, _, raw) = json_of(post_raw(app, &d.key, &d.deployment, png.clone()).await).await;
    assert_eq!(status, 200, "{raw}");
    assert_eq!(raw["task_type"], "classification");
    let expected = inference_job_predictions(app, &d, &png).await;
    assert_same_predictions(&raw["predictions"], &expected);

    // A multipart form and base64 JSON answer the same.
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(png.clone()).file_name("probe.png"),
    );
    let multipart = app
        .http
        .post(infer_url(app, &d.deployment))
        .bearer_auth(&d.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, _, answer) = json_of(multipart).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["predictions"], raw["predictions"]);
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&png);
    let json_body = app
        .http
        .post(format!("{}?top_k=1", infer_url(app, &d.deployment)))
        .bearer_auth(&d.key)
        .json(&json!({"image": encoded}))
        .send()
        .await
        .unwrap();
    let (status, _, answer) = json_of(json_body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["predictions"].as_array().unwrap().len(), 1);
    assert_eq!(answer["predictions"][0], raw["predictions"][0]);

    // The Open Inference Protocol: model metadata, then the same image as a tensor gives the
    // same probabilities.
    let oip = format!("{}/oip/v2/models/{}", app.url(), d.deployment);
    let metadata: Value = app
        .http
        .get(&oip)
        .bearer_auth(&d.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["name"], d.deployment.as_str(), "{metadata}");
    let input = &metadata["inputs"][0];
    let ready = app
        .http
        .get(format!("{oip}/ready"))
        .bearer_auth(&d.key)
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let shape: Vec<i64> = input["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let values: usize = shape[1..].iter().product::<i64>() as usize;
    let tensor = json!({"inputs": [{
        "name": input["name"], "datatype": "FP32", "shape": [1, shape[1], shape[2], shape[3]],
        "data": vec![0.25f32; values],
    }]});
    let inferred = app
        .http
        .post(format!("{oip}/infer"))
        .bearer_auth(&d.key)
        .json(&tensor)
        .send()
        .await
        .unwrap();
    assert_eq!(inferred.status().as_u16(), 200);
    let inferred: Value = inferred.json().await.unwrap();
    let scores = inferred["outputs"][0]["data"].as_array().unwrap();
    let sum: f64 = scores.iter().map(|v| v.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4, "{inferred}");

    // Metering: 3 image requests and 1 tensor, each metered once, for this deployment.
    let org = d.setup.org.clone();
    let started = Instant::now();
    loop {
        let usage = app
            .data(
                Some(&d.setup.token),
                "query($o: ID!, $f: DateTime!, $t: DateTime!) { usage(orgId: $o, from: $f, to: $t, groupBy: [DEPLOYMENT, METER]) { deploymentId meter quantity } }",
                json!({"o": org, "f": chrono::Utc::now() - chrono::Duration::days(1), "t": chrono::Utc::now() + chrono::Duration::days(1)}),
            )
            .await["usage"]
            .clone();
        let requests = usage.as_array().unwrap().iter().find(|g| {
            g["deploymentId"] == d.deployment.as_str() && g["meter"] == "INFERENCE_REQUESTS"
        });
        if requests.is_some_and(|g| g["quantity"] == 4) {
            break;
        }
        assert!(started.elapsed() < WAIT, "{usage}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // deployment.metrics: the requests, their latency, the replica's batches over time.
    let started = Instant::now();
    loop {
        let points = app
            .data(
                Some(&d.setup.token),
                "query($d: ID!, $f: DateTime!, $t: DateTime!) { deployment(id: $d) { metrics(from: $f, to: $t, stepSeconds: 3600) { requests errors { name count } latencyMsP50 latencyMsP99 batchSizes { name count } replicas } } }",
                json!({"d": d.deployment, "f": chrono::Utc::now() - chrono::Duration::hours(1), "t": chrono::Utc::now() + chrono::Duration::hours(1)}),
            )
            .await["deployment"]["metrics"]
            .clone();
        let total = |field: &str| -> i64 {
            points
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[field].as_i64().unwrap_or(0))
                .sum()
        };
        let batched: i64 = points
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["batchSizes"].as_array().unwrap().clone())
            .map(|b| b["count"].as_i64().unwrap())
            .sum();
        if total("requests") >= 4 && batched >= 1 && total("replicas") >= 1 {
            assert!(points[0]["latencyMsP50"].as_f64().is_some(), "{points}");
            break;
        }
        assert!(started.elapsed() < WAIT, "{points}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // …and live.
    let mut socket = keynet_testkit::ws::connect(app.url(), json!({"token": d.setup.token}))
        .await
        .unwrap();
    socket
        .subscribe(
            "metrics",
            "subscription($d: ID!) { deploymentMetrics(deploymentId: $d, stepSeconds: 1) { requests replicas } }",
            json!({"d": d.deployment}),
        )
        .await;
    let live = socket.next_message().await.unwrap();
    assert_eq!(live["type"], "next", "{live}");
    assert!(
        live["payload"]["data"]["deploymentMetrics"]["requests"].is_i64(),
        "{live}"
    );

    // /metrics counts the requests by deployment and shows the replica.
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains(&format!(
            "keynet_deployment_requests_total{{deployment=\"{}\",outcome=\"ok\"}} 4",
            d.deployment
        )),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "keynet_deployment_replicas{{deployment=\"{}\"}} 1",
        d.deployment
    )));
}

async fn keys_limits_and_lifecycle(app: &TestApp) {
    let d = deploy(app, json!({})).await;
    let token = d.setup.token.clone();
    let png = keynet_testkit::fixtures::png(16, 16, 2);

    // Rotation: a second key works beside the first; revoking the first ends it only.
    let (first_id, _) = {
        let keys = app
            .data(
                Some(&token),
                "query($d: ID!) { deploymentKeys(deploymentId: $d) { edges { node { id } } } }",
                json!({"d": d.deployment}),
            )
            .await;
        (
            keys["deploymentKeys"]["edges"][0]["node"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
            (),
        )
    };
    let (_, second) = create_key(app, &token, &d.deployment, json!({})).await;
    assert_eq!(
        post_raw(app, &second, &d.deployment, png.clone())
            .await
            .status()
            .as_u16(),
        200
    );
    app.data(
        Some(&token),
        "mutation($k: ID!) { revokeDeploymentKey(keyId: $k) { revokedAt } }",
        json!({"k": first_id}),
    )
    .await;
    let started = Instant::now();
    loop {
        let (status, _, body) =
            json_of(post_raw(app, &d.key, &d.deployment, png.clone()).await).await;
        if status == 401 {
            assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
            break;
        }
        assert!(started.elapsed() < WAIT, "a revoked key still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        post_raw(app, &second, &d.deployment, png.clone())
            .await
            .status()
            .as_u16(),
        200
    );

    // A key's own rate limit: 429 with Retry-After once its second is used.
    let (_, limited) =
        create_key(app, &token, &d.deployment, json!({"requestsPerSecond": 1})).await;
    let mut refused = None;
    for _ in 0..5 {
        let (status, retry_after, body) =
            json_of(post_raw(app, &limited, &d.deployment, png.clone()).await).await;
        if status == 429 {
            refused = Some((retry_after, body));
            break;
        }
    }
    let (retry_after, body) = refused.expect("the key's limit refuses");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");

    // An org API token with the INFERENCE scope calls it; one without is refused.
    let token_with = |scopes: Value| {
        let token = token.clone();
        let org = d.setup.org.clone();
        async move {
            app.data(
                Some(&token),
                "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret } }",
                json!({"i": {"name": "ci", "orgId": org, "scopes": scopes}}),
            )
            .await["createApiToken"]["secret"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let inference = token_with(json!(["INFERENCE"])).await;
    assert_eq!(
        post_raw(app, &inference, &d.deployment, png.clone())
            .await
            .status()
            .as_u16(),
        200
    );
    let read_only = token_with(json!(["READ"])).await;
    let (status, _, body) =
        json_of(post_raw(app, &read_only, &d.deployment, png.clone()).await).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );

    // A key of another deployment of the org is refused; another org's caller sees nothing.
    let stranger = app.signup("stranger@example.com").await;
    app.create_org(&stranger, "elsewhere").await;
    let (status, _, _) =
        json_of(post_raw(app, &stranger.token, &d.deployment, png.clone()).await).await;
    assert_eq!(status, 404);
    assert_eq!(
        app.code(
            Some(&stranger.token),
            DEPLOYMENT,
            json!({"d": d.deployment})
        )
        .await,
        "NOT_FOUND"
    );

    // Stop: 409 with the reason; start: READY again.
    app.data(
        Some(&token),
        "mutation($d: ID!) { stopDeployment(id: $d) { status } }",
        json!({"d": d.deployment}),
    )
    .await;
    let started = Instant::now();
    loop {
        let (status, _, body) =
            json_of(post_raw(app, &second, &d.deployment, png.clone()).await).await;
        if status == 409 {
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("stopped"),
                "{body}"
            );
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "a stopped deployment still answers"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stopped = wait_for_status(app, &token, &d.deployment, "STOPPED").await;
    let started = Instant::now();
    while !stopped["replicas"].as_array().unwrap().is_empty() {
        let now = app
            .data(Some(&token), DEPLOYMENT, json!({"d": d.deployment}))
            .await;
        if now["deployment"]["replicas"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "a stopped deployment keeps replicas: {now}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.data(
        Some(&token),
        "mutation($d: ID!) { startDeployment(id: $d) { status } }",
        json!({"d": d.deployment}),
    )
    .await;
    wait_for_status(app, &token, &d.deployment, "READY").await;
    // The deployment answers again; meanwhile the cached "stopped" of this instance expired.
    let started = Instant::now();
    loop {
        let status = post_raw(app, &second, &d.deployment, png.clone())
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "a started deployment answers {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Deleting it ends its endpoint.
    app.data(
        Some(&token),
        "mutation($d: ID!) { deleteDeployment(id: $d) { id } }",
        json!({"d": d.deployment}),
    )
    .await;
    let started = Instant::now();
    loop {
        let (status, _, body) =
            json_of(post_raw(app, &inference, &d.deployment, png.clone()).await).await;
        if status == 404 {
            // Its keys went with it.
            let key = post_raw(app, &second, &d.deployment, png.clone()).await;
            assert_eq!(key.status().as_u16(), 401);
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "a deleted deployment still answers {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn bad_requests_are_refused_by_name(app: &TestApp) {
    let d = deploy(app, json!({})).await;
    let token = &d.setup.token;
    let url = infer_url(app, &d.deployment);
    let refusal = |response: (u16, Option<String>, Value)| {
        let errors = &response.2["errors"][0];
        (
            response.0,
            errors["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            errors["extensions"]["field"].as_str().map(str::to_string),
        )
    };
    let png = keynet_testkit::fixtures::png(16, 16, 1);

    // No credential, a malformed one, an unknown one.
    let bare = app.http.post(&url).body(png.clone()).send().await.unwrap();
    assert_eq!(
        refusal(json_of(bare).await),
        (401, "UNAUTHENTICATED".into(), None)
    );
    for bad in [
        "kdk_short",
        "kdk_AAAAAAAABBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        "knt_nope",
    ] {
        let (status, _, _) = json_of(post_raw(app, bad, &d.deployment, png.clone()).await).await;
        assert_eq!(status, 401, "{bad}");
    }
    // An id that is not one, an unknown one.
    for id in ["not-an-id", "01890000-0000-7000-8000-000000000000"] {
        assert_eq!(
            refusal(json_of(post_raw(app, &d.key, id, png.clone()).await).await).0,
            404
        );
    }
    // Not an image, an empty body, a truncated PNG: 400 naming `image`.
    for body in [
        b"hello, not an image".to_vec(),
        Vec::new(),
        png[..png.len() / 2].to_vec(),
    ] {
        assert_eq!(
            refusal(json_of(post_raw(app, &d.key, &d.deployment, body).await).await),
            (400, "BAD_USER_INPUT".into(), Some("image".into()))
        );
    }
    // Over the size limit: 413, before the image is read.
    let huge = vec![0u8; 300 * 1024];
    assert_eq!(
        refusal(json_of(post_raw(app, &d.key, &d.deployment, huge).await).await).0,
        413
    );
    // JSON without the image, or not base64; multipart without an `image` part.
    for body in [json!({"picture": "AAAA"}), json!({"image": "***"})] {
        let response = app
            .http
            .post(&url)
            .bearer_auth(&d.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refusal(json_of(response).await),
            (400, "BAD_USER_INPUT".into(), Some("image".into()))
        );
    }
    let form = reqwest::multipart::Form::new().text("other", "x");
    let response = app
        .http
        .post(&url)
        .bearer_auth(&d.key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refusal(json_of(response).await),
        (400, "BAD_USER_INPUT".into(), Some("image".into()))
    );
    // top_k out of range.
    let response = app
        .http
        .post(format!("{url}?top_k=0"))
        .bearer_auth(&d.key)
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(json_of(response).await).2.as_deref(), Some("top_k"));

    // Open Inference Protocol: wrong shape, datatype, name, and a lying binary header.
    let oip = format!("{}/oip/v2/models/{}/infer", app.url(), d.deployment);
    let metadata: Value = app
        .http
        .get(format!("{}/oip/v2/models/{}", app.url(), d.deployment))
        .bearer_auth(&d.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let name = metadata["inputs"][0]["name"].clone();
    let cases = [
        (
            json!({"inputs": [{"name": name, "datatype": "FP32", "shape": [1, 2], "data": [0.0, 1.0]}]}),
            "inputs[0].shape",
        ),
        (
            json!({"inputs": [{"name": name, "datatype": "INT8", "shape": [1, 3, 16, 16], "data": [0]}]}),
            "inputs[0].datatype",
        ),
        (
            json!({"inputs": [{"name": "wrong", "datatype": "FP32", "shape": [1, 3, 16, 16], "data": [0]}]}),
            "inputs[0].name",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .http
            .post(&oip)
            .bearer_auth(&d.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["field"], field, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().starts_with(field),
            "{answer}"
        );
    }
    let response = app
        .http
        .post(&oip)
        .bearer_auth(&d.key)
        .header("Inference-Header-Content-Length", "100000")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let response = app
        .http
        .get(format!(
            "{}/oip/v2/models/{}/versions/7",
            app.url(),
            d.deployment
        ))
        .bearer_auth(&d.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // The replica survived all of it.
    assert_eq!(
        post_raw(app, &d.key, &d.deployment, png)
            .await
            .status()
            .as_u16(),
        200
    );

    // GraphQL refusals name their field.
    let export_job = app
        .data(
            Some(token),
            "query($d: ID!) { deployment(id: $d) { exportJobId } }",
            json!({"d": d.deployment}),
        )
        .await["deployment"]["exportJobId"]
        .as_str()
        .unwrap()
        .to_string();
    let create = "mutation($i: CreateDeploymentInput!) { createDeployment(input: $i) { id } }";
    let base = json!({"projectId": d.setup.project, "name": "other", "runtime": "ONNX"});
    let with = |extra: Value| {
        let mut input = base.clone();
        if let (Value::Object(input), Value::Object(extra)) = (&mut input, extra) {
            input.extend(extra);
        }
        json!({"i": input})
    };
    let cases = [
        (with(json!({"source": {}})), "source"),
        (
            with(json!({"source": {"exportJobId": d.training}})),
            "source.exportJobId",
        ),
        (
            with(
                json!({"source": {"trainingJobId": d.training}, "settings": {"minReplicas": 3, "maxReplicas": 2}}),
            ),
            "minReplicas",
        ),
        (
            with(
                json!({"source": {"trainingJobId": d.training}, "settings": {"maxBatchSize": 65}}),
            ),
            "maxBatchSize",
        ),
        (
            with(
                json!({"source": {"trainingJobId": d.training}, "settings": {"resources": {"gpus": 1}}}),
            ),
            "resources.gpus",
        ),
        (
            with(json!({"source": {"trainingJobId": d.training}, "name": "classifier"})),
            "name",
        ),
        (
            with(json!({"source": {"trainingJobId": export_job}})),
            "source.trainingJobId",
        ),
    ];
    for (variables, field) in cases {
        let (_, error) = app.error(Some(token), create, variables.clone()).await;
        assert_eq!(error["extensions"]["field"], field, "{variables}: {error}");
    }
    let (_, error) = app
        .error(
            Some(token),
            "mutation($i: CreateDeploymentKeyInput!) { createDeploymentKey(input: $i) { secret } }",
            json!({"i": {"deploymentId": d.deployment, "name": "k", "requestsPerSecond": 0}}),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "requestsPerSecond");
}

async fn an_idle_deployment_scales_to_zero_and_starts_again(app: &TestApp) {
    let d = deploy(
        app,
        json!({"minReplicas": 0, "idleSecondsBeforeScaleToZero": 30}),
    )
    .await;
    // Make it idle now rather than wait: the idle clock is its last request (or change).
    use keynet_domain::entities::deployments;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let long_ago = chrono::Utc::now() - chrono::Duration::days(1);
    deployments::Entity::update_many()
        .col_expr(deployments::Column::LastRequestAt, Expr::value(long_ago))
        .col_expr(deployments::Column::UpdatedAt, Expr::value(long_ago))
        .filter(deployments::Column::Id.eq(d.deployment.parse::<uuid::Uuid>().unwrap()))
        .exec(app.platform().domain.db())
        .await
        .unwrap();
    let zero = wait_for_status(app, &d.setup.token, &d.deployment, "SCALED_TO_ZERO").await;
    assert!(
        zero["statusReason"]
            .as_str()
            .unwrap()
            .contains("no request"),
        "{zero}"
    );
    // The next request waits for the cold start and is answered.
    let png = keynet_testkit::fixtures::png(16, 16, 3);
    let (status, _, body) = json_of(post_raw(app, &d.key, &d.deployment, png).await).await;
    assert_eq!(status, 200, "{body}");
    wait_for_status(app, &d.setup.token, &d.deployment, "READY").await;
}

/// `tritonclient.http` from PyPI, unchanged, against the deployment: health, readiness,
/// metadata, inference with binary and JSON tensors (batch of 2), and its errors.
const TRITON_SCRIPT: &str = r#"
import json, sys, numpy as np, tritonclient.http as http
from tritonclient.utils import InferenceServerException
url, model, key = sys.argv[1:4]
client = http.InferenceServerClient(url=url)
headers = {"Authorization": f"Bearer {key}"}
out = {"live": client.is_server_live(), "ready": client.is_model_ready(model, headers=dict(headers))}
meta = client.get_model_metadata(model, headers=dict(headers))
name, output = meta["inputs"][0]["name"], meta["outputs"][0]["name"]
shape = [2] + meta["inputs"][0]["shape"][1:]
data = np.full(shape, 0.25, dtype=np.float32)
data[1] = 0.75
for binary in (True, False):
    tensor = http.InferInput(name, shape, "FP32")
    tensor.set_data_from_numpy(data, binary_data=binary)
    wanted = http.InferRequestedOutput(output, binary_data=binary)
    # tritonclient writes its own headers into the dict it is given: a fresh one each call.
    result = client.infer(model, [tensor], outputs=[wanted], headers=dict(headers), request_id="r-1")
    out[str(binary)] = result.as_numpy(output).tolist()
def error_of(call):
    try:
        call()
        return None
    except InferenceServerException as e:
        return str(e)
bad = http.InferInput(name, [1, 1], "FP32")
bad.set_data_from_numpy(np.zeros([1, 1], dtype=np.float32))
out["bad_shape"] = error_of(lambda: client.infer(model, [bad], headers=dict(headers)))
out["unknown_key"] = error_of(lambda: client.get_model_metadata(
    model, headers={"Authorization": "Bearer kdk_" + "A" * 48}))
print(json.dumps(out))
"#;

async fn tritonclient_calls_a_deployment(app: &TestApp) {
    let d = deploy(app, json!({"maxBatchSize": 8})).await;
    let url = format!("{}/oip", app.url().trim_start_matches("http://"));
    let script_dir = app.data_dir.path().to_path_buf();
    let (deployment, key) = (d.deployment.clone(), d.key.clone());
    let printed = tokio::task::spawn_blocking(move || {
        keynet_testkit::clients::python(TRITON_SCRIPT, &[&url, &deployment, &key], &script_dir)
    })
    .await
    .unwrap();
    let out: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(
        (out["live"].as_bool(), out["ready"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        out["True"], out["False"],
        "binary and JSON tensors answer alike"
    );
    let rows = out["True"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let sum: f64 = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-4, "{row}");
    }
    assert_ne!(rows[0], rows[1]);
    assert!(
        out["bad_shape"]
            .as_str()
            .unwrap()
            .contains("inputs[0].shape"),
        "{out}"
    );
    assert!(
        out["unknown_key"]
            .as_str()
            .unwrap()
            .contains("unknown, revoked or expired"),
        "{out}"
    );
}

async fn the_plans_quota_refuses_before_inference(app: &TestApp) {
    let d = deploy(app, json!({})).await;
    let png = keynet_testkit::fixtures::png(16, 16, 4);
    for _ in 0..3 {
        assert_eq!(
            post_raw(app, &d.key, &d.deployment, png.clone())
                .await
                .status()
                .as_u16(),
            200
        );
    }
    let (status, retry_after, body) =
        json_of(post_raw(app, &d.key, &d.deployment, png).await).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry_after.as_deref(), Some("60"));
    let extensions = &body["errors"][0]["extensions"];
    assert_eq!(extensions["code"], "QUOTA_EXCEEDED");
    assert_eq!(extensions["quota"], "inference_requests_per_minute");
}

/// The settings of a worker host (`keynet worker` with `serving.bind`) beside `app`, on its
/// PostgreSQL database, its data folder (blobs on the local filesystem are shared that way)
/// and its trainers.
fn worker_host_settings(app: &TestApp) -> keynet_api::settings::Settings {
    let mut settings = keynet_api::settings::Settings {
        data_dir: app.data_dir.path().to_path_buf(),
        database_url: Some(app.database_url().unwrap().to_string()),
        ..Default::default()
    };
    serving(&mut settings);
    settings.auth.jwt_secret = Some(keynet_testkit::app::JWT_SECRET.into());
    settings.executor.process_dirs = vec![app.data_dir.path().join("trainers")];
    settings.serving.bind = Some("127.0.0.1:0".into());
    settings.serving.replica_lease_secs = 2;
    settings.resolve().unwrap()
}

/// `keynet serve` instances and `keynet worker` hosts on one PostgreSQL database: the
/// replica lives on a worker host, requests to any API instance reach it; the host is
/// killed, requests get a clear 503 meanwhile, and another host takes the replica over once
/// the lease runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_worker_hosts_serve_every_instance_and_are_replaced() {
    let app = TestApp::spawn_with(keynet_testkit::Backend::Postgres, |settings| {
        serving(settings);
        // This instance runs jobs but holds no replica: worker hosts do.
        settings.serving.max_replicas_per_host = 0;
        settings.serving.replica_lease_secs = 2;
        settings.serving.cold_start_wait_secs = 2;
    })
    .await;
    std::fs::create_dir_all(app.data_dir.path().join("trainers")).unwrap();
    let first = keynet_api::platform::launch_workers(worker_host_settings(&app))
        .await
        .unwrap();
    assert!(first.replica_addr().is_some());
    let d = deploy(&app, json!({})).await;
    let beside = app
        .spawn_beside(|settings| {
            settings.serving.cold_start_wait_secs = 2;
            settings.billing.plans.free.inference_requests_per_minute = None;
        })
        .await;
    let png = keynet_testkit::fixtures::png(16, 16, 6);
    let call = |base: String| {
        let (key, deployment, png) = (d.key.clone(), d.deployment.clone(), png.clone());
        let http = app.http.clone();
        async move {
            let response = http
                .post(format!("{base}/v1/infer/{deployment}"))
                .bearer_auth(key)
                .body(png)
                .send()
                .await
                .unwrap();
            json_of(response).await
        }
    };
    for base in [app.url().to_string(), beside.url()] {
        let (status, _, body) = call(base).await;
        assert_eq!(status, 200, "{body}");
    }

    first.kill().await;
    let (status, retry_after, body) = call(beside.url()).await;
    assert_eq!(status, 503, "{body}");
    assert!(retry_after.is_some());
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAVAILABLE");

    // An instance that waits long enough for a cold start: its request, sent before the new
    // host is up, is answered once the new host has taken the replica over.
    let patient = app
        .spawn_beside(|settings| {
            settings.serving.cold_start_wait_secs = 60;
            settings.billing.plans.free.inference_requests_per_minute = None;
        })
        .await;
    let waiting = tokio::spawn(call(patient.url()));
    let second = keynet_api::platform::launch_workers(worker_host_settings(&app))
        .await
        .unwrap();
    let (status, _, body) = waiting.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = call(beside.url()).await;
    assert_eq!(status, 200, "{body}");
    second.stop().await.unwrap();
    patient.stop().await.unwrap();
    beside.stop().await.unwrap();
    app.stop().await;
}

async fn replica_count(app: &TestApp, token: &str, deployment: &str) -> usize {
    app.data(Some(token), DEPLOYMENT, json!({"d": deployment}))
        .await["deployment"]["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|replica| replica["status"] == "READY")
        .count()
}

async fn load_scales_replicas_up_and_back_down(app: &TestApp) {
    let d = deploy(
        app,
        json!({"minReplicas": 1, "maxReplicas": 2, "maxBatchSize": 1, "maxQueueDelayMs": 0}),
    )
    .await;
    let token = d.setup.token.clone();
    // Sixteen callers at once, until the load brings a second replica.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..16)
        .map(|seed| {
            let (http, url, key, stop) = (
                app.http.clone(),
                infer_url(app, &d.deployment),
                d.key.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let png = keynet_testkit::fixtures::png(32, 32, seed);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let response = http
                        .post(&url)
                        .bearer_auth(&key)
                        .body(png.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status().as_u16(), 200);
                }
            })
        })
        .collect();
    let started = Instant::now();
    while replica_count(app, &token, &d.deployment).await < 2 {
        assert!(
            started.elapsed() < WAIT,
            "the load never brought a second replica"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for caller in callers {
        caller.await.unwrap();
    }
    // Idle again: back to the minimum.
    let started = Instant::now();
    while replica_count(app, &token, &d.deployment).await > 1 {
        assert!(
            started.elapsed() < WAIT,
            "the second replica stayed without load"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(replica_count(app, &token, &d.deployment).await, 1);
}

/// A `keynet serve` with workers holds the replica; another instance without workers
/// reaches it on the first one's port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_workers_reaches_a_serve_instances_replica() {
    let app = TestApp::spawn_with(keynet_testkit::Backend::Postgres, serving).await;
    let d = deploy(&app, json!({})).await;
    let beside = app
        .spawn_beside(|settings| {
            settings.billing.plans.free.inference_requests_per_minute = None;
        })
        .await;
    let png = keynet_testkit::fixtures::png(16, 16, 8);
    let response = app
        .http
        .post(format!("{}/v1/infer/{}", beside.url(), d.deployment))
        .bearer_auth(&d.key)
        .body(png)
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    // The internal route refuses callers without the platform's secret.
    let forged = app
        .http
        .post(format!(
            "{}/internal/v1/replicas/{}/infer",
            app.url(),
            d.deployment
        ))
        .header("x-keynet-inputs", "1")
        .body(vec![0u8; 4])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    beside.stop().await.unwrap();
    app.stop().await;
}

/// `createDeployment(input)`: the deployment with its status and sources.
async fn create_deployment(app: &TestApp, token: &str, input: Value) -> Value {
    app.data(
        Some(token),
        "mutation($i: CreateDeploymentInput!) { createDeployment(input: $i) { id status statusReason exportJobId sourceJobId } }",
        json!({"i": input}),
    )
    .await["createDeployment"]
        .clone()
}

/// Creates the deployment `name` of `project` serving the export job `export` with the
/// default settings; its id.
async fn deploy_export(
    app: &TestApp,
    token: &str,
    project: &str,
    name: &str,
    export: &str,
) -> String {
    let input = json!({
        "projectId": project,
        "name": name,
        "runtime": "ONNX",
        "source": {"exportJobId": export},
    });
    create_deployment(app, token, input).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// No trainer of the suite trains detectors, so the detection project is made the one way
/// left: the reference model is trained and exported in a classification project, the
/// project turned to detection in the database, and the export's artifact replaced by a
/// detector whose boxes are known (`keynet_testkit::models`).
async fn a_detector_answers_boxes_in_the_images_pixels(app: &TestApp) {
    use keynet_domain::entities::projects::{self, TaskType};
    use keynet_testkit::models::{detector, detector_metadata, seed_export};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let program = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    let setup = app.job_setup(TRAINER, &program).await;
    let training = app.trained(&setup).await;
    let export = app.exported(&setup.token, &training).await;
    let domain = &app.platform().domain;
    projects::Entity::update_many()
        .col_expr(projects::Column::TaskType, Expr::value(TaskType::Detection))
        .filter(projects::Column::Id.eq(setup.project.parse::<uuid::Uuid>().unwrap()))
        .exec(domain.db())
        .await
        .unwrap();

    // The classifier's export says nothing of detection: its deployment fails, saying so.
    let classifier = deploy_export(app, &setup.token, &setup.project, "classifier", &export).await;
    let failed = wait_for_status(app, &setup.token, &classifier, "FAILED").await;
    let reason = failed["statusReason"].as_str().unwrap();
    assert!(reason.contains("`task` is classification"), "{reason}");

    // A person box (0.9) and a car box below the threshold, in the 32×32 input's pixels.
    let boxes = [
        [8.0, 4.0, 24.0, 20.0, 0.9, 1.0],
        [0.0, 0.0, 16.0, 16.0, 0.1, 0.0],
    ];
    let model = app.data_dir.path().join("detector.onnx");
    std::fs::write(&model, detector(32, &boxes)).unwrap();
    seed_export(
        domain,
        &export,
        &model,
        &detector_metadata(32, "stretch", 0.25),
    )
    .await
    .unwrap();
    let deployment = deploy_export(app, &setup.token, &setup.project, "detector", &export).await;
    wait_for_status(app, &setup.token, &deployment, "READY").await;
    let (_, key) = create_key(app, &setup.token, &deployment, json!({})).await;

    // 64×128 stretched to 32×32: x halved, y quartered, answered as [x, y, width, height].
    let png = keynet_testkit::fixtures::png(64, 128, 2);
    let (status, _, answer) = json_of(post_raw(app, &key, &deployment, png.clone()).await).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["task_type"], "detection");
    assert_eq!(answer["image"], json!({"width": 64, "height": 128}));
    assert_eq!(
        answer["predictions"],
        json!([{"class_id": 7, "class_name": "person", "score": 0.9f32, "bbox": [16.0, 16.0, 32.0, 64.0]}])
    );
    // `top_k` bounds the boxes; zero is refused by name.
    let refused = app
        .http
        .post(format!("{}?top_k=0", infer_url(app, &deployment)))
        .bearer_auth(&key)
        .body(png)
        .send()
        .await
        .unwrap();
    let (status, _, body) = json_of(refused).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "top_k", "{body}");

    // The Open Inference Protocol describes the boxes' tensor.
    let described = app
        .http
        .get(format!("{}/oip/v2/models/{deployment}", app.url()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let (status, _, described) = json_of(described).await;
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["outputs"][0]["shape"], json!([-1, -1, 6]));
}

async fn onnx_runtime_answers_what_the_trainer_predicts(app: &TestApp) {
    let d = deploy(app, json!({"maxBatchSize": 4, "maxQueueDelayMs": 2})).await;
    let png = keynet_testkit::fixtures::png(24, 20, 7);
    let (status, _, answer) =
        json_of(post_raw(app, &d.key, &d.deployment, png.clone()).await).await;
    assert_eq!(status, 200, "{answer}");
    let expected = inference_job_predictions(app, &d, &png).await;
    assert_same_predictions(&answer["predictions"], &expected);
}
