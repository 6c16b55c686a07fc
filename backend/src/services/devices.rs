//! Devices: a user registers the browser or client they use; an admin marks
//! a device compliant or not. The policy decision point refuses requests
//! naming a non-compliant device, and some admin routes need a registered,
//! compliant one.

use crate::audit::{self, AuditEvent, Outcome};
use crate::db::{
    self,
    models::device::{Device, NewDevice, MAX_DEVICES_PER_USER},
    models::session::Session,
};
use crate::error::{AppError, AppResult};
use crate::request_meta::RequestMeta;
use crate::services::sessions::{self, SignedIn};
use crate::state::AppState;
use wire::{DeviceInfo, DeviceRegistration, FieldError};

/// RFC 3339, UTC: how the wire types carry times.
pub(crate) fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

pub fn info(d: &Device, username: &str, current: Option<&str>) -> DeviceInfo {
    DeviceInfo {
        id: d.id.clone(),
        user_id: d.user_id.clone(),
        username: username.to_owned(),
        label: d.label.clone(),
        compliant: d.compliant,
        registered_at: rfc3339(d.registered_at),
        last_seen_at: d.last_seen_at.map(rfc3339),
        reviewed_at: d.reviewed_at.map(rfc3339),
        current: current == Some(d.id.as_str()),
    }
}

/// A device label: 1–60 printable characters, trimmed.
fn parse_label(text: &str) -> AppResult<String> {
    let label = text.trim();
    let count = label.chars().count();
    if count == 0 || count > 60 || label.chars().any(char::is_control) {
        return Err(AppError::Validation(vec![FieldError::new(
            "label",
            "device_label",
        )]));
    }
    Ok(label.to_owned())
}

/// Registers the calling device. New devices start compliant (self-attested;
/// an admin can quarantine one, or an MDM feed could set the state), so the
/// route needs a fresh second factor (`routes/table.rs`): a session
/// thief must not be able to mint a managed device. The session that
/// registers it is bound to it, unless it is bound to a device already
/// (`sessions::verify::device_posture`).
pub async fn register(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    body: DeviceRegistration,
) -> AppResult<DeviceInfo> {
    let label = parse_label(&body.label)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (uid, did, lbl) = (who.user.id.clone(), id.clone(), label.clone());
    let (sid, m) = (who.session.id.clone(), meta.clone());
    let now = sessions::now();
    let event = AuditEvent::new("device.register", Outcome::Success)
        .actor(who.user.id.clone())
        .target(id.clone());
    let device = db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if Device::count_for_user(c, &uid)? >= MAX_DEVICES_PER_USER {
                return Ok(None);
            }
            Device::insert(
                c,
                &NewDevice {
                    id: &did,
                    user_id: &uid,
                    label: &lbl,
                    compliant: true,
                    registered_at: now,
                },
            )?;
            Session::bind_device(c, &sid, &did)?;
            let device = Device::find(c, &did)?;
            audit::record_in(c, Some(&m), event)?;
            Ok(device)
        })
    })
    .await?
    .ok_or_else(|| AppError::Conflict("too many devices: remove one first".into()))?;
    Ok(info(&device, &who.user.username, Some(&id)))
}

pub async fn mine(
    state: &AppState,
    who: &SignedIn,
    current: Option<&str>,
) -> AppResult<Vec<DeviceInfo>> {
    let uid = who.user.id.clone();
    let rows = db::run(&state.pool, move |c| Ok(Device::for_user(c, &uid)?)).await?;
    Ok(rows
        .iter()
        .map(|d| info(d, &who.user.username, current))
        .collect())
}

/// Removes one of my devices (another user's is "not found"). A
/// quarantined device stays until an admin reviews it: removing it would
/// erase the known-bad state that keeps its sessions out.
pub async fn remove_mine(
    state: &AppState,
    meta: &RequestMeta,
    who: &SignedIn,
    device_id: &str,
) -> AppResult<()> {
    let (uid, did, m) = (who.user.id.clone(), device_id.to_owned(), meta.clone());
    let event = AuditEvent::new("device.remove", Outcome::Success)
        .actor(who.user.id.clone())
        .target(device_id.to_owned());
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            match Device::find_owned(c, &did, &uid)? {
                None => return Err(AppError::NotFound),
                Some(d) if !d.compliant => {
                    return Err(AppError::Conflict(
                        "this device is quarantined: an administrator must review it".into(),
                    ))
                }
                Some(_) => {}
            }
            if Device::delete_owned(c, &did, &uid)? == 0 {
                return Err(AppError::NotFound);
            }
            audit::record_in(c, Some(&m), event)
        })
    })
    .await
}

/// Every device (admin view), newest first.
pub async fn all(state: &AppState) -> AppResult<Vec<DeviceInfo>> {
    let rows = db::run(&state.pool, |c| Ok(Device::all_with_owner(c, 500)?)).await?;
    Ok(rows.iter().map(|(d, u)| info(d, u, None)).collect())
}

pub async fn set_compliance(
    state: &AppState,
    meta: &RequestMeta,
    admin: &SignedIn,
    device_id: &str,
    compliant: bool,
) -> AppResult<()> {
    let (did, by, m) = (device_id.to_owned(), admin.user.id.clone(), meta.clone());
    let now = sessions::now();
    let event = AuditEvent::new("device.compliance", Outcome::Success)
        .actor(admin.user.id.clone())
        .target(device_id.to_owned())
        .detail(serde_json::json!({ "compliant": compliant }));
    db::run(&state.pool, move |c| {
        db::write_transaction(c, |c| {
            if Device::set_compliance(c, &did, compliant, &by, now)? == 0 {
                return Err(AppError::NotFound);
            }
            audit::record_in(c, Some(&m), event)
        })
    })
    .await
}
