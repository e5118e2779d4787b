//! Seeds through the API itself, as users would: an owner, and two organizations whose
//! members joined by signing up through their invitation links.

use crate::stack;
use anyhow::Result;
use keynet_api::Settings;
use keynet_testkit::mail::wait_in_outbox;
use keynet_testkit::{Account, Gql};
use std::path::Path;

/// The organization the load runs on: exactly one page of `members(first: 20)`.
pub const BIG_ORG: OrgSeed = OrgSeed {
    slug: "bench-big",
    members: 20,
};

/// Only there to show that the statement count does not grow with the member count.
pub const SMALL_ORG: OrgSeed = OrgSeed {
    slug: "bench-small",
    members: 2,
};

#[derive(Clone, Copy, Debug)]
pub struct OrgSeed {
    pub slug: &'static str,
    /// The owner included.
    pub members: usize,
}

/// Owns both organizations; every read under load is made as this account.
pub struct Seeded {
    pub owner: Account,
}

pub async fn seed(settings: &Settings) -> Result<Seeded> {
    let platform = stack::launch_for_seeding(settings).await?;
    let gql = Gql::new(platform.url());
    let outbox = settings.data_dir.join("outbox");
    let owner = gql.signup("owner@example.com").await;
    for org in [BIG_ORG, SMALL_ORG] {
        populate(&gql, &outbox, &owner, org).await;
    }
    platform.stop().await?;
    Ok(Seeded { owner })
}

/// Invites everyone first, then signs each up through their link, so the email deliveries
/// overlap instead of being waited for one by one.
async fn populate(gql: &Gql, outbox: &Path, owner: &Account, org: OrgSeed) {
    let org_id = gql.create_org(owner, org.slug).await;
    let invitees: Vec<String> = (1..org.members)
        .map(|i| format!("{}-{i}@example.com", org.slug))
        .collect();
    for email in &invitees {
        gql.invite(owner, &org_id, email, "MEMBER").await;
    }
    for email in &invitees {
        let token = wait_in_outbox(outbox, email, "invited you to")
            .await
            .link_token("/invitations/accept");
        gql.signup_with(email, Some(&token)).await;
    }
}
