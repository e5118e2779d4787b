//! Secrets in file contents: one pass of a `RegexSet` over the file tells which rules match
//! at all (most files match none), then only those rules' own regexes run to count and
//! locate. One finding per rule and file; the secret itself never appears in a message,
//! only a masked prefix.

use super::finding;
use crate::finding::{Finding, FindingKind, Severity};
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::sync::LazyLock;

struct Rule {
    id: &'static str,
    title: &'static str,
    /// What it is, for the message: "a private key", "an AWS access key id"…
    what: &'static str,
    severity: Severity,
    /// The secret is capture group 1 when there is one, else the whole match.
    pattern: &'static str,
    /// Show a masked prefix of the value (not for keys, whose prefix is a fixed header).
    show_prefix: bool,
    /// An extra condition on the whole file.
    confirm: Option<fn(&[u8]) -> bool>,
}

/// The key of a GCP service account file, with `\n` escapes as JSON has them.
const JSON_PRIVATE_KEY: &str =
    r#""private_key"\s*:\s*"-----BEGIN[A-Z ]{0,24}PRIVATE KEY-----\\n[A-Za-z0-9+/=]{40,}"#;

fn is_service_account(content: &[u8]) -> bool {
    static TYPE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""type"\s*:\s*"service_account""#).expect("valid pattern"));
    TYPE.is_match(content)
}

const RULES: &[Rule] = &[
    Rule {
        id: "secret.private-key",
        title: "Private key in a file",
        what: "a private key",
        severity: Severity::High,
        // The header alone appears in code that handles keys; a key has a base64 body.
        pattern: r"-----BEGIN[A-Z ]{0,24}PRIVATE KEY(?: BLOCK)?-----\r?\n(?:[A-Za-z-]+:[^\r\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=]{40,}",
        show_prefix: false,
        confirm: None,
    },
    Rule {
        id: "secret.private-key",
        title: "Private key in a file",
        what: "a private key",
        severity: Severity::High,
        pattern: JSON_PRIVATE_KEY,
        show_prefix: false,
        confirm: Some(|content| !is_service_account(content)),
    },
    Rule {
        id: "secret.gcp-service-account",
        title: "GCP service account key in a file",
        what: "a Google Cloud service account key",
        severity: Severity::Critical,
        pattern: JSON_PRIVATE_KEY,
        show_prefix: false,
        confirm: Some(is_service_account),
    },
    Rule {
        id: "secret.aws-access-key",
        title: "AWS access key id in a file",
        what: "an AWS access key id",
        severity: Severity::High,
        pattern: r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        show_prefix: true,
        confirm: None,
    },
    Rule {
        id: "secret.aws-secret-key",
        title: "AWS secret access key in a file",
        what: "an AWS secret access key",
        severity: Severity::Critical,
        pattern: r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        show_prefix: true,
        confirm: None,
    },
    Rule {
        id: "secret.stripe-key",
        title: "Stripe live key in a file",
        what: "a Stripe live secret or restricted key",
        severity: Severity::Critical,
        pattern: r"\b([rs]k_live_[0-9A-Za-z]{20,247})\b",
        show_prefix: true,
        confirm: None,
    },
    Rule {
        id: "secret.github-token",
        title: "GitHub token in a file",
        what: "a GitHub token",
        severity: Severity::Critical,
        pattern: r"\b((?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59})\b",
        show_prefix: true,
        confirm: None,
    },
    Rule {
        id: "secret.slack-token",
        title: "Slack token in a file",
        what: "a Slack token",
        severity: Severity::High,
        pattern: r"\b(xox[abposr]-[0-9A-Za-z]{10,48}(?:-[0-9A-Za-z]{1,48}){0,4})\b",
        show_prefix: true,
        confirm: None,
    },
    Rule {
        id: "secret.slack-webhook",
        title: "Slack webhook URL in a file",
        what: "a Slack incoming-webhook URL",
        severity: Severity::Medium,
        pattern: r"(https://hooks\.slack\.com/services/T[0-9A-Z]{8,12}/B[0-9A-Z]{8,12}/[0-9A-Za-z]{24})",
        show_prefix: false,
        confirm: None,
    },
    Rule {
        id: "secret.huggingface-token",
        title: "Hugging Face token in a file",
        what: "a Hugging Face access token",
        severity: Severity::High,
        pattern: r"\b(hf_[0-9A-Za-z]{34})\b",
        show_prefix: true,
        confirm: None,
    },
];

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
}

// Without Unicode: `\b` is then an ASCII word boundary, which the lazy DFA handles on any
// input; a Unicode one sends it back to the (tens of times slower) PikeVM on the first
// non-ASCII byte, and secrets are ASCII anyway.
static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let patterns = RULES.iter().map(|r| r.pattern);
    Compiled {
        set: RegexSetBuilder::new(patterns.clone())
            .unicode(false)
            .build()
            .expect("valid patterns"),
        each: patterns
            .map(|p| {
                RegexBuilder::new(p)
                    .unicode(false)
                    .build()
                    .expect("valid pattern")
            })
            .collect(),
    }
});

/// Documentation examples (AWS's `AKIAIOSFODNN7EXAMPLE` and its secret) are not secrets.
fn is_example(value: &[u8]) -> bool {
    value.windows(7).any(|w| w == b"EXAMPLE")
}

/// The first characters of a secret and its length: enough to recognise which key it is,
/// far too little to use it.
pub(super) fn mask(value: &str) -> String {
    let shown: String = value
        .chars()
        .take((value.chars().count() / 5).min(6))
        .collect();
    format!("`{shown}…` ({} characters)", value.chars().count())
}

fn line_of(content: &[u8], offset: usize) -> usize {
    1 + content[..offset].iter().filter(|&&b| b == b'\n').count()
}

pub(super) fn scan(path: &str, content: &[u8], out: &mut Vec<Finding>) {
    let compiled = &*COMPILED;
    let matched = compiled.set.matches(content);
    if !matched.matched_any() {
        return;
    }
    let first_of_file = out.len();
    for index in matched.iter() {
        let rule = &RULES[index];
        if rule.confirm.is_some_and(|confirm| !confirm(content)) {
            continue;
        }
        let mut hits = compiled.each[index].captures_iter(content).filter_map(|c| {
            let value = c.get(1).or_else(|| c.get(0))?;
            (!is_example(value.as_bytes())).then_some(value)
        });
        let Some(first) = hits.next() else {
            continue;
        };
        let count = 1 + hits.count();
        let line = line_of(content, first.start());
        // Two patterns may share a rule id (a PEM key, a JSON-escaped one): one finding.
        if out[first_of_file..].iter().any(|f| f.rule == rule.id) {
            continue;
        }
        let what = if rule.show_prefix {
            format!(
                "{} {}",
                rule.what,
                mask(&String::from_utf8_lossy(first.as_bytes()))
            )
        } else {
            rule.what.to_owned()
        };
        let where_ = if count == 1 {
            format!("at line {line}")
        } else {
            format!("{count} times, first at line {line}")
        };
        out.push(finding(
            FindingKind::Secret,
            rule.id,
            rule.severity,
            rule.title,
            format!(
                "{path} holds {what} {where_}: anyone who pulls the image can read it. Remove it \
                 from the image, revoke it, and pass secrets to the trainer at run time."
            ),
            Some(path),
        ));
    }
}

/// Whether a value (of an environment variable) has the shape of a known token.
pub(super) fn looks_like_token(value: &str) -> bool {
    COMPILED.set.is_match(value.as_bytes()) && !is_example(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_found(content: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan("/app/config", content.as_bytes(), &mut out);
        out.into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn each_token_kind() {
        let github = format!("token = \"ghp_{}\"", "a1B2".repeat(9));
        assert_eq!(rules_found(&github), ["secret.github-token"]);
        let stripe = format!("STRIPE=sk_live_{}", "x9".repeat(12));
        assert_eq!(rules_found(&stripe), ["secret.stripe-key"]);
        assert_eq!(
            rules_found("id: AKIAQWERTYUIOPASDFGH"),
            ["secret.aws-access-key"]
        );
        let secret = format!("aws_secret_access_key = {}", "Ab1/".repeat(10));
        assert_eq!(rules_found(&secret), ["secret.aws-secret-key"]);
        let hf = format!("HF_TOKEN=hf_{}", "Zz9".repeat(11) + "q");
        assert_eq!(rules_found(&hf), ["secret.huggingface-token"]);
        assert_eq!(
            rules_found("xoxb-1234567890-abcdefghij"),
            ["secret.slack-token"]
        );
    }

    #[test]
    fn documentation_examples_and_bare_headers_are_not_secrets() {
        assert!(rules_found("AKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(
            rules_found("if line == \"-----BEGIN RSA PRIVATE KEY-----\":\n    pass\n").is_empty()
        );
        assert!(rules_found("ghp_tooShort").is_empty());
    }

    #[test]
    fn gcp_service_account_file() {
        let json = format!(
            "{{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}}",
            "MIIEvQ".repeat(10)
        );
        assert_eq!(rules_found(&json), ["secret.gcp-service-account"]);
    }

    #[test]
    fn the_message_masks_the_value() {
        let token = format!("ghp_{}", "a1B2".repeat(9));
        let mut out = Vec::new();
        scan(
            "/app/x",
            format!("one\ntwo {token}\n{token}").as_bytes(),
            &mut out,
        );
        let message = &out[0].message;
        assert!(!message.contains(&token), "{message}");
        assert!(
            message.contains("`ghp_a1…` (40 characters)")
                && message.contains("2 times, first at line 2"),
            "{message}"
        );
    }
}
