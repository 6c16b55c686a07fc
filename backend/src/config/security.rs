//! Who may do what, from where, and how sign-in is defended: MFA and the
//! re-authentication windows, the networks each role may be used from,
//! admin elevation (`access`, what the policy decision point applies),
//! brute-force protection, the password policy and the trusted proxies.

use super::reader::Reader;
use crate::security::brute_force::BruteForcePolicy;
use crate::security::client_ip::Cidr;
use crate::security::policy::Role;
use std::time::Duration;
use wire::password_policy::PolicyKind;

/// The access policy's settings (`Settings::policy` turns them into what
/// the decision point applies).
#[derive(Clone, Debug)]
pub struct AccessSettings {
    /// `MFA_REQUIRED_FOR_ROLES`, default `admin`: users holding any of these
    /// roles must enrol in MFA before any admin page or API answers them.
    pub mfa_required_for_roles: Vec<String>,
    /// `STEP_UP_WINDOW_SECS`, default 300: how recent a second-factor check
    /// must be for a sensitive action.
    pub step_up_window: Duration,
    /// `REAUTH_WINDOW_SECS`, default 300: how recent an authentication (the
    /// login, the password re-entered, or a second factor) must be for an
    /// account-security change (enrolling or disabling MFA, a new password,
    /// new recovery codes).
    pub reauth_window: Duration,
    /// `NETWORKS_ADMIN`, `NETWORKS_AUDITOR`, `NETWORKS_USER`: CIDRs each role
    /// may be used from (zero trust's network context). Unset or empty: from
    /// anywhere. Outside them the role grants nothing.
    pub role_networks: Vec<(Role, Vec<Cidr>)>,
    /// `ADMIN_ELEVATION_SECS`, default 900: an admin's write permissions are
    /// active this long after a second factor (login with MFA or step-up);
    /// after it they browse read-only until they verify again (JIT).
    pub admin_elevation: Duration,
}

pub(super) struct Security {
    pub access: AccessSettings,
    pub mfa_issuer: String,
    pub brute_force: BruteForcePolicy,
    pub trusted_proxies: Vec<Cidr>,
    pub password_policy: PolicyKind,
}

pub(super) fn read(r: &Reader<'_>) -> Security {
    let mfa_required_for_roles = mfa_required_for_roles(r);
    let step_up_window = Duration::from_secs(r.parsed("STEP_UP_WINDOW_SECS", 300u64));
    let reauth_window = Duration::from_secs(r.parsed("REAUTH_WINDOW_SECS", 300u64));
    let mfa_issuer = r
        .plain("MFA_ISSUER")
        .unwrap_or_else(|| "Secure Reference".into());
    if mfa_issuer.contains(':') {
        r.fail("MFA_ISSUER", "must not contain ':'".into());
    }
    let brute_force = brute_force(r);
    let role_networks = vec![
        (Role::Admin, r.cidrs("NETWORKS_ADMIN")),
        (Role::Auditor, r.cidrs("NETWORKS_AUDITOR")),
        (Role::User, r.cidrs("NETWORKS_USER")),
    ];
    let admin_elevation = Duration::from_secs(r.parsed("ADMIN_ELEVATION_SECS", 900u64));
    Security {
        access: AccessSettings {
            mfa_required_for_roles,
            step_up_window,
            reauth_window,
            role_networks,
            admin_elevation,
        },
        mfa_issuer,
        brute_force,
        trusted_proxies: r.cidrs("TRUSTED_PROXIES"),
        password_policy: password_policy(r),
    }
}

fn mfa_required_for_roles(r: &Reader<'_>) -> Vec<String> {
    let roles: Vec<String> = r
        .plain("MFA_REQUIRED_FOR_ROLES")
        .unwrap_or_else(|| "admin".into())
        .split(',')
        .map(|role| role.trim().to_owned())
        .filter(|role| !role.is_empty() && role != "none")
        .collect();
    for role in &roles {
        if !["admin", "auditor", "user"].contains(&role.as_str()) {
            r.fail(
                "MFA_REQUIRED_FOR_ROLES",
                format!("`{role}` is not a role (admin, auditor, user, or none)"),
            );
        }
    }
    roles
}

/// `LOGIN_DELAY_AFTER` (3), `LOGIN_LOCK_AFTER` (10), `LOGIN_LOCK_SECS`
/// (300): per-account brute-force protection.
fn brute_force(r: &Reader<'_>) -> BruteForcePolicy {
    let defaults = BruteForcePolicy::default();
    let policy = BruteForcePolicy {
        delay_after: r.parsed("LOGIN_DELAY_AFTER", defaults.delay_after),
        lock_after: r.parsed("LOGIN_LOCK_AFTER", defaults.lock_after),
        lock_for: Duration::from_secs(r.parsed("LOGIN_LOCK_SECS", defaults.lock_for.as_secs())),
        ..defaults
    };
    if policy.lock_after == 0 || policy.lock_after > 100 {
        r.fail(
            "LOGIN_LOCK_AFTER",
            "must be between 1 and 100 (NIST SP 800-63B)".into(),
        );
    }
    policy
}

fn password_policy(r: &Reader<'_>) -> PolicyKind {
    match r.plain("PASSWORD_POLICY") {
        None => PolicyKind::default(),
        Some(raw) => PolicyKind::parse(&raw).unwrap_or_else(|| {
            r.fail(
                "PASSWORD_POLICY",
                format!("must be `catalogue` or `nist`, not `{raw}`"),
            );
            PolicyKind::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use wire::password_policy::PolicyKind;

    #[test]
    fn password_policy_is_catalogue_or_nist() {
        let settings = Settings::from_pairs;
        assert_eq!(
            settings(&[]).unwrap().password_policy,
            PolicyKind::Catalogue
        );
        for (raw, kind) in [
            ("catalogue", PolicyKind::Catalogue),
            ("nist", PolicyKind::Nist),
            (" nist ", PolicyKind::Nist),
        ] {
            assert_eq!(
                settings(&[("PASSWORD_POLICY", raw)])
                    .unwrap()
                    .password_policy,
                kind
            );
        }
        let err = settings(&[("PASSWORD_POLICY", "strong")]).unwrap_err();
        assert_eq!(err.0[0].variable, "PASSWORD_POLICY");
        assert!(err.0[0].problem.contains("`catalogue` or `nist`"));
    }
}
