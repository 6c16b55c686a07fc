//! Password hashing with Argon2id (m = 19456 KiB, t = 2, p = 1: OWASP's and
//! ASVS 2.4.1's minimum). These calls take tens of milliseconds of CPU: callers
//! run them on a blocking thread, never on an async worker.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    // The parameters are constants that Params::new accepts; fall back to the
    // crate's defaults (which are these same values) rather than panic.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a fresh
/// random salt from the OS generator.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// The 19 MiB an Argon2id hash works in. Reusing one for the next hash
/// spares allocating, zeroing and faulting in that memory again (~7% of a
/// hash): Argon2 writes every block before it reads it, so what an earlier
/// hash left there changes nothing.
pub struct HashMemory {
    blocks: Vec<Block>,
}

impl HashMemory {
    /// Enough memory for this app's parameters.
    pub fn new() -> Self {
        Self {
            blocks: vec![Block::default(); argon2().params().block_count()],
        }
    }

    /// At least `count` blocks: a stored hash made with more memory than
    /// today's parameters (say, raised by an operator) still verifies.
    fn at_least(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            self.blocks.resize(count, Block::default());
        }
        &mut self.blocks
    }
}

#[cfg(test)]
impl HashMemory {
    /// A mark left in the memory, for tests that follow one memory from job to job.
    pub fn mark(&mut self, value: u64) {
        if let Some(word) = self.blocks.first_mut().and_then(|b| b.as_mut().first_mut()) {
            *word = value;
        }
    }

    pub fn marked(&self) -> u64 {
        self.blocks
            .first()
            .and_then(|b| b.as_ref().first().copied())
            .unwrap_or(0)
    }
}

impl Default for HashMemory {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `password` matches `phc`. A malformed stored hash counts as no match.
pub fn verify(password: &str, phc: &str) -> bool {
    verify_in(password, phc, &mut HashMemory::new())
}

/// [`verify`], working in `memory`. The stored hash's own algorithm, version,
/// cost and length are used, and its output is compared in constant time.
pub fn verify_in(password: &str, phc: &str, memory: &mut HashMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Version::try_from(parsed.version.unwrap_or(Version::V0x13 as u32)),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out_buf = [0u8; 64];
    let Some(out) = out_buf.get_mut(..expected.len()) else {
        return false;
    };
    let blocks = memory.at_least(params.block_count());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

/// A hash of a random password, made once at start-up. Logging in as an unknown
/// user verifies against it, so that takes as long as a wrong password for a
/// real user and the timing does not tell which accounts exist.
pub fn dummy_hash() -> Result<String, argon2::password_hash::Error> {
    hash(SaltString::generate(&mut OsRng).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asvs_2_4_1_hashes_are_argon2id_with_the_required_cost() {
        let phc = hash("Correct-Horse-9!").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn verify_accepts_only_the_right_password() {
        let phc = hash("Correct-Horse-9!").unwrap();
        assert!(verify("Correct-Horse-9!", &phc));
        assert!(!verify("correct-horse-9!", &phc));
        assert!(!verify("Correct-Horse-9!", "not a phc string"));
    }

    #[test]
    fn reused_memory_gives_the_same_verdicts() {
        let phc = hash("Correct-Horse-9!").unwrap();
        let other = hash("Other-Horse-9!").unwrap();
        let mut memory = HashMemory::new();
        // Each verdict after another hash has filled the memory.
        for _ in 0..2 {
            assert!(verify_in("Correct-Horse-9!", &phc, &mut memory));
            assert!(!verify_in("Other-Horse-9!", &phc, &mut memory));
            assert!(verify_in("Other-Horse-9!", &other, &mut memory));
        }
    }

    #[test]
    fn hashes_made_with_other_parameters_still_verify() {
        // Less and more memory than today's, another output length, Argon2i.
        for (alg, m, t, len) in [
            (Algorithm::Argon2id, 8_192, 3, 32),
            (Algorithm::Argon2id, 32_768, 1, 16),
            (Algorithm::Argon2i, 19_456, 2, 32),
        ] {
            let params = Params::new(m, t, 1, Some(len)).unwrap();
            let salt = SaltString::generate(&mut OsRng);
            let phc = Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"Correct-Horse-9!", &salt)
                .unwrap()
                .to_string();
            let mut memory = HashMemory::new();
            assert!(verify_in("Correct-Horse-9!", &phc, &mut memory), "{phc}");
            assert!(!verify_in("Correct-Horse-8!", &phc, &mut memory), "{phc}");
        }
    }

    #[test]
    fn a_tampered_hash_matches_nothing() {
        let phc = hash("Correct-Horse-9!").unwrap();
        let (head, digest) = phc.rsplit_once('$').unwrap();
        let flipped = if digest.starts_with('A') { "B" } else { "A" };
        let tampered = format!("{head}${flipped}{}", &digest[1..]);
        assert!(!verify("Correct-Horse-9!", &tampered));
        let no_hash = format!("{head}$");
        assert!(!verify("Correct-Horse-9!", &no_hash));
    }

    #[test]
    fn salts_differ_between_hashes_of_the_same_password() {
        assert_ne!(
            hash("Same-Password-1!").unwrap(),
            hash("Same-Password-1!").unwrap()
        );
    }

    #[test]
    fn dummy_hash_matches_nothing_a_user_types() {
        let dummy = dummy_hash().unwrap();
        assert!(!verify("", &dummy));
        assert!(!verify("Password123!", &dummy));
    }
}
