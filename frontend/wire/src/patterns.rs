//! Where each pattern of the catalogue lives in this code base: the data
//! behind the "Where it lives" list of every `/patterns/*` page. Compiled
//! into the server too, so a backend test walks every entry and checks that
//! the file exists (relative to the workspace root) and still contains the
//! symbol: a rename or a move breaks the build's tests, not the page.

/// One place in the code: a file, a symbol in it, and why it matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRef {
    /// Relative to the workspace root.
    pub path: &'static str,
    /// Text the file must contain, usually `fn name` or `struct Name`.
    pub symbol: &'static str,
    pub why: &'static str,
}

const fn r(path: &'static str, symbol: &'static str, why: &'static str) -> CodeRef {
    CodeRef { path, symbol, why }
}

pub const ZERO_TRUST: &[CodeRef] = &[
    r("backend/src/http/enforce.rs", "async fn enforce", "The policy enforcement point: every request meets it once, before any handler."),
    r("backend/src/routes/table.rs", "route_table!", "The route table: each route declared once, with its handler and what it requires; an unlisted route is refused."),
    r("backend/src/security/policy.rs", "fn decide", "The policy decision point: identity, permission, device, network and MFA age in, allow or deny out."),
    r("backend/src/services/access.rs", "fn decide_for", "Gathers the facts, asks the PDP and records every denial (access.denied)."),
    r("backend/src/services/sessions/verify.rs", "fn authenticate_on_device", "Verifies the token, the live session and the device the request names."),
    r("backend/src/security/client_ip.rs", "fn resolve", "The client's address: the TCP peer unless a trusted proxy vouches for another."),
    r("backend/src/services/devices.rs", "fn set_compliance", "Device health: an administrator marks a device non-compliant."),
];

pub const DEFENSE_IN_DEPTH: &[CodeRef] = &[
    r(
        "backend/src/http/rate_limit.rs",
        "struct Limiters",
        "Perimeter: per-IP and per-user rate limits in front of the API.",
    ),
    r(
        "backend/src/http/header_limits.rs",
        "async fn header_limits",
        "Perimeter: oversized headers are cut off with 431.",
    ),
    r(
        "backend/src/http/security_headers.rs",
        "fn content_security_policy",
        "Application: the strict Content-Security-Policy with a per-request nonce.",
    ),
    r(
        "backend/src/http/csrf.rs",
        "fn check",
        "Application: state-changing cookie requests must come from our origin.",
    ),
    r(
        "backend/src/http/json.rs",
        "struct ApiJson",
        "Application: body size and type limits before parsing.",
    ),
    r(
        "backend/src/security/field_crypto.rs",
        "fn encrypt",
        "Data: AES-256-GCM for sensitive columns.",
    ),
    r(
        "backend/src/audit.rs",
        "pub async fn record",
        "Data: the append-only, hash-chained audit log.",
    ),
    r(
        "backend/src/http/session_cookie.rs",
        "__Host-",
        "Fail-safe defaults: Secure, HttpOnly, SameSite=Strict host-only cookies.",
    ),
];

pub const AUTHENTICATION: &[CodeRef] = &[
    r(
        "backend/src/security/pkce.rs",
        "fn verify",
        "PKCE: the code verifier's S256 hash is compared in constant time.",
    ),
    r(
        "backend/src/services/oauth/token.rs",
        "code_verifier",
        "The token endpoint: a code is exchanged only with its verifier.",
    ),
    r(
        "backend/src/security/jwt.rs",
        "fn issue",
        "Short-lived RS256 access tokens with iss, sub, aud, exp, jti, sid.",
    ),
    r(
        "backend/src/security/jwt.rs",
        "fn verify",
        "Verification: RS256 pinned, keys only from our set, every claim required.",
    ),
    r(
        "backend/src/services/sessions/refresh.rs",
        "pub async fn refresh",
        "Refresh tokens: server-side, rotated, reuse revokes the session.",
    ),
    r(
        "backend/src/security/totp.rs",
        "fn verify",
        "TOTP (RFC 6238) with the replay rule.",
    ),
    r(
        "backend/src/services/mfa/step_up.rs",
        "fn step_up",
        "Step-up: a fresh second factor before sensitive actions.",
    ),
    r(
        "backend/src/security/password.rs",
        "fn hash",
        "Argon2id password hashing.",
    ),
    r(
        "backend/src/services/demo.rs",
        "fn token_view",
        "The token demo: decodes the caller's own token, never returns it.",
    ),
];

pub const API_SECURITY: &[CodeRef] = &[
    r(
        "frontend/wire/src/fields.rs",
        "fn parse",
        "Input validation: parse-don't-validate newtypes shared by server and browser.",
    ),
    r(
        "frontend/wire/src/password_policy.rs",
        "fn check",
        "The password rules, one implementation for both sides.",
    ),
    r(
        "backend/src/http/rate_limit.rs",
        "struct ByUser",
        "Rate limiting keyed by the verified user.",
    ),
    r(
        "backend/src/db/models/user.rs",
        "fn escape_like",
        "LIKE wildcards escaped; the value is bound, never spliced into SQL.",
    ),
    r(
        "backend/src/services/demo.rs",
        "fn search",
        "The injection demo: a user-supplied string searched through the query builder.",
    ),
    r(
        "backend/src/invariants.rs",
        "fn asvs_5_3_4_no_sql_is_built_from_strings",
        "A test that fails when SQL text is built with format!.",
    ),
];

pub const DATA_PROTECTION: &[CodeRef] = &[
    r(
        "backend/src/security/field_crypto.rs",
        "fn encrypt",
        "AES-256-GCM with a fresh nonce and row-bound associated data.",
    ),
    r(
        "backend/src/security/field_crypto.rs",
        "fn decrypt",
        "Decryption checks the key id and the row it belongs to.",
    ),
    r(
        "backend/src/services/ssn.rs",
        "fn reveal",
        "The SSN: encrypted on write, revealed only after a fresh second factor, audited.",
    ),
    r(
        "backend/src/services/key_rotation.rs",
        "pub async fn rotate",
        "Re-encrypts every field under the current key, resumably.",
    ),
    r(
        "backend/src/secret_provider.rs",
        "pub trait SecretProvider",
        "Where secrets come from: environment, *_FILE, then Vault.",
    ),
    r(
        "backend/src/keys/symmetric.rs",
        "fn field_keys_from(",
        "Field keys: generated in dev, required in production.",
    ),
    r(
        "backend/src/security/refresh_token.rs",
        "HMAC",
        "Refresh tokens are stored only as HMAC digests.",
    ),
];

pub const ANTI_PATTERNS: &[CodeRef] = &[
    r(
        "backend/src/http/enforce.rs",
        "PRIVILEGE_HEADERS",
        "Role-claiming headers are never read for access, only recorded.",
    ),
    r(
        "backend/src/error.rs",
        "fn error_response",
        "A 5xx says only \"internal server error\" and the request id.",
    ),
    r(
        "backend/src/http/request_id.rs",
        "pub async fn request_id",
        "The request id that ties the response to the log line.",
    ),
    r(
        "backend/src/secret_provider.rs",
        "pub trait SecretProvider",
        "No secret in the source: every one comes from a provider.",
    ),
    r(
        "security/semgrep.yml",
        "hardcoded-secret-literal",
        "A SAST rule that fails the build on secret-looking literals.",
    ),
    r(
        "backend/src/services/demo.rs",
        "fn fail",
        "The 500 demo: an internal error through the app's error type.",
    ),
    r(
        "backend/src/telemetry/recent_logs.rs",
        "pub struct RecentLogsLayer",
        "The server log's recent lines, searchable by request id at /admin/logs.",
    ),
];

pub const TOOLS: &[CodeRef] = &[
    r(
        "scripts/security-check",
        "semgrep",
        "Runs the whole tool chain: SAST, secrets, dependencies, DAST.",
    ),
    r(
        "security/semgrep.yml",
        "sql-built-from-strings",
        "Local SAST rules (no registry needed).",
    ),
    r(
        ".secrets.baseline",
        "results",
        "detect-secrets' audited baseline.",
    ),
    r(
        "deny.toml",
        "[advisories]",
        "cargo-deny: RustSec advisories, licences, bans, sources.",
    ),
    r(
        "backend/src/invariants.rs",
        "fn only_audit_rs_writes_the_audit_log",
        "Architecture rules checked as tests.",
    ),
];

pub const PASSWORD_POLICY: &[CodeRef] = &[
    r(
        "frontend/wire/src/password_policy.rs",
        "fn check",
        "Both rule sets: the catalogue's composition rules and NIST's length rule.",
    ),
    r(
        "backend/src/security/blocklist.rs",
        "fn contains",
        "The 100,000 most common passwords, binary-searched.",
    ),
    r(
        "backend/src/services/accounts.rs",
        "with_blocklist",
        "The server's policy: the setting's rules plus the big list.",
    ),
    r(
        "backend/src/services/demo.rs",
        "fn password_check",
        "The demo: both verdicts; the password is not stored, logged or audited.",
    ),
];

/// Every page's list, by the page's URL slug.
pub const ALL: &[(&str, &[CodeRef])] = &[
    ("zero-trust", ZERO_TRUST),
    ("defense-in-depth", DEFENSE_IN_DEPTH),
    ("authentication", AUTHENTICATION),
    ("api-security", API_SECURITY),
    ("data-protection", DATA_PROTECTION),
    ("anti-patterns", ANTI_PATTERNS),
    ("tools", TOOLS),
    ("password-policy", PASSWORD_POLICY),
];
