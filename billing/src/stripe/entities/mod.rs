//! The tables the Stripe sync keeps (migration `m20261204_000012_billing`).

pub mod stripe_meter_events;
pub mod stripe_reconciliations;
