//! The whole platform in process, on a database of its own, bound to a free port.

use crate::gql::{Account, Gql};
use crate::mail::{Email, wait_for_count_in_outbox, wait_in_outbox};
use crate::pg::TestDatabase;
use keynet_api::platform::{Platform, connect, launch_on};
use keynet_api::settings::Settings;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Known to the tests so they can forge, expire and re-sign tokens.
pub const JWT_SECRET: &str = "test-only-secret-0123456789abcdef0123456789";

pub struct TestApp {
    pub gql: Gql,
    pub data_dir: TempDir,
    /// Every SQL statement the platform ran, in order (for N+1 checks).
    statements: Arc<Mutex<Vec<String>>>,
    platform: Option<Platform>,
    database: Option<TestDatabase>,
}

impl Deref for TestApp {
    type Target = Gql;

    fn deref(&self) -> &Gql {
        &self.gql
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir: data_dir.path().to_path_buf(),
            ..Settings::default()
        };
        settings.auth.jwt_secret = Some(JWT_SECRET.into());
        settings.workers.poll_interval_ms = 20;
        let database = match backend {
            Backend::Postgres => {
                let database = TestDatabase::create().await;
                settings.database_url = Some(database.url.clone());
                Some(database)
            }
            Backend::Sqlite => None,
        };
        adjust(&mut settings);
        let settings = settings.resolve().unwrap();
        let mut db = connect(&settings).await.unwrap();
        let statements = Arc::new(Mutex::new(Vec::new()));
        let log = statements.clone();
        db.set_metric_callback(move |info| {
            log.lock().unwrap().push(info.statement.sql.clone());
        });
        let platform = launch_on(settings, db).await.unwrap();
        Self {
            gql: Gql::new(platform.url()),
            data_dir,
            statements,
            platform: Some(platform),
            database,
        }
    }

    pub fn url(&self) -> &str {
        &self.gql.base_url
    }

    /// A second instance of the platform on this app's PostgreSQL database (as behind a
    /// load balancer), with its own data folder and no workers, and settings changed by
    /// `adjust`. Stop it before this app.
    pub async fn spawn_beside(&self, adjust: impl FnOnce(&mut Settings)) -> Platform {
        let database = self
            .database
            .as_ref()
            .expect("a second instance needs PostgreSQL");
        // Inside this app's folder, so it goes with it.
        let data_dir = tempfile::tempdir_in(self.data_dir.path()).unwrap().keep();
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir,
            database_url: Some(database.url.clone()),
            run_workers: false,
            ..Settings::default()
        };
        settings.auth.jwt_secret = Some(JWT_SECRET.into());
        adjust(&mut settings);
        let settings = settings.resolve().unwrap();
        let db = connect(&settings).await.unwrap();
        launch_on(settings, db).await.unwrap()
    }

    /// The URL of this app's PostgreSQL database; `None` on SQLite.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|database| database.url.as_str())
    }

    pub fn platform(&self) -> &Platform {
        self.platform.as_ref().unwrap()
    }

    /// The newest email to `to` whose subject contains `subject_part`, from the outbox.
    pub async fn email(&self, to: &str, subject_part: &str) -> Email {
        wait_in_outbox(&self.data_dir.path().join("outbox"), to, subject_part).await
    }

    /// At least `count` emails to `to` whose subject contains `subject_part` (waiting for
    /// them), oldest first.
    pub async fn emails(&self, to: &str, subject_part: &str, count: usize) -> Vec<Email> {
        wait_for_count_in_outbox(
            &self.data_dir.path().join("outbox"),
            to,
            subject_part,
            count,
        )
        .await
    }

    /// Invites `email` into `org` with `role` and signs them up through the emailed link.
    pub async fn join(&self, inviter: &Account, org: &str, email: &str, role: &str) -> Account {
        self.invite(inviter, org, email, role).await;
        let token = self
            .email(email, "invited you")
            .await
            .link_token("/invitations/accept");
        self.signup_with(email, Some(&token)).await
    }

    /// A mark for [`statements_since`](Self::statements_since).
    pub fn statement_mark(&self) -> usize {
        self.statements.lock().unwrap().len()
    }

    /// The statements run since `mark`, leaving out those of the loops that run beside the
    /// requests all the time: the task queue's (workers poll it) and the serving host's
    /// reconciliation (each second it reads the deployments and their replicas).
    pub fn statements_since(&self, mark: usize) -> Vec<String> {
        self.statements.lock().unwrap()[mark..]
            .iter()
            .filter(|sql| !sql.contains("tasks") && !sql.contains("deployment"))
            .cloned()
            .collect()
    }

    pub async fn stop(mut self) {
        if let Some(platform) = self.platform.take() {
            platform.stop().await.unwrap();
        }
        if let Some(database) = self.database.take() {
            database.drop_database().await;
        }
    }
}
