//! The command line: `serve` (the default), `migrate`, `create-admin`,
//! `create-oauth-client`, `verify-audit`, `rotate-signing-key`, `rotate-keys`,
//! `rotate-session-key`, `keys status`, `workshop-reset`, `seed`, `backup`,
//! `restore`, `anchor-audit`, and for `KEY_PROVIDER=pkcs11` `hsm-init` and
//! `rotate-kek` (`cli/hsm.rs`).
//!
//! Every command that loads `FIELD_KEYS` first checks them against the data
//! (`services::field_keys::check`) and refuses to run when they cannot
//! decrypt it.

use crate::config::Settings;
use crate::db::{connection::build_pool, models::user::Role};
use crate::security::password;
use crate::services::{accounts, field_keys};
use crate::startup::migrations::migrate;
use crate::startup::Application;
use crate::state::AppState;
use actix_web::web;
use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::io::BufRead;
use wire::RegisterRequest;

mod audit;
mod hsm;
mod keys;
pub mod seed;

#[derive(Parser)]
#[command(name = "backend", about = "Secure reference app server", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the app on APP_ADDR (the default command).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Verify the audit log's hash chain, in id order. Exits non-zero naming
    /// the first broken entry (changed, unlinked or deleted). Only reads.
    VerifyAudit,
    /// Sign the audit chain's head (newest entry id and hash) with the JWT
    /// signing key and append it to APP_DATA_DIR/audit-anchors.jsonl and the
    /// log. Refused when the chain no longer reaches the newest anchor.
    AnchorAudit,
    /// A consistent copy of the SQLite database, taken while the server
    /// runs, and FILE.manifest.json beside it. PostgreSQL: see docs/operations.md.
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Put a backup in place of the SQLite database, or (PostgreSQL) into
    /// an empty database with --into. Refused unless the keys (FIELD_KEYS,
    /// or with KEY_PROVIDER=pkcs11 the backup's data keys unwrapped by the
    /// token) decrypt it and its audit chain verifies; never while a server
    /// runs on the database; over an existing one only with --force.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace an existing database (kept beside it).
        #[arg(long)]
        force: bool,
        /// PostgreSQL: the URL of an empty database to restore into (the
        /// live one is never touched); then point DATABASE_URL at it.
        #[arg(long, conflicts_with = "force")]
        into: Option<String>,
    },
    /// Add a new current RS256 signing key to SIGNING_KEYS_DIR (with
    /// KEY_PROVIDER=pkcs11: generate it in the token). Tokens signed by older
    /// keys keep verifying until they expire; running servers pick the new
    /// key up within 30 seconds. Keys that can no longer verify are removed.
    RotateSigningKey,
    /// KEY_PROVIDER=pkcs11: create what the token lacks — a signing key, a
    /// key-encryption key — and the first wrapped field data key (FIELD_KEYS'
    /// keys when it is set: the move from files). Changes nothing present.
    HsmInit,
    /// KEY_PROVIDER=pkcs11: a new key-encryption key in the token, and every
    /// field data key re-wrapped under it in one transaction (audited). The
    /// older key-encryption keys stay in the token for older backups.
    RotateKek,
    /// Re-wrap every user's data key under the current field key, the first
    /// of FIELD_KEYS (keep the old keys after it), and move every value
    /// still under a field key (`v1`: TOTP secrets, SSNs from before per-user
    /// keys) under its user's data key. Works in batches while the app
    /// serves; an interrupted run resumes when run again, and what is
    /// already current is skipped.
    /// Refused while a live instance does not hold that key yet.
    RotateKeys {
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
        /// KEY_PROVIDER=pkcs11: first add a new data key, wrapped by the
        /// token and made current (audited); then re-encrypt under it once
        /// every live instance holds it (restart them, run again without
        /// this flag, which resumes).
        #[arg(long)]
        new_data_key: bool,
    },
    /// One step of changing SESSION_KEY (docs/operations.md: *Rotating the session
    /// key*): prints the SESSION_KEY value to deploy next on standard output
    /// (key material: send it to your secret store, not to a terminal log)
    /// and the step after it on standard error. Changes nothing itself.
    RotateSessionKey {
        #[command(subcommand)]
        step: SessionKeyStep,
    },
    /// The field keys: `keys status`.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Workshop mode: clear every participant's solved challenges (for the
    /// next group). Recorded in the audit log as `workshop.reset`.
    WorkshopReset,
    /// Development and load tests only (refused with APP_ENV=production):
    /// bulk-insert fake users (user0000001, user0000001@example.test, …,
    /// numbered on from any seeded before) and audit entries that continue
    /// the hash chain (`verify-audit` still passes). The users share one
    /// hash of a random password that is thrown away: nobody can sign in as
    /// a seeded user.
    Seed {
        /// Users to create.
        #[arg(long, default_value_t = 0)]
        users: u64,
        /// Audit entries to append (their actors: the new users, or else
        /// existing ones).
        #[arg(long, default_value_t = 0)]
        audit: u64,
    },
    /// Create an administrator. The password is read from standard input
    /// (one line), so it never appears in the shell history or process list.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
    /// Register an OAuth client. Prints its id and, for a confidential
    /// client, its secret (shown this once; only an HMAC is stored).
    CreateOauthClient {
        #[arg(long)]
        name: String,
        /// Repeat for several; matched exactly (loopback: any port).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uri: Vec<String>,
        /// A public client (native or browser app): no secret, PKCE only.
        #[arg(long)]
        public: bool,
        /// A scope the client may ask for; repeat for several.
        #[arg(long = "scope")]
        scope: Vec<String>,
        /// The resource server its access tokens are for (their `aud`);
        /// default: this app's API, the only audience /api/v1 accepts.
        #[arg(long)]
        audience: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SessionKeyStep {
    /// Step 1: a new random key under a new id, after the current one.
    /// Refused while an added key is not current yet.
    Add,
    /// Step 2: the added key first (current). Refused until every live
    /// instance holds it.
    Promote,
    /// Step 4: the key KID out of the set. Refused for the current key, and
    /// while live rows are under it or a live instance stores under it,
    /// unless --force (a leaked key: what is under it ends now).
    Retire {
        kid: String,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Per encrypted column, the rows under each key id; the key ids each
    /// live instance holds; and, per key id, whether it can leave
    /// FIELD_KEYS; then the live rows per SESSION_KEY key id and whether it
    /// can leave SESSION_KEY. Exits non-zero when FIELD_KEYS cannot decrypt
    /// the data.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            if let Some(banner) = crate::dev_banner::banner(&settings) {
                // Both: stderr for whoever started it, the log for whoever reads it later.
                eprintln!("{banner}");
                tracing::warn!("{banner}");
            }
            let workshop = settings.workshop;
            let tls = settings.tls.is_some();
            let app = Application::build(settings).await?;
            if workshop {
                tracing::warn!(
                    "WORKSHOP MODE IS ON (APP_WORKSHOP=1): deliberately observable, not for production"
                );
            }
            tracing::info!(
                port = app.port(),
                management_port = app.management_port(),
                tls,
                "listening"
            );
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let pool = build_pool(settings.database_url.expose_secret(), 1)?;
            let applied =
                crate::startup::migrations::migrate_as_configured(&settings, &pool).await?;
            println!("{applied} migration(s) applied");
        }
        Command::AnchorAudit => audit::anchor(&settings).await?,
        Command::Backup { to } => backup(&settings, &to)?,
        Command::Restore { from, force, into } => {
            restore(&settings, &from, force, into.as_deref())?
        }
        Command::VerifyAudit => audit::verify(&settings).await?,
        Command::HsmInit => hsm::init(&settings).await?,
        Command::RotateKek => hsm::rotate_kek(&settings).await?,
        Command::RotateKeys {
            batch_size,
            new_data_key,
        } => keys::rotate_keys(&settings, batch_size, new_data_key).await?,
        Command::RotateSessionKey { step } => keys::rotate_session_key(&settings, step).await?,
        Command::Keys {
            action: KeysCommand::Status { json },
        } => keys::status(&settings, json).await?,
        Command::WorkshopReset => {
            let pool = build_pool(settings.database_url.expose_secret(), 1)?;
            migrate(&pool).await?;
            let removed = crate::services::workshop::reset(&pool, None)
                .await
                .map_err(|e| anyhow::anyhow!("the solves were not cleared: {e}"))?;
            println!("workshop reset: {removed} solve(s) cleared");
        }
        Command::Seed { users, audit } => {
            use seed::SeedOptions;
            seed::refuse_in_production(&settings)?;
            let pool = build_pool(settings.database_url.expose_secret(), 1)?;
            migrate(&pool).await?;
            let report = seed::seed(&pool, SeedOptions { users, audit }, |table, done, of| {
                eprintln!("{table}: {done}/{of}");
            })
            .await
            // The cause chain (`{e:#}` in main) says which statement failed.
            .map_err(|e| anyhow::Error::new(e).context("seeding stopped"))?;
            println!(
                "{} users in {:.1} s ({:.0} rows/s); {} audit entries in {:.1} s ({:.0} rows/s)",
                report.users,
                report.users_secs,
                seed::rate(report.users, report.users_secs),
                report.audit,
                report.audit_secs,
                seed::rate(report.audit, report.audit_secs)
            );
        }
        Command::RotateSigningKey => keys::rotate_signing_key(&settings)?,
        Command::CreateOauthClient {
            name,
            redirect_uri,
            public,
            scope,
            audience,
        } => {
            use crate::services::oauth_clients::{self, NewClient};
            let pool = build_pool(settings.database_url.expose_secret(), 2)?;
            migrate(&pool).await?;
            let keys = crate::services::key_loading::load_keys(&settings, &pool).await?;
            let keys = field_keys::refuse_unless_decryptable(&pool, keys, |k| &k.fields).await?;
            crate::services::session_keys::refuse_reused_ids(&pool, &keys.session).await?;
            let new = NewClient {
                name,
                redirect_uris: redirect_uri,
                public,
                scopes: scope,
                audience,
            };
            let created = oauth_clients::create_client(
                &pool,
                &keys.session,
                None,
                Some("cli".to_owned()),
                new,
            )
            .await
            .map_err(|e| anyhow::anyhow!("the client was not created: {e}"))?;
            println!("client_id: {}", created.id);
            match created.secret {
                Some(secret) => {
                    println!("client_secret: {secret}");
                    println!("(the secret is shown this once; only its HMAC is stored)");
                }
                None => println!("public client: no secret, PKCE (S256) required"),
            }
        }
        Command::CreateAdmin { username, email } => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']).to_owned();
            let pool = build_pool(settings.database_url.expose_secret(), 2)?;
            migrate(&pool).await?;
            let keys = crate::services::key_loading::load_keys(&settings, &pool).await?;
            let keys = field_keys::refuse_unless_decryptable(&pool, keys, |k| &k.fields).await?;
            crate::services::session_keys::refuse_reused_ids(&pool, &keys.session).await?;
            let state = AppState {
                keys,
                dummy_hash: web::block(password::dummy_hash)
                    .await?
                    .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?,
                policy: settings.policy(),
                decision_stats: Default::default(),
                metrics: Default::default(),
                settings,
                pool,
                clock: Default::default(),
                rate_limits: Default::default(),
                shared_limit: None,
                login_throttle: Default::default(),
                identity_cache: Default::default(),
                password_work: Default::default(),
            };
            let request = RegisterRequest {
                email,
                username,
                password,
            };
            let created = accounts::register(
                &state,
                None,
                request,
                &[Role::Admin, Role::User],
                accounts::EmailClaim::Proven,
            )
            .await
            .map_err(crate::error::AppError::from);
            match created {
                Ok(user) => println!("created administrator {} ({})", user.username, user.id),
                Err(crate::error::AppError::Validation(fields)) => {
                    for f in fields {
                        eprintln!("{}: {}", f.field, f.message);
                    }
                    anyhow::bail!("the administrator was not created");
                }
                Err(e) => anyhow::bail!("the administrator was not created: {e}"),
            }
        }
    }
    Ok(())
}

fn backup(settings: &Settings, to: &std::path::Path) -> anyhow::Result<()> {
    let m = crate::services::backup::backup(settings.database_url.expose_secret(), to)?;
    println!("backup written: {} ({} bytes)", to.display(), m.bytes);
    println!(
        "manifest: {}",
        crate::services::backup::manifest_path(to).display()
    );
    if let Some(h) = &m.audit_head {
        println!("audit head: #{} {}", h.id, h.hash);
    }
    Ok(())
}

fn restore(
    settings: &Settings,
    from: &std::path::Path,
    force: bool,
    into: Option<&str>,
) -> anyhow::Result<()> {
    use crate::security::audit_anchor::Standing;
    use crate::services::restore::{self, BackupKeys};
    let token = crate::key_provider::token(settings)?;
    let files;
    let keys = match &token {
        Some(token) => BackupKeys::Token(token),
        None => {
            files = crate::keys::symmetric::field_keys_from_files(settings)?;
            BackupKeys::Files(&files)
        }
    };
    let signing = crate::keys::signing::SigningKeys::load(settings)?.current();
    let url = settings.database_url.expose_secret();
    let r = match into {
        Some(into) => {
            restore::restore_into_postgres(url, into, from, &keys, &signing, &settings.data_dir)?
        }
        None => restore::restore(url, from, force, &keys, &signing, &settings.data_dir)?,
    };
    if let Some(kept) = &r.previous_kept_at {
        println!("the database it replaced is kept at {}", kept.display());
    }
    let head = r.manifest.audit_head.as_ref();
    println!(
        "restored {} (taken {}); audit log verified up to #{}",
        from.display(),
        r.manifest.created_at,
        head.map_or(0, |h| h.id)
    );
    if let Some((anchor, Standing::Behind { missing, .. })) = &r.against_anchor {
        eprintln!(
            "WARNING: the newest audit anchor (#{}, {}) covered {missing} entr{} after the \
             backup's head: they are not in the restored database (entries #{} to #{})",
            anchor.head_id,
            crate::services::audit_anchor::when(anchor.anchored_at),
            if *missing == 1 { "y" } else { "ies" },
            head.map_or(0, |h| h.id) + 1,
            anchor.head_id
        );
    }
    if let Some(point_at) = &r.point_at {
        println!(
            "next: stop the servers, set DATABASE_URL (and DATABASE_MIGRATION_URL) to {point_at} \
             (with its password), and start them"
        );
    }
    Ok(())
}
