//! People, organizations and what they may do: users, sessions, single-use email tokens,
//! organizations, memberships, invitations, API tokens, projects, the audit log and the
//! login throttle.

use crate::columns::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    EmailVerifiedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    UsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrgId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrgId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    RevokedAt,
    LastSentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    OrgId,
    UserId,
    Name,
    Prefix,
    TokenHash,
    Scopes,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    OrgId,
    Title,
    Summary,
    TaskType,
    CreatedBy,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OrgId,
    ActorId,
    Action,
    TargetType,
    TargetId,
    Metadata,
    ClientAddr,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(id(Users::Id))
                .col(text(Users::Email).unique_key().take())
                .col(text(Users::DisplayName))
                .col(text(Users::PasswordHash))
                .col(time_null(Users::EmailVerifiedAt))
                .col(time(Users::CreatedAt))
                .col(time(Users::UpdatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(id(RefreshTokens::Id))
                .col(uuid(RefreshTokens::UserId))
                .col(uuid(RefreshTokens::FamilyId))
                .col(text(RefreshTokens::TokenHash).unique_key().take())
                .col(time(RefreshTokens::ExpiresAt))
                .col(time_null(RefreshTokens::UsedAt))
                .col(time_null(RefreshTokens::RevokedAt))
                .col(time(RefreshTokens::CreatedAt))
                .foreign_key(&mut cascade(
                    RefreshTokens::Table,
                    RefreshTokens::UserId,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_refresh_tokens_family")
                .table(RefreshTokens::Table)
                .col(RefreshTokens::FamilyId)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(UserTokens::Table)
                .col(id(UserTokens::Id))
                .col(uuid(UserTokens::UserId))
                .col(text(UserTokens::Purpose))
                .col(text(UserTokens::TokenHash).unique_key().take())
                .col(time(UserTokens::ExpiresAt))
                .col(time_null(UserTokens::UsedAt))
                .col(time(UserTokens::CreatedAt))
                .foreign_key(&mut cascade(
                    UserTokens::Table,
                    UserTokens::UserId,
                    Users::Table,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(id(Organizations::Id))
                .col(text(Organizations::Name))
                .col(text(Organizations::Slug).unique_key().take())
                .col(time(Organizations::CreatedAt))
                .col(time(Organizations::UpdatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(id(Memberships::Id))
                .col(uuid(Memberships::OrgId))
                .col(uuid(Memberships::UserId))
                .col(text(Memberships::Role))
                .col(time(Memberships::CreatedAt))
                .foreign_key(&mut cascade(
                    Memberships::Table,
                    Memberships::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    Memberships::Table,
                    Memberships::UserId,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_memberships_org_user")
                .table(Memberships::Table)
                .col(Memberships::OrgId)
                .col(Memberships::UserId)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_memberships_user")
                .table(Memberships::Table)
                .col(Memberships::UserId)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invitations::Table)
                .col(id(Invitations::Id))
                .col(uuid(Invitations::OrgId))
                .col(text(Invitations::Email))
                .col(text(Invitations::Role))
                .col(text(Invitations::TokenHash).unique_key().take())
                .col(uuid_null(Invitations::InvitedBy))
                .col(time(Invitations::ExpiresAt))
                .col(time_null(Invitations::AcceptedAt))
                .col(uuid_null(Invitations::AcceptedBy))
                .col(time_null(Invitations::RevokedAt))
                .col(time(Invitations::LastSentAt))
                .col(time(Invitations::CreatedAt))
                .foreign_key(&mut cascade(
                    Invitations::Table,
                    Invitations::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut set_null(
                    Invitations::Table,
                    Invitations::InvitedBy,
                    Users::Table,
                ))
                .foreign_key(&mut set_null(
                    Invitations::Table,
                    Invitations::AcceptedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_invitations_org")
                .table(Invitations::Table)
                .col(Invitations::OrgId)
                .col(Invitations::Id)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(id(ApiTokens::Id))
                .col(uuid(ApiTokens::OrgId))
                .col(uuid(ApiTokens::UserId))
                .col(text(ApiTokens::Name))
                .col(text(ApiTokens::Prefix).unique_key().take())
                .col(text(ApiTokens::TokenHash))
                .col(json(ApiTokens::Scopes))
                .col(time_null(ApiTokens::ExpiresAt))
                .col(time_null(ApiTokens::LastUsedAt))
                .col(time_null(ApiTokens::RevokedAt))
                .col(time(ApiTokens::CreatedAt))
                .foreign_key(&mut cascade(
                    ApiTokens::Table,
                    ApiTokens::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut cascade(
                    ApiTokens::Table,
                    ApiTokens::UserId,
                    Users::Table,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Projects::Table)
                .col(id(Projects::Id))
                .col(uuid(Projects::OrgId))
                .col(text(Projects::Title))
                .col(text(Projects::Summary))
                .col(text(Projects::TaskType))
                .col(uuid_null(Projects::CreatedBy))
                .col(time_null(Projects::ArchivedAt))
                .col(time(Projects::CreatedAt))
                .col(time(Projects::UpdatedAt))
                .foreign_key(&mut cascade(
                    Projects::Table,
                    Projects::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut set_null(
                    Projects::Table,
                    Projects::CreatedBy,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_projects_org")
                .table(Projects::Table)
                .col(Projects::OrgId)
                .col(Projects::Id)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(id(AuditLog::Id))
                .col(uuid(AuditLog::OrgId))
                .col(uuid_null(AuditLog::ActorId))
                .col(text(AuditLog::Action))
                .col(text(AuditLog::TargetType))
                .col(text_null(AuditLog::TargetId))
                .col(json(AuditLog::Metadata))
                .col(text_null(AuditLog::ClientAddr))
                .col(time(AuditLog::CreatedAt))
                .foreign_key(&mut cascade(
                    AuditLog::Table,
                    AuditLog::OrgId,
                    Organizations::Table,
                ))
                .foreign_key(&mut set_null(
                    AuditLog::Table,
                    AuditLog::ActorId,
                    Users::Table,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_log_org")
                .table(AuditLog::Table)
                .col(AuditLog::OrgId)
                .col(AuditLog::Id)
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LoginThrottle::Table)
                .col(
                    ColumnDef::new(LoginThrottle::Key)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(int(LoginThrottle::Failures))
                .col(time(LoginThrottle::WindowStartedAt))
                .col(time_null(LoginThrottle::LockedUntil))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LoginThrottle::Table.into_iden(),
            AuditLog::Table.into_iden(),
            Projects::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Invitations::Table.into_iden(),
            Memberships::Table.into_iden(),
            Organizations::Table.into_iden(),
            UserTokens::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
