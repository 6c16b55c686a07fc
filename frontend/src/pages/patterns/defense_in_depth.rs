//! `/patterns/defense-in-depth`: the five layers, the checklist, safe defaults.

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;

const LAYERS: &[&[&str]] = &[
    &["1. Perimeter", "Firewall, WAF, DDoS mitigation, DNS filtering", "Per-IP rate limits, header count and size limits (431), request timeouts. A firewall or WAF belongs to the deployment."],
    &["2. Network", "Segmentation, IDS/IPS, network monitoring, VPN", "Roles can be tied to networks (NETWORKS_*); proxies are trusted only when listed. The rest belongs to the deployment."],
    &["3. Host", "Endpoint protection, hardening, patching, logging", "A small container image running as a non-root user; one log line per request with its id; cargo deny for patched dependencies."],
    &["4. Application", "Input validation, authentication, secure coding, SAST", "Parsed input types, the PEP/PDP, CSRF origin checks, a strict CSP, semgrep and clippy in the tests."],
    &["5. Data", "Encryption at rest/transit, access controls, DLP, backup", "AES-256-GCM columns, Argon2id passwords, HMAC-only refresh tokens, an append-only audit log with a hash chain."],
];

const CHECKLIST: &[&[&str]] = &[
    &[
        "Perimeter",
        "Web Application Firewall",
        "Critical",
        "Deployment: not in the app",
    ],
    &[
        "Perimeter",
        "Rate limiting",
        "Critical",
        "Done: http/rate_limit.rs",
    ],
    &[
        "Network",
        "Network segmentation (VLANs)",
        "Critical",
        "Deployment; roles can be limited to networks",
    ],
    &[
        "Network",
        "Intrusion detection system",
        "High",
        "Deployment; denials feed the decisions dashboard",
    ],
    &[
        "Host",
        "Automated patching",
        "Critical",
        "Dependencies checked by cargo deny",
    ],
    &[
        "Host",
        "Endpoint Detection & Response",
        "High",
        "Deployment: not in the app",
    ],
    &[
        "Application",
        "Input validation",
        "Critical",
        "Done: api/fields.rs, http/json.rs",
    ],
    &[
        "Application",
        "Parameterized queries",
        "Critical",
        "Done: Diesel query builder only, checked by a test",
    ],
    &[
        "Data",
        "Encryption at rest (AES-256)",
        "Critical",
        "Done: security/field_crypto.rs",
    ],
    &[
        "Data",
        "TLS 1.3 for transit",
        "Critical",
        "At the TLS-terminating proxy; __Host- cookies and HSTS need HTTPS",
    ],
];

const DEFAULTS: &[&[&str]] = &[
    &["Session cookie", "Secure, HttpOnly, SameSite=Strict", "__Host-access and __Host-refresh: Secure, HttpOnly, SameSite=Strict, Path=/"],
    &["Content-Security-Policy", "default-src 'self'; script-src 'self'", "Pages: the same, plus a per-request nonce for the hydration script, 'wasm-unsafe-eval', object-src 'none', frame-ancestors 'none'. Everything else (JSON, assets): default-src 'none'; frame-ancestors 'none'"],
    &["X-Frame-Options", "DENY", "DENY"],
    &["X-Content-Type-Options", "nosniff", "nosniff"],
    &["Referrer-Policy", "strict-origin-when-cross-origin", "Set on every response"],
    &["Session lifetime", "3600 s (1 hour)", "SESSION_IDLE_TIMEOUT_SECS, default 3600"],
    &["Token expiry", "900 s (15 minutes)", "ACCESS_TOKEN_TTL_SECS, default 900"],
    &["Rate limit, default", "100/hour", "RATE_LIMIT_API 300/minute per IP, RATE_LIMIT_USER 600/minute per user"],
    &["Rate limit, authentication", "10/minute", "RATE_LIMIT_AUTH, default 10/minute per IP"],
];

#[component]
pub fn DefenseInDepthPage() -> impl IntoView {
    view! {
        <PatternLayout slug="defense-in-depth">
            <p>
                "No single control is perfect, so controls are stacked: when one is bypassed or "
                "misconfigured, the next one still stands. A forgotten policy entry is refused by the PEP; "
                "an injection that slipped past validation meets a bound parameter; a stolen database "
                "dump meets encrypted columns and hashed passwords."
            </p>
            <h2>"The five layers"</h2>
            <StaticTable head=&["Layer", "The catalogue lists", "In this app"] rows=LAYERS/>
            <h2>"Implementation checklist"</h2>
            <StaticTable head=&["Layer", "Control", "Priority", "Status here"] rows=CHECKLIST/>
            <h2>"Fail-safe defaults"</h2>
            <p>
                "A system should be safe before anyone configures it: what is not allowed is refused, "
                "and the settings one forgets are the strict ones. The catalogue's defaults next to this "
                "app's:"
            </p>
            <StaticTable head=&["Setting", "The catalogue", "This app"] rows=DEFAULTS/>
            <DemoPanel demo=Demo::Headers title="See the security headers">
                <p>
                    "Fetches a page of this site and shows the headers every response carries, the "
                    "Content-Security-Policy among them (its nonce changes on every request)."
                </p>
            </DemoPanel>
        </PatternLayout>
    }
}
