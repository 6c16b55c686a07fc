//! Applying the database migrations at start-up and from the commands: on
//! the app's pool, or through the schema owner (`DATABASE_MIGRATION_URL`)
//! with the app's role granted what it needs.

use crate::config::Settings;
use crate::db::{self, connection::build_pool, Pool};
use actix_web::web;
use anyhow::Context;
use secrecy::ExposeSecret;

/// Applies pending migrations: through `DATABASE_MIGRATION_URL` (the schema
/// owner) when it is set, then grants the role of `pool` (`DATABASE_URL`)
/// what the app needs (`db::migrations::grant_app_role`); else through
/// `pool` itself.
pub async fn migrate_as_configured(settings: &Settings, pool: &Pool) -> anyhow::Result<usize> {
    let Some(owner_url) = &settings.database_migration_url else {
        return migrate(pool).await;
    };
    let owner = build_pool(owner_url.expose_secret(), 1)
        .context("cannot open the database (check DATABASE_MIGRATION_URL)")?;
    let applied = migrate(&owner).await?;
    let app_pool = pool.clone();
    web::block(move || -> anyhow::Result<()> {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Role {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let role = match &mut *app_pool.get()? {
            db::DbConn::Postgres(c) => {
                diesel::sql_query("SELECT current_user::text AS name")
                    .get_result::<Role>(c)?
                    .name
            }
            db::DbConn::Sqlite(_) => return Ok(()),
        };
        db::migrations::grant_app_role(&mut *owner.get()?, &role)
    })
    .await??;
    Ok(applied)
}

/// Applies pending migrations on a blocking thread.
pub async fn migrate(pool: &Pool) -> anyhow::Result<usize> {
    let pool = pool.clone();
    let applied = web::block(move || {
        let mut conn = pool.get()?;
        db::migrations::run(&mut conn)
    })
    .await??;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(applied)
}
