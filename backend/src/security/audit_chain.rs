//! The hash chain of the audit log: how one entry is encoded and hashed,
//! and how a run of stored entries is checked, entry by entry.
//!
//! Each entry's `hash` is SHA-256 over a canonical encoding of its content
//! and of `prev_hash`, the hash of the entry before it (the first entry of
//! the chain links to [`GENESIS`]). Changing an entry changes its hash;
//! recomputing that hash breaks the next entry's link; deleting an entry
//! leaves a gap in the ids (they are consecutive from the first chained
//! entry on, assigned by the one writer under a lock).
//!
//! The canonical encoding is unambiguous: a fixed domain label, then the
//! fields in a fixed order, each as `0x00` (absent) or `0x01`, its length
//! as 8 bytes big-endian, and its UTF-8 bytes. No field can bleed into the
//! next, and an absent value differs from an empty one. The id is written
//! in decimal, the time as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds, the
//! precision both databases keep), the detail as the exact stored text.
//!
//! Rows written before the chain existed carry no hashes. They may only
//! form a prefix of the log (the chain starts after them, from [`GENESIS`]);
//! they are counted as "legacy" and cannot be verified.
//!
//! What a chain without an outside anchor cannot show: removing the newest
//! entries, or rewriting the whole log and recomputing every hash. Keep the
//! head hash a verification reports somewhere else to cover both.

use chrono::{NaiveDateTime, Timelike};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first chained entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Names this encoding, so a hash can never be mistaken for one of another
/// structure or of a later version of this one.
const DOMAIN: &[u8] = b"audit_log/v1";

/// The content of one entry, as stored.
#[derive(Clone, Copy, Debug)]
pub struct EntryContent<'a> {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub outcome: &'a str,
    pub client_ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub detail: &'a str,
}

/// `t` at the precision both databases store (microseconds), so the time
/// hashed when writing is the time read back when verifying.
pub fn stored_precision(t: NaiveDateTime) -> NaiveDateTime {
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(micros).unwrap_or(t)
}

/// The time as it is hashed.
pub fn canonical_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&(v.len() as u64).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// The bytes that are hashed for `entry` linked to `prev_hash`.
pub fn canonical_bytes(prev_hash: &str, entry: &EntryContent<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + entry.detail.len());
    out.extend_from_slice(DOMAIN);
    let id = entry.id.to_string();
    let time = canonical_time(entry.occurred_at);
    for value in [
        Some(prev_hash),
        Some(id.as_str()),
        Some(time.as_str()),
        entry.actor,
        Some(entry.action),
        entry.target,
        Some(entry.outcome),
        entry.client_ip,
        entry.request_id,
        Some(entry.detail),
    ] {
        field(&mut out, value);
    }
    out
}

/// The hash of `entry` linked to `prev_hash`: lowercase hex SHA-256.
pub fn entry_hash(prev_hash: &str, entry: &EntryContent<'_>) -> String {
    hex::encode(Sha256::digest(canonical_bytes(prev_hash, entry)))
}

/// Compares two hex hashes in constant time (they are public, but it costs
/// nothing to not leak where they differ).
fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// What is wrong with the first broken entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The stored hash is not the hash of the stored content: the entry
    /// (or its hash) was changed.
    ContentChanged,
    /// The entry's `prev_hash` is not the hash of the entry before it
    /// (`None`: it starts the chain but does not link to [`GENESIS`]).
    LinkBroken { previous: Option<i64> },
    /// Entries with these ids (inclusive) are gone; the chain resumes at
    /// `next`.
    Missing { from: i64, to: i64, next: i64 },
    /// The entry has no hash although the chain had started before it.
    Unhashed,
}

impl Problem {
    /// A stable code for machines.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::ContentChanged => "content_changed",
            Problem::LinkBroken { .. } => "link_broken",
            Problem::Missing { .. } => "entry_missing",
            Problem::Unhashed => "hash_missing",
        }
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            Problem::ContentChanged => {
                "content changed: the stored hash is not the hash of the entry's content".to_owned()
            }
            Problem::LinkBroken {
                previous: Some(prev),
            } => format!("link broken: its prev_hash is not the hash of entry #{prev}"),
            Problem::LinkBroken { previous: None } => {
                "link broken: the first chained entry does not start from the genesis value"
                    .to_owned()
            }
            Problem::Missing { from, to, next } if from == to => {
                format!("entry missing: #{from} was deleted (the log continues at #{next})")
            }
            Problem::Missing { from, to, next } => {
                format!(
                    "entries missing: #{from} to #{to} were deleted (the log continues at #{next})"
                )
            }
            Problem::Unhashed => "hash missing: the entry has no hash although the chain \
                                  started before it (added outside the application, or its \
                                  hash was removed)"
                .to_owned(),
        }
    }
}

/// The first broken entry: its id (for a deletion, the first missing id)
/// and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub id: i64,
    pub problem: Problem,
}

/// Walks stored entries in id order, one at a time (so a caller can read
/// them in batches), and stops being satisfied at the first broken one.
#[derive(Debug, Default)]
pub struct Verifier {
    /// Id of the last entry seen, hashed or not.
    last_id: Option<i64>,
    /// Id and hash of the last chained entry.
    head: Option<(i64, String)>,
    checked: u64,
    legacy: u64,
}

impl Verifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next entry (ids must arrive in increasing order) with its
    /// stored `prev_hash` and `hash`.
    pub fn check(
        &mut self,
        entry: &EntryContent<'_>,
        prev_hash: Option<&str>,
        hash: Option<&str>,
    ) -> Result<(), Broken> {
        let broken = |problem| Broken {
            id: entry.id,
            problem,
        };
        let (Some(prev_hash), Some(hash)) = (prev_hash, hash) else {
            if self.head.is_none() && prev_hash.is_none() && hash.is_none() {
                // Before the chain: a legacy entry.
                self.legacy += 1;
                self.last_id = Some(entry.id);
                return Ok(());
            }
            return Err(broken(if hash.is_none() {
                Problem::Unhashed
            } else {
                Problem::LinkBroken {
                    previous: self.head.as_ref().map(|(id, _)| *id),
                }
            }));
        };
        if !same(&entry_hash(prev_hash, entry), hash) {
            return Err(broken(Problem::ContentChanged));
        }
        let expected_id = self.last_id.map_or(Some(1), |id| id.checked_add(1));
        if let Some(expected) = expected_id.filter(|e| *e < entry.id) {
            return Err(Broken {
                id: expected,
                problem: Problem::Missing {
                    from: expected,
                    to: entry.id - 1,
                    next: entry.id,
                },
            });
        }
        let expected_prev = self.head.as_ref().map_or(GENESIS, |(_, h)| h.as_str());
        if !same(prev_hash, expected_prev) {
            return Err(broken(Problem::LinkBroken {
                previous: self.head.as_ref().map(|(id, _)| *id),
            }));
        }
        self.last_id = Some(entry.id);
        self.head = Some((entry.id, hash.to_owned()));
        self.checked += 1;
        Ok(())
    }

    /// Chained entries verified so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Entries from before the chain (no hashes), not verifiable.
    pub fn legacy(&self) -> u64 {
        self.legacy
    }

    /// Id of the last entry seen.
    pub fn last_id(&self) -> Option<i64> {
        self.last_id
    }

    /// The last verified entry's id and hash: record it elsewhere to detect
    /// a later truncation or wholesale rewrite.
    pub fn head(&self) -> Option<(i64, &str)> {
        self.head.as_ref().map(|(id, h)| (*id, h.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time() -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339("2026-11-28T09:30:15.123456Z")
            .unwrap()
            .naive_utc()
    }

    fn entry(id: i64) -> EntryContent<'static> {
        EntryContent {
            id,
            occurred_at: time(),
            actor: Some("user-1"),
            action: "auth.login",
            target: None,
            outcome: "success",
            client_ip: Some("192.0.2.1"),
            request_id: Some("req-1"),
            detail: r#"{"method":"password"}"#,
        }
    }

    /// A chain of `n` entries: (content, prev_hash, hash).
    fn chain(n: i64) -> Vec<(EntryContent<'static>, String, String)> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|id| {
                let e = entry(id);
                let h = entry_hash(&prev, &e);
                let row = (e, prev.clone(), h.clone());
                prev = h;
                row
            })
            .collect()
    }

    fn verify(
        rows: &[(EntryContent<'static>, Option<String>, Option<String>)],
    ) -> (Verifier, Result<(), Broken>) {
        let mut v = Verifier::new();
        for (e, p, h) in rows {
            if let Err(b) = v.check(e, p.as_deref(), h.as_deref()) {
                return (v, Err(b));
            }
        }
        (v, Ok(()))
    }

    fn stored(
        rows: Vec<(EntryContent<'static>, String, String)>,
    ) -> Vec<(EntryContent<'static>, Option<String>, Option<String>)> {
        rows.into_iter()
            .map(|(e, p, h)| (e, Some(p), Some(h)))
            .collect()
    }

    #[test]
    fn the_encoding_is_the_documented_one() {
        let e = EntryContent {
            id: 7,
            occurred_at: time(),
            actor: None,
            action: "a",
            target: Some(""),
            outcome: "success",
            client_ip: None,
            request_id: None,
            detail: "{}",
        };
        let mut expected = b"audit_log/v1".to_vec();
        let some = |out: &mut Vec<u8>, s: &str| {
            out.push(1);
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        some(&mut expected, "p");
        some(&mut expected, "7");
        some(&mut expected, "2026-11-28T09:30:15.123456Z");
        expected.push(0);
        some(&mut expected, "a");
        some(&mut expected, "");
        some(&mut expected, "success");
        expected.push(0);
        expected.push(0);
        some(&mut expected, "{}");
        assert_eq!(canonical_bytes("p", &e), expected);
        assert_eq!(entry_hash("p", &e), hex::encode(Sha256::digest(&expected)));
    }

    #[test]
    fn hashes_are_lowercase_hex_sha256_and_deterministic() {
        let h = entry_hash(GENESIS, &entry(1));
        assert_eq!(h.len(), 64);
        assert!(h
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(h, entry_hash(GENESIS, &entry(1)));
        assert_eq!(GENESIS.len(), 64);
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let base = entry(1);
        let h = entry_hash(GENESIS, &base);
        let later = time() + chrono::Duration::microseconds(1);
        let variants = [
            EntryContent { id: 2, ..base },
            EntryContent {
                occurred_at: later,
                ..base
            },
            EntryContent {
                actor: Some("user-2"),
                ..base
            },
            EntryContent {
                actor: None,
                ..base
            },
            EntryContent {
                action: "auth.logout",
                ..base
            },
            EntryContent {
                target: Some("x"),
                ..base
            },
            EntryContent {
                outcome: "failure",
                ..base
            },
            EntryContent {
                client_ip: Some("192.0.2.2"),
                ..base
            },
            EntryContent {
                request_id: None,
                ..base
            },
            EntryContent {
                detail: r#"{"method":"totp"}"#,
                ..base
            },
        ];
        for v in &variants {
            assert_ne!(entry_hash(GENESIS, v), h, "{v:?}");
        }
        assert_ne!(entry_hash(&"1".repeat(64), &base), h);
    }

    #[test]
    fn field_boundaries_and_absence_are_unambiguous() {
        let base = entry(1);
        // Moving text from one field to the next changes the hash.
        let a = EntryContent {
            actor: Some("ab"),
            action: "c",
            ..base
        };
        let b = EntryContent {
            actor: Some("a"),
            action: "bc",
            ..base
        };
        assert_ne!(entry_hash(GENESIS, &a), entry_hash(GENESIS, &b));
        // Absent is not empty.
        let none = EntryContent {
            target: None,
            ..base
        };
        let empty = EntryContent {
            target: Some(""),
            ..base
        };
        assert_ne!(entry_hash(GENESIS, &none), entry_hash(GENESIS, &empty));
        // A value cannot impersonate a length prefix and the next field.
        let sneaky = EntryContent {
            client_ip: Some("1\u{1}\0\0\0\0\0\0\0\u{5}req-1"),
            request_id: None,
            ..base
        };
        assert_ne!(
            canonical_bytes(GENESIS, &sneaky),
            canonical_bytes(GENESIS, &base)
        );
    }

    #[test]
    fn times_are_hashed_at_microsecond_precision() {
        let t = time() + chrono::Duration::nanoseconds(789);
        let rounded = stored_precision(t);
        assert_eq!(rounded, time());
        assert_eq!(canonical_time(rounded), "2026-11-28T09:30:15.123456Z");
        let whole = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap();
        assert_eq!(canonical_time(whole), "2026-01-02T03:04:05.000000Z");
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (v, result) = verify(&stored(chain(5)));
        assert_eq!(result, Ok(()));
        assert_eq!((v.checked(), v.legacy()), (5, 0));
        let rows = chain(5);
        assert_eq!(v.head(), Some((5, rows[4].2.as_str())));
        let (v, result) = verify(&[]);
        assert_eq!((result, v.checked(), v.head()), (Ok(()), 0, None));
    }

    #[test]
    fn a_changed_entry_is_pinpointed() {
        let mut rows = stored(chain(5));
        rows[2].0.detail = r#"{"method":"forged"}"#;
        let (v, result) = verify(&rows);
        assert_eq!(
            result,
            Err(Broken {
                id: 3,
                problem: Problem::ContentChanged
            })
        );
        assert_eq!(v.checked(), 2);
    }

    #[test]
    fn a_changed_entry_with_a_recomputed_hash_breaks_the_next_link() {
        let mut rows = stored(chain(5));
        rows[2].0.outcome = "failure";
        rows[2].2 = Some(entry_hash(rows[2].1.as_deref().unwrap(), &rows[2].0));
        let (_, result) = verify(&rows);
        assert_eq!(
            result,
            Err(Broken {
                id: 4,
                problem: Problem::LinkBroken { previous: Some(3) }
            })
        );
    }

    #[test]
    fn deleted_entries_are_named() {
        let mut rows = stored(chain(6));
        rows.remove(2);
        let (_, result) = verify(&rows);
        let broken = result.unwrap_err();
        assert_eq!(
            broken,
            Broken {
                id: 3,
                problem: Problem::Missing {
                    from: 3,
                    to: 3,
                    next: 4
                }
            }
        );
        assert!(broken.problem.describe().contains("#3 was deleted"));

        let mut rows = stored(chain(6));
        rows.drain(1..4);
        let (_, result) = verify(&rows);
        assert_eq!(
            result.unwrap_err().problem,
            Problem::Missing {
                from: 2,
                to: 4,
                next: 5
            }
        );

        // The very first entry.
        let mut rows = stored(chain(3));
        rows.remove(0);
        assert_eq!(verify(&rows).1.unwrap_err().id, 1);
    }

    #[test]
    fn a_chain_must_start_at_genesis() {
        let rows: Vec<_> = chain(2)
            .into_iter()
            .map(|(e, _, _)| {
                let prev = "f".repeat(64);
                let h = entry_hash(&prev, &e);
                (e, Some(prev), Some(h))
            })
            .take(1)
            .collect();
        assert_eq!(
            verify(&rows).1,
            Err(Broken {
                id: 1,
                problem: Problem::LinkBroken { previous: None }
            })
        );
    }

    #[test]
    fn legacy_entries_may_only_precede_the_chain() {
        // Two entries from before the migration (ids with a gap, as a
        // PostgreSQL identity may leave), then the chain from id 6 on.
        let mut rows: Vec<_> = [1, 5].iter().map(|id| (entry(*id), None, None)).collect();
        let first = entry(6);
        let h6 = entry_hash(GENESIS, &first);
        let second = entry(7);
        let h7 = entry_hash(&h6, &second);
        rows.push((first, Some(GENESIS.to_owned()), Some(h6.clone())));
        rows.push((second, Some(h6.clone()), Some(h7.clone())));
        let (v, result) = verify(&rows);
        assert_eq!(result, Ok(()));
        assert_eq!((v.checked(), v.legacy()), (2, 2));

        // An entry without hashes after the chain started.
        let mut late = rows.clone();
        late.push((entry(8), None, None));
        assert_eq!(
            verify(&late).1,
            Err(Broken {
                id: 8,
                problem: Problem::Unhashed
            })
        );
        // A hash removed from a chained entry.
        let mut stripped = rows.clone();
        stripped[2].2 = None;
        assert_eq!(verify(&stripped).1.unwrap_err().problem, Problem::Unhashed);
        // The last legacy entry deleted: the chain's first id no longer follows.
        let mut gap = rows;
        gap.remove(1);
        assert_eq!(verify(&gap).1.unwrap_err().id, 2);
    }

    #[test]
    fn problems_have_codes_and_sentences() {
        let all = [
            Problem::ContentChanged,
            Problem::LinkBroken { previous: Some(1) },
            Problem::LinkBroken { previous: None },
            Problem::Missing {
                from: 2,
                to: 2,
                next: 3,
            },
            Problem::Missing {
                from: 2,
                to: 4,
                next: 5,
            },
            Problem::Unhashed,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(Problem::code).collect();
        assert_eq!(codes.len(), 4);
        for p in &all {
            assert!(p.describe().len() > 20, "{p:?}");
        }
        assert!(all[4].describe().contains("#2 to #4"));
    }
}
