//! `/patterns/tools`: the catalogue's Security Tools reference, and the
//! tool chain this project runs (`scripts/security-check`).

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;

const CATALOGUE: &[&[&str]] = &[
    &[
        "SAST (Static Analysis)",
        "Semgrep, SonarQube, Bandit (Python), ESLint security plugins",
        "semgrep with local rules (security/semgrep.yml); clippy -D warnings",
    ],
    &[
        "DAST (Dynamic Analysis)",
        "OWASP ZAP, Burp Suite, Nikto",
        "sqlmap against the login and user search, and a header check, on a fresh instance",
    ],
    &[
        "Dependency Scanning",
        "Snyk, Dependabot, npm audit, pip-audit",
        "cargo deny: RustSec advisories, licences, bans, sources",
    ],
    &[
        "Secret Detection",
        "GitLeaks, TruffleHog, detect-secrets",
        "detect-secrets against an audited baseline (.secrets.baseline)",
    ],
    &[
        "Container Security",
        "Trivy, Clair, Anchore",
        "Not run here: the image is a slim Debian with a non-root user",
    ],
    &[
        "Infrastructure",
        "Terraform Sentinel, Checkov, tfsec",
        "Not applicable: there is no infrastructure code in this repository",
    ],
];

const RULES: &[&[&str]] = &[
    &[
        "sql-built-from-strings",
        "SQL text assembled with format! or +",
    ],
    &[
        "panic-on-request-path",
        "unwrap/expect in routes, http and services outside tests",
    ],
    &[
        "inner-html-with-data",
        "inner_html: markup inserted unescaped",
    ],
    &["private-key-in-source", "A PEM private key in the tree"],
    &[
        "hardcoded-secret-literal",
        "A secret-looking literal bound to a secret-looking name",
    ],
];

#[component]
pub fn ToolsPage() -> impl IntoView {
    view! {
        <PatternLayout slug="tools">
            <p>
                "Reviews and tests catch what their authors thought of; tools catch the rest, "
                "every time, at no extra cost per run. The catalogue groups them by what they look at: "
                "the source, the running application, the dependencies, the history, the image and the "
                "infrastructure."
            </p>
            <h2>"The reference, and what runs here"</h2>
            <StaticTable head=&["Category", "The catalogue lists", "This project"] rows=CATALOGUE/>
            <h2>"Running it"</h2>
            <p>
                <code>"scripts/security-check"</code> " runs the chain (or one part: "
                <code>"sast"</code> ", " <code>"secrets"</code> ", " <code>"deps"</code> ", "
                <code>"dast"</code> "); " <code>"scripts/test"</code> " runs it last. Any finding fails it. "
                "Before trusting a scanner, the script plants a known bad sample (an SQL query built "
                "with format!, a private key, a cloud key) and fails unless the scanner reports it, so a "
                "rule that silently stopped matching is noticed."
            </p>
            <DemoPanel demo=Demo::Headers title="The DAST header check, live">
                <p>
                    "The DAST part checks, on a fresh instance, that responses carry the CSP, "
                    <code>"X-Content-Type-Options"</code> " and " <code>"Referrer-Policy"</code>
                    " and name no server version. The same look at this server:"
                </p>
            </DemoPanel>
            <h2>"The local semgrep rules"</h2>
            <StaticTable head=&["Rule", "Finds"] rows=RULES/>
        </PatternLayout>
    }
}
