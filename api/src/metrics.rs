//! Prometheus metrics: HTTP requests by route and status, GraphQL operations by name and
//! outcome, deployments' requests and replicas, with latency histograms. One registry per running platform.

use async_graphql::Response;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use keynet_workers::serving::Replica;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;
use std::time::Duration;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_latency: HistogramVec,
    operations: IntCounterVec,
    operation_latency: HistogramVec,
    deployments: DeploymentMetrics,
}

/// Per deployment: requests by outcome and their latency (as this instance answered them),
/// and of the replicas this process holds: how many, their queues and their batch sizes.
struct DeploymentMetrics {
    requests: IntCounterVec,
    latency: HistogramVec,
    replicas: IntGaugeVec,
    queued: IntGaugeVec,
    batches: IntGaugeVec,
}

impl DeploymentMetrics {
    fn new() -> Self {
        Self {
            requests: IntCounterVec::new(
                Opts::new(
                    "deployment_requests_total",
                    "Endpoint requests by deployment and outcome (ok, or the error's class)",
                ),
                &["deployment", "outcome"],
            )
            .expect("valid metric"),
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "deployment_request_duration_seconds",
                    "Endpoint latency by deployment, request to answer",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["deployment"],
            )
            .expect("valid metric"),
            replicas: IntGaugeVec::new(
                Opts::new(
                    "deployment_replicas",
                    "Replicas this process holds, by deployment",
                ),
                &["deployment"],
            )
            .expect("valid metric"),
            queued: IntGaugeVec::new(
                Opts::new(
                    "deployment_queue_depth",
                    "Requests waiting for a batch on this process's replicas",
                ),
                &["deployment"],
            )
            .expect("valid metric"),
            batches: IntGaugeVec::new(
                Opts::new(
                    "deployment_batches",
                    "Batches run by this process's replicas since they started, by size",
                ),
                &["deployment", "size"],
            )
            .expect("valid metric"),
        }
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.latency.clone()),
            Box::new(self.replicas.clone()),
            Box::new(self.queued.clone()),
            Box::new(self.batches.clone()),
        ]
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("keynet".into()), None).expect("a constant prefix is valid");
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid metric");
        let operations = IntCounterVec::new(
            Opts::new(
                "graphql_operations_total",
                "GraphQL operations by name and outcome",
            ),
            &["operation", "outcome"],
        )
        .expect("valid metric");
        let operation_latency = HistogramVec::new(
            HistogramOpts::new(
                "graphql_operation_duration_seconds",
                "GraphQL operation latency",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation"],
        )
        .expect("valid metric");
        let deployments = DeploymentMetrics::new();
        let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(http_requests.clone()),
            Box::new(http_latency.clone()),
            Box::new(operations.clone()),
            Box::new(operation_latency.clone()),
        ];
        collectors.extend(deployments.collectors());
        for metric in collectors {
            registry.register(metric).expect("metric names are unique");
        }
        Self {
            registry,
            http_requests,
            http_latency,
            operations,
            operation_latency,
            deployments,
        }
    }

    pub fn observe_inference(&self, deployment: &str, outcome: &str, elapsed: Duration) {
        let metrics = &self.deployments;
        metrics
            .requests
            .with_label_values(&[deployment, outcome])
            .inc();
        metrics
            .latency
            .with_label_values(&[deployment])
            .observe(elapsed.as_secs_f64());
    }

    /// Sets the replica gauges from the replicas this process holds now.
    pub fn observe_replicas(&self, held: &[Arc<Replica>]) {
        let metrics = &self.deployments;
        metrics.replicas.reset();
        metrics.queued.reset();
        metrics.batches.reset();
        for replica in held {
            let deployment = replica.deployment_id.to_string();
            metrics.replicas.with_label_values(&[&deployment]).inc();
            metrics
                .queued
                .with_label_values(&[&deployment])
                .add(replica.queued() as i64);
            for (size, count) in replica.batches_by_size().iter().enumerate().skip(1) {
                if *count > 0 {
                    metrics
                        .batches
                        .with_label_values(&[&deployment, &size.to_string()])
                        .add(*count as i64);
                }
            }
        }
    }

    pub fn observe_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Operation names come from clients; only well-formed, short ones become labels, so a
/// client cannot blow up the number of series.
fn operation_label(name: Option<&str>) -> &str {
    match name {
        Some(n)
            if (1..=64).contains(&n.len())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            n
        }
        _ => "anonymous",
    }
}

pub struct OperationMetrics(pub Arc<Metrics>);

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationMetrics(self.0.clone()))
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OperationMetrics {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = std::time::Instant::now();
        let response = next.run(ctx, operation_name).await;
        let operation = operation_label(operation_name);
        let outcome = if response.is_ok() { "ok" } else { "error" };
        self.0
            .operations
            .with_label_values(&[operation, outcome])
            .inc();
        self.0
            .operation_latency
            .with_label_values(&[operation])
            .observe(started.elapsed().as_secs_f64());
        response
    }
}
