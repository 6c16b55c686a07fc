//! `/patterns/password-policy`: the catalogue's composition rules against
//! NIST SP 800-63B, and both tried on the reader's own candidate.

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;

const COMPARISON: &[&[&str]] = &[
    &[
        "Minimum length",
        "12 characters",
        "15 when the password is the only factor",
        "12 (catalogue) or 15 (nist)",
    ],
    &[
        "Maximum length",
        "128 characters",
        "At least 64 must be allowed",
        "128 under both",
    ],
    &[
        "Composition",
        "Upper, lower, digit and special required",
        "Must not be required: people answer with Password1!",
        "Only under catalogue",
    ],
    &[
        "Blocklist",
        "Not mentioned",
        "Check against common, expected or breached passwords",
        "Under both: 100,000 common passwords on the server, a short list in the browser",
    ],
    &[
        "Rotation",
        "Not mentioned",
        "No forced periodic change; change on evidence of compromise",
        "No expiry; sessions can be revoked",
    ],
    &[
        "Hints and questions",
        "Not mentioned",
        "No hints, no knowledge-based questions",
        "Neither exists here",
    ],
    &[
        "Characters",
        "Regex classes of ASCII",
        "Any printable character, spaces and Unicode included",
        "Any character under both; length counted in code points",
    ],
];

#[component]
pub fn PasswordPolicyPage() -> impl IntoView {
    view! {
        <PatternLayout slug="password-policy">
            <p>
                "The catalogue's input-validation example asks for 12 to 128 characters with an "
                "upper-case letter, a lower-case letter, a digit and a special character. NIST SP 800-63B, "
                "the US guideline on authenticators, reached the opposite conclusion from how people "
                "actually choose passwords: composition rules produce predictable patterns "
                "(a capital first, a digit and a ! last) while making passwords harder to remember. It asks "
                "for length instead, and for a check against the passwords attackers try first."
            </p>
            <h2>"Where they disagree"</h2>
            <StaticTable head=&["Rule", "The catalogue", "NIST SP 800-63B", "This app"] rows=COMPARISON/>
            <p>
                "This app implements both, chosen by the " <code>"PASSWORD_POLICY"</code> " setting ("
                <code>"catalogue"</code> " by default, or " <code>"nist"</code> "). What both share: the "
                "length limits, the blocklist, and no password containing the username or the e-mail "
                "name. The forms show the rules of the policy in force, from the same code the server "
                "checks with."
            </p>
            <DemoPanel demo=Demo::PolicyCheck title="Try a password under both policies">
                <p>
                    "Type a candidate and see both verdicts from the server's real policy code. Try "
                    <code>"Password123!"</code> " (it meets every composition rule, yet it is on every "
                    "attacker's list: both policies here refuse it, as both check the blocklist) and " <code>"plain words make a long phrase"</code> " (refused by the catalogue, "
                    "fine for NIST). The password is not stored, logged or audited; do not type one you use."
                </p>
            </DemoPanel>
        </PatternLayout>
    }
}
