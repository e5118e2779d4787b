//! The cost of one sign-in: the `login` mutation over HTTP, sequentially, and the argon2id
//! verification it contains, alone, to show how much of the sign-in it is.

use crate::graphql;
use anyhow::{Context, Result, ensure};
use keynet_domain::auth::passwords;
use keynet_domain::entities::users;
use keynet_testkit::gql::PASSWORD;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::future::Future;
use std::time::{Duration, Instant};

pub struct LoginCost {
    pub over_graphql: Summary,
    pub verify_alone: Summary,
}

pub struct Summary {
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

pub async fn measure(
    client: &reqwest::Client,
    base_url: &str,
    email: &str,
    db: &DatabaseConnection,
    count: usize,
) -> Result<LoginCost> {
    let over_graphql =
        time_sequentially(count, || graphql::login(client, base_url, email, PASSWORD)).await?;
    let stored = stored_hash(db, email).await?;
    let verify_alone = time_sequentially(count, || verify(stored.clone())).await?;
    Ok(LoginCost {
        over_graphql,
        verify_alone,
    })
}

async fn stored_hash(db: &DatabaseConnection, email: &str) -> Result<String> {
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(db)
        .await?
        .context("the bench owner is gone")?;
    Ok(user.password_hash)
}

async fn verify(stored: String) -> Result<()> {
    let matches = passwords::verify(PASSWORD.to_string(), stored).await?;
    ensure!(matches, "the bench password does not verify");
    Ok(())
}

async fn time_sequentially<F, Fut>(count: usize, mut attempt: F) -> Result<Summary>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut took = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        attempt().await?;
        took.push(started.elapsed());
    }
    summarize(took)
}

fn summarize(mut took: Vec<Duration>) -> Result<Summary> {
    took.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    let (first, last) = took
        .first()
        .zip(took.last())
        .context("no sign-ins were timed")?;
    Ok(Summary {
        count: took.len(),
        mean_ms: took.iter().map(ms).sum::<f64>() / took.len() as f64,
        // Nearest rank: the lower middle for an even count.
        p50_ms: ms(&took[(took.len() - 1) / 2]),
        min_ms: ms(first),
        max_ms: ms(last),
    })
}
