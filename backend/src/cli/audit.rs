//! `verify-audit` and `anchor-audit`: the audit chain, checked and anchored.

use crate::config::Settings;
use crate::db::connection::build_pool;
use anyhow::Context;
use secrecy::ExposeSecret;

/// `verify-audit`: walks the chain, then holds it against the newest anchor.
pub async fn verify(settings: &Settings) -> anyhow::Result<()> {
    let pool = build_pool(settings.database_url.expose_secret(), 1)?;
    let report = crate::services::audit_verify::verify(&pool)
        .await
        .context("cannot read the audit log (has `backend migrate` run?)")?;
    if let Some(broken) = &report.first_broken {
        anyhow::bail!(
            "audit log broken at entry #{}: {} ({} entries verified before it)",
            broken.id,
            broken.problem.describe(),
            report.checked
        );
    }
    println!("audit log intact: {} entries checked", report.checked);
    if report.legacy > 0 {
        println!(
            "{} older entries precede the chain and cannot be verified",
            report.legacy
        );
    }
    if let Some((id, hash)) = &report.head {
        println!("head: #{id} {hash} (keep it elsewhere to detect truncation)");
    }
    check_against_anchor(settings, &pool, &report).await?;
    Ok(())
}

/// `verify-audit`'s second half: the chain against the newest signed anchor.
async fn check_against_anchor(
    settings: &Settings,
    pool: &crate::db::Pool,
    report: &crate::services::audit_verify::ChainReport,
) -> anyhow::Result<()> {
    use crate::services::audit_anchor;
    if !audit_anchor::path(&settings.data_dir).exists() {
        println!("no audit anchor yet (`backend anchor-audit` writes one)");
        return Ok(());
    }
    let signing = crate::keys::signing::SigningKeys::load(settings)?.current();
    let Some(anchor) = audit_anchor::newest(&signing, &settings.data_dir)? else {
        return Ok(());
    };
    let head = report.head.clone();
    let claims = anchor.clone();
    let standing = crate::db::run(pool, move |c| {
        audit_anchor::standing(c, head.as_ref().map(|(i, h)| (*i, h.as_str())), &claims)
    })
    .await?;
    audit_anchor::refuse_unless_covered(&standing, &anchor)?;
    println!(
        "reaches its newest anchor: #{} ({}, {}{}; signature verified)",
        anchor.head_id,
        audit_anchor::when(anchor.anchored_at),
        anchor.reason,
        anchor
            .dropped
            .map(|n| format!(", which dropped {n} entries"))
            .unwrap_or_default()
    );
    Ok(())
}

pub async fn anchor(settings: &Settings) -> anyhow::Result<()> {
    use crate::services::audit_anchor::{self, Anchored};
    let pool = build_pool(settings.database_url.expose_secret(), 1)?;
    let signing = crate::keys::signing::SigningKeys::load(settings)?.current();
    match audit_anchor::anchor(&pool, &signing, &settings.data_dir, "command").await? {
        Anchored::Written(a) => println!("anchored #{} {}", a.head_id, a.head_hash),
        Anchored::Unchanged(a) => println!("already anchored: #{} {}", a.head_id, a.head_hash),
        Anchored::Empty => println!("the audit log has no chained entry yet: nothing to anchor"),
    }
    Ok(())
}
