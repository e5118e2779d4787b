//! The `SCANNING` step: each layer streamed from the blob store through the scanner (or its
//! cached result, by digest), the layers merged, packages matched against the imported
//! vulnerability database, and the decision of the organization's policy. The whole report is stored on the
//! version; the check lines summarise it and name every blocking finding.

use super::checks::StepOutcome;
use crate::Marketplace;
use crate::entities::{registry_blobs, scan_layers};
use crate::error::{Error, Result};
use keynet_domain::Error as DomainError;
use keynet_domain::entities::trainer_versions::{self, Check, CheckStatus, VersionStatus};
use keynet_domain::time::now;
use keynet_scan::vuln::policy::{self, Decision};
use keynet_scan::vuln::{MatchOutcome, match_packages};
use keynet_scan::{Finding, FindingKind, ImageConfig, ImageScan, LayerScan, Limits};
use oci_spec::image::{Descriptor, ImageConfiguration};
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};
use serde::{Deserialize, Serialize};
use tokio_util::io::SyncIoBridge;

/// What a version's scan found, stored whole on the version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScanReport {
    /// The layers merged: OS, packages, secrets, misconfiguration, review findings.
    pub image: ImageScan,
    pub vulnerabilities: MatchOutcome,
    pub decision: Decision,
}

/// The downloadable forms of a scan report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// The SBOM, CycloneDX 1.5 JSON.
    CycloneDx,
    /// Every finding, SARIF 2.1.0 JSON.
    Sarif,
}

impl ReportFormat {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::CycloneDx => "application/vnd.cyclonedx+json",
            Self::Sarif => "application/sarif+json",
        }
    }

    pub fn file_extension(self) -> &'static str {
        match self {
            Self::CycloneDx => "cdx.json",
            Self::Sarif => "sarif",
        }
    }
}

impl ScanReport {
    /// The report as `format`, naming the version's image and digest.
    pub fn render(
        &self,
        format: ReportFormat,
        version: &trainer_versions::Model,
    ) -> Result<String> {
        let rendered = match format {
            ReportFormat::CycloneDx => keynet_scan::report::cyclonedx_json(
                &self.image,
                &version.image,
                version.manifest_digest.as_deref().unwrap_or_default(),
            ),
            ReportFormat::Sarif => keynet_scan::report::sarif_json(&self.findings()),
        };
        rendered.map_err(Error::internal)
    }

    /// The report stored on a scanned version.
    pub fn of(version: &trainer_versions::Model) -> Result<Option<Self>> {
        version
            .scan
            .clone()
            .map(serde_json::from_value::<Self>)
            .transpose()
            .map_err(Error::internal)
    }

    /// Every finding: the image's own, then the vulnerabilities.
    pub fn findings(&self) -> Vec<Finding> {
        let mut all = self.image.findings.clone();
        all.extend(self.vulnerabilities.findings.iter().cloned());
        all
    }
}

fn check(name: &str, status: CheckStatus, message: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status,
        message: message.into(),
    }
}

impl Marketplace {
    /// A version's scan report as a file: its file name and content. Versions not scanned
    /// yet are `NOT_FOUND`.
    pub async fn scan_report_file(
        &self,
        viewer: &keynet_domain::viewer::Viewer,
        id: keynet_domain::ids::TrainerVersionId,
        format: ReportFormat,
    ) -> Result<(String, String)> {
        let version = self.domain.trainer_version(viewer, id).await?;
        let report = ScanReport::of(&version)?.ok_or(DomainError::NotFound("scan report"))?;
        let name = format!("trainer-version-{}.{}", version.id, format.file_extension());
        Ok((name, report.render(format, &version)?))
    }

    pub(crate) async fn scan_version(
        &self,
        version: &trainer_versions::Model,
    ) -> Result<StepOutcome> {
        let rejected = |check: Check| {
            StepOutcome::decide(vec![check], VersionStatus::Rejected, Box::new(|_| {}))
        };
        let (manifest, config) = match self.pushed_image(version).await? {
            Ok(image) => image,
            Err(check) => return Ok(rejected(check)),
        };
        let runtime = ImageConfiguration::from_reader(config.as_slice())
            .ok()
            .and_then(|c| c.config().clone())
            .unwrap_or_default();
        let image_config = ImageConfig {
            user: runtime.user().clone().unwrap_or_default(),
            env: runtime.env().clone().unwrap_or_default(),
        };
        let mut layers = Vec::new();
        let mut from_cache = 0;
        for (number, layer) in manifest.layers().iter().enumerate() {
            let digest = layer.digest().to_string();
            match self.layer_scan(layer).await? {
                Ok((scan, cached)) => {
                    from_cache += usize::from(cached);
                    layers.push((digest, scan));
                }
                Err(why) => {
                    return Ok(rejected(check(
                        "scan.layers",
                        CheckStatus::Failed,
                        format!("layer {} ({digest}) was refused: {why}", number + 1),
                    )));
                }
            }
        }
        let image = keynet_scan::merge(&layers, &image_config);
        let advisories = self
            .advisories_for(&image.packages, image.os.as_ref())
            .await?;
        let vulnerabilities = match_packages(&image.packages, image.os.as_ref(), |e, n| {
            advisories
                .get(&(e.to_string(), n.to_string()))
                .cloned()
                .unwrap_or_default()
        });
        let mut report = ScanReport {
            image,
            vulnerabilities,
            decision: Decision {
                passed: true,
                blocking: Vec::new(),
                allowed: Vec::new(),
            },
        };
        let policy = self.policy_of(version.org_id).await?;
        report.decision = policy::evaluate(&policy, &report.findings(), now());

        let checks = vec![
            check(
                "scan.layers",
                CheckStatus::Passed,
                format!("{} layers read ({from_cache} scanned before)", layers.len()),
            ),
            inventory_check(&report),
            vulnerability_check(&report),
            count_check(&report, "scan.secrets", FindingKind::Secret, "secrets"),
            count_check(
                &report,
                "scan.misconfiguration",
                FindingKind::Misconfiguration,
                "misconfigurations",
            ),
            count_check(
                &report,
                "scan.review",
                FindingKind::Review,
                "files to review",
            ),
            policy_check(&report.decision),
        ];
        let stored = serde_json::to_value(&report).map_err(Error::internal)?;
        Ok(StepOutcome::decide(
            checks,
            VersionStatus::TestRun,
            Box::new(move |active| active.scan = Set(Some(stored))),
        ))
    }

    /// One layer's scan, from the cache when this digest was scanned before (`true`); the
    /// scanner's refusal (hostile or broken archive) as `Err`.
    async fn layer_scan(
        &self,
        layer: &Descriptor,
    ) -> Result<std::result::Result<(LayerScan, bool), String>> {
        let digest = layer.digest().to_string();
        if let Some(row) = scan_layers::Entity::find_by_id(digest.clone())
            .one(&self.db)
            .await?
            && let Ok(scan) = serde_json::from_value::<LayerScan>(row.result)
        {
            return Ok(Ok((scan, true)));
        }
        let Some(blob) = registry_blobs::Entity::find_by_id(digest.clone())
            .one(&self.db)
            .await?
        else {
            return Ok(Err("the blob is missing from the registry".into()));
        };
        let reader = self
            .blobs
            .open(&blob.key)
            .await
            .map_err(DomainError::storage)?;
        let media_type = layer.media_type().to_string();
        // The scanner reads synchronously; the blob streams into it from a blocking thread.
        let scanned = tokio::task::spawn_blocking(move || {
            keynet_scan::scan_layer(SyncIoBridge::new(reader), &media_type, &Limits::default())
        })
        .await
        .map_err(Error::internal)?;
        let scan = match scanned {
            Ok(scan) => scan,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let result = serde_json::to_value(&scan).map_err(Error::internal)?;
        scan_layers::Entity::insert(scan_layers::ActiveModel {
            digest: Set(digest),
            result: Set(result),
            scanned_at: Set(now()),
        })
        .on_conflict(
            OnConflict::column(scan_layers::Column::Digest)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(Ok((scan, false)))
    }
}

fn inventory_check(report: &ScanReport) -> Check {
    let os = report
        .image
        .os
        .as_ref()
        .map(|os| {
            os.pretty_name.clone().unwrap_or_else(|| {
                format!("{} {}", os.id, os.version_id.clone().unwrap_or_default())
            })
        })
        .unwrap_or_else(|| "no /etc/os-release".into());
    check(
        "scan.inventory",
        CheckStatus::Passed,
        format!("{os}; {} packages", report.image.packages.len()),
    )
}

fn vulnerability_check(report: &ScanReport) -> Check {
    let found = &report.vulnerabilities.findings;
    let unevaluated = report.vulnerabilities.unevaluated.len();
    let mut message = format!("{} known vulnerabilities", found.len());
    if let Some(worst) = found.iter().map(|f| f.severity).max() {
        message.push_str(&format!(", the worst {worst:?}"));
    }
    if unevaluated > 0 {
        message.push_str(&format!("; {unevaluated} packages could not be evaluated"));
    }
    let status = if found.is_empty() && unevaluated == 0 {
        CheckStatus::Passed
    } else {
        CheckStatus::Warning
    };
    check("scan.vulnerabilities", status, message)
}

fn count_check(report: &ScanReport, name: &str, kind: FindingKind, what: &str) -> Check {
    let found: Vec<&Finding> = report
        .image
        .findings
        .iter()
        .filter(|f| f.kind == kind)
        .collect();
    if found.is_empty() {
        return check(name, CheckStatus::Passed, format!("no {what}"));
    }
    let titles: Vec<String> = found
        .iter()
        .map(|f| match &f.path {
            Some(path) => format!("{} ({path})", f.title),
            None => f.title.clone(),
        })
        .collect();
    check(
        name,
        CheckStatus::Warning,
        format!("{} {what}: {}", found.len(), titles.join("; ")),
    )
}

fn policy_check(decision: &Decision) -> Check {
    if decision.passed {
        let allowed = decision.allowed.len();
        check(
            "scan.policy",
            CheckStatus::Passed,
            format!("nothing blocks ({allowed} findings accepted by the allowlist)"),
        )
    } else {
        check(
            "scan.policy",
            CheckStatus::Failed,
            decision.reasons().join(" "),
        )
    }
}
