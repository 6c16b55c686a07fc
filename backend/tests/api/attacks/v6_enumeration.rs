//! ASVS 5.0 V6.3 (account enumeration): registration and sign-in do not tell taken addresses apart.
