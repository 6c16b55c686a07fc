//! The policy table as the dashboard shows it: every route's rule, each
//! role's permissions and networks, the elevation windows.

use crate::security::policy::{self, Access, Role, RoutePolicy};
use crate::state::AppState;
use wire::*;

/// `table`: every route's entry (`routes::table`), in declaration order.
pub fn policies(state: &AppState, table: &[RoutePolicy]) -> PoliciesResponse {
    let networks = |role: Role| -> Vec<String> {
        state
            .policy
            .networks
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, c)| c.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default()
    };
    PoliciesResponse {
        routes: table
            .iter()
            .map(|p| PolicyInfo {
                method: p.method.to_owned(),
                path: p.path.to_owned(),
                requires: match p.access {
                    Access::Public => "public".to_owned(),
                    Access::Requires(perm) => perm.as_str().to_owned(),
                },
                managed_device: p.managed_device,
                fresh_mfa: p.fresh_mfa,
                first_party: p.first_party,
                recent_auth: p.recent_auth,
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| RolePermissions {
                role: r.as_str().to_owned(),
                permissions: policy::permissions_of(*r)
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
                networks: networks(*r),
            })
            .collect(),
        elevation_secs: state.policy.elevation_secs,
        step_up_secs: state.policy.step_up_secs,
        reauth_secs: state.policy.reauth_secs,
    }
}
