//! Password hashing with Argon2id (m = 19456 KiB, t = 2, p = 1: OWASP's and
//! ASVS 2.4.1's minimum). These calls take tens of milliseconds of CPU: callers
//! run them on a blocking thread, never on an async worker.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

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

/// Whether `password` matches `phc`. A malformed stored hash counts as no match.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
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
