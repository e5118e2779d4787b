//! The vulnerability database: OSV records imported from a zip or folder (`keynet vulndb
//! import`), looked up by (OSV ecosystem, package) when an image is scanned.

use crate::Marketplace;
use crate::entities::{vuln_advisories, vuln_affected};
use crate::error::{Error, Result};
use keynet_domain::Error as DomainError;
use keynet_domain::time::now;
use keynet_scan::vuln::{Advisory, AdvisorySource, lookup_keys};
use keynet_scan::{OsRelease, Package};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;
use std::path::Path;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VulnImport {
    pub added: u64,
    pub updated: u64,
    /// Records whose `modified` did not change.
    pub unchanged: u64,
    /// Records that could not be read, each `file: reason`; the rest is imported.
    pub skipped: Vec<String>,
}

/// Advisories per (ecosystem, name), preloaded for one scan.
pub(crate) type AdvisoryIndex = HashMap<(String, String), Vec<Advisory>>;

impl Marketplace {
    /// Imports an OSV zip or folder. A record already stored with the same `modified` is
    /// left alone; a changed one replaces the stored record and its keys.
    pub async fn import_advisories(&self, path: &Path) -> Result<VulnImport> {
        let path = path.to_path_buf();
        // Reading the records is blocking file work; it is small next to the writes.
        let records = tokio::task::spawn_blocking(move || {
            let mut source = AdvisorySource::open(&path)?;
            let mut read = Vec::new();
            let mut skipped = Vec::new();
            for record in source.records() {
                match record? {
                    Ok(record) => read.push(record),
                    Err(broken) => skipped.push(broken.to_string()),
                }
            }
            Ok::<_, keynet_scan::Error>((read, skipped))
        })
        .await
        .map_err(Error::internal)?
        .map_err(|e| DomainError::invalid("path", e.to_string()))?;
        let (records, skipped) = records;
        let mut outcome = VulnImport {
            skipped,
            ..VulnImport::default()
        };
        let at = now();
        for chunk in records.chunks(500) {
            // `begin` takes SQLite's write lock up front: this transaction reads before it
            // writes, and after a plain `BEGIN` its first write fails at once ("database is
            // locked", no waiting) when a running server writes or has committed meanwhile.
            let tx = self.begin().await?;
            let ids: Vec<&str> = chunk.iter().map(|r| r.advisory.id.as_str()).collect();
            let stored: HashMap<String, String> = vuln_advisories::Entity::find()
                .filter(vuln_advisories::Column::Id.is_in(ids))
                .all(&*tx)
                .await?
                .into_iter()
                .map(|row| (row.id, row.modified))
                .collect();
            for record in chunk {
                let advisory = &record.advisory;
                let modified = advisory.modified.to_rfc3339();
                match stored.get(&advisory.id) {
                    Some(known) if *known == modified => {
                        outcome.unchanged += 1;
                        continue;
                    }
                    Some(_) => outcome.updated += 1,
                    None => outcome.added += 1,
                }
                vuln_affected::Entity::delete_many()
                    .filter(vuln_affected::Column::AdvisoryId.eq(advisory.id.as_str()))
                    .exec(&*tx)
                    .await?;
                vuln_advisories::Entity::insert(vuln_advisories::ActiveModel {
                    id: Set(advisory.id.clone()),
                    modified: Set(modified),
                    record: Set(record.json.clone()),
                    imported_at: Set(at),
                })
                .on_conflict(
                    OnConflict::column(vuln_advisories::Column::Id)
                        .update_columns([
                            vuln_advisories::Column::Modified,
                            vuln_advisories::Column::Record,
                            vuln_advisories::Column::ImportedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&*tx)
                .await?;
                let mut keys = advisory.index_keys();
                keys.sort();
                keys.dedup();
                if !keys.is_empty() {
                    vuln_affected::Entity::insert_many(keys.into_iter().map(
                        |(ecosystem, name)| vuln_affected::ActiveModel {
                            ecosystem: Set(ecosystem),
                            name: Set(name),
                            advisory_id: Set(advisory.id.clone()),
                        },
                    ))
                    .exec_without_returning(&*tx)
                    .await?;
                }
            }
            self.commit(tx).await?;
        }
        Ok(outcome)
    }

    /// The stored advisories for every key the packages need.
    pub(crate) async fn advisories_for(
        &self,
        packages: &[Package],
        os: Option<&OsRelease>,
    ) -> Result<AdvisoryIndex> {
        let mut index = AdvisoryIndex::new();
        for chunk in lookup_keys(packages, os).chunks(200) {
            let mut condition = Condition::any();
            for (ecosystem, name) in chunk {
                condition = condition.add(
                    Condition::all()
                        .add(vuln_affected::Column::Ecosystem.eq(ecosystem.as_str()))
                        .add(vuln_affected::Column::Name.eq(name.as_str())),
                );
            }
            let affected = vuln_affected::Entity::find()
                .filter(condition)
                .all(&self.db)
                .await?;
            let ids: Vec<&str> = affected.iter().map(|a| a.advisory_id.as_str()).collect();
            let records: HashMap<String, String> = vuln_advisories::Entity::find()
                .filter(vuln_advisories::Column::Id.is_in(ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|row| (row.id, row.record))
                .collect();
            for row in affected {
                let Some(json) = records.get(&row.advisory_id) else {
                    continue;
                };
                match Advisory::parse(&row.advisory_id, json) {
                    Ok(advisory) => index
                        .entry((row.ecosystem, row.name))
                        .or_default()
                        .push(advisory),
                    Err(e) => {
                        tracing::warn!(advisory = %row.advisory_id, error = %e, "a stored advisory no longer parses")
                    }
                }
            }
        }
        Ok(index)
    }
}
