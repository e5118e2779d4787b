//! CycloneDX 1.5 and SARIF 2.1.0 renderings: the fields their specs require, read back by
//! the libraries' own typed models.

mod support;

use keynet_scan::report::{cyclonedx_json, sarif_json};
use keynet_scan::{Finding, FindingKind, ImageConfig, ImageScan, LayerScan, Severity, merge};
use serde_json::Value;
use support::{Layer, TAR_GZIP, python_metadata, scan_ok};

fn image() -> ImageScan {
    let layers: Vec<(String, LayerScan)> = vec![
        (
            "sha256:aaaa".to_owned(),
            scan_ok(&support::debian_base().gzip(), TAR_GZIP),
        ),
        (
            "sha256:bbbb".to_owned(),
            scan_ok(
                &Layer::new()
                    .file(
                        "usr/lib/python3/site-packages/Torch_Audio-2.1.0.dist-info/METADATA",
                        &python_metadata("Torch_Audio", "2.1.0"),
                    )
                    .file("app/key.pem", support::private_key_pem().as_bytes())
                    .gzip(),
                TAR_GZIP,
            ),
        ),
    ];
    merge(&layers, &ImageConfig::default())
}

#[test]
fn cyclonedx_1_5() {
    let json = cyclonedx_json(&image(), "registry.keynet.dev/acme/trainer", "sha256:feed")
        .expect("renders");
    let bom: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["version"], 1);
    assert!(
        bom["serialNumber"]
            .as_str()
            .is_some_and(|s| s.starts_with("urn:uuid:")),
        "{}",
        bom["serialNumber"]
    );
    let subject = &bom["metadata"]["component"];
    assert_eq!(
        (subject["type"].as_str(), subject["name"].as_str()),
        (Some("container"), Some("registry.keynet.dev/acme/trainer"))
    );
    assert!(bom["metadata"]["timestamp"].is_string());

    let components = bom["components"].as_array().expect("components");
    let os = &components[0];
    assert_eq!(
        (
            os["type"].as_str(),
            os["name"].as_str(),
            os["version"].as_str()
        ),
        (Some("operating-system"), Some("debian"), Some("12"))
    );
    let purls: Vec<&str> = components[1..]
        .iter()
        .map(|c| c["purl"].as_str().expect("purl"))
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:deb/debian/bash@5.2.15-2+b2?distro=debian-12",
            "pkg:deb/debian/libc6@2.36-9+deb12u4?distro=debian-12",
            "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1+b1?distro=debian-12",
            "pkg:pypi/torch-audio@2.1.0",
        ]
    );
    for component in components {
        assert!(
            component["type"].is_string()
                && component["name"].is_string()
                && component["bom-ref"].is_string()
        );
    }
    let libc = &components[2];
    let properties: Vec<(&str, &str)> = libc["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name"),
                p["value"].as_str().expect("value"),
            )
        })
        .collect();
    assert_eq!(
        properties,
        [
            ("keynet:path", "/var/lib/dpkg/status"),
            ("keynet:layer", "sha256:aaaa"),
            ("keynet:source-package", "glibc")
        ]
    );

    // The official model reads it back as a valid 1.5 document.
    let parsed = cyclonedx_bom::prelude::Bom::parse_from_json_v1_5(json.as_bytes())
        .expect("a CycloneDX 1.5 BOM");
    use cyclonedx_bom::prelude::Validate;
    assert!(
        !parsed
            .validate_version(cyclonedx_bom::prelude::SpecVersion::V1_5)
            .has_errors()
    );
}

fn vulnerability() -> Finding {
    Finding {
        kind: FindingKind::Vulnerability,
        rule: "CVE-2023-4911".to_owned(),
        severity: Severity::High,
        title: "glibc: buffer overflow in ld.so".to_owned(),
        message: "libc6 2.36-9 is affected; fixed in 2.36-9+deb12u3.".to_owned(),
        path: Some("/var/lib/dpkg/status".to_owned()),
        layer: Some("sha256:aaaa".to_owned()),
        package: None,
        fixed_version: Some("2.36-9+deb12u3".to_owned()),
    }
}

#[test]
fn sarif_2_1_0() {
    let mut findings = image().findings;
    findings.push(vulnerability());
    let json = sarif_json(&findings).expect("renders");
    let sarif: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        sarif["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-2.1.0"))
    );
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "keynet-scan");

    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let rule_ids: Vec<&str> = rules
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        rule_ids,
        [
            "misconfig.root-user",
            "secret.private-key",
            "misconfig.setuid",
            "CVE-2023-4911"
        ]
    );
    assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
    assert_eq!(rules[2]["defaultConfiguration"]["level"], "warning");
    assert_eq!(rules[2]["properties"]["security-severity"], "5.5");

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), findings.len());
    for (result, finding) in results.iter().zip(&findings) {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(result["ruleId"], finding.rule.as_str());
        assert_eq!(rules[index]["id"], finding.rule.as_str());
        assert_eq!(result["message"]["text"], finding.message.as_str());
        let expected_level = match finding.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Unknown => "note",
        };
        assert_eq!(result["level"], expected_level);
    }
    let uris: Vec<Option<&str>> = results
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert_eq!(
        uris,
        [
            None,
            Some("/app/key.pem"),
            Some("/usr/bin/passwd"),
            Some("/var/lib/dpkg/status")
        ]
    );
    assert_eq!(results[3]["properties"]["fixedVersion"], "2.36-9+deb12u3");

    // serde-sarif's typed model reads it back.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_str(&json).expect("a SARIF log");
    assert_eq!(typed.runs.len(), 1);
}

#[test]
fn sarif_paths_are_uri_references() {
    let finding = Finding {
        path: Some("/opt/my model/ß.pkl".to_owned()),
        ..vulnerability()
    };
    let sarif: Value =
        serde_json::from_str(&sarif_json(&[finding]).expect("renders")).expect("JSON");
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "/opt/my%20model/%C3%9F.pkl"
    );
}
