//! ASVS 5.0 V6 (authentication): every secret check counts, locks hold under concurrency, re-authentication.
