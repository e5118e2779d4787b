//! The blocking policy: what blocks, allowlists and their expiry, the stored JSON form.

use chrono::{DateTime, Duration, TimeZone, Utc};
use keynet_scan::finding::PackageRef;
use keynet_scan::vuln::policy::{AllowEntry, BlockReason, Policy, evaluate};
use keynet_scan::{Ecosystem, Error, Finding, FindingKind, Severity};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .expect("valid date")
}

fn vulnerability(rule: &str, severity: Severity, fixed: Option<&str>) -> Finding {
    Finding {
        kind: FindingKind::Vulnerability,
        rule: rule.to_owned(),
        severity,
        title: format!("{rule} in Pillow 10.1.0"),
        message: String::new(),
        path: Some("/usr/lib/python3/site-packages/Pillow-10.1.0.dist-info/METADATA".to_owned()),
        layer: Some("sha256:1111".to_owned()),
        package: Some(PackageRef {
            ecosystem: Ecosystem::PyPI,
            name: "Pillow".to_owned(),
            version: "10.1.0".to_owned(),
        }),
        fixed_version: fixed.map(str::to_owned),
    }
}

fn other(kind: FindingKind, rule: &str, severity: Severity, path: &str) -> Finding {
    Finding {
        kind,
        rule: rule.to_owned(),
        severity,
        title: rule.to_owned(),
        message: String::new(),
        path: Some(path.to_owned()),
        layer: None,
        package: None,
        fixed_version: None,
    }
}

fn entry(rule: &str, expires_at: DateTime<Utc>) -> AllowEntry {
    AllowEntry {
        rule: rule.to_owned(),
        package: None,
        path: None,
        expires_at,
        reason: "only reachable from trusted input".to_owned(),
    }
}

fn rules(findings: impl IntoIterator<Item = Finding>) -> Vec<String> {
    findings.into_iter().map(|f| f.rule).collect()
}

#[test]
fn default_policy_blocks_fixable_critical_and_high_and_secrets() {
    let findings = [
        vulnerability("CVE-1", Severity::Critical, Some("2.0")),
        vulnerability("CVE-2", Severity::High, Some("2.0")),
        vulnerability("CVE-3", Severity::High, None),
        vulnerability("CVE-4", Severity::Medium, Some("2.0")),
        vulnerability("CVE-5", Severity::Unknown, Some("2.0")),
        other(
            FindingKind::Secret,
            "secret.private-key",
            Severity::High,
            "/root/.ssh/id_rsa",
        ),
        other(
            FindingKind::Misconfiguration,
            "misconfig.setuid",
            Severity::Critical,
            "/usr/bin/x",
        ),
        other(
            FindingKind::Review,
            "review.pickle",
            Severity::High,
            "/model.pkl",
        ),
    ];
    let decision = evaluate(&Policy::default(), &findings, now());
    assert!(!decision.passed);
    assert_eq!(
        rules(decision.blocking.iter().map(|b| b.finding.clone())),
        ["CVE-1", "CVE-2", "secret.private-key"]
    );
    let reasons: Vec<BlockReason> = decision.blocking.iter().map(|b| b.reason).collect();
    assert_eq!(
        reasons,
        [
            BlockReason::FixAvailable,
            BlockReason::FixAvailable,
            BlockReason::Secret
        ]
    );
    assert!(decision.allowed.is_empty());
    assert_eq!(
        decision.reasons(),
        [
            "CVE-1 (Critical) in Pillow 10.1.0 blocks: the policy blocks Critical vulnerabilities \
             that have a fix, and 2.0 fixes it.",
            "CVE-2 (High) in Pillow 10.1.0 blocks: the policy blocks High vulnerabilities that \
             have a fix, and 2.0 fixes it.",
            "secret.private-key (High) at /root/.ssh/id_rsa blocks: the policy blocks every secret.",
        ]
    );

    let harmless = [
        findings[2].clone(),
        findings[3].clone(),
        findings[7].clone(),
    ];
    let decision = evaluate(&Policy::default(), &harmless, now());
    assert!(decision.passed);
    assert!(decision.blocking.is_empty());
}

#[test]
fn severities_blocked_always_need_no_fix_and_cover_misconfigurations() {
    let policy = Policy {
        block_with_fix: vec![],
        block_secrets: false,
        block_severities_always: vec![Severity::Critical],
        allowlist: vec![],
    };
    let findings = [
        vulnerability("CVE-1", Severity::Critical, None),
        vulnerability("CVE-2", Severity::High, Some("2.0")),
        other(
            FindingKind::Misconfiguration,
            "misconfig.setuid",
            Severity::Critical,
            "/usr/bin/x",
        ),
        other(
            FindingKind::Secret,
            "secret.aws-key",
            Severity::Critical,
            "/app/.env",
        ),
        other(
            FindingKind::Review,
            "review.pickle",
            Severity::Critical,
            "/model.pkl",
        ),
    ];
    let decision = evaluate(&policy, &findings, now());
    assert_eq!(
        decision.reasons(),
        [
            "CVE-1 (Critical) in Pillow 10.1.0 blocks: the policy blocks every Critical \
             vulnerability, fixed or not.",
            "misconfig.setuid (Critical) at /usr/bin/x blocks: the policy blocks every Critical \
             misconfiguration, fixed or not.",
        ]
    );
}

#[test]
fn an_active_allowlist_entry_accepts_and_an_expired_one_does_not() {
    let finding = vulnerability("CVE-2023-50447", Severity::High, Some("10.2.0"));
    let mut policy = Policy::default();
    policy
        .allowlist
        .push(entry("cve-2023-50447", now() + Duration::days(30)));
    let decision = evaluate(&policy, std::slice::from_ref(&finding), now());
    assert!(decision.passed);
    assert_eq!(
        decision.allowed,
        [(finding.clone(), policy.allowlist[0].clone())]
    );

    // At the expiry instant the entry no longer applies.
    for at in [now() + Duration::days(30), now() + Duration::days(31)] {
        let decision = evaluate(&policy, std::slice::from_ref(&finding), at);
        assert!(!decision.passed);
        assert!(decision.allowed.is_empty());
        assert_eq!(
            decision.blocking[0].expired_allowance.as_ref(),
            Some(&policy.allowlist[0])
        );
        assert_eq!(
            decision.reasons(),
            [
                "CVE-2023-50447 (High) in Pillow 10.1.0 blocks: the policy blocks High \
              vulnerabilities that have a fix, and 10.2.0 fixes it (its allowlist entry expired at \
              2026-07-01T12:00:00Z)."
            ]
        );
    }

    // Of an expired and an active entry, the active one applies.
    policy
        .allowlist
        .insert(0, entry("CVE-2023-50447", now() - Duration::days(1)));
    let decision = evaluate(&policy, std::slice::from_ref(&finding), now());
    assert!(decision.passed);
    assert_eq!(decision.allowed[0].1, policy.allowlist[1]);
}

#[test]
fn allowlist_entries_scoped_by_package_and_path() {
    let finding = vulnerability("CVE-2023-50447", Severity::High, Some("10.2.0"));
    let later = now() + Duration::days(1);
    let scoped = |package: Option<&str>, path: Option<&str>| AllowEntry {
        package: package.map(str::to_owned),
        path: path.map(str::to_owned),
        ..entry("CVE-2023-50447", later)
    };
    for (allow, accepted) in [
        // PyPI names compare PEP 503-normalized.
        (scoped(Some("pillow"), None), true),
        (scoped(Some("Pillow"), None), true),
        (scoped(Some("numpy"), None), false),
        (scoped(None, Some("/usr/lib/python3/site-packages/")), true),
        (
            scoped(
                None,
                Some("/usr/lib/python3/site-packages/Pillow-10.1.0.dist-info/METADATA"),
            ),
            true,
        ),
        (scoped(None, Some("/usr/lib/python3/site-packages")), false),
        (scoped(None, Some("/opt/")), false),
        (scoped(Some("pillow"), Some("/opt/")), false),
        (entry("CVE-2023-50448", later), false),
    ] {
        let policy = Policy {
            allowlist: vec![allow.clone()],
            ..Policy::default()
        };
        let decision = evaluate(&policy, std::slice::from_ref(&finding), now());
        assert_eq!(decision.passed, accepted, "{allow:?}");
    }
    // A package-scoped entry never covers a finding without a package.
    let secret = other(
        FindingKind::Secret,
        "secret.private-key",
        Severity::High,
        "/root/key",
    );
    let policy = Policy {
        allowlist: vec![AllowEntry {
            package: Some("openssh".to_owned()),
            ..entry("secret.private-key", later)
        }],
        ..Policy::default()
    };
    assert!(!evaluate(&policy, std::slice::from_ref(&secret), now()).passed);
    let policy = Policy {
        allowlist: vec![AllowEntry {
            path: Some("/root/key".to_owned()),
            ..entry("secret.private-key", later)
        }],
        ..Policy::default()
    };
    assert!(evaluate(&policy, &[secret], now()).passed);
}

#[test]
fn non_blocking_findings_are_not_listed_as_allowed() {
    let finding = vulnerability("CVE-9", Severity::Low, Some("2.0"));
    let policy = Policy {
        allowlist: vec![entry("CVE-9", now() + Duration::days(1))],
        ..Policy::default()
    };
    let decision = evaluate(&policy, &[finding], now());
    assert!(decision.passed);
    assert!(decision.allowed.is_empty());
}

fn policy_error(json: &str) -> (String, String) {
    match Policy::from_json(json) {
        Err(Error::InvalidPolicy { field, why }) => (field, why),
        other => panic!("expected an invalid policy error for {json}, got {other:?}"),
    }
}

#[test]
fn stored_policies_read_back_with_defaults() {
    assert_eq!(
        Policy::from_json("{}").expect("empty policy"),
        Policy::default()
    );
    let policy = Policy::from_json(
        r#"{"block_severities_always": ["CRITICAL"],
            "allowlist": [{"rule": "CVE-2023-4911", "package": "libc6",
                           "expires_at": "2026-09-30T00:00:00Z", "reason": "no setuid binaries"}]}"#,
    )
    .expect("valid");
    assert_eq!(policy.block_with_fix, [Severity::Critical, Severity::High]);
    assert!(policy.block_secrets);
    assert_eq!(policy.block_severities_always, [Severity::Critical]);
    assert_eq!(policy.allowlist[0].package.as_deref(), Some("libc6"));
    let json = serde_json::to_string(&policy).expect("serializes");
    assert_eq!(Policy::from_json(&json).expect("round trip"), policy);
    // An expired entry is still a valid policy: it just no longer applies.
    let expired = Policy::from_json(
        r#"{"allowlist": [{"rule": "CVE-1", "expires_at": "2020-01-01T00:00:00Z", "reason": "r"}]}"#,
    )
    .expect("valid");
    assert!(!expired.allowlist[0].is_active(now()));
}

#[test]
fn invalid_policies_name_the_field() {
    let allow = |fields: &str| format!(r#"{{"allowlist": [{{{fields}}}]}}"#);
    let cases = [
        (
            allow(r#""rule": "CVE-1", "expires_at": "2026-13-45T00:00:00Z", "reason": "r""#),
            "allowlist[0].expires_at",
            "",
        ),
        (
            allow(r#""rule": "CVE-1", "expires_at": "next week", "reason": "r""#),
            "allowlist[0].expires_at",
            "",
        ),
        (
            allow(r#""rule": "CVE-1", "reason": "r""#),
            "allowlist[0]",
            "missing field `expires_at`",
        ),
        (
            allow(r#""rule": "  ", "expires_at": "2026-09-30T00:00:00Z", "reason": "r""#),
            "allowlist[0].rule",
            "is empty",
        ),
        (
            allow(r#""rule": "CVE-1", "expires_at": "2026-09-30T00:00:00Z", "reason": """#),
            "allowlist[0].reason",
            "is empty",
        ),
        (
            allow(
                r#""rule": "CVE-1", "path": "opt/app", "expires_at": "2026-09-30T00:00:00Z", "reason": "r""#,
            ),
            "allowlist[0].path",
            "must be absolute",
        ),
        (
            allow(
                r#""rule": "CVE-1", "package": "", "expires_at": "2026-09-30T00:00:00Z", "reason": "r""#,
            ),
            "allowlist[0].package",
            "is empty",
        ),
        (
            allow(r#""rule": "CVE-1", "expires": "2026-09-30T00:00:00Z", "reason": "r""#),
            "allowlist[0].expires",
            "unknown field `expires`",
        ),
        (
            r#"{"block_with_fix": ["SEVERE"]}"#.to_owned(),
            "block_with_fix[0]",
            "unknown variant `SEVERE`",
        ),
        (
            r#"{"block_secret": false}"#.to_owned(),
            "block_secret",
            "unknown field `block_secret`",
        ),
        (
            r#"{"block_secrets": "yes"}"#.to_owned(),
            "block_secrets",
            "invalid type",
        ),
        (r#"{} {}"#.to_owned(), "policy", "trailing characters"),
    ];
    for (json, field, why) in cases {
        let (got_field, got_why) = policy_error(&json);
        assert_eq!(got_field, field, "{json}: {got_why}");
        assert!(
            got_why.contains(why),
            "{json}: {got_why:?} should contain {why:?}"
        );
    }
    let error = Policy::from_json(&allow(
        r#""rule": "", "expires_at": "2026-09-30T00:00:00Z", "reason": "r""#,
    ))
    .expect_err("invalid");
    assert!(
        error
            .to_string()
            .starts_with("invalid policy: allowlist[0].rule: is empty"),
        "{error}"
    );
}
