//! The policy decision point (PDP): one pure function that answers allow or
//! deny, with a reason, for every request the enforcement middleware
//! (`http::enforce`) sees.
//!
//! It is given facts — who (verified token and live session, or why not),
//! from which device, from which network, asking for which route — and the
//! route's policy entry. It reads nothing itself, so every rule here is a
//! unit test away. Roles and permissions come from the server-side user row,
//! never from the request: a header or a claim cannot add a role.

use super::client_ip::Cidr;
use std::net::IpAddr;

/// A role, as stored in `user_roles`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Admin,
    Auditor,
    User,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Auditor, Role::User];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "auditor" => Some(Self::Auditor),
            "user" => Some(Self::User),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Auditor => "auditor",
            Self::User => "user",
        }
    }
}

/// What a route may require. Derived from roles in [`permissions_of`], the
/// only place that says which role may do what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// One's own account: profile, password, MFA, sessions, devices.
    OwnAccount,
    /// Read the admin dashboard: users, audit log, decisions, policies, devices.
    AdminRead,
    /// Change other users: lock, unlock, reset MFA, end sessions.
    UsersWrite,
    /// Grant and revoke roles.
    RolesWrite,
    /// Mark devices compliant or not.
    DevicesWrite,
    /// Reveal another user's SSN (always with a fresh second factor).
    SsnReveal,
    /// Register, edit, rotate the secret of and delete OAuth clients.
    ClientsWrite,
}

/// The scopes an OAuth client may be granted, and the one permission each
/// lets it use (within the user's roles). Privileged writes have no scope: a
/// third-party client never changes other people's accounts.
pub const SCOPES: [(&str, Permission); 2] = [
    ("account", Permission::OwnAccount),
    ("admin:read", Permission::AdminRead),
];

/// Whether a client with these scopes may use `permission`.
pub fn scopes_allow(scopes: &[String], permission: Permission) -> bool {
    SCOPES
        .iter()
        .any(|(name, p)| *p == permission && scopes.iter().any(|s| s == name))
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OwnAccount => "account:own",
            Self::AdminRead => "admin:read",
            Self::UsersWrite => "users:write",
            Self::RolesWrite => "roles:write",
            Self::DevicesWrite => "devices:write",
            Self::SsnReveal => "ssn:reveal",
            Self::ClientsWrite => "oauth_clients:write",
        }
    }

    /// Permissions over other people's accounts or data: held by admins only
    /// while their session is elevated (just in time).
    pub fn is_privileged_write(self) -> bool {
        matches!(
            self,
            Self::UsersWrite
                | Self::RolesWrite
                | Self::DevicesWrite
                | Self::SsnReveal
                | Self::ClientsWrite
        )
    }
}

/// The permissions a role grants (an admin's writes still need elevation).
pub fn permissions_of(role: Role) -> &'static [Permission] {
    use Permission::*;
    match role {
        Role::User => &[OwnAccount],
        Role::Auditor => &[OwnAccount, AdminRead],
        Role::Admin => &[
            OwnAccount,
            AdminRead,
            UsersWrite,
            RolesWrite,
            DevicesWrite,
            SsnReveal,
            ClientsWrite,
        ],
    }
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-in, health checks, public pages, assets.
    Public,
    /// A verified identity holding this permission.
    Requires(Permission),
}

/// One entry of the policy table: a route pattern as the router spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoutePolicy {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// The request must come from a registered, compliant device of the user.
    pub managed_device: bool,
    /// The session must have passed a second factor within the step-up window
    /// (on top of elevation), for the most sensitive changes.
    pub fresh_mfa: bool,
    /// Only a first-party session (the app's own login) may call it: a
    /// session an OAuth client opened is refused whatever its scopes.
    pub first_party: bool,
    /// The session must have authenticated (login, password re-entered or a
    /// second factor) within the re-authentication window.
    pub recent_auth: bool,
}

impl RoutePolicy {
    pub const fn public(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            access: Access::Public,
            managed_device: false,
            fresh_mfa: false,
            first_party: false,
            recent_auth: false,
        }
    }

    pub const fn requires(method: &'static str, path: &'static str, p: Permission) -> Self {
        Self {
            method,
            path,
            access: Access::Requires(p),
            managed_device: false,
            fresh_mfa: false,
            first_party: false,
            recent_auth: false,
        }
    }

    pub const fn on_managed_device(mut self) -> Self {
        self.managed_device = true;
        self
    }

    pub const fn with_fresh_mfa(mut self) -> Self {
        self.fresh_mfa = true;
        self
    }

    /// Account security (ASVS 5.0 6.4.x, 7.5.x): no OAuth client's token,
    /// whatever it was granted, may change how the user signs in.
    pub const fn first_party(mut self) -> Self {
        self.first_party = true;
        self
    }

    /// Like Keycloak's `max_age` re-authentication: a stolen session (or an
    /// unattended browser) cannot change the account's credentials without
    /// proving the password or the existing second factor again.
    pub const fn with_recent_auth(mut self) -> Self {
        self.recent_auth = true;
        self
    }
}

/// The verified caller, as the session store knows them.
#[derive(Clone, Debug)]
pub struct Subject {
    pub roles: Vec<Role>,
    pub mfa_enrolled: bool,
    /// Seconds since the session last passed a second factor, if ever.
    pub mfa_age_secs: Option<i64>,
    /// Seconds since the session last authenticated (its login, the password
    /// re-entered, or a second factor), if ever.
    pub auth_age_secs: Option<i64>,
    /// For a session an OAuth client opened: the scopes the user granted.
    /// `None` for a first-party session.
    pub scopes: Option<Vec<String>>,
}

/// The device a request names (`X-Device-ID` or the device cookie).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceFact {
    /// None presented.
    Absent,
    /// Presented, but not a device registered to this user.
    Unknown,
    Registered {
        compliant: bool,
    },
}

/// Settings the PDP applies, from config.
#[derive(Clone, Debug, Default)]
pub struct PolicySettings {
    /// Per role: where it may be used from. Empty = anywhere.
    pub networks: Vec<(Role, Vec<Cidr>)>,
    /// Roles whose privileges require an enrolled second factor.
    pub mfa_required_for: Vec<Role>,
    /// How long after a second factor an admin's writes stay active (JIT).
    pub elevation_secs: i64,
    /// How long after a second factor a `fresh_mfa` route is allowed.
    pub step_up_secs: i64,
    /// How long after an authentication a `recent_auth` route is allowed.
    pub reauth_secs: i64,
}

impl PolicySettings {
    fn allows_network(&self, role: Role, ip: Option<IpAddr>) -> bool {
        let Some((_, cidrs)) = self.networks.iter().find(|(r, _)| *r == role) else {
            return true;
        };
        cidrs.is_empty() || ip.is_some_and(|ip| cidrs.iter().any(|c| c.contains(ip)))
    }
}

/// Everything known about one request.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// `Err(reason)` when a token was presented (or needed) and did not verify.
    pub subject: Result<&'a Subject, &'static str>,
    pub device: DeviceFact,
    pub client_ip: Option<IpAddr>,
}

/// Why a request was refused. The reason is recorded; the caller only sees
/// the status and, where they can act on it, a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deny {
    /// No verified identity (no token, bad token, dead session): 401.
    Unauthenticated(&'static str),
    /// The permission is not among the caller's roles: 403.
    MissingPermission,
    /// The role that grants it may not be used from this address: 403.
    Network,
    /// The device is registered but marked non-compliant: 403.
    DeviceNotCompliant,
    /// The route needs a registered device and none (or a foreign one) was named: 403.
    DeviceNotRegistered,
    /// The role requires MFA and the user has not enrolled: 403 with a code.
    MfaEnrollmentRequired,
    /// Admin writes need a second factor within the elevation window: 401 with a code.
    ElevationRequired,
    /// The OAuth client's scopes do not cover this route: 403.
    ScopeInsufficient,
    /// The route needs a second factor within the step-up window: 401 with a code.
    StepUpRequired,
    /// The route is for first-party sessions and an OAuth client's session called it: 403 with a code.
    FirstPartyRequired,
    /// The route needs an authentication within the re-authentication window: 401 with a code.
    ReauthenticationRequired,
}

impl Deny {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Unauthenticated(why) => why,
            Self::MissingPermission => "missing_permission",
            Self::Network => "network_not_allowed",
            Self::DeviceNotCompliant => "device_not_compliant",
            Self::DeviceNotRegistered => "device_not_registered",
            Self::MfaEnrollmentRequired => "mfa_enrollment_required",
            Self::ElevationRequired => "elevation_required",
            Self::ScopeInsufficient => "insufficient_scope",
            Self::StepUpRequired => "step_up_required",
            Self::FirstPartyRequired => "first_party_session_required",
            Self::ReauthenticationRequired => "reauthentication_required",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(Deny),
}

/// The decision for one request. Checks run from the cheapest to explain to
/// the most specific, and the first failing one is the reason.
pub fn decide(policy: &RoutePolicy, facts: &Facts<'_>, settings: &PolicySettings) -> Decision {
    let Access::Requires(needed) = policy.access else {
        return Decision::Allow;
    };
    let subject = match facts.subject {
        Ok(s) => s,
        Err(why) => return Decision::Deny(Deny::Unauthenticated(why)),
    };
    // A quarantined device is refused everywhere, whatever the route.
    match facts.device {
        DeviceFact::Registered { compliant: false } => {
            return Decision::Deny(Deny::DeviceNotCompliant)
        }
        DeviceFact::Unknown if policy.managed_device => {
            return Decision::Deny(Deny::DeviceNotRegistered)
        }
        DeviceFact::Absent if policy.managed_device => {
            return Decision::Deny(Deny::DeviceNotRegistered)
        }
        _ => {}
    }

    let granting: Vec<Role> = subject
        .roles
        .iter()
        .copied()
        .filter(|r| permissions_of(*r).contains(&needed))
        .collect();
    if granting.is_empty() {
        return Decision::Deny(Deny::MissingPermission);
    }
    // Before the scope check: whatever an OAuth client was granted, it
    // never reaches a first-party route.
    if policy.first_party && subject.scopes.is_some() {
        return Decision::Deny(Deny::FirstPartyRequired);
    }
    if let Some(scopes) = &subject.scopes {
        if !scopes_allow(scopes, needed) {
            return Decision::Deny(Deny::ScopeInsufficient);
        }
    }
    let reachable: Vec<Role> = granting
        .into_iter()
        .filter(|r| settings.allows_network(*r, facts.client_ip))
        .collect();
    if reachable.is_empty() {
        return Decision::Deny(Deny::Network);
    }
    // Roles that need MFA grant nothing beyond the user's own account until
    // it is enrolled (so an admin can still reach the enrolment page).
    if needed != Permission::OwnAccount
        && !subject.mfa_enrolled
        && reachable
            .iter()
            .all(|r| settings.mfa_required_for.contains(r))
    {
        return Decision::Deny(Deny::MfaEnrollmentRequired);
    }
    let mfa_within = |secs: i64| subject.mfa_age_secs.is_some_and(|age| age <= secs);
    if needed.is_privileged_write() && !mfa_within(settings.elevation_secs) {
        return Decision::Deny(Deny::ElevationRequired);
    }
    if policy.fresh_mfa && !mfa_within(settings.step_up_secs) {
        return Decision::Deny(Deny::StepUpRequired);
    }
    let auth_within = subject
        .auth_age_secs
        .is_some_and(|age| age <= settings.reauth_secs);
    if policy.recent_auth && !auth_within {
        return Decision::Deny(Deny::ReauthenticationRequired);
    }
    Decision::Allow
}

/// The permissions a subject can use right now, for display ("you are
/// browsing read-only until you verify again").
pub fn effective_permissions(
    subject: &Subject,
    client_ip: Option<IpAddr>,
    settings: &PolicySettings,
) -> Vec<Permission> {
    let mut out: Vec<Permission> = subject
        .roles
        .iter()
        .filter(|r| settings.allows_network(**r, client_ip))
        .flat_map(|r| permissions_of(*r).iter().copied())
        .filter(|p| subject.scopes.as_ref().is_none_or(|s| scopes_allow(s, *p)))
        .filter(|p| {
            !p.is_privileged_write()
                || subject
                    .mfa_age_secs
                    .is_some_and(|age| age <= settings.elevation_secs)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PolicySettings {
        PolicySettings {
            networks: vec![],
            mfa_required_for: vec![Role::Admin],
            elevation_secs: 900,
            step_up_secs: 300,
            reauth_secs: 300,
        }
    }

    fn subject(roles: &[Role], mfa_age: Option<i64>) -> Subject {
        Subject {
            roles: roles.to_vec(),
            mfa_enrolled: mfa_age.is_some(),
            mfa_age_secs: mfa_age,
            auth_age_secs: Some(0),
            scopes: None,
        }
    }

    fn facts(s: &Subject) -> Facts<'_> {
        Facts {
            subject: Ok(s),
            device: DeviceFact::Absent,
            client_ip: Some("127.0.0.1".parse().unwrap()),
        }
    }

    const READ: RoutePolicy = RoutePolicy::requires("GET", "/x", Permission::AdminRead);
    const WRITE: RoutePolicy = RoutePolicy::requires("PUT", "/x", Permission::RolesWrite);

    #[test]
    fn public_routes_need_nothing() {
        let p = RoutePolicy::public("GET", "/");
        let f = Facts {
            subject: Err("no_token"),
            device: DeviceFact::Absent,
            client_ip: None,
        };
        assert_eq!(decide(&p, &f, &settings()), Decision::Allow);
    }

    #[test]
    fn no_identity_is_unauthenticated_with_its_reason() {
        let f = Facts {
            subject: Err("token_expired"),
            device: DeviceFact::Absent,
            client_ip: None,
        };
        assert_eq!(
            decide(&READ, &f, &settings()),
            Decision::Deny(Deny::Unauthenticated("token_expired"))
        );
    }

    #[test]
    fn roles_grant_exactly_their_permissions() {
        let user = subject(&[Role::User], Some(0));
        let auditor = subject(&[Role::Auditor], Some(0));
        let admin = subject(&[Role::Admin], Some(0));
        assert_eq!(
            decide(&READ, &facts(&user), &settings()),
            Decision::Deny(Deny::MissingPermission)
        );
        assert_eq!(
            decide(&READ, &facts(&auditor), &settings()),
            Decision::Allow
        );
        assert_eq!(
            decide(&WRITE, &facts(&auditor), &settings()),
            Decision::Deny(Deny::MissingPermission)
        );
        assert_eq!(decide(&WRITE, &facts(&admin), &settings()), Decision::Allow);
    }

    #[test]
    fn admin_writes_lapse_after_the_elevation_window_but_reads_stay() {
        let stale = subject(&[Role::Admin], Some(901));
        assert_eq!(decide(&READ, &facts(&stale), &settings()), Decision::Allow);
        assert_eq!(
            decide(&WRITE, &facts(&stale), &settings()),
            Decision::Deny(Deny::ElevationRequired)
        );
        let eff = effective_permissions(&stale, None, &settings());
        assert!(eff.contains(&Permission::AdminRead));
        assert!(!eff.iter().any(|p| p.is_privileged_write()));
    }

    #[test]
    fn an_admin_without_mfa_keeps_only_their_own_account() {
        let s = Subject {
            roles: vec![Role::Admin, Role::User],
            mfa_enrolled: false,
            mfa_age_secs: None,
            auth_age_secs: Some(0),
            scopes: None,
        };
        assert_eq!(
            decide(&READ, &facts(&s), &settings()),
            Decision::Deny(Deny::MfaEnrollmentRequired)
        );
        let own = RoutePolicy::requires("GET", "/me", Permission::OwnAccount);
        assert_eq!(decide(&own, &facts(&s), &settings()), Decision::Allow);
    }

    #[test]
    fn a_role_only_works_from_its_networks() {
        let mut cfg = settings();
        cfg.networks = vec![(Role::Admin, vec![Cidr::parse("10.0.0.0/8").unwrap()])];
        let admin = subject(&[Role::Admin, Role::User], Some(0));
        let mut f = facts(&admin);
        assert_eq!(decide(&READ, &f, &cfg), Decision::Deny(Deny::Network));
        // The plain user role is not restricted: their own account still works.
        let own = RoutePolicy::requires("GET", "/me", Permission::OwnAccount);
        assert_eq!(decide(&own, &f, &cfg), Decision::Allow);
        f.client_ip = Some("10.1.2.3".parse().unwrap());
        assert_eq!(decide(&READ, &f, &cfg), Decision::Allow);
        f.client_ip = None;
        assert_eq!(decide(&READ, &f, &cfg), Decision::Deny(Deny::Network));
    }

    #[test]
    fn a_non_compliant_device_is_refused_everywhere() {
        let user = subject(&[Role::User], None);
        let mut f = facts(&user);
        f.device = DeviceFact::Registered { compliant: false };
        let own = RoutePolicy::requires("GET", "/me", Permission::OwnAccount);
        assert_eq!(
            decide(&own, &f, &settings()),
            Decision::Deny(Deny::DeviceNotCompliant)
        );
    }

    #[test]
    fn managed_device_routes_need_a_registered_compliant_device() {
        let admin = subject(&[Role::Admin], Some(0));
        let p = WRITE.on_managed_device();
        let mut f = facts(&admin);
        for d in [DeviceFact::Absent, DeviceFact::Unknown] {
            f.device = d;
            assert_eq!(
                decide(&p, &f, &settings()),
                Decision::Deny(Deny::DeviceNotRegistered)
            );
        }
        f.device = DeviceFact::Registered { compliant: true };
        assert_eq!(decide(&p, &f, &settings()), Decision::Allow);
    }

    #[test]
    fn fresh_mfa_routes_need_a_recent_second_factor() {
        let p = WRITE.with_fresh_mfa();
        let admin = subject(&[Role::Admin], Some(400));
        assert_eq!(
            decide(&p, &facts(&admin), &settings()),
            Decision::Deny(Deny::StepUpRequired)
        );
        let admin = subject(&[Role::Admin], Some(10));
        assert_eq!(decide(&p, &facts(&admin), &settings()), Decision::Allow);
    }

    #[test]
    fn an_oauth_session_uses_only_what_its_scopes_and_roles_both_allow() {
        let mut admin = subject(&[Role::Admin, Role::User], Some(0));
        admin.scopes = Some(vec!["account".into()]);
        let own = RoutePolicy::requires("GET", "/me", Permission::OwnAccount);
        assert_eq!(decide(&own, &facts(&admin), &settings()), Decision::Allow);
        assert_eq!(
            decide(&READ, &facts(&admin), &settings()),
            Decision::Deny(Deny::ScopeInsufficient)
        );
        admin.scopes = Some(vec!["account".into(), "admin:read".into()]);
        assert_eq!(decide(&READ, &facts(&admin), &settings()), Decision::Allow);
        // No scope reaches a privileged write, whatever the roles.
        assert_eq!(
            decide(&WRITE, &facts(&admin), &settings()),
            Decision::Deny(Deny::ScopeInsufficient)
        );
        // Scopes never add to the roles.
        let mut user = subject(&[Role::User], Some(0));
        user.scopes = Some(vec!["admin:read".into()]);
        assert_eq!(
            decide(&READ, &facts(&user), &settings()),
            Decision::Deny(Deny::MissingPermission)
        );
    }

    #[test]
    fn first_party_routes_refuse_every_oauth_session_whatever_its_scopes() {
        let p = RoutePolicy::requires("POST", "/me/mfa/totp/setup", Permission::OwnAccount)
            .first_party();
        let mut user = subject(&[Role::User], None);
        assert_eq!(decide(&p, &facts(&user), &settings()), Decision::Allow);
        for scopes in [vec![], vec!["account".to_owned()]] {
            user.scopes = Some(scopes);
            assert_eq!(
                decide(&p, &facts(&user), &settings()),
                Decision::Deny(Deny::FirstPartyRequired)
            );
        }
        // Without the flag an `account` token still reaches its own account.
        let own = RoutePolicy::requires("GET", "/me", Permission::OwnAccount);
        assert_eq!(decide(&own, &facts(&user), &settings()), Decision::Allow);
        assert_eq!(
            Deny::FirstPartyRequired.reason(),
            "first_party_session_required"
        );
    }

    #[test]
    fn recent_auth_routes_need_an_authentication_within_the_window() {
        let p = RoutePolicy::requires("POST", "/me/password", Permission::OwnAccount)
            .with_recent_auth();
        let mut user = subject(&[Role::User], None);
        for (age, allowed) in [
            (Some(0), true),
            (Some(300), true),
            (Some(301), false),
            (None, false),
        ] {
            user.auth_age_secs = age;
            let want = if allowed {
                Decision::Allow
            } else {
                Decision::Deny(Deny::ReauthenticationRequired)
            };
            assert_eq!(decide(&p, &facts(&user), &settings()), want, "age {age:?}");
        }
        // Routes without the flag do not care how old the authentication is.
        let own = RoutePolicy::requires("GET", "/me", Permission::OwnAccount);
        assert_eq!(decide(&own, &facts(&user), &settings()), Decision::Allow);
        // An OAuth session is refused as such first (it could never re-authenticate).
        user.scopes = Some(vec!["account".into()]);
        assert_eq!(
            decide(&p.first_party(), &facts(&user), &settings()),
            Decision::Deny(Deny::FirstPartyRequired)
        );
    }

    #[test]
    fn role_names_round_trip_and_unknown_names_are_not_roles() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::parse("root"), None);
    }
}
