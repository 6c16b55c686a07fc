//! `KEY_PROVIDER=pkcs11`: keys that never leave an HSM, through the
//! `cryptoki` crate (tested against SoftHSM2; the same calls reach a cloud
//! HSM's or a YubiHSM's PKCS#11 library).
//!
//! - RS256 signing keys: RSA-2048 pairs generated in the token, the private
//!   half `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`, only `CKA_SIGN`; the kid
//!   (`<created>-<hex>`, as in files mode) is the `CKA_LABEL` and `CKA_ID` of
//!   both halves. Tokens are signed in the token (`CKM_SHA256_RSA_PKCS`);
//!   the JWKS publishes the public object's modulus and exponent.
//! - Key-encryption keys (KEKs): AES-256 secret keys labelled
//!   `field-kek-<created>-<hex>`, also sensitive and not extractable, that
//!   encrypt and decrypt the field data keys (`CKM_AES_GCM`, 96-bit IV from
//!   the OS generator, the key id as associated data). SoftHSM2 2.6 has
//!   `CKM_AES_KEY_WRAP_PAD` too, but `C_WrapKey` wraps only objects inside
//!   the token, and the data keys must come out unwrapped into memory for
//!   `FieldKeys`, which `C_UnwrapKey` of a sensitive key would refuse.
//!
//! The PIN is held as a `SecretString` and goes only to `C_Login`; no error
//! built here carries it (cryptoki's errors name the function and the
//! return value only).
//!
//! Longer than most modules (about 600 lines) on purpose: every PKCS#11
//! call the app makes is here, so what reaches the HSM is reviewed in one
//! place.
//!
//! Layer: infrastructure, in `key_provider`: imports `config` and `security` only.

use crate::config::Pkcs11Settings;
use crate::security::signing_keys::{self, ExternalSigner, KeyError, SigningKey};
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use rand::{RngCore, TryRngCore};
use secrecy::SecretString;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

/// The label prefix of the key-encryption keys.
pub const KEK_PREFIX: &str = "field-kek-";
/// The format tag of a wrapped data key.
const WRAP_FORMAT: &str = "gcm1";
/// Idle sessions kept for reuse (one per concurrent signer is enough).
const IDLE_SESSIONS: usize = 8;

/// One logged-in token. Opened once per process (`open`): a PKCS#11 library
/// is initialised once, and its login belongs to the whole application.
pub struct Token {
    label: String,
    module: PathBuf,
    ctx: Pkcs11,
    slot: Slot,
    pin: SecretString,
    /// Keeps the login: PKCS#11 logs the application out when its last
    /// session closes. Never used for operations.
    _login: Mutex<Session>,
    /// Sessions ready for use; a session serves one thread at a time.
    idle: Mutex<Vec<Session>>,
    /// Private-key handles by kid, so signing is one call.
    handles: Mutex<HashMap<String, ObjectHandle>>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .field("module", &self.module)
            .field("pin", &format_args!("[redacted]"))
            .finish()
    }
}

/// The token this process opened, while anything holds it.
static OPEN: Mutex<Option<Weak<Token>>> = Mutex::new(None);

/// Opens and logs in to the token `settings` names (or returns the one this
/// process already opened). Every failure names the setting to look at.
pub fn open(settings: &Pkcs11Settings) -> anyhow::Result<Arc<Token>> {
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(token) = open.as_ref().and_then(Weak::upgrade) {
        if token.label != settings.token_label || token.module != settings.module {
            bail!("only one PKCS#11 token can be open in a process");
        }
        return Ok(token);
    }
    let token = Arc::new(Token::login(settings)?);
    *open = Some(Arc::downgrade(&token));
    Ok(token)
}

impl Token {
    fn login(settings: &Pkcs11Settings) -> anyhow::Result<Self> {
        let module = settings.module.display().to_string();
        let ctx = Pkcs11::new(&settings.module)
            .map_err(|e| anyhow!("PKCS11_MODULE: cannot load `{module}`: {e}"))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => bail!("PKCS11_MODULE: `{module}` did not initialise: {e}"),
        }
        let slots = ctx
            .get_slots_with_initialized_token()
            .map_err(|e| anyhow!("PKCS11_MODULE: `{module}` lists no slots: {e}"))?;
        let mut seen = Vec::new();
        let mut found = None;
        for slot in slots {
            let info = ctx
                .get_token_info(slot)
                .map_err(|e| anyhow!("PKCS11_MODULE: cannot read a token's label: {e}"))?;
            let label = info.label().trim_end().to_owned();
            if label == settings.token_label {
                found = Some(slot);
                break;
            }
            seen.push(label);
        }
        let slot = found.ok_or_else(|| {
            anyhow!(
                "PKCS11_TOKEN_LABEL: no initialised token labelled `{}` in `{module}` (tokens there: {})",
                settings.token_label,
                if seen.is_empty() { "none".to_owned() } else { seen.join(", ") }
            )
        })?;
        let session = ctx.open_rw_session(slot).map_err(|e| {
            anyhow!(
                "PKCS11_TOKEN_LABEL: cannot open a session on `{}`: {e}",
                settings.token_label
            )
        })?;
        match session.login(UserType::User, Some(&settings.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => bail!(
                "PKCS11_PIN: the token `{}` refused the PIN (CKR_PIN_INCORRECT); check PKCS11_PIN or PKCS11_PIN_FILE",
                settings.token_label
            ),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => bail!(
                "PKCS11_PIN: the token `{}` has locked its user PIN (CKR_PIN_LOCKED); unlock it with the security officer PIN",
                settings.token_label
            ),
            Err(e) => bail!(
                "PKCS11_PIN: cannot log in to the token `{}`: {e}",
                settings.token_label
            ),
        }
        Ok(Self {
            label: settings.token_label.clone(),
            module: settings.module.clone(),
            ctx,
            slot,
            pin: settings.pin.clone(),
            _login: Mutex::new(session),
            idle: Mutex::new(Vec::new()),
            handles: Mutex::new(HashMap::new()),
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs `op` on a session of this token. A failed session is dropped,
    /// not reused; when the token forgot the login (an HSM restarted), it
    /// logs in again once and retries.
    fn run<T>(&self, op: impl Fn(&Session) -> Result<T, CkError>) -> Result<T, CkError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let session = match idle {
            Some(s) => s,
            None => self.ctx.open_rw_session(self.slot)?,
        };
        let result = match op(&session) {
            Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => {
                match session.login(UserType::User, Some(&self.pin)) {
                    Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => op(&session),
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        if result.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_SESSIONS {
                idle.push(session);
            }
        }
        result
    }

    /// The token's objects of `class` whose label passes `keep`.
    fn labelled(
        session: &Session,
        class: ObjectClass,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, ObjectHandle)>, CkError> {
        let mut out = Vec::new();
        for handle in session.find_objects(&[Attribute::Token(true), Attribute::Class(class)])? {
            let attrs = session.get_attributes(handle, &[AttributeType::Label])?;
            let label = attrs.iter().find_map(|a| match a {
                Attribute::Label(l) => String::from_utf8(l.clone()).ok(),
                _ => None,
            });
            if let Some(label) = label.filter(|l| keep(l)) {
                out.push((label, handle));
            }
        }
        Ok(out)
    }

    fn find(
        session: &Session,
        class: ObjectClass,
        label: &str,
    ) -> Result<Option<ObjectHandle>, CkError> {
        Ok(session
            .find_objects(&[
                Attribute::Token(true),
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
            ])?
            .into_iter()
            .next())
    }

    // ---- signing keys ----------------------------------------------------

    /// Every RS256 signing key in the token (objects whose label is a kid),
    /// signing through this token. Refuses a private half that could leave
    /// the token.
    pub fn signing_keys(self: &Arc<Self>) -> anyhow::Result<Vec<SigningKey>> {
        let found = self
            .run(|s| {
                let mut keys = Vec::new();
                let publics = Self::labelled(s, ObjectClass::PUBLIC_KEY, is_kid)?;
                for (kid, handle) in publics {
                    let attrs = s.get_attributes(
                        handle,
                        &[AttributeType::Modulus, AttributeType::PublicExponent],
                    )?;
                    let (mut n, mut e) = (Vec::new(), Vec::new());
                    for a in attrs {
                        match a {
                            Attribute::Modulus(v) => n = v,
                            Attribute::PublicExponent(v) => e = v,
                            _ => {}
                        }
                    }
                    let private = Self::find(s, ObjectClass::PRIVATE_KEY, &kid)?
                        .map(|h| protection(s, h))
                        .transpose()?;
                    keys.push((kid, n, e, private));
                }
                Ok(keys)
            })
            .with_context(|| {
                format!("cannot list the signing keys in the token `{}`", self.label)
            })?;
        let mut keys = Vec::new();
        for (kid, n, e, private) in found {
            match private {
                None => bail!(
                    "signing key {kid}: the token `{}` holds its public half but no private key",
                    self.label
                ),
                Some(p) if !p.kept_inside() => bail!(
                    "signing key {kid} in the token `{}` can leave it or was not generated in it \
                     ({}): refusing to sign with it; destroy it and run `backend rotate-signing-key`",
                    self.label,
                    p.describe()
                ),
                Some(_) => {}
            }
            let signer = Arc::new(TokenSigner {
                token: Arc::clone(self),
                kid: kid.clone(),
            });
            keys.push(SigningKey::external(&kid, &n, &e, signer)?);
        }
        Ok(keys)
    }

    /// Generates a new RSA-2048 signing pair inside the token, created at
    /// `created` (seconds); returns its kid.
    pub fn generate_signing_key(&self, created: i64) -> anyhow::Result<String> {
        let kid = signing_keys::new_kid(created)?;
        let id = kid.as_bytes().to_vec();
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::KeyType(KeyType::RSA),
            Attribute::ModulusBits(2048u64.into()),
            Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
            Attribute::Label(id.clone()),
            Attribute::Id(id.clone()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(id.clone()),
            Attribute::Id(id),
        ];
        self.run(|s| s.generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private))
            .with_context(|| {
                format!("the token `{}` did not generate a signing key", self.label)
            })?;
        Ok(kid)
    }

    /// Destroys both halves of the signing key `kid`.
    pub fn destroy_signing_key(&self, kid: &str) -> anyhow::Result<()> {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(kid);
        self.run(|s| {
            for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
                if let Some(h) = Self::find(s, class, kid)? {
                    s.destroy_object(h)?;
                }
            }
            Ok(())
        })
        .with_context(|| format!("cannot destroy the signing key {kid}"))
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 of `message`, by the private key `kid`.
    fn sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, CkError> {
        let cached = self
            .handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .copied();
        let result = self.run(|s| {
            let handle = match cached {
                Some(h) => h,
                None => Self::find(s, ObjectClass::PRIVATE_KEY, kid)?.ok_or(CkError::Pkcs11(
                    RvError::KeyHandleInvalid,
                    cryptoki::context::Function::FindObjects,
                ))?,
            };
            s.sign(&Mechanism::Sha256RsaPkcs, handle, message)
                .map(|sig| (handle, sig))
        });
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok((handle, sig)) => {
                handles.insert(kid.to_owned(), handle);
                Ok(sig)
            }
            Err(e) => {
                // A stale handle is looked up again next time.
                handles.remove(kid);
                Err(e)
            }
        }
    }

    // ---- key-encryption keys -------------------------------------------

    /// The KEK labels in the token, oldest first (the last is current).
    pub fn keks(&self) -> anyhow::Result<Vec<String>> {
        let mut labels: Vec<String> = self
            .run(|s| Self::labelled(s, ObjectClass::SECRET_KEY, |l| l.starts_with(KEK_PREFIX)))
            .with_context(|| format!("cannot list the key-encryption keys in `{}`", self.label))?
            .into_iter()
            .map(|(label, _)| label)
            .collect();
        labels.sort_by_key(|l| (kek_created(l), l.clone()));
        Ok(labels)
    }

    /// The protection attributes of the KEK `label`.
    pub fn kek_protection(&self, label: &str) -> anyhow::Result<Protection> {
        self.run(|s| {
            let handle = Self::find(s, ObjectClass::SECRET_KEY, label)?.ok_or(CkError::Pkcs11(
                RvError::KeyHandleInvalid,
                cryptoki::context::Function::FindObjects,
            ))?;
            protection(s, handle)
        })
        .with_context(|| format!("cannot read the key-encryption key `{label}`"))
    }

    /// Generates a new AES-256 KEK inside the token, created at `created`;
    /// returns its label.
    pub fn generate_kek(&self, created: i64) -> anyhow::Result<String> {
        let mut suffix = [0u8; 4];
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut suffix);
        let label = format!("{KEK_PREFIX}{created}-{}", hex::encode(suffix));
        let id = label.as_bytes().to_vec();
        let template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32u64.into()),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Label(id.clone()),
            Attribute::Id(id),
        ];
        self.run(|s| s.generate_key(&Mechanism::AesKeyGen, &template))
            .with_context(|| {
                format!(
                    "the token `{}` did not generate a key-encryption key",
                    self.label
                )
            })?;
        Ok(label)
    }

    /// Wraps `data_key` (the field key `key_id`) under the KEK `kek`:
    /// `gcm1:<base64url(iv ‖ ciphertext ‖ tag)>`, bound to `key_id`.
    pub fn wrap(&self, kek: &str, key_id: &str, data_key: &[u8]) -> anyhow::Result<String> {
        let mut iv = [0u8; 12];
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut iv);
        let aad = wrap_aad(key_id);
        let sealed = self
            .run(|s| {
                let handle =
                    Self::find(s, ObjectClass::SECRET_KEY, kek)?.ok_or(CkError::Pkcs11(
                        RvError::KeyHandleInvalid,
                        cryptoki::context::Function::FindObjects,
                    ))?;
                let mut iv = iv;
                let params = GcmParams::new(&mut iv, &aad, 128u64.into())?;
                s.encrypt(&Mechanism::AesGcm(params), handle, data_key)
            })
            .with_context(|| {
                format!("the key-encryption key `{kek}` did not wrap data key {key_id}")
            })?;
        let mut blob = iv.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{WRAP_FORMAT}:{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    /// The data key `key_id` out of its wrapping under the KEK `kek`.
    pub fn unwrap_key(&self, kek: &str, key_id: &str, wrapped: &str) -> anyhow::Result<Vec<u8>> {
        let blob = wrapped
            .strip_prefix(WRAP_FORMAT)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|b| b.len() > 12 + 16)
            .ok_or_else(|| {
                anyhow!("data key {key_id}: the stored wrapping is not in the gcm1 format")
            })?;
        let (iv, sealed) = blob.split_at(12);
        let aad = wrap_aad(key_id);
        let found = self
            .run(|s| Self::find(s, ObjectClass::SECRET_KEY, kek))
            .with_context(|| format!("cannot look up the key-encryption key `{kek}`"))?;
        if found.is_none() {
            bail!(
                "data key {key_id} is wrapped by the key-encryption key `{kek}`, which the token `{}` \
                 does not hold (restore the token from its backup)",
                self.label
            );
        }
        self.run(|s| {
            let handle = Self::find(s, ObjectClass::SECRET_KEY, kek)?
                .ok_or(CkError::Pkcs11(RvError::KeyHandleInvalid, cryptoki::context::Function::FindObjects))?;
            let mut iv = iv.to_vec();
            let params = GcmParams::new(&mut iv, &aad, 128u64.into())?;
            s.decrypt(&Mechanism::AesGcm(params), handle, sealed)
        })
        .map_err(|_| anyhow!("data key {key_id} does not unwrap under `{kek}` (changed, or wrapped by another key)"))
    }

    // ---- reports -------------------------------------------------------

    /// What `keys status` shows of the token: every signing key and KEK with
    /// the attributes that keep it inside.
    pub fn report(&self) -> anyhow::Result<TokenReport> {
        let (signing, keks) = self
            .run(|s| {
                let mut signing = Vec::new();
                for (kid, h) in Self::labelled(s, ObjectClass::PRIVATE_KEY, is_kid)? {
                    signing.push(ObjectReport {
                        label: kid,
                        protection: protection(s, h)?,
                    });
                }
                let mut keks = Vec::new();
                for (label, h) in
                    Self::labelled(s, ObjectClass::SECRET_KEY, |l| l.starts_with(KEK_PREFIX))?
                {
                    keks.push(ObjectReport {
                        label,
                        protection: protection(s, h)?,
                    });
                }
                Ok((signing, keks))
            })
            .with_context(|| format!("cannot read the objects in `{}`", self.label))?;
        let mut report = TokenReport {
            token_label: self.label.clone(),
            module: self.module.display().to_string(),
            signing_keys: signing,
            keks,
        };
        report.signing_keys.sort_by(|a, b| a.label.cmp(&b.label));
        report
            .keks
            .sort_by_key(|k| (kek_created(&k.label), k.label.clone()));
        Ok(report)
    }
}

/// Signs for one kid through the token.
struct TokenSigner {
    token: Arc<Token>,
    kid: String,
}

impl ExternalSigner for TokenSigner {
    fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.token.sign(&self.kid, message).map_err(|e| {
            tracing::error!(kid = %self.kid, error = %e, "the HSM did not sign");
            KeyError::Signing
        })
    }
}

/// Whether a key can leave the token, from its attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Protection {
    pub sensitive: bool,
    pub extractable: bool,
    pub always_sensitive: bool,
    pub never_extractable: bool,
}

impl Protection {
    /// Sensitive and not extractable, and always was: its value cannot be
    /// read out, and never could. A key imported into the token (or
    /// unwrapped into it) has `always_sensitive`/`never_extractable` false:
    /// its value existed outside, where a copy may still be (a file on the
    /// disk the token was meant to protect against).
    pub fn kept_inside(&self) -> bool {
        self.sensitive && !self.extractable && self.always_sensitive && self.never_extractable
    }
}

impl Protection {
    /// The four attributes, for an error message.
    pub fn describe(&self) -> String {
        format!(
            "sensitive: {}, extractable: {}, always sensitive: {}, never extractable: {}",
            self.sensitive, self.extractable, self.always_sensitive, self.never_extractable
        )
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ObjectReport {
    pub label: String,
    #[serde(flatten)]
    pub protection: Protection,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TokenReport {
    pub token_label: String,
    pub module: String,
    pub signing_keys: Vec<ObjectReport>,
    pub keks: Vec<ObjectReport>,
}

fn protection(session: &Session, handle: ObjectHandle) -> Result<Protection, CkError> {
    let mut p = Protection {
        sensitive: false,
        extractable: true,
        always_sensitive: false,
        never_extractable: false,
    };
    let attrs = session.get_attributes(
        handle,
        &[
            AttributeType::Sensitive,
            AttributeType::Extractable,
            AttributeType::AlwaysSensitive,
            AttributeType::NeverExtractable,
        ],
    )?;
    for a in attrs {
        match a {
            Attribute::Sensitive(v) => p.sensitive = v,
            Attribute::Extractable(v) => p.extractable = v,
            Attribute::AlwaysSensitive(v) => p.always_sensitive = v,
            Attribute::NeverExtractable(v) => p.never_extractable = v,
            _ => {}
        }
    }
    Ok(p)
}

fn is_kid(label: &str) -> bool {
    signing_keys::created_at(label).is_some()
}

fn kek_created(label: &str) -> i64 {
    label
        .strip_prefix(KEK_PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(0)
}

/// The associated data of a wrapped data key: its id, so a wrapping moved
/// to another row does not unwrap.
fn wrap_aad(key_id: &str) -> Vec<u8> {
    format!("field-data-key:{key_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keks_sort_by_creation_and_malformed_wrappings_are_refused_early() {
        let mut labels = [
            "field-kek-1700000100-aa".to_owned(),
            "field-kek-999-bb".to_owned(),
        ];
        labels.sort_by_key(|l| (kek_created(l), l.clone()));
        assert_eq!(labels[0], "field-kek-999-bb");
        assert!(is_kid("1700000000-0a1b2c3d"));
        assert!(!is_kid("field-kek-1-aa") && !is_kid("other-app-key"));
        assert_ne!(wrap_aad("a"), wrap_aad("b"));
    }
}
