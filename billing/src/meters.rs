//! What is metered, and how a plan prices it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum Meter {
    /// GPUs × container runtime, in whole seconds (rounded up per attempt).
    #[sea_orm(string_value = "gpu_seconds")]
    GpuSeconds,
    /// CPUs asked × container runtime, in whole seconds (rounded up per attempt).
    #[sea_orm(string_value = "cpu_seconds")]
    CpuSeconds,
    /// One per inference job started.
    #[sea_orm(string_value = "inference_requests")]
    InferenceRequests,
}

impl Meter {
    pub const ALL: [Meter; 3] = [
        Meter::GpuSeconds,
        Meter::CpuSeconds,
        Meter::InferenceRequests,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Meter::GpuSeconds => "gpu_seconds",
            Meter::CpuSeconds => "cpu_seconds",
            Meter::InferenceRequests => "inference_requests",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Meter::GpuSeconds => "GPU time (GPU-seconds)",
            Meter::CpuSeconds => "CPU time (CPU-seconds)",
            Meter::InferenceRequests => "Inference requests",
        }
    }

    /// How many units the plan's price is for: prices are per GPU-hour, per CPU-hour and
    /// per thousand requests, so no unit price is fractional.
    pub fn price_unit(self) -> i64 {
        match self {
            Meter::GpuSeconds | Meter::CpuSeconds => 3600,
            Meter::InferenceRequests => 1000,
        }
    }
}

/// `quantity × price / per` in minor units, rounded half up; exact in 128 bits.
pub fn amount(quantity: i64, price: i64, per: i64) -> i64 {
    let per = i128::from(per.max(1));
    let numerator = i128::from(quantity) * i128::from(price);
    let rounded = (numerator * 2 + per) / (per * 2);
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_half_up_in_minor_units() {
        // 3,600 GPU-seconds at 250 per GPU-hour.
        assert_eq!(amount(3600, 250, 3600), 250);
        // 1 GPU-second at 250 per hour is 0.069 → 0; 8 s is 0.56 → 1.
        assert_eq!(amount(1, 250, 3600), 0);
        assert_eq!(amount(8, 250, 3600), 1);
        // Exactly half rounds up.
        assert_eq!(amount(500, 1, 1000), 1);
        assert_eq!(amount(499, 1, 1000), 0);
        assert_eq!(amount(0, 250, 3600), 0);
    }
}
