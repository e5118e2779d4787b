//! Findings from the image config: the user it runs as, and secrets in its environment.

use super::{finding, secrets};
use crate::finding::{Finding, FindingKind, Severity};
use crate::report::ImageConfig;

/// Words in a variable name that say its value is a secret.
const SECRET_WORDS: [&str; 10] = [
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH_KEY",
];

/// Whether a variable name says its value is a secret. Names of where a secret is read
/// from (`POSTGRES_PASSWORD_FILE=/run/secrets/db`) are not.
pub(super) fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|word| upper.contains(word))
        && !["_FILE", "_PATH", "_DIR"]
            .iter()
            .any(|suffix| upper.ends_with(suffix))
}

/// `root_users` are the names with uid 0 in the image's `/etc/passwd`.
pub(crate) fn image_config(config: &ImageConfig, root_users: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    // `User` is `user[:group]`, each a name or a number; only the user part decides.
    let user = config.user.trim();
    let user_part = user.split(':').next().unwrap_or("");
    if user_part.is_empty()
        || user_part == "0"
        || user_part == "root"
        || root_users.iter().any(|r| r == user_part)
    {
        let shown = if user.is_empty() {
            "unset, so root".to_owned()
        } else {
            format!("{user:?}")
        };
        out.push(finding(
            FindingKind::Misconfiguration,
            "misconfig.root-user",
            Severity::High,
            "Image runs as root",
            format!(
                "The image config's User is {shown}: the trainer runs as root, so a flaw in it \
                 or in a library it loads has root's power in the container. Add a user and \
                 `USER <uid>` to the Dockerfile."
            ),
            None,
        ));
    }
    for variable in &config.env {
        let Some((name, value)) = variable.split_once('=') else {
            continue;
        };
        if value.is_empty() || !(is_secret_name(name) || secrets::looks_like_token(value)) {
            continue;
        }
        out.push(finding(
            FindingKind::Secret,
            "secret.config-env",
            Severity::High,
            "Secret in the image config's environment",
            format!(
                "The image config sets {name} to what looks like a secret, {}: ENV values are \
                 stored in the image config, readable by anyone who pulls the image. Remove the \
                 ENV line, revoke the secret, and pass it at run time.",
                secrets::mask(value)
            ),
            None,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(user: &str, env: &[&str]) -> ImageConfig {
        ImageConfig {
            user: user.to_owned(),
            env: env.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn rules(config: &ImageConfig, root_users: &[String]) -> Vec<String> {
        image_config(config, root_users)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn root_in_every_spelling() {
        for user in ["", "0", "root", "0:0", "root:1000"] {
            assert_eq!(
                rules(&config(user, &[]), &[]),
                ["misconfig.root-user"],
                "{user:?}"
            );
        }
        for user in ["1000", "1000:0", "trainer"] {
            assert!(rules(&config(user, &[]), &[]).is_empty(), "{user:?}");
        }
        assert_eq!(
            rules(
                &config("admin", &[]),
                &["root".to_owned(), "admin".to_owned()]
            ),
            ["misconfig.root-user"]
        );
    }

    #[test]
    fn secret_environment_by_name_or_shape() {
        let token = format!("ghp_{}", "x1Y2".repeat(9));
        let github = format!("GH={token}");
        let env = [
            "PATH=/usr/bin",
            "DB_PASSWORD=hunter22",
            "API_TOKEN=",
            "POSTGRES_PASSWORD_FILE=/run/secrets/db",
            "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
            github.as_str(),
        ];
        let findings = image_config(&config("1000", &env), &[]);
        let names: Vec<_> = findings
            .iter()
            .map(|f| f.message.split_whitespace().nth(4).unwrap_or(""))
            .collect();
        assert_eq!(names, ["DB_PASSWORD", "GH"]);
        assert!(
            findings
                .iter()
                .all(|f| !f.message.contains("hunter22") && !f.message.contains(&token))
        );
    }
}
