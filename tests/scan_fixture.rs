//! The security scan end to end, on both databases: OSV advisories imported with the built
//! binary (`keynet vulndb import`), then trainer images pushed over HTTP. An image with a
//! vulnerable Debian package, a vulnerable Python package, a planted private key and a
//! setuid file is rejected with exactly those findings; the same image without them passes
//! on to the test run. Re-importing a changed advisory updates it, and an import succeeds
//! beside a server committing to the same SQLite file.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

mod support;

use keynet_testkit::app::JWT_SECRET;
use keynet_testkit::pg::TestDatabase;
use keynet_testkit::registry::{Registry, check_line, image_config, tar_layer};
use keynet_testkit::{Backend, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const LABELS: [(&str, &str); 2] = [
    ("ai.keynet.trainer.task-types", "classification"),
    ("ai.keynet.trainer.frameworks", "pytorch"),
];

const SITE: &str = "usr/local/lib/python3.11/site-packages";

const OS_RELEASE: &[u8] =
    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
      VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n";

/// Vulnerable and fixed versions of the two packages the advisories are about.
const LIBC_VULNERABLE: &str = "2.36-9+deb12u1";
const LIBC_FIXED: &str = "2.36-9+deb12u3";
const PILLOW_VULNERABLE: &str = "10.0.0";
const PILLOW_FIXED: &str = "10.2.0";

const SCAN: &str = "checks { name status message } scan { passed blocking findings }";

/// Debian's record of CVE-2023-4911 in glibc (the source package of `libc6`).
fn debian_advisory() -> Value {
    json!({
        "id": "DEBIAN-CVE-2023-4911",
        "modified": "2025-01-14T05:41:57Z",
        "upstream": ["CVE-2023-4911"],
        "details": "A buffer overflow in the GNU C Library's dynamic loader ld.so.",
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": "glibc"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": LIBC_FIXED}]}],
            "ecosystem_specific": {"urgency": "high"},
        }],
    })
}

/// GitHub's record of CVE-2023-50447 in Pillow (CVSS 8.1: High).
fn pypi_advisory(modified: &str, fixed: &str) -> Value {
    json!({
        "id": "GHSA-3f63-hfp8-52jq",
        "modified": modified,
        "aliases": ["CVE-2023-50447"],
        "summary": "Arbitrary Code Execution in Pillow",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "pillow"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
        }],
    })
}

/// A folder of OSV records, one file per advisory, as an OSV download unpacks.
fn write_advisories(dir: &Path, pypi: &Value) {
    for (name, record) in [
        ("DEBIAN-CVE-2023-4911.json", &debian_advisory()),
        ("GHSA-3f63-hfp8-52jq.json", pypi),
    ] {
        std::fs::write(dir.join(name), serde_json::to_vec_pretty(record).unwrap()).unwrap();
    }
}

/// `keynet vulndb import <path>` against the data folder (the SQLite default) or
/// `database_url`; its output once it has ended.
async fn vulndb_import(path: &Path, data_dir: &Path, database_url: Option<&str>) -> Output {
    let mut command =
        support::command(&["vulndb", "import", &path.display().to_string()], data_dir);
    command
        .env("KEYNET_DATA_DIR", data_dir)
        .env("KEYNET_AUTH__JWT_SECRET", JWT_SECRET);
    if let Some(url) = database_url {
        command.env("KEYNET_DATABASE_URL", url);
    }
    command.output().await.expect("the keynet binary runs")
}

/// The counts of a successful import's summary line: `added: N, updated: N, …`.
fn import_summary(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the import failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|line| line.starts_with("advisories from "))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    let (_, counts) = line.rsplit_once(": added").unwrap();
    format!("added{counts}")
}

/// A Debian 12 base with `libc6` at `libc_version` in the dpkg database, and the entrypoint.
fn base_layer(libc_version: &str) -> Vec<u8> {
    let status = format!(
        "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\n\
         Version: {libc_version}\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n"
    );
    tar_layer(&[
        ("etc/os-release", OS_RELEASE, 0o644),
        ("var/lib/dpkg/status", status.as_bytes(), 0o644),
        ("train", b"#!/bin/sh\necho training\n", 0o755),
    ])
}

/// The trainer's layer: Pillow at `pillow_version`; with `planted`, a private key and a
/// setuid helper as well.
fn app_layer(pillow_version: &str, planted: bool) -> Vec<u8> {
    let metadata_path = format!("{SITE}/Pillow-{pillow_version}.dist-info/METADATA");
    let metadata = format!(
        "Metadata-Version: 2.1\nName: Pillow\nVersion: {pillow_version}\nSummary: imaging\n\n"
    );
    let key = private_key_pem();
    let mut files: Vec<(&str, &[u8], u32)> = vec![
        (&metadata_path, metadata.as_bytes(), 0o644),
        ("app/train.py", b"import torch\nprint('training')\n", 0o644),
    ];
    if planted {
        files.push(("root/.ssh/id_rsa", key.as_bytes(), 0o600));
        files.push(("usr/local/bin/helper", b"\x7fELF helper", 0o4755));
    }
    tar_layer(&files)
}

/// A PEM private key with a plausible body (random-looking base64, not a real key).
fn private_key_pem() -> String {
    let body: String = (0..6)
        .map(|i| format!("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{i}mAwggJiAgEAAoGBAL1{i}\n"))
        .collect();
    format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n")
}

/// A finding as (rule, kind, severity, path, package, fixed version), sortable.
type Row = (String, String, String, String, String, String);

fn row(finding: &Value) -> Row {
    let text = |value: &Value| value.as_str().unwrap_or("-").to_string();
    let package = &finding["package"];
    let package = if package.is_null() {
        "-".to_string()
    } else {
        format!("{} {}", text(&package["name"]), text(&package["version"]))
    };
    (
        text(&finding["rule"]),
        text(&finding["kind"]),
        text(&finding["severity"]),
        text(&finding["path"]),
        package,
        text(&finding["fixed_version"]),
    )
}

fn expected_row(fields: [&str; 6]) -> Row {
    let [rule, kind, severity, path, package, fixed] = fields.map(str::to_string);
    (rule, kind, severity, path, package, fixed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerable_image_is_rejected_and_clean_one_passes_on_sqlite() {
    imported_advisories_decide_the_scan(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerable_image_is_rejected_and_clean_one_passes_on_postgres() {
    imported_advisories_decide_the_scan(Backend::Postgres).await;
}

async fn imported_advisories_decide_the_scan(backend: Backend) {
    let mut database_url = None;
    let app = TestApp::spawn_with(backend, |settings| {
        database_url = settings.database_url.clone();
    })
    .await;
    let osv = tempfile::tempdir().unwrap();
    write_advisories(
        osv.path(),
        &pypi_advisory("2024-01-21T05:21:35Z", PILLOW_FIXED),
    );
    let imported = vulndb_import(osv.path(), app.data_dir.path(), database_url.as_deref()).await;
    assert_eq!(
        import_summary(&imported),
        "added: 2, updated: 0, unchanged: 0, skipped: 0"
    );

    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let project = app.create_project(&owner.token, &org_id, "Leaves").await;
    let registry = Registry::new(app.url());

    let ticket = app
        .request_trainer_upload(&owner.token, &project, "Leaf Net", json!([]))
        .await;
    let base = base_layer(LIBC_VULNERABLE);
    let app_files = app_layer(PILLOW_VULNERABLE, true);
    let layers: [&[u8]; 2] = [&base, &app_files];
    // The config's `User` is 1000, so running as root is not among the findings.
    let config = image_config(&LABELS, &layers);
    let pushed = registry.push_upload(&ticket, &config, &layers).await;
    assert_eq!(pushed.status(), 201);
    let version = app
        .settled_version(&owner.token, &ticket.version_id, SCAN)
        .await;
    assert_eq!(version["status"], "REJECTED", "{version}");
    let mut found: Vec<Row> = version["scan"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(row)
        .collect();
    found.sort();
    let pillow_metadata = format!("/{SITE}/Pillow-{PILLOW_VULNERABLE}.dist-info/METADATA");
    let mut expected: Vec<Row> = [
        [
            "CVE-2023-4911",
            "vulnerability",
            "HIGH",
            "/var/lib/dpkg/status",
            &format!("libc6 {LIBC_VULNERABLE}"),
            LIBC_FIXED,
        ],
        [
            "CVE-2023-50447",
            "vulnerability",
            "HIGH",
            &pillow_metadata,
            &format!("pillow {PILLOW_VULNERABLE}"),
            PILLOW_FIXED,
        ],
        [
            "secret.private-key",
            "secret",
            "HIGH",
            "/root/.ssh/id_rsa",
            "-",
            "-",
        ],
        // Owned by root: Medium, which the default policy reports without blocking.
        [
            "misconfig.setuid",
            "misconfiguration",
            "MEDIUM",
            "/usr/local/bin/helper",
            "-",
            "-",
        ],
    ]
    .map(expected_row)
    .into();
    expected.sort();
    assert_eq!(found, expected, "{version}");

    // The policy blocks the vulnerabilities that have a fix and the secret, and says so.
    assert_eq!(version["scan"]["passed"], false);
    assert_eq!(version["scan"]["blocking"].as_array().unwrap().len(), 3);
    let policy = check_line(&version, "scan.policy");
    assert_eq!(policy["status"], "FAILED");
    let message = policy["message"].as_str().unwrap();
    for blocking in ["CVE-2023-4911", "CVE-2023-50447", "secret.private-key"] {
        assert!(message.contains(blocking), "{blocking} in {message}");
    }
    assert!(!message.contains("misconfig.setuid"), "{message}");

    // The same trainer without the key and the setuid file, its packages at the fixed
    // versions: nothing to report, on to the test run.
    let ticket = app
        .request_trainer_upload(&owner.token, &project, "Leaf Net", json!([]))
        .await;
    let base = base_layer(LIBC_FIXED);
    let app_files = app_layer(PILLOW_FIXED, false);
    let layers: [&[u8]; 2] = [&base, &app_files];
    let config = image_config(&LABELS, &layers);
    let pushed = registry.push_upload(&ticket, &config, &layers).await;
    assert_eq!(pushed.status(), 201);
    let version = app
        .settled_version(&owner.token, &ticket.version_id, SCAN)
        .await;
    assert_eq!(version["status"], "TEST_RUN", "{version}");
    assert_eq!(version["scan"]["passed"], true);
    assert_eq!(version["scan"]["findings"], json!([]), "{version}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reimporting_a_changed_advisory_updates_it_on_sqlite() {
    let data_dir = tempfile::tempdir().unwrap();
    reimport_updates_changed_records(data_dir.path(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reimporting_a_changed_advisory_updates_it_on_postgres() {
    let database = TestDatabase::create().await;
    let data_dir = tempfile::tempdir().unwrap();
    reimport_updates_changed_records(data_dir.path(), Some(&database.url)).await;
    database.drop_database().await;
}

async fn reimport_updates_changed_records(data_dir: &Path, database_url: Option<&str>) {
    let osv = tempfile::tempdir().unwrap();
    write_advisories(
        osv.path(),
        &pypi_advisory("2024-01-21T05:21:35Z", PILLOW_FIXED),
    );
    let first = vulndb_import(osv.path(), data_dir, database_url).await;
    assert_eq!(
        import_summary(&first),
        "added: 2, updated: 0, unchanged: 0, skipped: 0"
    );
    // A later download: GitHub revised the fix; a broken record is named and skipped.
    write_advisories(osv.path(), &pypi_advisory("2024-03-02T10:00:00Z", "10.3.0"));
    std::fs::write(osv.path().join("broken.json"), b"{\"id\": ").unwrap();
    let second = vulndb_import(osv.path(), data_dir, database_url).await;
    assert_eq!(
        import_summary(&second),
        "added: 0, updated: 1, unchanged: 1, skipped: 1"
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("skipped advisory broken.json: "),
        "{stderr}"
    );
    let again = vulndb_import(osv.path(), data_dir, database_url).await;
    assert_eq!(
        import_summary(&again),
        "added: 0, updated: 0, unchanged: 2, skipped: 1"
    );
}

/// `count` PyPI advisories, one file each: an import of several chunks.
fn write_many_advisories(dir: &Path, count: usize) {
    for i in 0..count {
        let record = json!({
            "id": format!("PYSEC-2024-{i}"),
            "modified": "2024-01-21T05:21:35Z",
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": format!("package-{i}")},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}],
            }],
        });
        std::fs::write(dir.join(format!("PYSEC-2024-{i}.json")), record.to_string()).unwrap();
    }
}

/// The import shares the SQLite file with a server that keeps committing. Each chunk's
/// transaction reads before it writes; with a plain `BEGIN` the first write after another
/// connection's commit fails at once with SQLITE_BUSY_SNAPSHOT ("database is locked").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_beside_a_busy_server_on_sqlite_succeeds() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("author@example.com").await;
    let org_id = app.create_org(&owner, "acme").await;
    let osv = tempfile::tempdir().unwrap();
    write_many_advisories(osv.path(), 2000);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (gql, token, stop) = (app.gql.clone(), owner.token.clone(), stop.clone());
        async move {
            let mut written = 0;
            while !stop.load(Ordering::Relaxed) {
                gql.create_project(&token, &org_id, &format!("Project {written}"))
                    .await;
                written += 1;
            }
            written
        }
    });
    let imported = vulndb_import(osv.path(), app.data_dir.path(), None).await;
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert_eq!(
        import_summary(&imported),
        "added: 2000, updated: 0, unchanged: 0, skipped: 0"
    );
    assert!(written > 0, "the server committed nothing meanwhile");
    app.stop().await;
}

#[tokio::test]
async fn a_missing_path_is_refused_before_the_database_is_opened() {
    let data_dir = tempfile::tempdir().unwrap();
    let missing = data_dir.path().join("no-such-osv.zip");
    let output = vulndb_import(&missing, data_dir.path(), None).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read") && stderr.contains("no-such-osv.zip"),
        "{stderr}"
    );
    assert!(!data_dir.path().join("keynet.db").exists());
}
