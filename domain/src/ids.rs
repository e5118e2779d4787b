//! Typed ids: a `UserId` cannot be passed where an `OrgId` is expected. All are UUID v7, so
//! ordering by id is ordering by creation time, which keyset pagination relies on.

use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sea_orm::DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses the textual form given by a client; `None` for anything that is not a UUID.
            pub fn parse(text: &str) -> Option<Self> {
                Uuid::parse_str(text).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, uuid::Error> {
                Uuid::parse_str(text).map(Self)
            }
        }

        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    )*};
}

id_type!(
    UserId,
    OrgId,
    MembershipId,
    InvitationId,
    ApiTokenId,
    ProjectId,
    AuditEntryId,
    RefreshTokenId,
    UserTokenId,
    SessionFamilyId,
    TaskId,
    BlobId,
    DatasetId,
    DatasetUploadId,
    ImportErrorId,
    SnapshotId,
    ExperimentId,
    ExperimentStarId,
    ExperimentNoteId,
    TrainerId,
    RegistryUploadId,
    UploadKeyId,
    TrainerVersionId,
    JobId,
    JobEventId,
    JobLogId,
    JobMetricId,
    ArtifactId,
    InferenceResultId,
    BusMessageId,
    InferenceUploadId,
    DeploymentId,
    DeploymentKeyId,
    ReplicaId,
    ServingHostId,
);
