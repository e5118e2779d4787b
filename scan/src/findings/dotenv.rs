//! `.env` files: environment files hold deployment settings and secrets, and belong in the
//! runtime's configuration, not in an image anyone can pull.

use super::{config::is_secret_name, finding};
use crate::finding::{Finding, FindingKind, Severity};

/// `.env`, `.env.production`…; templates meant to be copied (`.env.example`) hold no
/// values worth reporting.
pub(super) fn is_env_file(name: &str) -> bool {
    match name.strip_prefix(".env") {
        Some("") => true,
        Some(suffix) => {
            suffix.starts_with('.')
                && !matches!(
                    &suffix[1..],
                    "example" | "sample" | "template" | "dist" | "defaults"
                )
        }
        None => false,
    }
}

/// The names of the variables a `.env` file sets to a non-empty value, `export` and quotes
/// allowed; a finding when there is any (the values are never shown).
pub(super) fn inspect(path: &str, content: &[u8]) -> Option<Finding> {
    let text = String::from_utf8_lossy(content);
    let mut names: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if is_name && !value.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return None;
    }
    let secret_names: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| is_secret_name(n))
        .collect();
    let severity = if secret_names.is_empty() {
        Severity::Medium
    } else {
        Severity::High
    };
    let shown = if secret_names.is_empty() {
        &names
    } else {
        &secret_names
    };
    let mut listed = shown.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if shown.len() > 5 {
        listed.push_str(", …");
    }
    Some(finding(
        FindingKind::Secret,
        "secret.env-file",
        severity,
        "Environment file in the image",
        format!(
            "{path} is an environment file setting {} variable(s) ({listed}){}: anyone who \
             pulls the image can read them. Remove it and pass the settings at run time.",
            names.len(),
            if secret_names.is_empty() {
                ""
            } else {
                ", secrets among them"
            }
        ),
        Some(path),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_names_are_env_files() {
        assert!(is_env_file(".env") && is_env_file(".env.production"));
        assert!(!is_env_file(".env.example") && !is_env_file(".envrc") && !is_env_file("env"));
    }

    #[test]
    fn names_set_but_not_values() {
        let finding = inspect(
            "/app/.env",
            b"# c\nDEBUG=1\nexport DB_PASSWORD='hunter22'\nEMPTY=\n",
        )
        .expect("a finding");
        assert_eq!(finding.severity, Severity::High);
        assert!(
            finding.message.contains("2 variable(s) (DB_PASSWORD)"),
            "{}",
            finding.message
        );
        assert!(!finding.message.contains("hunter22"));
        assert_eq!(inspect("/app/.env", b"# nothing set\nEMPTY=\n"), None);
    }
}
