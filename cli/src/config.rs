//! What `keynet-train login` remembers: the server, who signed in, the push token and its
//! expiry, the organization and the registry. One JSON file, `config.json`, readable by its
//! owner only because it holds a credential.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// Overrides the folder of `config.json` (tests, several accounts side by side).
pub const CONFIG_DIR_ENV: &str = "KEYNET_CONFIG_DIR";
const FILE_NAME: &str = "config.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The server's base URL, without a trailing slash.
    pub server_url: String,
    pub user: User,
    pub org: Org,
    pub api_token: ApiToken,
    /// `None` for a token given with `--token`: only admins may list tokens.
    pub api_token_expires_at: Option<DateTime<Utc>>,
    pub registry: Registry,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    pub slug: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// `host[:port]` images are pushed to.
    pub host: String,
}

/// The API token; its `Debug` shows only the prefix, so the secret never reaches a log.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiToken(String);

impl ApiToken {
    pub fn new(secret: String) -> Self {
        ApiToken(secret)
    }

    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The first characters, enough to recognise the token in a list.
    pub fn prefix(&self) -> String {
        self.0.chars().take(8).collect()
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiToken({}…)", self.prefix())
    }
}

impl Config {
    /// Refuses a token past its expiry before the server has to.
    pub fn ensure_token_valid(&self, now: DateTime<Utc>) -> Result<()> {
        match self.api_token_expires_at {
            Some(expiry) if expiry <= now => Err(Error::Auth(format!(
                "your API token expired at {}",
                expiry.format("%Y-%m-%d %H:%M UTC")
            ))),
            _ => Ok(()),
        }
    }
}

/// Where the configuration lives.
#[derive(Clone, Debug)]
pub struct ConfigStore {
    dir: PathBuf,
}

impl ConfigStore {
    /// `$KEYNET_CONFIG_DIR`, else `$XDG_CONFIG_HOME/keynet`, else `~/.config/keynet`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let dir = if let Some(dir) = var(CONFIG_DIR_ENV) {
            PathBuf::from(dir)
        } else if let Some(base) = var("XDG_CONFIG_HOME") {
            PathBuf::from(base).join("keynet")
        } else if let Some(home) = var("HOME") {
            PathBuf::from(home).join(".config").join("keynet")
        } else {
            return Err(Error::Usage(format!(
                "cannot tell where to keep the configuration: set HOME or {CONFIG_DIR_ENV}"
            )));
        };
        Ok(Self::in_dir(dir))
    }

    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The saved configuration; signing in first is the fix when there is none.
    pub fn load(&self) -> Result<Config> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Auth("you are not signed in".into()));
            }
            Err(e) => return Err(config_error(path, e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::Config {
            path,
            message: e.to_string(),
        })
    }

    /// Writes the file with mode 0600 (its folder 0700), replacing it atomically so a
    /// crash never leaves half a credential behind.
    pub fn save(&self, config: &Config) -> Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| config_error(self.dir.clone(), e))?;
        let path = self.path();
        let staging = self
            .dir
            .join(format!(".{FILE_NAME}.{}", std::process::id()));
        let text = serde_json::to_vec_pretty(config).map_err(|e| Error::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let written = write_private(&staging, &text).and_then(|()| fs::rename(&staging, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&staging);
            return Err(config_error(path, e));
        }
        Ok(())
    }

    /// Forgets the sign-in; `false` when there was none.
    pub fn remove(&self) -> Result<bool> {
        let path = self.path();
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(config_error(path, e)),
        }
    }
}

fn config_error(path: PathBuf, error: std::io::Error) -> Error {
    Error::Config {
        path,
        message: error.to_string(),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn sample() -> Config {
        Config {
            server_url: "http://127.0.0.1:8080".into(),
            user: User {
                id: "u1".into(),
                email: "author@example.com".into(),
            },
            org: Org {
                id: "o1".into(),
                slug: "acme".into(),
            },
            api_token: ApiToken::new("kn_secretsecretsecret".into()),
            api_token_expires_at: Some(
                DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
                    .expect("a valid timestamp")
                    .with_timezone(&Utc),
            ),
            registry: Registry {
                host: "127.0.0.1:8080".into(),
            },
        }
    }

    #[test]
    fn saved_configuration_reads_back_and_only_its_owner_can_read_it() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = ConfigStore::in_dir(dir.path().join("keynet"));
        store.save(&sample()).expect("saved");
        assert_eq!(store.load().expect("loaded"), sample());
        let file_mode = fs::metadata(store.path())
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(file_mode & 0o777, 0o600);
        let dir_mode = fs::metadata(dir.path().join("keynet"))
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert!(store.remove().expect("removed"));
        assert!(!store.remove().expect("nothing left to remove"));
    }

    #[test]
    fn a_missing_file_means_signed_out_and_a_broken_one_names_its_path() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = ConfigStore::in_dir(dir.path());
        let missing = store.load().expect_err("nothing saved");
        assert_eq!(missing.exit_code(), 4, "{missing}");
        fs::write(store.path(), "{not json").expect("written");
        let broken = store.load().expect_err("not JSON");
        assert_eq!(broken.exit_code(), 3);
        assert!(broken.to_string().contains("config.json"), "{broken}");
    }

    #[test]
    fn an_expired_token_is_refused_before_any_request() {
        let config = sample();
        let before = DateTime::parse_from_rfc3339("2026-12-31T00:00:00Z")
            .expect("a valid timestamp")
            .with_timezone(&Utc);
        assert!(config.ensure_token_valid(before).is_ok());
        let after = before + chrono::Duration::days(2);
        let expired = config.ensure_token_valid(after).expect_err("expired");
        assert_eq!(expired.exit_code(), 4);
        assert!(expired.to_string().contains("expired"), "{expired}");
    }

    #[test]
    fn the_token_secret_stays_out_of_debug_output() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("kn_secretsecretsecret"), "{shown}");
    }
}
