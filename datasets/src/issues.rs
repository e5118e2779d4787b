//! What went wrong with an upload, file by file, in words a user can act on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One problem found in an upload: the file (its path inside the zip, or `""` for the
/// archive as a whole) and why it was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportIssue {
    pub file: String,
    pub reason: String,
}

impl ImportIssue {
    pub fn new(file: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.file, self.reason)
        }
    }
}

/// The crate's error: an import that was refused, with every problem found (up to
/// [`crate::Limits::max_errors`]; `truncated` says more were left out).
///
/// Archive-level problems (corrupt zip, zip bomb, unsafe path, symlink, too many entries)
/// stop the import at once and carry a single issue; content problems are all collected
/// so the user can fix the upload in one go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", summary(.errors, *.truncated))]
pub struct ImportFailure {
    pub errors: Vec<ImportIssue>,
    pub truncated: bool,
}

impl ImportFailure {
    /// A failure with a single issue.
    pub fn single(file: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            errors: vec![ImportIssue::new(file, reason)],
            truncated: false,
        }
    }
}

fn summary(errors: &[ImportIssue], truncated: bool) -> String {
    let Some(first) = errors.first() else {
        return "dataset import failed".to_owned();
    };
    let more = errors.len() - 1;
    match (more, truncated) {
        (0, false) => format!("dataset import failed: {first}"),
        (_, false) => format!("dataset import failed: {first} (and {more} more problems)"),
        (_, true) => format!("dataset import failed: {first} (and more than {more} more problems)"),
    }
}

/// Collects content problems up to a cap, so a zip with a million bad label lines yields a
/// readable report instead of a million-line one.
#[derive(Debug)]
pub(crate) struct IssueLog {
    issues: Vec<ImportIssue>,
    max: usize,
    truncated: bool,
}

impl IssueLog {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            issues: Vec::new(),
            max: max.max(1),
            truncated: false,
        }
    }

    pub(crate) fn push(&mut self, file: impl Into<String>, reason: impl Into<String>) {
        if self.issues.len() < self.max {
            self.issues.push(ImportIssue::new(file, reason));
        } else {
            self.truncated = true;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }

    /// `Err` with everything collected, if anything was.
    pub(crate) fn into_result(self) -> Result<(), ImportFailure> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ImportFailure {
                errors: self.issues,
                truncated: self.truncated,
            })
        }
    }
}
