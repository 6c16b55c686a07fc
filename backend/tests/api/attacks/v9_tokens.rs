//! ASVS 5.0 V9 (self-contained tokens): algorithm confusion and what the workshop credits for it.
