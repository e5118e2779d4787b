//! Plans: their names, and the limits and prices configuration gives each.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum PlanName {
    #[sea_orm(string_value = "free")]
    Free,
    #[sea_orm(string_value = "team")]
    Team,
    #[sea_orm(string_value = "enterprise")]
    Enterprise,
}

impl PlanName {
    pub fn name(self) -> &'static str {
        match self {
            PlanName::Free => "free",
            PlanName::Team => "team",
            PlanName::Enterprise => "enterprise",
        }
    }
}

/// One plan's limits (`None`: unlimited) and prices (minor units of the billing currency).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Plan {
    /// Jobs queued or running at once.
    pub concurrent_jobs: Option<i64>,
    pub gpu_seconds_per_month: Option<i64>,
    /// Bytes of stored files (datasets, checkpoints, artifacts).
    pub storage_bytes: Option<i64>,
    pub inference_requests_per_minute: Option<i64>,
    /// Charged every period.
    pub monthly_fee: i64,
    pub gpu_hour_price: i64,
    pub cpu_hour_price: i64,
    pub inference_price_per_thousand: i64,
    /// The Stripe price of the plan's subscription, when Stripe is configured.
    pub stripe_price_id: Option<String>,
}

impl Default for Plan {
    fn default() -> Self {
        Plans::default().free
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Plans {
    pub free: Plan,
    pub team: Plan,
    pub enterprise: Plan,
}

const GIB: i64 = 1024 * 1024 * 1024;

impl Default for Plans {
    fn default() -> Self {
        Self {
            free: Plan {
                concurrent_jobs: Some(2),
                gpu_seconds_per_month: Some(10 * 3600),
                storage_bytes: Some(5 * GIB),
                inference_requests_per_minute: Some(60),
                monthly_fee: 0,
                gpu_hour_price: 0,
                cpu_hour_price: 0,
                inference_price_per_thousand: 0,
                stripe_price_id: None,
            },
            team: Plan {
                concurrent_jobs: Some(10),
                gpu_seconds_per_month: Some(500 * 3600),
                storage_bytes: Some(500 * GIB),
                inference_requests_per_minute: Some(600),
                monthly_fee: 4900,
                gpu_hour_price: 250,
                cpu_hour_price: 5,
                inference_price_per_thousand: 50,
                stripe_price_id: None,
            },
            enterprise: Plan {
                concurrent_jobs: Some(100),
                gpu_seconds_per_month: None,
                storage_bytes: Some(10 * 1024 * GIB),
                inference_requests_per_minute: Some(6000),
                monthly_fee: 0,
                gpu_hour_price: 200,
                cpu_hour_price: 4,
                inference_price_per_thousand: 40,
                stripe_price_id: None,
            },
        }
    }
}

impl Plans {
    pub fn get(&self, name: PlanName) -> &Plan {
        match name {
            PlanName::Free => &self.free,
            PlanName::Team => &self.team,
            PlanName::Enterprise => &self.enterprise,
        }
    }
}

impl Plan {
    /// The price of `meter`, per `meter.price_unit()` units.
    pub fn price(&self, meter: crate::meters::Meter) -> i64 {
        use crate::meters::Meter;
        match meter {
            Meter::GpuSeconds => self.gpu_hour_price,
            Meter::CpuSeconds => self.cpu_hour_price,
            Meter::InferenceRequests => self.inference_price_per_thousand,
        }
    }
}
