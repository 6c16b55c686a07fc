//! ASVS 5.0 V3 (web frontend security): cross-site request forgery, including login CSRF.
