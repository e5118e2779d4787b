//! Deployments on a worker host: the replicas it holds ([`LocalReplicas`]) and the loop that
//! decides which ([`ServingHost`]).

mod host;
mod replicas;

pub use host::{ServingHost, ServingHostConfig};
pub use replicas::{LocalReplicas, Replica};
