//! A short-lived memory of verified requests, so the hot path does not
//! verify an RSA signature and read the session from the database on every
//! call (either alone caps throughput far below what actix can serve).
//!
//! What makes it safe to cache:
//! - An entry is found only by the SHA-256 of the exact token (plus the
//!   device the request names); the token itself is never kept.
//! - It is used only while the token is unexpired, the signing key set is
//!   the one it was verified with (a reload or rotation forgets everything),
//!   and for at most [`IdentityCache::TTL`] (a backstop, not the mechanism).
//! - Every change that can alter a verdict forgets the user it concerns, on
//!   this instance at once and on the others by a PostgreSQL NOTIFY
//!   ([`crate::db::notify`]): revocations, role and MFA changes, devices.
//!   The policy enforcement point also forgets the caller after every
//!   state-changing request, and everyone after an admin change.
//! - A lookup that raced with a change is not stored: entries are stamped
//!   with a generation that every change increments.
//!
//! Denials are never cached: each one is verified and recorded in full.

use crate::identity::SignedIn;
use crate::security::signing_keys::KeySet;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Key = [u8; 32];

struct Entry {
    who: Arc<SignedIn>,
    keys: Arc<KeySet>,
    stored_at: Instant,
}

/// What another instance asks us to forget (the NOTIFY payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    User(String),
    All,
}

impl Invalidation {
    pub fn to_payload(&self) -> String {
        match self {
            Invalidation::User(id) => format!("user:{id}"),
            Invalidation::All => "all".to_owned(),
        }
    }

    /// Anything unrecognised means "forget everything": failing towards a
    /// database read is always safe.
    pub fn from_payload(payload: &str) -> Self {
        match payload.strip_prefix("user:") {
            Some(id) if !id.is_empty() => Invalidation::User(id.to_owned()),
            _ => Invalidation::All,
        }
    }
}

/// Proof that a lookup started at a given generation (see [`IdentityCache::store`]).
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

pub struct IdentityCache {
    entries: Mutex<HashMap<Key, Entry>>,
    generation: AtomicU64,
    ttl: Duration,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for IdentityCache {
    fn default() -> Self {
        Self::new(Self::TTL, Self::CAPACITY)
    }
}

impl IdentityCache {
    /// The longest an entry is trusted without a database read, even if no
    /// invalidation arrives (e.g. a change made by the CLI on SQLite). It is
    /// also below the interval at which sessions record their last use.
    /// The default of `IDENTITY_CACHE_SECS`; zero turns the cache off.
    pub const TTL: Duration = Duration::from_secs(30);
    /// Entries kept at most (~2 KB each); when full, the cache starts over.
    pub const CAPACITY: usize = 10_000;

    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            ttl,
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn key(token: &str, device: Option<&str>) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(token.as_bytes());
        // The separator keeps "token"+"device" apart from a longer token.
        hasher.update([0u8]);
        hasher.update(device.unwrap_or_default().as_bytes());
        hasher.finalize().into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The identity verified earlier for this exact token and device, if it
    /// may still be trusted at `now` (seconds since the epoch).
    pub fn lookup(
        &self,
        token: &str,
        device: Option<&str>,
        keys: &Arc<KeySet>,
        now: i64,
    ) -> Option<Arc<SignedIn>> {
        let key = Self::key(token, device);
        let mut entries = self.lock();
        let Some(entry) = entries.get(&key) else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        if self.usable(entry, keys, now) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            Some(Arc::clone(&entry.who))
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            entries.remove(&key);
            None
        }
    }

    /// The subject of a token this cache verified, without counting a
    /// lookup: for the steps before the policy decision that only need to
    /// know whose token it is (the per-user rate limit, the refresh check).
    pub fn peek_subject(
        &self,
        token: &str,
        device: Option<&str>,
        keys: &Arc<KeySet>,
        now: i64,
    ) -> Option<String> {
        let key = Self::key(token, device);
        let entries = self.lock();
        let entry = entries.get(&key)?;
        self.usable(entry, keys, now)
            .then(|| entry.who.claims.sub.clone())
    }

    fn usable(&self, entry: &Entry, keys: &Arc<KeySet>, now: i64) -> bool {
        Arc::ptr_eq(&entry.keys, keys)
            && entry.stored_at.elapsed() < self.ttl
            && now < entry.who.claims.exp
            && now >= entry.who.claims.nbf
            && now < entry.who.session.expires_at.and_utc().timestamp()
            && entry
                .who
                .roles_until
                .is_none_or(|t| now < t.and_utc().timestamp())
    }

    /// Call before reading the database for a lookup that may be stored.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// Remembers a verified identity, unless something changed since
    /// `ticket` was taken (the database read may predate that change).
    pub fn store(
        &self,
        ticket: Ticket,
        token: &str,
        device: Option<&str>,
        keys: Arc<KeySet>,
        who: Arc<SignedIn>,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let key = Self::key(token, device);
        let mut entries = self.lock();
        // Checked under the lock: `forget` increments it under the same lock.
        if self.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                who,
                keys,
                stored_at: Instant::now(),
            },
        );
    }

    /// Forgets what `change` concerns (this instance only; see
    /// `services::identity_cache::forget` for the one that also tells the others).
    pub fn forget(&self, change: &Invalidation) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match change {
            Invalidation::All => entries.clear(),
            Invalidation::User(id) => entries.retain(|_, e| e.who.user.id != *id),
        }
    }

    /// Lookups answered from memory and lookups that went to the database.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::session::Session;
    use crate::db::models::user::User;
    use crate::security::jwt::AccessClaims;
    use crate::security::signing_keys::SigningKey;

    fn keys() -> Arc<KeySet> {
        let (kid, pem) = crate::security::signing_keys::generate(0).unwrap();
        let key = SigningKey::from_pem(&kid, pem.as_bytes()).unwrap();
        Arc::new(KeySet::new(vec![key], 900).unwrap())
    }

    fn who(user: &str, exp: i64) -> SignedIn {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        SignedIn {
            user: User {
                id: user.into(),
                username: user.into(),
                email: format!("{user}@example.test"),
                password_hash: String::new(),
                created_at: at,
                updated_at: at,
                failed_logins: 0,
                locked_until: None,
                email_verified_at: None,
            },
            roles: vec![],
            roles_until: None,
            session: Session {
                id: "s1".into(),
                user_id: user.into(),
                device_label: String::new(),
                client_ip: None,
                user_agent: None,
                created_at: at,
                last_seen_at: at,
                expires_at: at + chrono::Duration::seconds(1000),
                revoked_at: None,
                revoked_reason: None,
                mfa_verified_at: None,
                oauth_scope: None,
                oauth_client_id: None,
                token_audience: None,
                device_id: None,
                reauthenticated_at: None,
            },
            claims: AccessClaims {
                iss: "i".into(),
                sub: user.into(),
                aud: "a".into(),
                iat: 0,
                nbf: 0,
                exp,
                jti: "j".into(),
                roles: vec![],
                sid: "s1".into(),
                token_type: "access".into(),
                client_id: None,
                scope: None,
            },
            mfa_enabled: false,
            device: None,
            device_quarantined: false,
        }
    }

    #[test]
    fn payloads_round_trip_and_unknown_means_all() {
        for change in [Invalidation::All, Invalidation::User("u1".into())] {
            assert_eq!(Invalidation::from_payload(&change.to_payload()), change);
        }
        assert_eq!(Invalidation::from_payload("user:"), Invalidation::All);
        assert_eq!(Invalidation::from_payload("bogus"), Invalidation::All);
    }

    #[test]
    fn finds_only_the_same_token_device_and_key_set() {
        let (cache, ks) = (IdentityCache::default(), keys());
        cache.store(
            cache.ticket(),
            "tok",
            None,
            ks.clone(),
            Arc::new(who("u1", 100)),
        );
        assert!(cache.lookup("tok", None, &ks, 10).is_some());
        assert_eq!(cache.counts(), (1, 0));
        assert_eq!(
            cache.peek_subject("tok", None, &ks, 10).as_deref(),
            Some("u1")
        );
        assert_eq!(cache.peek_subject("tok", Some("d"), &ks, 10), None);
        assert_eq!(cache.counts(), (1, 0), "peeking is not a lookup");
        assert!(cache.lookup("tok2", None, &ks, 10).is_none());
        assert_eq!(cache.counts(), (1, 1));
        assert!(cache.lookup("tok", Some("dev"), &ks, 10).is_none());
        // Same keys re-read from disk: a new set, so everything is re-verified.
        assert!(cache.lookup("tok", None, &keys(), 10).is_none());
        assert!(cache.is_empty(), "a stale entry is dropped when found");
    }

    #[test]
    fn expired_tokens_and_old_entries_are_not_used() {
        let ks = keys();
        let cache = IdentityCache::default();
        cache.store(
            cache.ticket(),
            "tok",
            None,
            ks.clone(),
            Arc::new(who("u1", 100)),
        );
        assert!(cache.lookup("tok", None, &ks, 100).is_none());

        let cache = IdentityCache::new(Duration::from_nanos(1), 10);
        cache.store(
            cache.ticket(),
            "tok",
            None,
            ks.clone(),
            Arc::new(who("u1", 100)),
        );
        std::thread::sleep(Duration::from_millis(1));
        assert!(cache.lookup("tok", None, &ks, 10).is_none());

        let off = IdentityCache::new(Duration::ZERO, 10);
        off.store(
            off.ticket(),
            "tok",
            None,
            ks.clone(),
            Arc::new(who("u1", 100)),
        );
        assert!(off.is_empty(), "a zero TTL turns the cache off");
    }

    #[test]
    fn an_entry_ends_with_its_session_or_a_time_bound_role() {
        let ks = keys();
        let cache = IdentityCache::default();
        // The session (absolute lifetime 1000 s) ends before the token.
        cache.store(
            cache.ticket(),
            "tok",
            None,
            ks.clone(),
            Arc::new(who("u1", 5000)),
        );
        assert!(cache.lookup("tok", None, &ks, 999).is_some());
        assert!(cache.lookup("tok", None, &ks, 1000).is_none());
        // A role granted until t=50 makes the entry stale at 50.
        let mut granted = who("u1", 100);
        granted.roles_until = chrono::DateTime::from_timestamp(50, 0).map(|t| t.naive_utc());
        cache.store(cache.ticket(), "tok", None, ks.clone(), Arc::new(granted));
        assert!(cache.lookup("tok", None, &ks, 49).is_some());
        assert!(cache.lookup("tok", None, &ks, 50).is_none());
    }

    #[test]
    fn forgetting_a_user_keeps_the_others() {
        let (cache, ks) = (IdentityCache::default(), keys());
        cache.store(
            cache.ticket(),
            "a",
            None,
            ks.clone(),
            Arc::new(who("u1", 100)),
        );
        cache.store(
            cache.ticket(),
            "b",
            None,
            ks.clone(),
            Arc::new(who("u2", 100)),
        );
        cache.forget(&Invalidation::User("u1".into()));
        assert!(cache.lookup("a", None, &ks, 10).is_none());
        assert!(cache.lookup("b", None, &ks, 10).is_some());
        cache.forget(&Invalidation::All);
        assert!(cache.lookup("b", None, &ks, 10).is_none());
    }

    #[test]
    fn a_lookup_that_raced_with_a_change_is_not_stored() {
        let (cache, ks) = (IdentityCache::default(), keys());
        let ticket = cache.ticket();
        // The session is revoked while the lookup is reading the database.
        cache.forget(&Invalidation::User("u1".into()));
        cache.store(ticket, "tok", None, ks.clone(), Arc::new(who("u1", 100)));
        assert!(cache.lookup("tok", None, &ks, 10).is_none());
    }

    #[test]
    fn a_full_cache_starts_over() {
        let ks = keys();
        let cache = IdentityCache::new(IdentityCache::TTL, 2);
        for t in ["a", "b", "c"] {
            cache.store(
                cache.ticket(),
                t,
                None,
                ks.clone(),
                Arc::new(who("u1", 100)),
            );
        }
        assert_eq!(cache.len(), 1);
    }
}
