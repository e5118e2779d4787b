//! Indexes that make claiming a task cost the same whatever the backlog: one over the due
//! tasks in the order they are taken, one over leased tasks by lease end (for taking over
//! a lost worker's task). Both partial, so they hold only the rows a claim can want; the
//! old index over every row by status and time goes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes with a sort order: plain SQL, the same on SQLite and PostgreSQL.
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX idx_tasks_claim").await?;
        db.execute_unprepared(
            "CREATE INDEX idx_tasks_due ON tasks (priority DESC, run_at) WHERE status = 'queued'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_tasks_leased ON tasks (locked_until) WHERE status = 'running'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX idx_tasks_leased").await?;
        db.execute_unprepared("DROP INDEX idx_tasks_due").await?;
        db.execute_unprepared("CREATE INDEX idx_tasks_claim ON tasks (status, run_at)")
            .await?;
        Ok(())
    }
}
