//! Reading OSV records: fields, errors, rule ids, index keys, severity.

use keynet_scan::Error;
use keynet_scan::Severity;
use keynet_scan::vuln::Advisory;
use keynet_scan::vuln::osv::{Event, RangeKind};
use keynet_scan::vuln::severity::{cvss_rating, rate};
use serde_json::json;

fn fixture(name: &str) -> Advisory {
    let path = format!(
        "{}/tests/fixtures/osv/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read_to_string(&path).expect("fixture exists");
    Advisory::parse(name, &json).expect("fixture parses")
}

fn parse(value: serde_json::Value) -> Result<Advisory, Error> {
    Advisory::parse("inline.json", &value.to_string())
}

#[test]
fn reads_the_fields_of_a_ghsa_record() {
    let ghsa = fixture("GHSA-3f63-hfp8-52jq");
    assert_eq!(ghsa.id, "GHSA-3f63-hfp8-52jq");
    assert_eq!(ghsa.aliases, ["CVE-2023-50447"]);
    assert_eq!(
        ghsa.summary.as_deref(),
        Some("Arbitrary Code Execution in Pillow")
    );
    assert_eq!(ghsa.modified.to_rfc3339(), "2024-01-21T05:21:35+00:00");
    assert_eq!(
        ghsa.published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2024-01-19T21:30:35+00:00")
    );
    assert_eq!(ghsa.withdrawn, None);
    assert_eq!(ghsa.severity[0].kind, "CVSS_V3");
    let affected = &ghsa.affected[0];
    let package = affected.package.as_ref().expect("package");
    assert_eq!(
        (package.ecosystem.as_str(), package.name.as_str()),
        ("PyPI", "pillow")
    );
    assert_eq!(affected.ranges[0].kind, RangeKind::Ecosystem);
    assert_eq!(
        affected.ranges[0].events,
        [
            Event::Introduced("0".to_owned()),
            Event::Fixed("10.2.0".to_owned())
        ]
    );
    let database = ghsa.database_specific.as_ref().expect("database_specific");
    assert_eq!(database["severity"], "HIGH");
}

#[test]
fn reads_debian_and_alpine_records() {
    let dsa = fixture("DSA-5514-1");
    assert_eq!(dsa.upstream, ["CVE-2023-4911", "DEBIAN-CVE-2023-4911"]);
    assert_eq!(dsa.affected.len(), 2);
    assert_eq!(dsa.affected[1].versions.len(), 4);
    let purl = dsa.affected[1]
        .package
        .as_ref()
        .and_then(|p| p.purl.as_deref());
    assert_eq!(purl, Some("pkg:deb/debian/glibc?arch=source"));
    let debian_cve = fixture("DEBIAN-CVE-2023-4911");
    let urgency = debian_cve.affected[0]
        .ecosystem_specific
        .as_ref()
        .map(|e| &e["urgency"]);
    assert_eq!(urgency, Some(&json!("high")));
    let alpine = fixture("ALPINE-CVE-2023-5363");
    assert_eq!(alpine.summary, None);
    assert_eq!(
        alpine.headline(),
        Some("Issue summary: A bug has been identified in the processing of key and")
    );
}

#[test]
fn rule_id_prefers_a_single_cve() {
    assert_eq!(fixture("DSA-5514-1").rule_id(), "CVE-2023-4911");
    assert_eq!(fixture("DEBIAN-CVE-2023-4911").rule_id(), "CVE-2023-4911");
    assert_eq!(fixture("ALPINE-CVE-2023-5363").rule_id(), "CVE-2023-5363");
    assert_eq!(fixture("GHSA-3f63-hfp8-52jq").rule_id(), "CVE-2023-50447");
    assert_eq!(fixture("versions-only-MAL").rule_id(), "MAL-2024-2301");
    let base = json!({"modified": "2024-01-01T00:00:00Z"});
    let with = |extra: serde_json::Value| {
        let mut value = base.clone();
        value
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        parse(value).expect("parses")
    };
    // A CVE record is its own rule.
    assert_eq!(
        with(json!({"id": "CVE-2024-3094"})).rule_id(),
        "CVE-2024-3094"
    );
    // Several CVEs: the advisory's id, so one allowlist entry does not accept them all.
    let two = with(json!({"id": "DSA-5600-1", "upstream": ["CVE-2024-0001", "CVE-2024-0002"]}));
    assert_eq!(two.rule_id(), "DSA-5600-1");
    assert_eq!(two.cve_ids(), ["CVE-2024-0001", "CVE-2024-0002"]);
    // The same CVE twice is one; look-alikes are not CVEs.
    let dup = with(
        json!({"id": "GHSA-x", "aliases": ["CVE-2024-0001", "PYSEC-2024-1"],
                          "upstream": ["CVE-2024-0001", "CVE-24-1", "CVE-2024-12a4"]}),
    );
    assert_eq!(dup.rule_id(), "CVE-2024-0001");
}

#[test]
fn index_keys_cover_supported_ecosystems_normalized() {
    assert_eq!(
        fixture("DSA-5514-1").index_keys(),
        [
            ("Debian:11".to_owned(), "glibc".to_owned()),
            ("Debian:12".to_owned(), "glibc".to_owned())
        ]
    );
    let mixed = parse(json!({
        "id": "GHSA-mixed", "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": "PyYAML"}},
            {"package": {"ecosystem": "PyPI", "name": "pyyaml"}},
            {"package": {"ecosystem": "npm", "name": "js-yaml"}},
            {"package": {"ecosystem": "Alpine:v3.19", "name": "py3-yaml"}},
            {"package": {"ecosystem": "openEuler:24.03-LTS", "name": "PyYAML"}},
            {"ranges": [{"type": "GIT", "repo": "https://github.com/yaml/pyyaml", "events": [{"introduced": "0"}]}]}
        ]
    }))
    .expect("unknown ecosystems do not break the record");
    assert_eq!(
        mixed.index_keys(),
        [
            ("Alpine:v3.19".to_owned(), "py3-yaml".to_owned()),
            ("PyPI".to_owned(), "pyyaml".to_owned())
        ]
    );
}

#[test]
fn newer_schema_values_are_tolerated() {
    let advisory = parse(json!({
        "id": "GHSA-new", "modified": "2024-01-01T00:00:00Z",
        "aliases": null, "severity": [{"type": "Ubuntu", "score": "high"}],
        "some_future_field": {"x": 1},
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
                      "ranges": [{"type": "FUTURE_KIND", "events": [{"introduced": "0"}]}]}]
    }))
    .expect("parses");
    assert!(advisory.aliases.is_empty());
    assert_eq!(advisory.affected[0].ranges[0].kind, RangeKind::Other);
}

#[test]
fn broken_records_name_the_file_and_the_field() {
    let cases = [
        (
            json!({"modified": "2024-01-01T00:00:00Z"}),
            "missing field `id`",
        ),
        (
            json!({"id": " ", "modified": "2024-01-01T00:00:00Z"}),
            "the id is empty",
        ),
        (json!({"id": "X-1"}), "missing field `modified`"),
        (json!({"id": "X-1", "modified": "yesterday"}), "modified: "),
        (
            json!({"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1.0"}]}]}]}),
            "affected[0].ranges[0].events[0]: a range event has more than one of",
        ),
        (
            json!({"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": [
                {"type": "ECOSYSTEM", "events": [{}]}]}]}),
            "a range event has none of",
        ),
    ];
    for (value, expected) in cases {
        let error = parse(value.clone()).expect_err(&format!("{value} must not parse"));
        let message = error.to_string();
        assert!(message.starts_with("advisory inline.json: "), "{message}");
        assert!(
            message.contains(expected),
            "{message} should contain {expected:?}"
        );
    }
    let error = Advisory::parse("x.json", "{\"id\": \"X-1\", ").expect_err("truncated JSON");
    assert!(matches!(error, Error::InvalidAdvisory { ref file, .. } if file == "x.json"));
    let error = Advisory::parse(
        "x.json",
        r#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z"} []"#,
    )
    .expect_err("trailing data");
    assert!(error.to_string().contains("trailing characters"), "{error}");
}

#[test]
fn cvss_base_scores_and_ratings() {
    let cases = [
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            Severity::Critical,
            9.8,
        ),
        (
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
            Severity::High,
            8.1,
        ),
        (
            "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            Severity::High,
            7.8,
        ),
        (
            "CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N",
            Severity::Medium,
            5.4,
        ),
        (
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",
            Severity::Low,
            3.1,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
            Severity::Unknown,
            0.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            Severity::Critical,
            9.3,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            Severity::High,
            8.5,
        ),
    ];
    for (vector, severity, score) in cases {
        let (got_severity, got_score) = cvss_rating(vector).expect(vector);
        assert_eq!(got_severity, severity, "{vector}");
        assert!(
            (got_score - score).abs() < 0.05,
            "{vector}: {got_score} != {score}"
        );
    }
    // CVSS v2 is not rated; garbage is not a rating.
    assert_eq!(cvss_rating("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
    assert_eq!(cvss_rating("CVSS:3.1/AV:X"), None);
    assert_eq!(cvss_rating("high"), None);
}

fn rated(value: serde_json::Value) -> (Severity, String) {
    let advisory = parse(value).expect("parses");
    let rating = rate(&advisory, &advisory.affected[0]);
    (rating.severity, rating.basis)
}

#[test]
fn severity_sources_in_order() {
    let v3_high =
        json!({"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"});
    let v4_critical = json!({"type": "CVSS_V4",
        "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"});
    let v3_low =
        json!({"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"});
    let v2 = json!({"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:C/I:C/A:C"});
    let record =
        |severity: serde_json::Value, affected: serde_json::Value, database: serde_json::Value| {
            json!({"id": "X-1", "modified": "2024-01-01T00:00:00Z", "severity": severity,
               "affected": [affected], "database_specific": database})
        };
    let package = json!({"ecosystem": "PyPI", "name": "demo"});

    // The highest CVSS v3/v4 score, over the database's rating.
    assert_eq!(
        rated(record(
            json!([v3_high, v4_critical]),
            json!({"package": package}),
            json!({"severity": "LOW"})
        )),
        (Severity::Critical, "CVSS 4.0 base score 9.3".to_owned())
    );
    // The package's own severity replaces the record's.
    assert_eq!(
        rated(record(
            json!([v3_high]),
            json!({"package": package, "severity": [v3_low]}),
            json!(null)
        )),
        (Severity::Low, "CVSS 3.1 base score 3.1".to_owned())
    );
    // No usable vector (v2 only, or unparseable): GitHub's rating.
    assert_eq!(
        rated(record(
            json!([v2, {"type": "CVSS_V3", "score": "CVSS:3.1/garbage"}]),
            json!({"package": package}),
            json!({"severity": "MODERATE"})
        )),
        (Severity::Medium, "database rating MODERATE".to_owned())
    );
    // The package's database rating, then its ecosystem_specific one.
    assert_eq!(
        rated(record(
            json!(null),
            json!({"package": package, "database_specific": {"severity": "critical"}}),
            json!({"severity": "LOW"})
        ))
        .0,
        Severity::Critical
    );
    assert_eq!(
        rated(record(
            json!(null),
            json!({"package": package, "ecosystem_specific": {"severity": "HIGH"}}),
            json!(null)
        ))
        .0,
        Severity::High
    );
    // Debian's urgency last; an unassigned urgency gives nothing.
    for (urgency, severity) in [
        ("high", Severity::High),
        ("medium", Severity::Medium),
        ("low**", Severity::Low),
        ("unimportant", Severity::Low),
        ("not yet assigned", Severity::Unknown),
    ] {
        let affected = json!({"package": {"ecosystem": "Debian:12", "name": "glibc"},
                              "ecosystem_specific": {"urgency": urgency}});
        assert_eq!(
            rated(record(json!(null), affected, json!(null))).0,
            severity,
            "{urgency}"
        );
    }
    assert_eq!(
        rated(record(
            json!(null),
            json!({"package": package}),
            json!({"severity": "SEVERE"})
        )),
        (Severity::Unknown, "no severity in the advisory".to_owned())
    );
}
