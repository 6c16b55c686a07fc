//! The policy table: every route the server registers, as the router spells
//! its pattern, with what it requires. The enforcement middleware
//! (`http::enforce`) looks each request up here and asks the policy decision
//! point (`security::policy::decide`); a route missing from this table is
//! refused (fail closed), and a test compares this table with the routes the
//! running server actually has.
//!
//! Pages are listed too: a page whose policy denies renders its "not
//! allowed" view (and loads no data) instead of being cut off, so the browser
//! still gets a proper page.

use crate::security::policy::{Permission, RoutePolicy};

const fn public(method: &'static str, path: &'static str) -> RoutePolicy {
    RoutePolicy::public(method, path)
}

const fn own(method: &'static str, path: &'static str) -> RoutePolicy {
    RoutePolicy::requires(method, path, Permission::OwnAccount)
}

const fn admin_read(method: &'static str, path: &'static str) -> RoutePolicy {
    RoutePolicy::requires(method, path, Permission::AdminRead)
}

/// Account security (how the user signs in): a first-party session only —
/// no OAuth client's token, whatever its scopes (ASVS 5.0 10.x: a client
/// acts within its grant, never on the credentials) — that authenticated
/// within `REAUTH_WINDOW_SECS` (the login, `POST /api/v1/me/reauthenticate`
/// or a step-up), so a stolen session cannot enrol its own authenticator,
/// turn MFA off or set a password.
const fn account_security(method: &'static str, path: &'static str) -> RoutePolicy {
    own(method, path).first_party().with_recent_auth()
}

/// Proving who one is (step-up, re-authentication) and ending one's own
/// sessions: first-party sessions only, but no recent authentication needed
/// (that is what they give, or they take something away).
const fn first_party_own(method: &'static str, path: &'static str) -> RoutePolicy {
    own(method, path).first_party()
}

/// OAuth client changes: the shape of a role change (elevated admin, a
/// second factor within the step-up window, a registered compliant device).
const fn clients_write(method: &'static str, path: &'static str) -> RoutePolicy {
    RoutePolicy::requires(method, path, Permission::ClientsWrite)
        .with_fresh_mfa()
        .on_managed_device()
}

pub const POLICIES: &[RoutePolicy] = &[
    // Operations and discovery.
    public("GET", "/healthz"),
    public("GET", "/readyz"),
    public("GET", "/.well-known/jwks.json"),
    public("GET", "/api/openapi.json"),
    public("GET", "/pkg"),
    // Prometheus scrapes: a scraper has no account but a token
    // (`METRICS_TOKEN`), which no entry can express, so the handler decides:
    // the token, else `routes::metrics::POLICY` (admin:read) through the same
    // decision point, refusals recorded like every other.
    public("GET", "/metrics"),
    // Signing in: public, behind the strict per-IP limit.
    public("POST", "/api/v1/auth/register"),
    public("GET", "/api/v1/auth/password-policy"),
    public("POST", "/api/v1/auth/login"),
    public("POST", "/api/v1/auth/login/mfa"),
    public("POST", "/api/v1/auth/token"),
    public("POST", "/api/v1/auth/token/mfa"),
    public("POST", "/api/v1/auth/refresh"),
    public("POST", "/api/v1/auth/logout"),
    public("POST", "/auth/register"),
    public("POST", "/auth/login"),
    public("POST", "/auth/login/mfa"),
    public("POST", "/auth/logout"),
    // OAuth: the authorize endpoint sends an anonymous user to sign in; the
    // token endpoint authenticates the client itself.
    public("GET", "/.well-known/oauth-authorization-server"),
    public("GET", "/oauth/authorize"),
    // Consent is the user's, given in this site's own browser session: never
    // by an OAuth client's session (which could approve itself for more).
    // The handler also binds the decision to the page the server rendered.
    first_party_own("POST", "/oauth/authorize/decision"),
    public("POST", "/oauth/token"),
    public("POST", "/oauth/revoke"),
    public("POST", "/oauth/introspect"),
    // One's own account.
    own("GET", "/api/v1/me"),
    account_security("POST", "/api/v1/me/password"),
    first_party_own("POST", "/api/v1/me/reauthenticate"),
    own("GET", "/api/v1/me/mfa"),
    account_security("POST", "/api/v1/me/mfa/totp/setup"),
    account_security("POST", "/api/v1/me/mfa/totp/confirm"),
    first_party_own("POST", "/api/v1/me/mfa/step-up"),
    account_security("POST", "/api/v1/me/mfa/recovery-codes"),
    account_security("POST", "/api/v1/me/mfa/disable"),
    own("GET", "/api/v1/me/activity"),
    own("GET", "/api/v1/me/sessions"),
    first_party_own("POST", "/api/v1/me/sessions/revoke-others"),
    first_party_own("DELETE", "/api/v1/me/sessions/{id}"),
    own("GET", "/api/v1/me/devices"),
    // New devices start compliant: a fresh second factor, so a session
    // thief cannot mint a managed device (issue 16, item 5).
    // A new device is trusted at once (`on_managed_device`), so registering
    // one needs a fresh second factor in a first-party session.
    first_party_own("POST", "/api/v1/me/devices").with_fresh_mfa(),
    first_party_own("DELETE", "/api/v1/me/devices/{id}"),
    own("GET", "/api/v1/me/ssn"),
    own("PUT", "/api/v1/me/ssn"),
    own("DELETE", "/api/v1/me/ssn"),
    RoutePolicy::requires("POST", "/api/v1/me/ssn/reveal", Permission::OwnAccount).with_fresh_mfa(),
    RoutePolicy::requires(
        "POST",
        "/api/v1/admin/users/{id}/ssn/reveal",
        Permission::SsnReveal,
    )
    .with_fresh_mfa(),
    account_security("POST", "/auth/password"),
    first_party_own("POST", "/auth/sessions/revoke-others"),
    first_party_own("POST", "/auth/sessions/{id}/revoke"),
    // Administration: reading (admins and auditors).
    admin_read("GET", "/api/v1/admin/overview"),
    admin_read("GET", "/api/v1/admin/users"),
    admin_read("GET", "/api/v1/admin/users/{id}"),
    admin_read("GET", "/api/v1/admin/users/{id}/sessions"),
    admin_read("GET", "/api/v1/admin/devices"),
    admin_read("GET", "/api/v1/admin/decisions"),
    admin_read("GET", "/api/v1/admin/policies"),
    admin_read("GET", "/api/v1/admin/audit"),
    admin_read("GET", "/api/v1/admin/logs"),
    admin_read("GET", "/api/v1/admin/audit.csv"),
    // Reads only (and records that it ran): a POST because it is an action.
    admin_read("POST", "/api/v1/admin/audit/verify"),
    // Administration: changes (admins, elevated by a recent second factor).
    RoutePolicy::requires(
        "PUT",
        "/api/v1/admin/users/{id}/roles",
        Permission::RolesWrite,
    )
    .with_fresh_mfa()
    .on_managed_device(),
    RoutePolicy::requires(
        "POST",
        "/api/v1/admin/users/{id}/lock",
        Permission::UsersWrite,
    ),
    RoutePolicy::requires(
        "POST",
        "/api/v1/admin/users/{id}/unlock",
        Permission::UsersWrite,
    ),
    RoutePolicy::requires(
        "POST",
        "/api/v1/admin/users/{id}/mfa/reset",
        Permission::UsersWrite,
    )
    .with_fresh_mfa(),
    // Crypto-shredding destroys data for good: an admin's first-party
    // session with a fresh second factor (which is also a recent
    // authentication, checked again).
    RoutePolicy::requires(
        "POST",
        "/api/v1/admin/users/{id}/shred",
        Permission::UsersWrite,
    )
    .with_fresh_mfa()
    .with_recent_auth()
    .first_party(),
    RoutePolicy::requires(
        "DELETE",
        "/api/v1/admin/sessions/{id}",
        Permission::UsersWrite,
    ),
    RoutePolicy::requires(
        "PUT",
        "/api/v1/admin/devices/{id}/compliance",
        Permission::DevicesWrite,
    ),
    // OAuth clients: read like the rest of the dashboard; every change (a
    // client may act for users, and a secret is shown) like a role change.
    admin_read("GET", "/api/v1/admin/oauth/clients"),
    admin_read("GET", "/api/v1/admin/oauth/clients/{id}"),
    clients_write("POST", "/api/v1/admin/oauth/clients"),
    clients_write("PUT", "/api/v1/admin/oauth/clients/{id}"),
    clients_write("DELETE", "/api/v1/admin/oauth/clients/{id}"),
    clients_write("POST", "/api/v1/admin/oauth/clients/{id}/secret"),
    // The Patterns area's demonstrations: each on one's own account; the
    // password check is public (nothing is stored), the device demo needs
    // a registered, compliant device like an admin change.
    own("GET", "/api/v1/me/token"),
    own("GET", "/api/v1/demo/limited"),
    own("GET", "/api/v1/demo/search"),
    own("POST", "/api/v1/demo/fail"),
    RoutePolicy::requires("GET", "/api/v1/demo/managed-device", Permission::OwnAccount)
        .on_managed_device(),
    public("POST", "/api/v1/demo/password-check"),
    // Workshop mode (APP_WORKSHOP=1; 404 while off): my scoreboard and
    // answers; everyone's progress for instructors (admins and auditors).
    own("GET", "/api/v1/workshop/challenges"),
    own("POST", "/api/v1/workshop/answer"),
    admin_read("GET", "/api/v1/workshop/progress"),
    // Pages.
    public("GET", "/"),
    public("GET", "/login"),
    public("GET", "/register"),
    own("GET", "/account"),
    own("GET", "/account/sessions"),
    own("GET", "/playground/oauth"),
    admin_read("GET", "/admin"),
    admin_read("GET", "/admin/users"),
    admin_read("GET", "/admin/users/{id}"),
    admin_read("GET", "/admin/devices"),
    admin_read("GET", "/admin/decisions"),
    admin_read("GET", "/admin/policies"),
    admin_read("GET", "/admin/audit"),
    admin_read("GET", "/admin/logs"),
    admin_read("GET", "/admin/oauth-clients"),
    own("GET", "/workshop"),
    admin_read("GET", "/admin/workshop"),
    public("GET", "/patterns"),
    public("GET", "/patterns/zero-trust"),
    public("GET", "/patterns/defense-in-depth"),
    public("GET", "/patterns/authentication"),
    public("GET", "/patterns/api-security"),
    public("GET", "/patterns/data-protection"),
    public("GET", "/patterns/anti-patterns"),
    public("GET", "/patterns/tools"),
    public("GET", "/patterns/password-policy"),
];

/// What the table says about a matched route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(&'static RoutePolicy),
    /// The pattern is listed, for other methods only: 405.
    WrongMethod,
    /// Not listed at all: refused.
    Missing,
}

/// The entry for `method` on a route `pattern` (HEAD is looked up as GET).
pub fn lookup(method: &str, pattern: &str) -> Lookup {
    let method = if method == "HEAD" { "GET" } else { method };
    let mut listed = false;
    for p in POLICIES {
        if p.path == pattern {
            if p.method == method {
                return Lookup::Found(p);
            }
            listed = true;
        }
    }
    if listed {
        Lookup::WrongMethod
    } else {
        Lookup::Missing
    }
}

/// The `Allow` header of a 405 for `pattern` (RFC 9110 §15.5.6): the
/// methods the table lists for it, with HEAD wherever GET is (it is looked
/// up as GET), in the table's order.
pub fn allowed_methods(pattern: &str) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for p in POLICIES.iter().filter(|p| p.path == pattern) {
        for m in std::iter::once(p.method).chain((p.method == "GET").then_some("HEAD")) {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
    }
    methods.join(", ")
}

/// Page routes are the ones outside `/api`, `/auth`, `/pkg` and the
/// operational endpoints: a denied page still renders (as "not allowed").
pub fn is_page(pattern: &str) -> bool {
    !(pattern.starts_with("/api")
        || pattern.starts_with("/auth/")
        || pattern.starts_with("/oauth/")
        || pattern.starts_with("/pkg")
        || pattern.starts_with("/.well-known")
        || pattern == "/healthz"
        || pattern == "/readyz"
        || pattern == "/metrics")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_unique() {
        for (i, a) in POLICIES.iter().enumerate() {
            for b in &POLICIES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} is listed twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn lookups_distinguish_missing_and_wrong_methods() {
        assert!(matches!(lookup("GET", "/api/v1/me"), Lookup::Found(_)));
        assert!(matches!(lookup("HEAD", "/healthz"), Lookup::Found(_)));
        assert_eq!(lookup("PUT", "/api/v1/me"), Lookup::WrongMethod);
        assert_eq!(lookup("GET", "/api/v1/secret"), Lookup::Missing);
    }

    #[test]
    fn allow_lists_every_method_of_a_path_and_head_with_get() {
        assert_eq!(allowed_methods("/api/v1/me"), "GET, HEAD");
        assert_eq!(allowed_methods("/api/v1/me/ssn"), "GET, HEAD, PUT, DELETE");
        assert_eq!(allowed_methods("/api/v1/auth/login"), "POST");
        assert_eq!(allowed_methods("/nowhere"), "");
    }

    #[test]
    fn account_security_routes_are_first_party_and_need_a_recent_authentication() {
        for (method, path) in [
            ("POST", "/api/v1/me/password"),
            ("POST", "/api/v1/me/mfa/totp/setup"),
            ("POST", "/api/v1/me/mfa/totp/confirm"),
            ("POST", "/api/v1/me/mfa/recovery-codes"),
            ("POST", "/api/v1/me/mfa/disable"),
            ("POST", "/auth/password"),
        ] {
            let Lookup::Found(p) = lookup(method, path) else {
                panic!("{method} {path} is not listed");
            };
            assert!(p.first_party && p.recent_auth, "{method} {path}");
        }
        for path in [
            "/api/v1/me/reauthenticate",
            "/api/v1/me/mfa/step-up",
            "/api/v1/me/sessions/revoke-others",
            "/oauth/authorize/decision",
            "/api/v1/me/devices",
        ] {
            let Lookup::Found(p) = lookup("POST", path) else {
                panic!("{path} is not listed");
            };
            assert!(p.first_party && !p.recent_auth, "{path}");
        }
    }

    #[test]
    fn every_admin_route_needs_more_than_an_account() {
        use crate::security::policy::Access;
        for p in POLICIES {
            if p.path.contains("/admin") {
                assert!(
                    matches!(p.access, Access::Requires(perm) if perm != Permission::OwnAccount),
                    "{} {} is under-protected",
                    p.method,
                    p.path
                );
            }
        }
    }
}
