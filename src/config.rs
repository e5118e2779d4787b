//! Layered configuration: compiled defaults → `keynet.toml` (or `--config FILE`) →
//! `KEYNET_*` environment (`__` nests: `KEYNET_AUTH__JWT_SECRET`) → command-line flags.
//! Secrets may come from files (`KEYNET_AUTH__JWT_SECRET_FILE`). A bad value is refused with
//! its key named.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use keynet_api::Settings;
use std::path::{Path, PathBuf};

/// Values given on the command line; they win over every other layer.
#[derive(Default)]
pub struct Overrides {
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub run_workers: Option<bool>,
}

const DEFAULT_FILE: &str = "keynet.toml";

pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Settings, String> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    match file {
        Some(path) if !path.exists() => {
            return Err(format!(
                "configuration file {} does not exist",
                path.display()
            ));
        }
        Some(path) => figment = figment.merge(Toml::file(path)),
        None => figment = figment.merge(Toml::file(DEFAULT_FILE)),
    }
    figment = figment.merge(
        Env::prefixed("KEYNET_")
            .split("__")
            .ignore(&["config", "log"]),
    );
    if let Some(bind) = overrides.bind {
        figment = figment.merge(Serialized::default("bind", bind));
    }
    if let Some(dir) = overrides.data_dir {
        figment = figment.merge(Serialized::default("data_dir", dir));
    }
    if let Some(run) = overrides.run_workers {
        figment = figment.merge(Serialized::default("run_workers", run));
    }
    let settings: Settings = figment.extract().map_err(describe)?;
    settings.resolve().map_err(|e| e.to_string())
}

/// figment names keys as their source spelled them (`API.MAX_DEPTH` from the environment);
/// name them as the configuration file does.
fn describe(error: figment::Error) -> String {
    let key = error.path.join(".").to_lowercase();
    let source = error
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    if key.is_empty() {
        format!("invalid configuration{source}: {}", error.kind)
    } else {
        format!("invalid setting `{key}`{source}: {}", error.kind)
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail's closures must return figment::Error"
)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        figment::Jail::expect_with(|_jail| {
            let settings = load(None, Overrides::default()).expect("defaults load");
            assert_eq!(settings.bind, "127.0.0.1:8080");
            assert_eq!(settings.api.max_depth, 15);
            Ok(())
        });
    }

    #[test]
    fn layers_override_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "keynet.toml",
                "bind = \"127.0.0.1:9000\"\n[api]\nmax_aliases = 5\n",
            )?;
            jail.set_env("KEYNET_API__MAX_ALIASES", "7");
            let from_env = load(None, Overrides::default()).expect("loads");
            assert_eq!(from_env.bind, "127.0.0.1:9000");
            assert_eq!(from_env.api.max_aliases, 7);
            let flagged = load(
                None,
                Overrides {
                    bind: Some("127.0.0.1:0".into()),
                    ..Overrides::default()
                },
            )
            .expect("loads");
            assert_eq!(flagged.bind, "127.0.0.1:0");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYNET_API__MAX_DEPTH", "deep");
            let error = load(None, Overrides::default()).expect_err("refused");
            assert!(error.contains("`api.max_depth`"), "{error}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYNET_EMAIL__SMTP_URL", "mail.example.com");
            let error = load(None, Overrides::default()).expect_err("refused");
            assert!(error.contains("`email.smtp_url`"), "{error}");
            jail.set_env("KEYNET_EMAIL__SMTP_URL", "smtp://127.0.0.1:2525");
            jail.set_env("KEYNET_EMAIL__FROM", "not a mailbox");
            let error = load(None, Overrides::default()).expect_err("refused");
            assert!(error.contains("`email.from`"), "{error}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYNET_EMAIL__ACCOUNT_EMAILS_PER_HOUR", "0");
            let error = load(None, Overrides::default()).expect_err("refused");
            assert!(error.contains("`email.account_emails_per_hour`"), "{error}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("KEYNET_BIND", "nowhere");
            let error = load(None, Overrides::default()).expect_err("refused");
            assert!(error.contains("`bind`"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn cors_origins_are_a_list_of_exact_origins() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "KEYNET_API__CORS_ALLOWED_ORIGINS",
                r#"["https://app.example.com", "http://localhost:5173", "http://[::1]:3000"]"#,
            );
            let settings = load(None, Overrides::default()).expect("loads");
            assert_eq!(
                settings.api.cors_allowed_origins,
                [
                    "https://app.example.com",
                    "http://localhost:5173",
                    "http://[::1]:3000"
                ]
            );
            Ok(())
        });
        for (origin, reason) in [
            ("*", "write it as"),
            ("app.example.com", "write it as"),
            ("ftp://app.example.com", "write it as"),
            ("https://app.example.com/", "no path"),
            ("https://app.example.com/console", "no path"),
            ("https://user@app.example.com", "no path"),
            ("https://App.example.com", "lower case"),
            ("https://app.example.com:443", "default port"),
            ("http://app.example.com:80", "default port"),
        ] {
            figment::Jail::expect_with(|jail| {
                jail.set_env(
                    "KEYNET_API__CORS_ALLOWED_ORIGINS",
                    format!("[\"{origin}\"]"),
                );
                let error = load(None, Overrides::default()).expect_err(origin);
                assert!(
                    error.contains("`api.cors_allowed_origins`") && error.contains(reason),
                    "{origin}: {error}"
                );
                Ok(())
            });
        }
    }

    #[test]
    fn secrets_come_from_files() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("secret", "0123456789abcdef0123456789abcdef\n")?;
            jail.set_env("KEYNET_AUTH__JWT_SECRET_FILE", "secret");
            let settings = load(None, Overrides::default()).expect("loads");
            assert_eq!(
                settings.auth.jwt_secret.as_deref(),
                Some("0123456789abcdef0123456789abcdef")
            );
            Ok(())
        });
    }
}
