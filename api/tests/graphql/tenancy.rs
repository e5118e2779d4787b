//! Tenant isolation, walked over the whole schema: every query, mutation and subscription
//! is tried by a user of another organization with this organization's ids, as a session and
//! as an API token, and must answer `NOT_FOUND` or `FORBIDDEN` and change nothing. A new
//! operation fails this test until it is given a case here (or listed as not tenant-owned).

use keynet_testkit::trainer::{TRAINER, install_program};
use keynet_testkit::{Account, TestApp, ws};
use serde_json::{Value, json};
use std::collections::BTreeSet;

on_both_backends!(
    another_orgs_ids_are_refused_everywhere,
    access_removed_mid_stream_ends_every_subscription,
);

/// Operations that reach no organization's data by id, with the reason.
const NOT_TENANT_SCOPED: &[(&str, &str)] = &[
    ("me", "the caller's own account"),
    (
        "myOrganizations",
        "lists only the caller's organizations (checked below)",
    ),
    (
        "trainableProjects",
        "lists only the caller's projects (checked below)",
    ),
    ("invitation", "the secret token is the credential"),
    ("signup", "creates a new account"),
    ("login", "signs in the caller"),
    ("refreshSession", "the caller's own refresh token"),
    ("logout", "the caller's own session"),
    ("verifyEmail", "the secret token is the credential"),
    ("resendVerification", "the caller's own account"),
    ("requestPasswordReset", "answers the same for every address"),
    ("resetPassword", "the secret token is the credential"),
    ("changePassword", "the caller's own account"),
    ("createOrganization", "creates a new organization"),
    (
        "marketplaceTrainers",
        "lists only published trainers, public to every user by design (checked below)",
    ),
];

/// The victim's organization and what is in it.
struct Victim {
    owner: Account,
    org: String,
    member: Account,
    project: String,
    invitation: String,
    invitation_token: String,
    api_token: String,
    dataset: String,
    upload: String,
    snapshot: String,
    experiment: String,
    note: String,
    trainer: String,
    version: String,
    job: String,
    invoice: String,
    upload_key: String,
    deployment: String,
    deployment_key: String,
}

async fn victim(app: &TestApp) -> Victim {
    let owner = app.signup("alice@victim.example.com").await;
    let org = app.create_org(&owner, "victim").await;
    let member = app
        .join(&owner, &org, "member@victim.example.com", "MEMBER")
        .await;
    let project = app
        .create_project(&owner.token, &org, "Secret project")
        .await;
    let invitation = app
        .invite(&owner, &org, "pending@victim.example.com", "VIEWER")
        .await;
    let invitation_token = app
        .email("pending@victim.example.com", "invited you")
        .await
        .link_token("/invitations/accept");
    let created = app
        .data(
            Some(&owner.token),
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token { id } } }",
            json!({"i": {"name": "victim ci", "orgId": org, "scopes": ["WRITE"]}}),
        )
        .await;
    let dataset = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"Secret data\"}) { id } }",
            json!({"p": project}),
        )
        .await["createDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let upload = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!) { createDatasetUpload(datasetId: $d, filename: \"a.zip\", sizeBytes: 10) { upload { id } } }",
            json!({"d": dataset}),
        )
        .await["createDatasetUpload"]["upload"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let archive = keynet_testkit::fixtures::image_folder(&[("a", 2)]);
    assert_eq!(
        app.import_archive(&owner.token, &dataset, archive).await,
        "READY"
    );
    let snapshot = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!) { createDatasetSnapshot(input: {datasetId: $d}) { id } }",
            json!({"d": dataset}),
        )
        .await["createDatasetSnapshot"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let experiment = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { createExperiment(input: {projectId: $p, name: \"Secret run\"}) { id } }",
            json!({"p": project}),
        )
        .await["createExperiment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let note = app
        .data(
            Some(&owner.token),
            "mutation($e: ID!) { addExperimentNote(experimentId: $e, body: \"secret\") { id } }",
            json!({"e": experiment}),
        )
        .await["addExperimentNote"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let image = install_program(TRAINER, &app.data_dir.path().join("trainers")).unwrap();
    let version = app
        .register_trainer(&owner.token, &org, "secret-trainer", &image)
        .await;
    let trainer = app
        .data(
            Some(&owner.token),
            "query($v: ID!) { trainerVersion(id: $v) { trainerId } }",
            json!({"v": version}),
        )
        .await["trainerVersion"]["trainerId"]
        .as_str()
        .unwrap()
        .to_string();
    let job = app
        .start_training(&owner.token, &project, &version, &snapshot, json!({}))
        .await;
    assert_eq!(
        app.wait_for_job(&owner.token, &job, &[]).await["status"],
        "SUCCEEDED"
    );
    app.platform()
        .billing
        .draft_invoices_for(chrono::Utc::now())
        .await
        .unwrap();
    let invoice = app
        .data(
            Some(&owner.token),
            "query($o: ID!) { invoices(orgId: $o) { edges { node { id } } } }",
            json!({"o": org}),
        )
        .await["invoices"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let upload_key = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!) { requestTrainerUpload(input: {projectId: $p, modelName: \"secret-upload\"}) { uploadKey } }",
            json!({"p": project}),
        )
        .await["requestTrainerUpload"]["uploadKey"]
        .as_str()
        .unwrap()
        .to_string();
    let deployment = app
        .data(
            Some(&owner.token),
            "mutation($p: ID!, $j: ID!) { createDeployment(input: {projectId: $p, name: \"secret model\", runtime: ONNX, source: {trainingJobId: $j}}) { id } }",
            json!({"p": project, "j": job}),
        )
        .await["createDeployment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deployment_key = app
        .data(
            Some(&owner.token),
            "mutation($d: ID!) { createDeploymentKey(input: {deploymentId: $d, name: \"secret key\"}) { key { id } } }",
            json!({"d": deployment}),
        )
        .await["createDeploymentKey"]["key"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    Victim {
        deployment,
        deployment_key,
        upload_key,
        invoice,
        trainer,
        version,
        job,
        dataset,
        upload,
        snapshot,
        experiment,
        note,
        owner,
        org,
        member,
        project,
        invitation,
        invitation_token,
        api_token: created["createApiToken"]["token"]["id"]
            .as_str()
            .unwrap()
            .to_string(),
    }
}

/// Each tenant-scoped operation, aimed at the victim's ids.
fn attacks(v: &Victim) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "organization",
            "query($s: String!) { organization(slug: $s) { id } }",
            json!({"s": "victim"}),
        ),
        (
            "members",
            "query($o: ID!) { members(orgId: $o) { edges { cursor } } }",
            json!({"o": v.org}),
        ),
        (
            "invitations",
            "query($o: ID!) { invitations(orgId: $o) { edges { cursor } } }",
            json!({"o": v.org}),
        ),
        (
            "apiTokens",
            "query($o: ID!) { apiTokens(orgId: $o) { edges { cursor } } }",
            json!({"o": v.org}),
        ),
        (
            "projects",
            "query($o: ID!) { projects(orgId: $o) { edges { cursor } } }",
            json!({"o": v.org}),
        ),
        (
            "project",
            "query($id: ID!) { project(id: $id) { id } }",
            json!({"id": v.project}),
        ),
        (
            "auditLog",
            "query($o: ID!) { auditLog(orgId: $o) { edges { cursor } } }",
            json!({"o": v.org}),
        ),
        (
            "updateOrganization",
            "mutation($o: ID!) { updateOrganization(input: {orgId: $o, name: \"pwned\"}) { id } }",
            json!({"o": v.org}),
        ),
        (
            "deleteOrganization",
            "mutation($o: ID!) { deleteOrganization(orgId: $o) }",
            json!({"o": v.org}),
        ),
        (
            "changeMemberRole",
            "mutation($o: ID!, $u: ID!) { changeMemberRole(orgId: $o, userId: $u, role: VIEWER) { role } }",
            json!({"o": v.org, "u": v.member.user_id}),
        ),
        (
            "removeMember",
            "mutation($o: ID!, $u: ID!) { removeMember(orgId: $o, userId: $u) }",
            json!({"o": v.org, "u": v.member.user_id}),
        ),
        (
            "leaveOrganization",
            "mutation($o: ID!) { leaveOrganization(orgId: $o) }",
            json!({"o": v.org}),
        ),
        (
            "transferOwnership",
            "mutation($o: ID!, $u: ID!) { transferOwnership(orgId: $o, userId: $u) }",
            json!({"o": v.org, "u": v.member.user_id}),
        ),
        (
            "inviteMember",
            "mutation($o: ID!) { inviteMember(input: {orgId: $o, email: \"spy@evil.example.com\", role: OWNER}) { id } }",
            json!({"o": v.org}),
        ),
        (
            "acceptInvitation",
            "mutation($t: String!) { acceptInvitation(token: $t) { id } }",
            json!({"t": v.invitation_token}),
        ),
        (
            "revokeInvitation",
            "mutation($i: ID!) { revokeInvitation(invitationId: $i) { id } }",
            json!({"i": v.invitation}),
        ),
        (
            "resendInvitation",
            "mutation($i: ID!) { resendInvitation(invitationId: $i) { id } }",
            json!({"i": v.invitation}),
        ),
        (
            "createApiToken",
            "mutation($o: ID!) { createApiToken(input: {name: \"x\", orgId: $o, scopes: [ADMIN]}) { secret } }",
            json!({"o": v.org}),
        ),
        (
            "revokeApiToken",
            "mutation($t: ID!) { revokeApiToken(tokenId: $t) { id } }",
            json!({"t": v.api_token}),
        ),
        (
            "createProject",
            "mutation($o: ID!) { createProject(input: {orgId: $o, title: \"x\", taskType: POSE}) { id } }",
            json!({"o": v.org}),
        ),
        (
            "updateProject",
            "mutation($id: ID!) { updateProject(input: {id: $id, title: \"pwned\"}) { id } }",
            json!({"id": v.project}),
        ),
        (
            "archiveProject",
            "mutation($id: ID!) { archiveProject(id: $id) { id } }",
            json!({"id": v.project}),
        ),
        (
            "datasets",
            "query($p: ID!) { datasets(projectId: $p) { edges { cursor } } }",
            json!({"p": v.project}),
        ),
        (
            "dataset",
            "query($id: ID!) { dataset(id: $id) { id } }",
            json!({"id": v.dataset}),
        ),
        (
            "createDataset",
            "mutation($p: ID!) { createDataset(input: {projectId: $p, name: \"x\"}) { id } }",
            json!({"p": v.project}),
        ),
        (
            "updateDataset",
            "mutation($id: ID!) { updateDataset(input: {id: $id, name: \"pwned\"}) { id } }",
            json!({"id": v.dataset}),
        ),
        (
            "deleteDataset",
            "mutation($id: ID!) { deleteDataset(id: $id) }",
            json!({"id": v.dataset}),
        ),
        (
            "createDatasetUpload",
            "mutation($d: ID!) { createDatasetUpload(datasetId: $d, filename: \"x.zip\", sizeBytes: 10) { uploadUrl } }",
            json!({"d": v.dataset}),
        ),
        (
            "completeDatasetUpload",
            "mutation($u: ID!) { completeDatasetUpload(uploadId: $u) { status } }",
            json!({"u": v.upload}),
        ),
        (
            "createDatasetSnapshot",
            "mutation($d: ID!) { createDatasetSnapshot(input: {datasetId: $d}) { id } }",
            json!({"d": v.dataset}),
        ),
        (
            "snapshot",
            "query($id: ID!) { snapshot(id: $id) { id } }",
            json!({"id": v.snapshot}),
        ),
        (
            "experiments",
            "query($p: ID!) { experiments(projectId: $p) { edges { cursor } } }",
            json!({"p": v.project}),
        ),
        (
            "experiment",
            "query($id: ID!) { experiment(id: $id) { id } }",
            json!({"id": v.experiment}),
        ),
        (
            "createExperiment",
            "mutation($p: ID!) { createExperiment(input: {projectId: $p, name: \"x\"}) { id } }",
            json!({"p": v.project}),
        ),
        (
            "updateExperiment",
            "mutation($id: ID!) { updateExperiment(input: {id: $id, name: \"pwned\"}) { id } }",
            json!({"id": v.experiment}),
        ),
        (
            "archiveExperiment",
            "mutation($id: ID!) { archiveExperiment(id: $id) { id } }",
            json!({"id": v.experiment}),
        ),
        (
            "starExperiment",
            "mutation($id: ID!) { starExperiment(id: $id) { id } }",
            json!({"id": v.experiment}),
        ),
        (
            "unstarExperiment",
            "mutation($id: ID!) { unstarExperiment(id: $id) { id } }",
            json!({"id": v.experiment}),
        ),
        (
            "addExperimentNote",
            "mutation($e: ID!) { addExperimentNote(experimentId: $e, body: \"x\") { id } }",
            json!({"e": v.experiment}),
        ),
        (
            "editExperimentNote",
            "mutation($n: ID!) { editExperimentNote(noteId: $n, body: \"pwned\") { id } }",
            json!({"n": v.note}),
        ),
        (
            "deleteExperimentNote",
            "mutation($n: ID!) { deleteExperimentNote(noteId: $n) }",
            json!({"n": v.note}),
        ),
        (
            "auditLogAdded",
            "subscription($o: ID!) { auditLogAdded(orgId: $o) { id } }",
            json!({"o": v.org}),
        ),
        (
            "trainers",
            "query($o: ID!) { trainers(orgId: $o) { edges { cursor } } }",
            json!({"o": v.org}),
        ),
        (
            "trainer",
            "query($id: ID!) { trainer(id: $id) { id } }",
            json!({"id": v.trainer}),
        ),
        (
            "trainerVersion",
            "query($id: ID!) { trainerVersion(id: $id) { id } }",
            json!({"id": v.version}),
        ),
        (
            "registerTrainerImage",
            "mutation($o: ID!) { registerTrainerImage(input: {orgId: $o, name: \"x\", image: \"file:///bin/sh\", taskTypes: [CLASSIFICATION]}) { id } }",
            json!({"o": v.org}),
        ),
        (
            "createTrainer",
            "mutation($o: ID!) { createTrainer(input: {orgId: $o, name: \"x\", taskTypes: [CLASSIFICATION]}) { id } }",
            json!({"o": v.org}),
        ),
        (
            "requestTrainerUpload",
            "mutation($p: ID!) { requestTrainerUpload(input: {projectId: $p, modelName: \"x\"}) { id } }",
            json!({"p": v.project}),
        ),
        (
            "trainerUploadVersion",
            "query($k: String!) { trainerUploadVersion(uploadKey: $k) { id } }",
            json!({"k": v.upload_key}),
        ),
        (
            "scanPolicy",
            "query($o: ID!) { scanPolicy(orgId: $o) }",
            json!({"o": v.org}),
        ),
        (
            "setScanPolicy",
            "mutation($o: ID!) { setScanPolicy(orgId: $o, policy: {}) }",
            json!({"o": v.org}),
        ),
        (
            "publishTrainer",
            "mutation($t: ID!, $v: ID!) { publishTrainer(trainerId: $t, versionId: $v) { id } }",
            json!({"t": v.trainer, "v": v.version}),
        ),
        (
            "unpublishTrainer",
            "mutation($t: ID!) { unpublishTrainer(trainerId: $t) { id } }",
            json!({"t": v.trainer}),
        ),
        (
            "rateTrainer",
            "mutation($t: ID!) { rateTrainer(input: {trainerId: $t, rating: 1}) { rating } }",
            json!({"t": v.trainer}),
        ),
        (
            "marketplaceTrainer",
            "query($s: String!) { marketplaceTrainer(slug: $s) { id } }",
            json!({"s": "victim/secret-trainer"}),
        ),
        (
            "trainerVersionUpdated",
            "subscription($v: ID!) { trainerVersionUpdated(versionId: $v) { status } }",
            json!({"v": v.version}),
        ),
        (
            "scanPolicy",
            "query($o: ID!) { scanPolicy(orgId: $o) }",
            json!({"o": v.org}),
        ),
        (
            "setScanPolicy",
            "mutation($o: ID!) { setScanPolicy(orgId: $o, policy: {}) }",
            json!({"o": v.org}),
        ),
        (
            "billingAccount",
            "query($o: ID!) { billingAccount(orgId: $o) { plan } }",
            json!({"o": v.org}),
        ),
        (
            "usage",
            "query($o: ID!) { usage(orgId: $o, from: \"2020-01-01T00:00:00Z\", to: \"2020-02-01T00:00:00Z\", groupBy: [METER]) { quantity } }",
            json!({"o": v.org}),
        ),
        (
            "invoices",
            "query($o: ID!) { invoices(orgId: $o) { edges { cursor } } }",
            json!({"o": v.org}),
        ),
        (
            "invoice",
            "query($i: ID!) { invoice(id: $i) { total } }",
            json!({"i": v.invoice}),
        ),
        (
            "authorEarnings",
            "query($o: ID!) { authorEarnings(orgId: $o, from: \"2020-01-01T00:00:00Z\", to: \"2020-02-01T00:00:00Z\") { revenue } }",
            json!({"o": v.org}),
        ),
        (
            "billingPortalUrl",
            "query($o: ID!) { billingPortalUrl(orgId: $o) }",
            json!({"o": v.org}),
        ),
        (
            "changePlan",
            "mutation($o: ID!) { changePlan(orgId: $o, plan: ENTERPRISE) { plan } }",
            json!({"o": v.org}),
        ),
        (
            "usageThresholdReached",
            "subscription($o: ID!) { usageThresholdReached(orgId: $o) { percent } }",
            json!({"o": v.org}),
        ),
        (
            "job",
            "query($id: ID!) { job(id: $id) { id } }",
            json!({"id": v.job}),
        ),
        (
            "jobs",
            "query($p: ID!) { jobs(projectId: $p) { edges { cursor } } }",
            json!({"p": v.project}),
        ),
        (
            "compareRuns",
            "query($j: ID!) { compareRuns(jobIds: [$j], metrics: [\"loss\"]) { epochs } }",
            json!({"j": v.job}),
        ),
        (
            "startTrainingJob",
            "mutation($p: ID!, $v: ID!, $s: ID!) { startTrainingJob(input: {projectId: $p, trainerVersionId: $v, datasetSnapshotId: $s, modelName: \"x\"}) { id } }",
            json!({"p": v.project, "v": v.version, "s": v.snapshot}),
        ),
        (
            "startInferenceJob",
            "mutation($j: ID!, $s: ID!) { startInferenceJob(input: {jobId: $j, checkpoint: BEST, datasetSnapshotId: $s}) { id } }",
            json!({"j": v.job, "s": v.snapshot}),
        ),
        (
            "createInferenceUpload",
            "mutation($p: ID!) { createInferenceUpload(projectId: $p, filename: \"x.png\", sizeBytes: 10) { uploadUrl } }",
            json!({"p": v.project}),
        ),
        (
            "startExportJob",
            "mutation($j: ID!) { startExportJob(input: {jobId: $j, checkpoint: BEST, format: ONNX}) { id } }",
            json!({"j": v.job}),
        ),
        (
            "cancelJob",
            "mutation($j: ID!) { cancelJob(id: $j) { id } }",
            json!({"j": v.job}),
        ),
        (
            "retryJob",
            "mutation($j: ID!) { retryJob(id: $j) { id } }",
            json!({"j": v.job}),
        ),
        (
            "jobUpdated",
            "subscription($j: ID!) { jobUpdated(jobId: $j) { status } }",
            json!({"j": v.job}),
        ),
        (
            "jobEvents",
            "subscription($j: ID!) { jobEvents(jobId: $j) { seq } }",
            json!({"j": v.job}),
        ),
        (
            "jobLogs",
            "subscription($j: ID!) { jobLogs(jobId: $j) { message } }",
            json!({"j": v.job}),
        ),
        (
            "datasetImport",
            "subscription($d: ID!) { datasetImport(datasetId: $d) { status } }",
            json!({"d": v.dataset}),
        ),
        (
            "orgJobs",
            "subscription($o: ID!) { orgJobs(orgId: $o) { status } }",
            json!({"o": v.org}),
        ),
        (
            "deployments",
            "query($p: ID!) { deployments(projectId: $p) { edges { cursor } } }",
            json!({"p": v.project}),
        ),
        (
            "deployment",
            "query($d: ID!) { deployment(id: $d) { id } }",
            json!({"d": v.deployment}),
        ),
        (
            "deploymentKeys",
            "query($d: ID!) { deploymentKeys(deploymentId: $d) { edges { cursor } } }",
            json!({"d": v.deployment}),
        ),
        (
            "createDeployment",
            "mutation($p: ID!, $j: ID!) { createDeployment(input: {projectId: $p, name: \"x\", runtime: ONNX, source: {trainingJobId: $j}}) { id } }",
            json!({"p": v.project, "j": v.job}),
        ),
        (
            "updateDeployment",
            "mutation($d: ID!) { updateDeployment(id: $d, settings: {maxReplicas: 16}) { id } }",
            json!({"d": v.deployment}),
        ),
        (
            "stopDeployment",
            "mutation($d: ID!) { stopDeployment(id: $d) { id } }",
            json!({"d": v.deployment}),
        ),
        (
            "startDeployment",
            "mutation($d: ID!) { startDeployment(id: $d) { id } }",
            json!({"d": v.deployment}),
        ),
        (
            "deleteDeployment",
            "mutation($d: ID!) { deleteDeployment(id: $d) { id } }",
            json!({"d": v.deployment}),
        ),
        (
            "createDeploymentKey",
            "mutation($d: ID!) { createDeploymentKey(input: {deploymentId: $d, name: \"x\"}) { secret } }",
            json!({"d": v.deployment}),
        ),
        (
            "revokeDeploymentKey",
            "mutation($k: ID!) { revokeDeploymentKey(keyId: $k) { id } }",
            json!({"k": v.deployment_key}),
        ),
        (
            "deploymentUpdated",
            "subscription($d: ID!) { deploymentUpdated(deploymentId: $d) { status } }",
            json!({"d": v.deployment}),
        ),
        (
            "deploymentMetrics",
            "subscription($d: ID!) { deploymentMetrics(deploymentId: $d, stepSeconds: 1) { requests } }",
            json!({"d": v.deployment}),
        ),
    ]
}

async fn root_fields(app: &TestApp, token: &str) -> BTreeSet<String> {
    let schema = app
        .data(
            Some(token),
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            json!({}),
        )
        .await;
    ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|root| {
            schema["__schema"][root]["fields"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|field| field["name"].as_str().unwrap().to_string())
        .collect()
}

/// The error code an operation answers with, over HTTP or, for subscriptions, graphql-ws.
async fn attempt(app: &TestApp, token: &str, document: &str, variables: Value) -> String {
    if !document.starts_with("subscription") {
        return app.code(Some(token), document, variables).await;
    }
    let mut socket = ws::connect(app.url(), json!({"token": token}))
        .await
        .unwrap();
    socket.subscribe("1", document, variables).await;
    let message = socket.next_message().await.unwrap();
    ws::error_code(&message)
        .unwrap_or_else(|| panic!("no error in {message}"))
        .to_string()
}

async fn another_orgs_ids_are_refused_everywhere(app: &TestApp) {
    let v = victim(app).await;
    let mallory = app.signup("mallory@evil.example.com").await;
    let evil_org = app.create_org(&mallory, "evil").await;
    let evil_project = app
        .create_project(&mallory.token, &evil_org, "Evil project")
        .await;
    let evil_token = app
        .data(
            Some(&mallory.token),
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret } }",
            json!({"i": {"name": "evil", "orgId": evil_org, "scopes": ["ADMIN"]}}),
        )
        .await["createApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let attacks = attacks(&v);

    let covered: BTreeSet<String> = attacks
        .iter()
        .map(|(name, ..)| name.to_string())
        .chain(NOT_TENANT_SCOPED.iter().map(|(name, _)| name.to_string()))
        .collect();
    let uncovered: Vec<String> = root_fields(app, &mallory.token)
        .await
        .difference(&covered)
        .cloned()
        .collect();
    assert!(
        uncovered.is_empty(),
        "operations without a tenancy case: {uncovered:?}"
    );

    for credential in [&mallory.token, &evil_token] {
        for (name, document, variables) in &attacks {
            let code = attempt(app, credential, document, variables.clone()).await;
            assert!(
                code == "NOT_FOUND" || code == "FORBIDDEN",
                "{name} with another organization's ids answered {code}"
            );
        }
    }

    // Mixing: the attacker's own project with the victim's trainer version and snapshot.
    let mixed = app
        .code(
            Some(&mallory.token),
            "mutation($p: ID!, $v: ID!, $s: ID!) { startTrainingJob(input: {projectId: $p, trainerVersionId: $v, datasetSnapshotId: $s, modelName: \"x\"}) { id } }",
            json!({"p": evil_project, "v": v.version, "s": v.snapshot}),
        )
        .await;
    assert_eq!(mixed, "NOT_FOUND");

    // Lists of "mine", and the marketplace (the victim published nothing), show nothing of
    // the victim's.
    for credential in [&mallory.token, &evil_token] {
        let mine = app.data(Some(credential), "{ myOrganizations { edges { node { slug } } } trainableProjects { edges { node { title } } } marketplaceTrainers { edges { node { name } } } }", json!({})).await;
        let text = mine.to_string();
        assert!(
            !text.contains("victim")
                && !text.contains("Secret project")
                && !text.contains("secret-trainer"),
            "{text}"
        );
    }

    // Nothing of the victim's changed.
    let state = app
        .data(
            Some(&v.owner.token),
            "query($o: ID!, $p: ID!) { organization(slug: \"victim\") { name members { edges { node { role } } } } project(id: $p) { title archived } invitations(orgId: $o) { edges { node { status } } } apiTokens(orgId: $o) { edges { node { revokedAt } } } }",
            json!({"o": v.org, "p": v.project}),
        )
        .await;
    assert_eq!(state["organization"]["name"], "VICTIM");
    assert_eq!(
        state["organization"]["members"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        state["organization"]["members"]["edges"][1]["node"]["role"],
        "MEMBER"
    );
    assert_eq!(
        state["project"],
        json!({"title": "Secret project", "archived": false})
    );
    assert_eq!(
        state["invitations"]["edges"][1]["node"]["status"],
        "PENDING"
    );
    assert!(state["apiTokens"]["edges"][0]["node"]["revokedAt"].is_null());
    let data = app
        .data(
            Some(&v.owner.token),
            "query($d: ID!, $e: ID!) { dataset(id: $d) { name } experiment(id: $e) { name archived starred notes { body } } }",
            json!({"d": v.dataset, "e": v.experiment}),
        )
        .await;
    assert_eq!(data["dataset"]["name"], "Secret data");
    let jobs = app
        .data(
            Some(&v.owner.token),
            "query($p: ID!, $d: ID!) { jobs(projectId: $p, kind: TRAINING) { edges { node { id status } } } deployment(id: $d) { name status maxReplicas } deploymentKeys(deploymentId: $d) { edges { node { revokedAt } } } }",
            json!({"p": v.project, "d": v.deployment}),
        )
        .await;
    assert_eq!(
        jobs["jobs"]["edges"],
        json!([{"node": {"id": v.job, "status": "SUCCEEDED"}}])
    );
    assert_eq!(jobs["deployment"]["name"], "secret model");
    assert_eq!(jobs["deployment"]["maxReplicas"], 1);
    assert_ne!(jobs["deployment"]["status"], "STOPPED");
    assert!(jobs["deploymentKeys"]["edges"][0]["node"]["revokedAt"].is_null());
    assert_eq!(
        data["experiment"],
        json!({"name": "Secret run", "archived": false, "starred": false, "notes": [{"body": "secret"}]})
    );
    let account = app
        .data(
            Some(&v.owner.token),
            "query($o: ID!) { billingAccount(orgId: $o) { plan } }",
            json!({"o": v.org}),
        )
        .await;
    assert_eq!(account["billingAccount"]["plan"], "FREE");
}

/// Live access, walked over every subscription: an admin of the organization subscribes with
/// access, is removed from the organization, and the subscription ends with an error. (The
/// walk above makes every subscription of the schema have a case in `attacks`.)
async fn access_removed_mid_stream_ends_every_subscription(app: &TestApp) {
    let mut v = victim(app).await;
    // A job that runs for the whole walk, so the job subscriptions stay open.
    v.job = app
        .start_training(
            &v.owner.token,
            &v.project,
            &v.version,
            &v.snapshot,
            json!({"config": {"epochs": 60}, "hyperparameters": {"sleep-ms-per-epoch": 1000}}),
        )
        .await;
    let subscriptions: Vec<_> = attacks(&v)
        .into_iter()
        .filter(|(_, document, _)| document.starts_with("subscription"))
        .collect();
    assert!(subscriptions.len() >= 8, "{}", subscriptions.len());
    for (i, (name, document, variables)) in subscriptions.into_iter().enumerate() {
        let watcher = app
            .join(
                &v.owner,
                &v.org,
                &format!("watcher{i}@victim.example.com"),
                "ADMIN",
            )
            .await;
        let mut socket = ws::connect(app.url(), json!({"token": watcher.token}))
            .await
            .unwrap();
        socket.subscribe("live", document, variables).await;
        // Admitted: for a moment nothing but data (a running job's events, say).
        while let Some(Some(message)) = socket
            .next_message_within(std::time::Duration::from_millis(500))
            .await
        {
            assert_eq!(message["type"], "next", "{name}: {message}");
            assert_eq!(ws::error_code(&message), None, "{name}: {message}");
        }
        app.data(
            Some(&v.owner.token),
            "mutation($o: ID!, $u: ID!) { removeMember(orgId: $o, userId: $u) }",
            json!({"o": v.org, "u": watcher.user_id}),
        )
        .await;
        let code = loop {
            let message = socket.next_message().await.unwrap();
            if let Some(code) = ws::error_code(&message) {
                break code.to_string();
            }
            assert_eq!(message["type"], "next", "{name}: {message}");
        };
        assert!(
            code == "NOT_FOUND" || code == "FORBIDDEN",
            "{name} ended with {code}"
        );
        let last = socket.next_message().await.unwrap();
        assert_eq!(last["type"], "complete", "{name}: {last}");
    }
    app.data(
        Some(&v.owner.token),
        "mutation($j: ID!) { cancelJob(id: $j) { id } }",
        json!({"j": v.job}),
    )
    .await;
}
