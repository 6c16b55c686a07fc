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
use crate::security::policy_table::{
    account_security, admin_read, clients_write, first_party_own, own, public, PolicyTable,
};

/// The table the enforcement point reads (`http::enforce`).
pub const TABLE: PolicyTable = PolicyTable(POLICIES);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::policy_table::Lookup;

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
    fn allow_names_every_method_a_path_is_declared_with() {
        assert_eq!(
            TABLE.allowed_methods("/api/v1/me/ssn"),
            "GET, HEAD, PUT, DELETE"
        );
        assert_eq!(TABLE.allowed_methods("/api/v1/auth/login"), "POST");
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
            let Lookup::Found(p) = TABLE.lookup(method, path) else {
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
            let Lookup::Found(p) = TABLE.lookup("POST", path) else {
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
