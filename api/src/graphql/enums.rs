//! GraphQL enums and their domain counterparts.

use async_graphql::Enum;
use keynet_domain::entities::{
    dataset_uploads, datasets, deployment_replicas, deployments, job_logs, jobs, projects,
    trainer_versions,
};
use keynet_domain::invitations::InvitationStatus as DomainStatus;
use keynet_domain::roles;
use keynet_marketplace as marketplace;

macro_rules! mirror_enum {
    ($name:ident => $domain:ty { $($variant:ident),* $(,)? }) => {
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => Self::$variant),* }
            }
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => Self::$variant),* }
            }
        }
    };
}

mirror_enum!(Role => roles::Role { Owner, Admin, Member, Viewer });
mirror_enum!(Scope => roles::Scope { Read, Write, TrainerPush, Inference, Admin });
mirror_enum!(TaskType => projects::TaskType { Classification, Detection, Segmentation, Pose });
mirror_enum!(InvitationStatus => DomainStatus { Pending, Accepted, Revoked, Expired });
mirror_enum!(ImportStatus => datasets::ImportStatus { Empty, Queued, Importing, Ready, Failed });
mirror_enum!(DatasetSplit => keynet_domain::datasets::SplitName { Train, Val, Test });

/// Whether a dataset can be snapshotted and trained on.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetStatus {
    /// No import has succeeded yet.
    Empty,
    /// It has content; it stays ready while a later import runs or after it is refused.
    Ready,
}
mirror_enum!(UploadStatus => dataset_uploads::UploadStatus { AwaitingUpload, Queued, Importing, Succeeded, Failed });

mirror_enum!(JobKind => jobs::JobKind { Training, Inference, Export, Validation });
mirror_enum!(JobStatus => jobs::JobStatus { Queued, Running, Succeeded, Failed, Cancelled });
mirror_enum!(CheckpointKind => jobs::CheckpointKind { Best, Last });
mirror_enum!(DeploymentStatus => deployments::DeploymentStatus { Pending, Starting, Ready, ScaledToZero, Stopped, Failed });
mirror_enum!(DeploymentRuntime => deployments::Runtime { Onnx });
mirror_enum!(ReplicaStatus => deployment_replicas::ReplicaStatus { Starting, Ready });
mirror_enum!(LogLevel => job_logs::LogLevel { Debug, Info, Warning, Error });
mirror_enum!(LogSource => job_logs::LogSource { Trainer, Stdout, Stderr, Platform });
mirror_enum!(TrainerRuntime => trainer_versions::Runtime { Image, Local });
mirror_enum!(TrainerVersionStatus => trainer_versions::VersionStatus { AwaitingUpload, Validating, Scanning, TestRun, Ready, Rejected, Expired });
mirror_enum!(CheckStatus => trainer_versions::CheckStatus { Passed, Warning, Failed });
mirror_enum!(ParamType => keynet_hyperparameters::ParamType { Str, Int, Float, Bool });
mirror_enum!(MarketplaceSort => marketplace::MarketplaceSort { Popular, Rating, Newest });
mirror_enum!(HyperParameterChangeKind => keynet_hyperparameters::ChangeKind { Added, Removed, TypeChanged, DefaultChanged, RequiredChanged });

/// The formats `startExportJob` knows; each trainer declares the ones it produces.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Onnx,
    Torchscript,
    Tensorrt,
    Coreml,
    Tflite,
    Openvino,
}

impl ExportFormat {
    pub fn domain_name(self) -> &'static str {
        match self {
            Self::Onnx => "onnx",
            Self::Torchscript => "torchscript",
            Self::Tensorrt => "tensorrt",
            Self::Coreml => "coreml",
            Self::Tflite => "tflite",
            Self::Openvino => "openvino",
        }
    }

    pub fn from_domain(name: &str) -> Option<Self> {
        [
            Self::Onnx,
            Self::Torchscript,
            Self::Tensorrt,
            Self::Coreml,
            Self::Tflite,
            Self::Openvino,
        ]
        .into_iter()
        .find(|format| format.domain_name() == name)
    }
}

mirror_enum!(PlanName => keynet_billing::plans::PlanName { Free, Team, Enterprise });
mirror_enum!(AccountStatus => keynet_billing::entities::billing_accounts::AccountStatus { Active, PastDue, Canceled });
mirror_enum!(Meter => keynet_billing::meters::Meter { GpuSeconds, CpuSeconds, InferenceRequests });
mirror_enum!(UsageGroupBy => keynet_billing::usage::GroupBy { Day, Month, Meter, Project, Experiment, Job, TrainerVersion, Deployment });
mirror_enum!(InvoiceStatus => keynet_billing::entities::invoices::InvoiceStatus { Draft, Open, Paid, Uncollectible, Void });
