//! Secrets, misconfiguration and files a human must review, found in the files of a layer
//! (contents and modes) and in the image config.
//!
//! Rule ids are stable; policy allowlists name them:
//! `secret.private-key`, `secret.aws-access-key`, `secret.aws-secret-key`,
//! `secret.gcp-service-account`, `secret.stripe-key`, `secret.github-token`,
//! `secret.slack-token`, `secret.slack-webhook`, `secret.huggingface-token`,
//! `secret.env-file`, `secret.config-env`, `misconfig.root-user`, `misconfig.setuid`,
//! `misconfig.setgid`, `misconfig.world-writable`, `review.pickle`.

mod config;
mod dotenv;
mod pickle;
mod secrets;

pub(crate) use config::image_config;

use crate::finding::{Finding, FindingKind, Severity};
use crate::layers::{Entry, EntryKind, Limits};

pub(crate) fn finding(
    kind: FindingKind,
    rule: &str,
    severity: Severity,
    title: &str,
    message: String,
    path: Option<&str>,
) -> Finding {
    Finding {
        kind,
        rule: rule.to_owned(),
        severity,
        title: title.to_owned(),
        message,
        path: path.map(str::to_owned),
        layer: None,
        package: None,
        fixed_version: None,
    }
}

/// What the findings want of a regular file's contents, decided from its path and size
/// alone so that every other file is skipped unread.
pub(crate) struct Interest {
    secrets: bool,
    dotenv: bool,
    pickle: Option<pickle::Expect>,
}

/// Bytes of a `.env` file read: they are a few lines.
const DOTENV_PREFIX: u64 = 64 * 1024;

/// Where keys and tokens are test fixtures or documentation of third-party code, not the
/// image author's secrets (e.g. the test keys inside Python packages).
const NOT_SECRET_DIRS: [&str; 8] = [
    "/test/",
    "/tests/",
    "/testdata/",
    "/testing/",
    "/examples/",
    "/node_modules/",
    "/usr/share/doc/",
    "/usr/share/man/",
];

/// Extensions of files that are never text; the rest is checked for NUL bytes once read.
const BINARY_EXTENSIONS: [&str; 22] = [
    "so", "a", "o", "pyc", "pyo", "png", "jpg", "jpeg", "gif", "webp", "gz", "xz", "bz2", "zst",
    "zip", "whl", "jar", "mo", "woff", "woff2", "ttf", "ko",
];

impl Interest {
    pub(crate) fn of(path: &str, size: u64, limits: &Limits) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        let extension = name
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| e.len() <= 8);
        let secrets = size > 0
            && size <= limits.max_secret_scan_file
            && !extension
                .is_some_and(|e| BINARY_EXTENSIONS.iter().any(|b| e.eq_ignore_ascii_case(b)))
            && !NOT_SECRET_DIRS.iter().any(|dir| path.contains(dir));
        Self {
            secrets,
            dotenv: dotenv::is_env_file(name),
            pickle: extension.and_then(pickle::expect),
        }
    }

    /// How many bytes of the file to read; 0 to skip it.
    pub(crate) fn read_limit(&self, limits: &Limits) -> u64 {
        let mut limit = 0;
        if self.secrets {
            limit = limits.max_secret_scan_file;
        }
        if self.dotenv {
            limit = limit.max(DOTENV_PREFIX);
        }
        if self.pickle.is_some() {
            limit = limit.max(pickle::PREFIX);
        }
        limit
    }

    /// Looks at what was read (`content` may be a prefix of the `size`-byte file).
    pub(crate) fn inspect(&self, path: &str, size: u64, content: &[u8], out: &mut Vec<Finding>) {
        if let Some(expect) = self.pickle {
            out.extend(pickle::inspect(path, expect, content));
        }
        let is_text = !content[..content.len().min(8192)].contains(&0);
        if self.secrets && is_text && content.len() as u64 == size {
            secrets::scan(path, content, out);
        }
        if self.dotenv && is_text {
            out.extend(dotenv::inspect(path, content));
        }
    }
}

/// Findings from the entry's mode: setuid, setgid, world-writable.
pub(crate) fn inspect_mode(entry: &Entry, out: &mut Vec<Finding>) {
    let is_file = matches!(entry.kind, EntryKind::File | EntryKind::Hardlink);
    let path = entry.path.as_str();
    let mode = entry.mode;
    if is_file && mode & 0o4000 != 0 {
        let (severity, whose) = if entry.uid == 0 {
            (Severity::Medium, "root's".to_owned())
        } else {
            (Severity::Low, format!("uid {}'s", entry.uid))
        };
        out.push(finding(
            FindingKind::Misconfiguration,
            "misconfig.setuid",
            severity,
            "Setuid file",
            format!(
                "{path} is setuid (mode {mode:04o}): it runs with {whose} privileges whoever starts \
                 it, a way to escalate inside the container. Clear the bit (chmod u-s) unless \
                 the trainer needs it."
            ),
            Some(path),
        ));
    }
    if is_file && mode & 0o2000 != 0 {
        out.push(finding(
            FindingKind::Misconfiguration,
            "misconfig.setgid",
            Severity::Low,
            "Setgid file",
            format!(
                "{path} is setgid (mode {mode:04o}, group {}): it runs with its group's \
                 privileges whoever starts it. Clear the bit (chmod g-s) unless the trainer \
                 needs it.",
                entry.gid
            ),
            Some(path),
        ));
    }
    let world_writable = mode & 0o002 != 0;
    let sticky_dir = entry.kind == EntryKind::Dir && mode & 0o1000 != 0;
    if world_writable && (is_file || entry.kind == EntryKind::Dir) && !sticky_dir {
        let what = if is_file {
            "file"
        } else {
            "directory without the sticky bit"
        };
        out.push(finding(
            FindingKind::Misconfiguration,
            "misconfig.world-writable",
            Severity::Medium,
            "World-writable path",
            format!(
                "{path} is a world-writable {what} (mode {mode:04o}): any user in the container \
                 can change {}. Remove write permission for others (chmod o-w).",
                if is_file {
                    "it"
                } else {
                    "or replace what it holds"
                }
            ),
            Some(path),
        ));
    }
}
