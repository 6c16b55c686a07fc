//! The policy table's vocabulary and its lookup: the kinds of route policy
//! (public, one's own account, admin reads, account security, …) and how
//! the enforcement point finds a request's entry. Which route has which
//! policy is declared with the route itself (`routes::table`); this module
//! names no route. The decision on an entry is [`super::policy::decide`].

use super::policy::{Permission, RoutePolicy};

pub const fn public(method: &'static str, path: &'static str) -> RoutePolicy {
    RoutePolicy::public(method, path)
}

/// Anything else a route needs, spelled out with [`RoutePolicy`]'s builders.
pub const fn requires(method: &'static str, path: &'static str, p: Permission) -> RoutePolicy {
    RoutePolicy::requires(method, path, p)
}

pub const fn own(method: &'static str, path: &'static str) -> RoutePolicy {
    requires(method, path, Permission::OwnAccount)
}

pub const fn admin_read(method: &'static str, path: &'static str) -> RoutePolicy {
    requires(method, path, Permission::AdminRead)
}

/// Account security (how the user signs in): a first-party session only —
/// no OAuth client's token, whatever its scopes (ASVS 5.0 10.x: a client
/// acts within its grant, never on the credentials) — that authenticated
/// within `REAUTH_WINDOW_SECS` (the login, `POST /api/v1/me/reauthenticate`
/// or a step-up), so a stolen session cannot enrol its own authenticator,
/// turn MFA off or set a password.
pub const fn account_security(method: &'static str, path: &'static str) -> RoutePolicy {
    own(method, path).first_party().with_recent_auth()
}

/// Proving who one is (step-up, re-authentication) and ending one's own
/// sessions: first-party sessions only, but no recent authentication needed
/// (that is what they give, or they take something away).
pub const fn first_party_own(method: &'static str, path: &'static str) -> RoutePolicy {
    own(method, path).first_party()
}

/// OAuth client changes: the shape of a role change (elevated admin, a
/// second factor within the step-up window, a registered compliant device).
pub const fn clients_write(method: &'static str, path: &'static str) -> RoutePolicy {
    requires(method, path, Permission::ClientsWrite)
        .with_fresh_mfa()
        .on_managed_device()
}

/// Every route's entry, as the router spells its pattern. A route missing
/// from it is refused (fail closed).
#[derive(Clone, Copy, Debug)]
pub struct PolicyTable(pub &'static [RoutePolicy]);

/// What the table says about a matched route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(&'static RoutePolicy),
    /// The pattern is listed, for other methods only: 405.
    WrongMethod,
    /// Not listed at all: refused.
    Missing,
}

impl PolicyTable {
    pub fn entries(self) -> &'static [RoutePolicy] {
        self.0
    }

    /// The entry for `method` on a route `pattern` (HEAD is looked up as GET).
    pub fn lookup(self, method: &str, pattern: &str) -> Lookup {
        let method = if method == "HEAD" { "GET" } else { method };
        let mut listed = false;
        for p in self.0 {
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
    /// methods the table lists for it, with HEAD wherever GET is (it is
    /// looked up as GET), in the table's order.
    pub fn allowed_methods(self, pattern: &str) -> String {
        let mut methods: Vec<&str> = Vec::new();
        for p in self.0.iter().filter(|p| p.path == pattern) {
            for m in std::iter::once(p.method).chain((p.method == "GET").then_some("HEAD")) {
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
        }
        methods.join(", ")
    }
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

    const TABLE: PolicyTable = PolicyTable(&[
        own("GET", "/me"),
        own("GET", "/ssn"),
        own("PUT", "/ssn"),
        own("DELETE", "/ssn"),
        public("POST", "/login"),
        public("GET", "/healthz"),
    ]);

    #[test]
    fn lookups_distinguish_missing_and_wrong_methods() {
        assert!(matches!(TABLE.lookup("GET", "/me"), Lookup::Found(_)));
        assert!(matches!(TABLE.lookup("HEAD", "/healthz"), Lookup::Found(_)));
        assert_eq!(TABLE.lookup("PUT", "/me"), Lookup::WrongMethod);
        assert_eq!(TABLE.lookup("GET", "/secret"), Lookup::Missing);
    }

    #[test]
    fn allow_lists_every_method_of_a_path_and_head_with_get() {
        assert_eq!(TABLE.allowed_methods("/me"), "GET, HEAD");
        assert_eq!(TABLE.allowed_methods("/ssn"), "GET, HEAD, PUT, DELETE");
        assert_eq!(TABLE.allowed_methods("/login"), "POST");
        assert_eq!(TABLE.allowed_methods("/nowhere"), "");
    }

    #[test]
    fn the_kinds_say_what_they_require() {
        let p = account_security("POST", "/x");
        assert!(p.first_party && p.recent_auth && !p.fresh_mfa);
        let p = first_party_own("POST", "/x");
        assert!(p.first_party && !p.recent_auth);
        let p = clients_write("PUT", "/x");
        assert!(p.fresh_mfa && p.managed_device);
        assert_eq!(
            admin_read("GET", "/x").access,
            super::super::policy::Access::Requires(Permission::AdminRead)
        );
    }

    #[test]
    fn pages_are_what_is_outside_the_api_and_operations() {
        assert!(is_page("/admin/users/{id}"));
        assert!(is_page("/"));
        assert!(!is_page("/api/v1/me"));
        assert!(!is_page("/auth/login"));
        assert!(!is_page("/metrics"));
    }
}
