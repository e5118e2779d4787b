//! The measured import: `keynet_datasets::import_zip` alone, in a process of its own, as
//! the platform's import task runs it (default split and limits), and the one-line summary
//! the parent reads back to check that the import really succeeded.

use anyhow::{Context, Result, anyhow, bail};
use keynet_datasets::{Limits, SplitConfig, TaskType, import_zip};
use std::path::Path;

/// The hidden subcommands the parent re-executes this binary with: one import, and
/// nothing at all (the floor under the import's peak RSS).
pub const SUBCOMMAND: &str = "import-engine";
pub const NOOP_SUBCOMMAND: &str = "noop";

/// What one import produced: enough to check it against the generated dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineSummary {
    pub images: usize,
    pub annotations: usize,
    /// Groups of identical images: must be 0, else the generator repeated content.
    pub duplicate_groups: usize,
}

impl EngineSummary {
    const PREFIX: &'static str = "keynet-import";

    fn to_line(self) -> String {
        format!(
            "{} images={} annotations={} duplicate_groups={}",
            Self::PREFIX,
            self.images,
            self.annotations,
            self.duplicate_groups
        )
    }

    /// Finds the summary line in the child's stdout.
    pub fn parse(stdout: &str) -> Result<Self> {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(Self::PREFIX))
            .with_context(|| format!("the import child printed no summary: {stdout:?}"))?;
        let field = |name: &str| -> Result<usize> {
            let value = line
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .with_context(|| format!("no `{name}` in the summary {line:?}"))?;
            value
                .parse()
                .with_context(|| format!("`{name}` is not a count in {line:?}"))
        };
        Ok(Self {
            images: field("images")?,
            annotations: field("annotations")?,
            duplicate_groups: field("duplicate_groups")?,
        })
    }
}

/// The child's whole job: one import, then its summary on stdout. The unpacked files are
/// left for the parent to delete, outside the measured time, as `unzip`'s are.
pub fn import_once(zip: &Path, work_dir: &Path, task: &str) -> Result<()> {
    let task = parse_task(task)?;
    let imported = import_zip(
        zip,
        work_dir,
        task,
        &SplitConfig::default(),
        &Limits::default(),
    )
    .map_err(|failure| anyhow!("the import was refused: {failure}"))?;
    let summary = EngineSummary {
        images: imported.images.len(),
        annotations: imported.annotations.annotations.len(),
        duplicate_groups: imported.statistics.duplicate_groups.len(),
    };
    println!("{}", summary.to_line());
    Ok(())
}

fn parse_task(task: &str) -> Result<TaskType> {
    Ok(match task {
        "classification" => TaskType::Classification,
        "detection" => TaskType::Detection,
        "segmentation" => TaskType::Segmentation,
        "pose" => TaskType::Pose,
        other => bail!("unknown task {other:?}"),
    })
}
