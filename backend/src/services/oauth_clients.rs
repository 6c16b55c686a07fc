//! OAuth client management: registration (`backend create-oauth-client` and
//! the admin page), listing, editing, secret rotation and deletion.
//!
//! A confidential client's secret is 256 random bits, returned once by
//! [`create_client`] or [`rotate_secret`] and stored only as its HMAC under
//! SESSION_KEY; it never reaches the audit log or the logs. Every change is
//! audited (`oauth.client_created`, `oauth.client_updated` with what changed,
//! `oauth.client_secret_rotated`, `oauth.client_deleted`) with the acting
//! admin as actor and the client id as target.
//!
//! Grants already given keep their scope and audience (the session recorded
//! them), so an edit never widens one; an edit that removes a scope ends the
//! client's sessions holding it, and deleting a client ends all of its
//! sessions (its codes go with it).

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::oauth::{ClientEdit, OAuthClient, OAuthGrant},
    models::session::Session,
    Pool,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::security::policy::SCOPES;
use crate::security::session_keys::SessionKeys;
use crate::security::{pkce, refresh_token::RefreshToken};
use crate::services::devices::rfc3339;
use crate::services::oauth::{valid_audience, valid_scope_token};
use crate::services::sessions;
use wire::{ClientName, OAuthClientInfo, OAuthClientList, OAuthScopeInfo};

/// Session revocation reason when the client that opened it is deleted.
pub const DELETED_REASON: &str = "oauth_client_deleted";
/// Session revocation reason when a scope the session holds is taken from its client.
pub const SCOPE_REMOVED_REASON: &str = "oauth_client_scope_removed";
/// At most this many redirect URIs per client.
const MAX_REDIRECT_URIS: usize = 20;

/// A client to register.
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub scopes: Vec<String>,
    /// The resource server its tokens are for; `None`: this app's API.
    pub audience: Option<String>,
}

/// What an admin may change on a client (everything but its kind and secret).
pub struct ClientChanges {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// `None` or empty: this app's API.
    pub audience: Option<String>,
}

/// A registered client; `secret` is shown once and never stored.
pub struct CreatedClient {
    pub id: String,
    pub secret: Option<String>,
    pub info: OAuthClientInfo,
}

/// Checked, normalised values: the name trimmed, redirect URIs in their
/// order without repeats, scopes sorted without repeats, an empty audience
/// as none.
struct Valid {
    name: String,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    audience: Option<String>,
}

impl Valid {
    fn edit(&self) -> ClientEdit {
        ClientEdit {
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.join("\n"),
            scopes: self.scopes.join(" "),
            audience: self.audience.clone(),
        }
    }
}

fn validate(
    name: &str,
    redirect_uris: &[String],
    scopes: &[String],
    audience: Option<&str>,
) -> AppResult<Valid> {
    let name = ClientName::parse(name).map_err(AppError::bad_request)?;
    if redirect_uris.is_empty() || redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(AppError::BadRequest(
            "give between 1 and 20 redirect URIs".into(),
        ));
    }
    if let Some(bad) = redirect_uris
        .iter()
        .find(|u| !pkce::redirect_uri_registrable(u))
    {
        return Err(AppError::BadRequest(format!(
            "redirect URI not allowed (https, http on 127.0.0.1/[::1], or a private-use scheme; no fragment): {bad}"
        )));
    }
    let known = |s: &str| SCOPES.iter().any(|(n, _)| *n == s);
    if let Some(bad) = scopes.iter().find(|s| !valid_scope_token(s) || !known(s)) {
        return Err(AppError::BadRequest(format!("invalid scope: {bad}")));
    }
    let audience = match audience.map(str::trim) {
        None | Some("") => None,
        Some(a) if valid_audience(a) => Some(a.to_owned()),
        Some(_) => {
            return Err(AppError::BadRequest(
                "the audience must be an absolute URI (or name) of up to 200 characters, without spaces"
                    .into(),
            ))
        }
    };
    let mut uris: Vec<String> = Vec::with_capacity(redirect_uris.len());
    for u in redirect_uris {
        if !uris.contains(u) {
            uris.push(u.clone());
        }
    }
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    Ok(Valid {
        name: name.into_inner(),
        redirect_uris: uris,
        scopes,
        audience,
    })
}

/// The admin API's view of a client (never its secret or its HMAC).
pub fn info(c: &OAuthClient) -> OAuthClientInfo {
    OAuthClientInfo {
        id: c.id.clone(),
        name: c.name.clone(),
        public: c.is_public(),
        redirect_uris: c.redirect_uri_list(),
        scopes: c.scope_list().into_iter().map(str::to_owned).collect(),
        audience: c.audience.clone(),
        created_at: rfc3339(c.created_at),
        created_by: c.created_by.clone(),
        updated_at: c.updated_at.map(rfc3339),
    }
}

/// The scopes a client can be given, with the permission each carries.
pub fn known_scopes() -> Vec<OAuthScopeInfo> {
    SCOPES
        .iter()
        .map(|(name, permission)| OAuthScopeInfo {
            name: (*name).to_owned(),
            permission: permission.as_str().to_owned(),
        })
        .collect()
}

/// Registers a client (audited as `oauth.client_created`). `actor`: the
/// admin's user id, or `cli`.
pub async fn create_client(
    pool: &Pool,
    session_keys: &SessionKeys,
    meta: Option<&RequestMeta>,
    actor: Option<String>,
    new: NewClient,
) -> AppResult<CreatedClient> {
    let v = validate(
        &new.name,
        &new.redirect_uris,
        &new.scopes,
        new.audience.as_deref(),
    )?;
    let secret = (!new.public).then(RefreshToken::generate);
    let row = OAuthClient {
        id: uuid::Uuid::new_v4().to_string(),
        name: v.name.clone(),
        secret_hash: secret
            .as_ref()
            .map(|s| session_keys.digest(|k| s.digest(k))),
        redirect_uris: v.redirect_uris.join("\n"),
        scopes: v.scopes.join(" "),
        created_at: sessions::now(),
        created_by: actor.clone(),
        audience: v.audience.clone(),
        updated_at: None,
    };
    let detail = serde_json::json!({
        "client_id": row.id,
        "name": v.name,
        "public": new.public,
        "redirect_uris": v.redirect_uris,
        "scopes": v.scopes,
        "audience": v.audience,
    });
    let client = info(&row);
    let id = row.id.clone();
    let m = meta.cloned();
    let event = AuditEvent::new("oauth.client_created", Outcome::Success)
        .actor_opt(actor)
        .target(id.clone())
        .detail(detail);
    db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            OAuthClient::create(c, &row)?;
            audit::record_in(c, m.as_ref(), event)
        })
    })
    .await?;
    Ok(CreatedClient {
        id,
        secret: secret.map(|s| s.expose().to_owned()),
        info: client,
    })
}

/// Every client, newest first, and the scopes that can be given.
pub async fn list_clients(pool: &Pool) -> AppResult<OAuthClientList> {
    let rows = db::run(pool, |c| Ok(OAuthClient::list(c)?)).await?;
    Ok(OAuthClientList {
        clients: rows.iter().map(info).collect(),
        scopes: known_scopes(),
    })
}

/// One client; `NotFound` for an unknown id.
pub async fn get_client(pool: &Pool, id: &str) -> AppResult<OAuthClientInfo> {
    let id = id.to_owned();
    db::run(pool, move |c| Ok(OAuthClient::find(c, &id)?))
        .await?
        .map(|c| info(&c))
        .ok_or(AppError::NotFound)
}

/// `from`/`to` of a changed value, for the audit detail.
fn change<T: serde::Serialize + PartialEq>(from: &T, to: &T) -> Option<serde_json::Value> {
    (from != to).then(|| serde_json::json!({ "from": from, "to": to }))
}

/// What a list gained and lost, for the audit detail.
fn list_change(from: &[String], to: &[String]) -> Option<serde_json::Value> {
    let added: Vec<&String> = to.iter().filter(|x| !from.contains(x)).collect();
    let removed: Vec<&String> = from.iter().filter(|x| !to.contains(x)).collect();
    (!added.is_empty() || !removed.is_empty())
        .then(|| serde_json::json!({ "added": added, "removed": removed }))
}

/// Changes a client's name, redirect URIs, scopes and audience (audited as
/// `oauth.client_updated`, naming each changed field). Sessions holding a
/// scope that was removed are ended. Nothing changed: nothing is written.
pub async fn update_client(
    pool: &Pool,
    meta: Option<&RequestMeta>,
    actor: &str,
    id: &str,
    changes: ClientChanges,
) -> AppResult<OAuthClientInfo> {
    let v = validate(
        &changes.name,
        &changes.redirect_uris,
        &changes.scopes,
        changes.audience.as_deref(),
    )?;
    let (id_owned, by, m) = (id.to_owned(), actor.to_owned(), meta.cloned());
    let now = sessions::now();
    let edit = v.edit();
    db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            let Some(old) = OAuthClient::find(c, &id_owned)? else {
                return Err(AppError::NotFound);
            };
            let before = info(&old);
            let old_edit = ClientEdit {
                name: old.name.clone(),
                redirect_uris: old.redirect_uris.clone(),
                scopes: old.scopes.clone(),
                audience: old.audience.clone(),
            };
            if old_edit == edit {
                return Ok(before);
            }
            OAuthClient::update(c, &id_owned, &edit, now)?;
            // A grant keeps its scopes: end the ones holding a removed scope.
            let kept: Vec<&str> = edit.scopes.split(' ').collect();
            let mut revoked = 0;
            for s in OAuthClient::open_sessions(c, &id_owned)? {
                let holds_removed = s
                    .oauth_scope
                    .as_deref()
                    .unwrap_or_default()
                    .split(' ')
                    .any(|x| !x.is_empty() && !kept.contains(&x));
                if holds_removed && Session::revoke(c, &s.id, SCOPE_REMOVED_REASON, now)? {
                    revoked += 1;
                }
            }
            // The users' approvals of a removed scope go too, in the same
            // write: were the scope given back later, the consent page would
            // otherwise call it "allowed before" and not mark it new, vouching
            // for an approval whose sessions were just ended.
            OAuthGrant::narrow_to(c, &id_owned, &kept, now)?;
            let after =
                info(&OAuthClient::find(c, &id_owned)?.ok_or_else(|| {
                    AppError::internal(anyhow::anyhow!("updated client vanished"))
                })?);
            audit::record_in(
                c,
                m.as_ref(),
                AuditEvent::new("oauth.client_updated", Outcome::Success)
                    .actor(by)
                    .target(id_owned.clone())
                    .detail(serde_json::json!({
                        "client_id": id_owned,
                        "changed": changes_of(&before, &after),
                        "sessions_revoked": revoked,
                    })),
            )?;
            Ok(after)
        })
    })
    .await
}

/// The fields an update changed, for the audit detail.
fn changes_of(
    before: &OAuthClientInfo,
    after: &OAuthClientInfo,
) -> serde_json::Map<String, serde_json::Value> {
    let mut changed = serde_json::Map::new();
    let fields = [
        ("name", change(&before.name, &after.name)),
        (
            "redirect_uris",
            list_change(&before.redirect_uris, &after.redirect_uris),
        ),
        ("scopes", list_change(&before.scopes, &after.scopes)),
        ("audience", change(&before.audience, &after.audience)),
    ];
    for (field, value) in fields {
        if let Some(value) = value {
            changed.insert(field.to_owned(), value);
        }
    }
    changed
}

/// Gives a confidential client a new secret, returned this once; the old
/// one stops working at once (audited as `oauth.client_secret_rotated`,
/// without either secret). A public client has none: `Conflict`.
pub async fn rotate_secret(
    pool: &Pool,
    session_keys: &SessionKeys,
    meta: Option<&RequestMeta>,
    actor: &str,
    id: &str,
) -> AppResult<String> {
    let secret = RefreshToken::generate();
    let digest = session_keys.digest(|k| secret.digest(k));
    let (id_owned, by, m) = (id.to_owned(), actor.to_owned(), meta.cloned());
    let now = sessions::now();
    db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            let Some(client) = OAuthClient::find(c, &id_owned)? else {
                return Err(AppError::NotFound);
            };
            if client.is_public() {
                return Err(AppError::Conflict(
                    "a public client has no secret to rotate".into(),
                ));
            }
            OAuthClient::set_secret_hash(c, &id_owned, &digest, now)?;
            audit::record_in(
                c,
                m.as_ref(),
                AuditEvent::new("oauth.client_secret_rotated", Outcome::Success)
                    .actor(by)
                    .target(id_owned.clone())
                    .detail(serde_json::json!({ "client_id": id_owned, "name": client.name })),
            )
        })
    })
    .await?;
    Ok(secret.expose().to_owned())
}

/// Deletes a client: its codes go with it and every session it opened is
/// ended (audited as `oauth.client_deleted`, with how many). Returns that
/// number.
pub async fn delete_client(
    pool: &Pool,
    meta: Option<&RequestMeta>,
    actor: &str,
    id: &str,
) -> AppResult<usize> {
    let (id_owned, by, m) = (id.to_owned(), actor.to_owned(), meta.cloned());
    let now = sessions::now();
    db::run(pool, move |c| {
        db::write_transaction(c, |c| {
            let Some(client) = OAuthClient::find(c, &id_owned)? else {
                return Err(AppError::NotFound);
            };
            let mut revoked = 0;
            for s in OAuthClient::open_sessions(c, &id_owned)? {
                if Session::revoke(c, &s.id, DELETED_REASON, now)? {
                    revoked += 1;
                }
            }
            OAuthClient::delete(c, &id_owned)?;
            audit::record_in(
                c,
                m.as_ref(),
                AuditEvent::new("oauth.client_deleted", Outcome::Success)
                    .actor(by)
                    .target(id_owned.clone())
                    .detail(serde_json::json!({
                        "client_id": id_owned,
                        "name": client.name,
                        "public": client.is_public(),
                        "sessions_revoked": revoked,
                    })),
            )?;
            Ok(revoked)
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn validation_normalises_and_refuses() {
        let v = validate(
            "  Reports ",
            &s(&[
                "https://a.example/cb",
                "https://a.example/cb",
                "http://127.0.0.1/cb",
            ]),
            &s(&["admin:read", "account", "account"]),
            Some("  "),
        )
        .unwrap();
        assert_eq!(v.name, "Reports");
        assert_eq!(
            v.redirect_uris,
            s(&["https://a.example/cb", "http://127.0.0.1/cb"])
        );
        assert_eq!(v.scopes, s(&["account", "admin:read"]));
        assert_eq!(v.audience, None);

        let ok = s(&["https://a.example/cb"]);
        let bad = |name: &str, uris: &[String], scopes: &[&str], aud: Option<&str>| {
            matches!(
                validate(name, uris, &s(scopes), aud),
                Err(AppError::BadRequest(_))
            )
        };
        assert!(bad("", &ok, &[], None));
        assert!(bad("x", &[], &[], None));
        assert!(bad("x", &s(&["http://a.example/cb"]), &[], None));
        assert!(bad("x", &s(&["https://a.example/cb#f"]), &[], None));
        assert!(bad("x", &ok, &["users:write"], None));
        assert!(bad("x", &ok, &["a b"], None));
        assert!(bad("x", &ok, &[], Some("https://a.example/x y")));
        assert!(bad("x", &ok, &[], Some("https://a.example/#f")));
        assert!(bad("x", &vec![ok[0].clone(); 21], &[], None));
    }

    #[test]
    fn audit_details_name_what_changed() {
        assert_eq!(change(&"a", &"a"), None);
        assert_eq!(
            change(&None::<String>, &Some("x".to_owned())),
            Some(serde_json::json!({ "from": null, "to": "x" }))
        );
        assert_eq!(
            list_change(&s(&["a", "b"]), &s(&["b", "c"])),
            Some(serde_json::json!({ "added": ["c"], "removed": ["a"] }))
        );
        assert_eq!(list_change(&s(&["a"]), &s(&["a"])), None);
    }
}
