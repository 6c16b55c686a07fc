//! ASVS 5.0 V7 (session management): refresh rotation, reuse and redemption only where issued.
