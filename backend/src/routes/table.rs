//! Every route, declared once: method, pattern, handler and policy (see
//! `routes::declare` for what follows from a line). `routes::configure`
//! registers each group under its scope and rate limits; the enforcement
//! point (`http::enforce`) looks requests up in [`POLICIES`] and asks the
//! decision point (`security::policy::decide`); `routes::openapi` documents
//! the `#[openapi]` groups. A route the table does not list is refused
//! (fail closed), and `startup` refuses to start while a registered route
//! or a page has no entry.
//!
//! Within a scope, order matters where a literal segment and a `{…}` one
//! could match the same path (`/me/sessions/revoke-others` before
//! `/me/sessions/{id}`): the router takes the first pattern that matches,
//! and so does the enforcement point.
//!
//! Pages are listed too (`elsewhere`): a page whose policy denies renders
//! its "not allowed" view (and loads no data) instead of being cut off, so
//! the browser still gets a proper page.

use super::api::v1::{
    activity, admin, auth, demo, devices, logs, me, mfa, oauth_clients, ssn, workshop,
};
use super::pages::reads;
use super::{forms, health, metrics_endpoint, oauth, openapi, wellknown};
use crate::security::policy::Permission;
use crate::security::policy_table::PolicyTable;

/// The table the enforcement point reads (`http::enforce`).
pub const TABLE: PolicyTable = PolicyTable(POLICIES);

super::declare::route_table! {
    // Operations and discovery, at the app level (the enforcement point is
    // the app-wide `enforce_outside_scopes`).
    #[openapi]
    scope operations "" {
        GET "/healthz" => health::healthz, public;
        GET "/.well-known/jwks.json" => wellknown::jwks, public;
        GET "/readyz" => health::readyz, public;
        // Prometheus scrapes: a scraper has no account but a token
        // (`METRICS_TOKEN`), which no entry can express, so the handler
        // decides: the token, else `routes::metrics_endpoint::POLICY` (admin:read)
        // through the same decision point, refusals recorded like every
        // other.
        GET "/metrics" => metrics_endpoint::metrics, public;
    }
    // OAuth discovery: public, outside the OpenAPI document (RFC 8414).
    scope discovery "" {
        GET "/.well-known/oauth-authorization-server" => oauth::metadata, public;
    }
    scope api_docs "/api" {
        GET "/openapi.json" => openapi::document, public;
    }
    // Signing in: public, behind the strict per-IP limit.
    #[openapi]
    scope api_auth "/api/v1/auth" {
        POST "/register" => auth::register, public;
        GET "/password-policy" => auth::password_policy, public;
        POST "/login" => auth::login, public;
        POST "/login/mfa" => auth::login_mfa, public;
        POST "/token" => auth::token, public;
        POST "/token/mfa" => auth::token_mfa, public;
        POST "/refresh" => auth::refresh, public;
        POST "/logout" => auth::logout, public;
    }
    // The rest of the JSON API, behind the per-IP and per-user limits.
    #[openapi]
    scope api_v1 "/api/v1" {
        // One's own account.
        GET "/me" => me::me, own, page_read = reads::me;
        // Workshop mode (APP_WORKSHOP=1; 404 while off): my scoreboard and
        // answers; everyone's progress for instructors (admins and
        // auditors).
        GET "/workshop/challenges" => workshop::challenges, own,
            page_read = reads::workshop_challenges;
        POST "/workshop/answer" => workshop::answer, own;
        GET "/workshop/progress" => workshop::progress, admin_read,
            page_read = reads::workshop_progress;
        POST "/me/password" => me::change_password, account_security;
        POST "/me/reauthenticate" => me::reauthenticate, first_party_own;
        GET "/me/mfa" => mfa::status, own, page_read = reads::my_mfa;
        POST "/me/mfa/totp/setup" => mfa::setup, account_security;
        POST "/me/mfa/totp/confirm" => mfa::confirm, account_security;
        POST "/me/mfa/step-up" => mfa::step_up, first_party_own;
        POST "/me/mfa/recovery-codes" => mfa::regenerate, account_security;
        POST "/me/mfa/disable" => mfa::disable, account_security;
        GET "/me/activity" => activity::activity, own;
        // The Patterns area's demonstrations: each on one's own account;
        // the password check is public (nothing is stored), the device
        // demo needs a registered, compliant device like an admin change.
        GET "/me/token" => demo::token, own;
        GET "/demo/search" => demo::search, own;
        POST "/demo/fail" => demo::fail, own;
        GET "/demo/managed-device" => demo::managed_device,
            requires(Permission::OwnAccount).on_managed_device();
        POST "/demo/password-check" => demo::password_check, public;
        GET "/me/sessions" => me::sessions, own, page_read = reads::my_sessions;
        POST "/me/sessions/revoke-others" => me::revoke_others, first_party_own;
        DELETE "/me/sessions/{id}" => me::revoke_session, first_party_own;
        GET "/me/ssn" => ssn::status, own, page_read = reads::my_ssn;
        PUT "/me/ssn" => ssn::set, own;
        DELETE "/me/ssn" => ssn::remove, own;
        POST "/me/ssn/reveal" => ssn::reveal_mine,
            requires(Permission::OwnAccount).with_fresh_mfa();
        POST "/admin/users/{id}/ssn/reveal" => ssn::reveal_theirs,
            requires(Permission::SsnReveal).with_fresh_mfa();
        GET "/me/devices" => devices::list, own, page_read = reads::my_devices;
        // A new device is trusted at once (`on_managed_device`), so
        // registering one needs a fresh second factor in a first-party
        // session: a session thief cannot mint a managed device (issue 16,
        // item 5).
        POST "/me/devices" => devices::register, first_party_own.with_fresh_mfa();
        DELETE "/me/devices/{id}" => devices::remove, first_party_own;
        // Administration: reading (admins and auditors); changes (admins,
        // elevated by a recent second factor).
        GET "/admin/overview" => admin::overview, admin_read, page_read = reads::admin_overview;
        GET "/admin/users" => admin::users, admin_read, page_read = reads::admin_users;
        GET "/admin/users/{id}" => admin::user, admin_read, page_read = reads::admin_user;
        PUT "/admin/users/{id}/roles" => admin::change_role,
            requires(Permission::RolesWrite).with_fresh_mfa().on_managed_device();
        POST "/admin/users/{id}/lock" => admin::lock, requires(Permission::UsersWrite);
        POST "/admin/users/{id}/unlock" => admin::unlock, requires(Permission::UsersWrite);
        POST "/admin/users/{id}/mfa/reset" => admin::reset_mfa,
            requires(Permission::UsersWrite).with_fresh_mfa();
        // Crypto-shredding destroys data for good: an admin's first-party
        // session with a fresh second factor (which is also a recent
        // authentication, checked again).
        POST "/admin/users/{id}/shred" => admin::shred,
            requires(Permission::UsersWrite).with_fresh_mfa().with_recent_auth().first_party();
        GET "/admin/users/{id}/sessions" => admin::user_sessions, admin_read,
            page_read = reads::admin_user_sessions;
        DELETE "/admin/sessions/{id}" => admin::revoke_session, requires(Permission::UsersWrite);
        GET "/admin/devices" => admin::devices_list, admin_read, page_read = reads::admin_devices;
        PUT "/admin/devices/{id}/compliance" => admin::device_compliance,
            requires(Permission::DevicesWrite);
        GET "/admin/decisions" => admin::decisions, admin_read, page_read = reads::admin_decisions;
        GET "/admin/policies" => admin::policies, admin_read, page_read = reads::admin_policies;
        GET "/admin/audit" => admin::audit, admin_read, page_read = reads::admin_audit;
        GET "/admin/logs" => logs::logs, admin_read, page_read = reads::admin_logs;
        GET "/admin/audit.csv" => admin::audit_csv, admin_read;
        // Reads only (and records that it ran): a POST because it is an
        // action.
        POST "/admin/audit/verify" => admin::audit_verify, admin_read;
        // OAuth clients: read like the rest of the dashboard; every change
        // (a client may act for users, and a secret is shown) like a role
        // change.
        GET "/admin/oauth/clients" => oauth_clients::list, admin_read,
            page_read = reads::oauth_clients;
        POST "/admin/oauth/clients" => oauth_clients::create, clients_write;
        GET "/admin/oauth/clients/{id}" => oauth_clients::get, admin_read,
            page_read = reads::oauth_client;
        PUT "/admin/oauth/clients/{id}" => oauth_clients::update, clients_write;
        DELETE "/admin/oauth/clients/{id}" => oauth_clients::delete, clients_write;
        POST "/admin/oauth/clients/{id}/secret" => oauth_clients::rotate_secret, clients_write;
    }
    // The rate-limit demonstration: its own tiny per-user bucket.
    #[openapi]
    scope api_demo_limited "/api/v1/demo/limited" {
        GET "" => demo::limited, own;
    }
    // The no-JavaScript forms, behind the strict per-IP limit.
    scope auth_forms "/auth" {
        POST "/register" => forms::register, public;
        POST "/login" => forms::login, public;
        POST "/login/mfa" => forms::login_mfa, public;
        POST "/logout" => forms::logout, public;
        POST "/password" => forms::change_password, account_security;
        POST "/sessions/revoke-others" => forms::revoke_others, first_party_own;
        POST "/sessions/{id}/revoke" => forms::revoke_session, first_party_own;
    }
    // The OAuth authorization server: the authorize endpoint sends an
    // anonymous user to sign in; the token endpoint authenticates the
    // client itself.
    scope oauth_server "/oauth" {
        GET "/authorize" => oauth::authorize, public;
        // Consent is the user's, given in this site's own browser session:
        // never by an OAuth client's session (which could approve itself
        // for more). The handler also binds the decision to the page the
        // server rendered.
        POST "/authorize/decision" => oauth::decision, first_party_own;
        POST "/token" => oauth::token, public;
        POST "/revoke" => oauth::revoke, public;
        POST "/introspect" => oauth::introspect, public;
    }
    // Registered by `startup`: the static bundle and the Leptos pages.
    elsewhere {
        GET "/pkg" => public;
        GET "/" => public;
        GET "/login" => public;
        GET "/register" => public;
        GET "/account" => own;
        GET "/account/sessions" => own;
        GET "/playground/oauth" => own;
        GET "/admin" => admin_read;
        GET "/admin/users" => admin_read;
        GET "/admin/users/{id}" => admin_read;
        GET "/admin/devices" => admin_read;
        GET "/admin/decisions" => admin_read;
        GET "/admin/policies" => admin_read;
        GET "/admin/audit" => admin_read;
        GET "/admin/logs" => admin_read;
        GET "/admin/oauth-clients" => admin_read;
        GET "/workshop" => own;
        GET "/admin/workshop" => admin_read;
        GET "/patterns" => public;
        GET "/patterns/zero-trust" => public;
        GET "/patterns/defense-in-depth" => public;
        GET "/patterns/authentication" => public;
        GET "/patterns/api-security" => public;
        GET "/patterns/data-protection" => public;
        GET "/patterns/anti-patterns" => public;
        GET "/patterns/tools" => public;
        GET "/patterns/password-policy" => public;
    }
}

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
    fn entries_carry_their_scope_prefix() {
        assert!(matches!(
            TABLE.lookup("GET", "/api/v1/me"),
            Lookup::Found(_)
        ));
        assert!(matches!(
            TABLE.lookup("GET", "/api/v1/demo/limited"),
            Lookup::Found(_)
        ));
        assert!(matches!(
            TABLE.lookup("POST", "/auth/login"),
            Lookup::Found(_)
        ));
        assert_eq!(TABLE.lookup("GET", "/me"), Lookup::Missing);
        assert_eq!(api_v1::PREFIX, "/api/v1");
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
