//! One clock for the domain. Timestamps are cut to microseconds so they survive a round
//! trip through PostgreSQL unchanged and compare correctly as text on SQLite.

use chrono::{DateTime, SubsecRound, Utc};

pub type Timestamp = DateTime<Utc>;

pub fn now() -> Timestamp {
    Utc::now().trunc_subsecs(6)
}
