//! Findings as SARIF 2.1.0 JSON, the format code-scanning tools read: one rule per rule id
//! (its default level from the worst severity seen), one result per finding with its level,
//! message and, when it concerns a file, the file's path in the image.

use crate::Error;
use crate::finding::{Finding, Severity};
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif,
    Tool, ToolComponent,
};
use std::collections::BTreeMap;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Unknown => ResultLevel::Note,
    }
}

/// The score code-scanning tools sort by (`security-severity`, CVSS-like, as a string).
fn score(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Unknown => "0.0",
    }
}

/// A path as a URI reference: unreserved characters and `/` as they are, the rest
/// percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn properties(values: BTreeMap<String, serde_json::Value>) -> PropertyBag {
    PropertyBag::builder().additional_properties(values).build()
}

pub fn sarif_json(findings: &[Finding]) -> Result<String, Error> {
    // Rules in order of first appearance, each with the worst severity among its findings.
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules: Vec<(&Finding, Severity)> = Vec::new();
    for finding in findings {
        match rule_index.get(finding.rule.as_str()) {
            Some(&index) => rules[index].1 = rules[index].1.max(finding.severity),
            None => {
                rule_index.insert(&finding.rule, rules.len());
                rules.push((finding, finding.severity));
            }
        }
    }
    let rules: Vec<ReportingDescriptor> = rules
        .into_iter()
        .map(|(first, severity)| {
            ReportingDescriptor::builder()
                .id(first.rule.clone())
                .short_description(
                    MultiformatMessageString::builder()
                        .text(first.title.clone())
                        .build(),
                )
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(json!(level(severity)))
                        .build(),
                )
                .properties(properties(BTreeMap::from([
                    ("security-severity".to_owned(), json!(score(severity))),
                    ("kind".to_owned(), json!(first.kind)),
                ])))
                .build()
        })
        .collect();

    let results: Vec<SarifResult> = findings
        .iter()
        .map(|finding| {
            let mut extra = BTreeMap::from([("severity".to_owned(), json!(finding.severity))]);
            if let Some(layer) = &finding.layer {
                extra.insert("layer".to_owned(), json!(layer));
            }
            if let Some(package) = &finding.package {
                extra.insert("package".to_owned(), json!(package));
            }
            if let Some(fixed) = &finding.fixed_version {
                extra.insert("fixedVersion".to_owned(), json!(fixed));
            }
            let locations: Vec<Location> = finding
                .path
                .iter()
                .map(|path| {
                    Location::builder()
                        .physical_location(
                            PhysicalLocation::builder()
                                .artifact_location(
                                    ArtifactLocation::builder().uri(uri(path)).build(),
                                )
                                .build(),
                        )
                        .build()
                })
                .collect();
            let index = rule_index.get(finding.rule.as_str()).copied().unwrap_or(0);
            SarifResult::builder()
                .rule_id(finding.rule.clone())
                .rule_index(i64::try_from(index).unwrap_or(i64::MAX))
                .level(level(finding.severity))
                .message(Message::builder().text(finding.message.clone()).build())
                .locations(locations)
                .properties(properties(extra))
                .build()
        })
        .collect();

    let driver = ToolComponent::builder()
        .name("keynet-scan")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let sarif = Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![
            Run::builder()
                .tool(Tool::builder().driver(driver).build())
                .results(results)
                .build(),
        ])
        .build();
    serde_json::to_string_pretty(&sarif).map_err(|e| Error::Render {
        format: "SARIF",
        message: e.to_string(),
    })
}
