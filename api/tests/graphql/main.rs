//! The API driven over HTTP, in process, on PostgreSQL (a database per test) and on SQLite.
//! Every scenario runs on both backends.

#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed step should stop the test"
)]

/// Generates, for each scenario `async fn name(app: &TestApp)`, a module `name` with one
/// test per backend. `name where adjust` changes the settings first.
macro_rules! on_both_backends {
    (@adjust) => { |_| {} };
    (@adjust $adjust:expr) => { $adjust };
    ($($scenario:ident $(where $adjust:expr)?),* $(,)?) => {$(
        mod $scenario {
            use keynet_testkit::{Backend, TestApp};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = TestApp::spawn_with(Backend::Postgres, on_both_backends!(@adjust $($adjust)?)).await;
                super::$scenario(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn_with(Backend::Sqlite, on_both_backends!(@adjust $($adjust)?)).await;
                super::$scenario(&app).await;
                app.stop().await;
            }
        }
    )*};
}

mod announcements;
mod audit;
mod billing;
mod billing_invoices;
mod billing_stripe;
mod browser;
mod console;
mod datasets;
mod deployments;
mod experiments;
mod identity;
mod imports;
mod jobs;
mod limits;
mod live_access;
mod marketplace;
mod on_s3;
mod organizations;
mod projects;
mod samples;
mod sessions;
mod sqlite_writes;
mod static_files;
mod tenancy;
mod tokens;
mod upload_expiry;
