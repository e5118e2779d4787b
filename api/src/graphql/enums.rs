//! GraphQL enums and their domain counterparts.

use async_graphql::Enum;
use keynet_domain::entities::{dataset_uploads, datasets, projects};
use keynet_domain::invitations::InvitationStatus as DomainStatus;
use keynet_domain::roles;

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
mirror_enum!(Scope => roles::Scope { Read, Write, TrainerPush, Admin });
mirror_enum!(TaskType => projects::TaskType { Classification, Detection, Segmentation, Pose });
mirror_enum!(InvitationStatus => DomainStatus { Pending, Accepted, Revoked, Expired });
mirror_enum!(ImportStatus => datasets::ImportStatus { Empty, Queued, Importing, Ready, Failed });
mirror_enum!(UploadStatus => dataset_uploads::UploadStatus { AwaitingUpload, Queued, Importing, Succeeded, Failed });
