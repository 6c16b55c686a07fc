//! `/patterns/zero-trust`: principles, the PEP and the PDP, segmentation.

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;

const PRINCIPLES: &[&[&str]] = &[
    &[
        "Verify explicitly",
        "Authenticate every request with identity, location, device health",
        "Every request carries a signed token checked against a live session; the device it names and the client's network are facts the decision weighs.",
    ],
    &[
        "Least privilege",
        "Just-in-time and just-enough access (JIT/JEA)",
        "Roles map to a short list of permissions; admin writes need a second factor within ADMIN_ELEVATION_SECS (15 minutes by default), and role grants can expire.",
    ],
    &[
        "Assume breach",
        "Segment access, encrypt end-to-end, use analytics",
        "Sensitive columns are encrypted, every denial is audited in a hash-chained log, and the admin decisions feed shows who was refused and why.",
    ],
];

const SEGMENTS: &[&[&str]] = &[
    &["DMZ", "Public", "WAF, DDoS protection, rate limiting", "Per-IP limits in front of /api, /auth and /oauth; header size limits; a reverse proxy is trusted only when listed in TRUSTED_PROXIES."],
    &["Application", "Authenticated users", "mTLS, service mesh, RBAC", "Role-based permissions decided per route by the PDP; one process, so no service mesh."],
    &["Data", "Authorized services only", "Encryption, audit logging, DLP", "The database is reached only by the server; SSNs and TOTP secrets are encrypted; every change is audited."],
    &["Management", "Privileged admins", "PAM, MFA, session recording", "Admins must enrol a second factor, changes need a fresh one, roles can be limited to networks (NETWORKS_*)."],
];

#[component]
pub fn ZeroTrustPage() -> impl IntoView {
    view! {
        <PatternLayout slug="zero-trust">
            <p>
                "Zero trust drops the idea of a trusted inside. Being on the office network, or "
                "having passed a login page once, earns nothing by itself: each request is judged on "
                "who sent it, from which device and network, and what the route demands. A stolen "
                "laptop on the LAN or an attacker past the firewall meets the same checks as anyone."
            </p>
            <h2>"Core principles"</h2>
            <StaticTable head=&["Principle", "The catalogue says", "In this app"] rows=PRINCIPLES/>
            <h2>"Policy enforcement and decision points"</h2>
            <p>
                "The catalogue splits the work in two. The " <strong>"policy enforcement point"</strong>
                " (PEP) sits in the data path: it stops each request, collects the facts and carries out "
                "the verdict. The " <strong>"policy decision point"</strong> " (PDP) holds the rules and "
                "gives the verdict, without knowing anything about HTTP."
            </p>
            <p>
                "Here the PEP is one actix middleware that every request meets exactly once. It looks the "
                "route up in the policy table (a route missing from the table is refused, so forgetting "
                "an entry fails closed), verifies the token and the session, and looks up the device. The "
                "PDP is a pure function with no framework or database imports, so its rules are unit-tested "
                "in isolation. Every denial is written to the decisions feed and the audit log."
            </p>
            <DemoPanel demo=Demo::ManagedDevice title="A request from an unregistered device">
                <p>
                    "This demo route requires a registered, compliant device, as the admin changes do. "
                    "The button calls it with an " <code>"X-Device-ID"</code> " no one registered: the PEP "
                    "refuses it with 403 and the decision is recorded with the reason "
                    <code>"device_not_registered"</code> "."
                </p>
            </DemoPanel>
            <h2>"Network segmentation"</h2>
            <p>
                "Segments limit how far an intruder can move. The catalogue's four segments, and what "
                "plays each part for this app:"
            </p>
            <StaticTable head=&["Segment", "Access level", "Controls", "Here"] rows=SEGMENTS/>
        </PatternLayout>
    }
}
