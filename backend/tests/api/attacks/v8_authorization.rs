//! ASVS 5.0 V8 (authorization): device posture, first-party-only routes, admin plane.
