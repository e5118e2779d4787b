//! The N+1 check: the statements one request runs, captured from the platform's pool, for an
//! organization of 2 and of 20 members; and the same for the direct baseline, to show it runs
//! the very same SQL.

use crate::direct::{self, DirectSql, Session};
use crate::graphql::{self, GraphqlCall};
use crate::probe::SqlProbe;
use crate::seed::OrgSeed;
use anyhow::{Result, ensure};

pub struct StatementCheck {
    pub me: Vec<String>,
    pub me_direct: Vec<String>,
    pub members_small: Vec<String>,
    pub members_big: Vec<String>,
    pub members_direct: Vec<String>,
    pub small_members: usize,
    pub big_members: usize,
}

impl StatementCheck {
    pub fn no_n_plus_one(&self) -> bool {
        self.members_small.len() == self.members_big.len()
    }

    pub fn direct_runs_the_same_sql(&self) -> bool {
        self.me == self.me_direct && self.members_big == self.members_direct
    }
}

/// The GraphQL requests to capture, each already aimed at its organization.
pub struct Requests<'a> {
    pub me: &'a GraphqlCall,
    pub members_small: &'a GraphqlCall,
    pub members_big: &'a GraphqlCall,
}

pub async fn check(
    requests: Requests<'_>,
    server_sql: &SqlProbe,
    direct: &DirectSql,
    owner: (Session, &str),
    small: OrgSeed,
    big: OrgSeed,
) -> Result<StatementCheck> {
    let (user, email) = owner;
    let me = server_sql
        .capture(graphql::check_me(requests.me, email))
        .await?;
    let members_small = server_sql
        .capture(graphql::check_member_count(
            requests.members_small,
            small.members,
        ))
        .await?;
    let members_big = server_sql
        .capture(graphql::check_member_count(
            requests.members_big,
            big.members,
        ))
        .await?;
    let me_direct = direct.probe.capture(direct::me(&direct.db, user)).await?;
    let members_direct = direct
        .probe
        .capture(expect_members(direct, user, big))
        .await?;
    Ok(StatementCheck {
        me,
        me_direct,
        members_small,
        members_big,
        members_direct,
        small_members: small.members,
        big_members: big.members,
    })
}

async fn expect_members(direct: &DirectSql, user: Session, org: OrgSeed) -> Result<()> {
    let found = direct::org_members(&direct.db, user, org.slug).await?;
    ensure!(
        found == org.members,
        "the direct query found {found} members in {}, expected {}",
        org.slug,
        org.members
    );
    Ok(())
}
