//! A database of its own for each test, on the PostgreSQL server of this machine.

use sea_orm::{ConnectionTrait, Database};

/// `KEYNET_TEST_POSTGRES` overrides the server (an admin URL to its `postgres` database).
pub fn admin_url() -> String {
    std::env::var("KEYNET_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Test databases share this prefix so a run can sweep up what crashed tests left.
pub const PREFIX: &str = "keynet_test_";

pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = format!("{PREFIX}{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(admin_url()).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        admin.close().await.unwrap();
        let base = admin_url();
        let server = base.rsplit_once('/').map(|(server, _)| server).unwrap();
        Self {
            url: format!("{server}/{name}"),
            name,
        }
    }

    pub async fn drop_database(self) {
        let admin = Database::connect(admin_url()).await.unwrap();
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
}
