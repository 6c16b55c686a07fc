//! `/patterns/authentication`: OAuth 2.0 with PKCE, JWT structure, MFA.

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;
use leptos_router::components::A;

const PKCE_STEPS: &[&[&str]] = &[
    &["1", "The client makes a random code_verifier and sends only its SHA-256, the code_challenge (method S256)", "Verifier rules and S256 in api/pkce.rs, shared by server and playground; plain is refused"],
    &["2", "/authorize with response_type=code, client_id, code_challenge", "Client and redirect URI are checked first; errors there never redirect"],
    &["3", "The user consents; the server redirects back with a single-use code", "Codes live 60 seconds; a reused code revokes the session it opened"],
    &["4", "POST /token with the code and the code_verifier", "The verifier's hash is compared with the stored challenge in constant time"],
    &["5", "Tokens come back", "An access token (RS256 JWT, 15 minutes) and an opaque refresh token"],
];

const CLAIMS: &[&[&str]] = &[
    &["iss", "Yes", "Who issued it; checked on every request"],
    &["sub", "Yes", "The user's id"],
    &[
        "aud",
        "No",
        "Which API it is for: a token for another resource server is refused here",
    ],
    &[
        "iat / nbf / exp",
        "iat, exp",
        "Issued, valid from, expires (15 minutes)",
    ],
    &["jti", "Yes", "A random id for this token"],
    &[
        "roles",
        "Yes",
        "Shown for convenience only: roles are read from the database on every request",
    ],
    &[
        "sid",
        "No",
        "The server-side session: revoking it ends the token at once",
    ],
    &[
        "type",
        "Yes",
        "access: a refresh token cannot be used as one",
    ],
];

const FACTORS: &[&[&str]] = &[
    &[
        "Knowledge",
        "Password, PIN, security questions",
        "Low-Medium",
        "Passwords (Argon2id). No security questions: their answers are often public.",
    ],
    &[
        "Possession",
        "TOTP app, hardware key, SMS",
        "Medium-High",
        "TOTP (RFC 6238) with replay protection, plus one-time recovery codes. No SMS.",
    ],
    &[
        "Inherence",
        "Fingerprint, face, voice",
        "High",
        "Not offered (it would need WebAuthn).",
    ],
];

#[component]
pub fn AuthenticationPage() -> impl IntoView {
    view! {
        <PatternLayout slug="authentication">
            <p>
                "Authentication answers one question, who is calling, and every later decision rests on "
                "it. The catalogue's patterns keep the proof short-lived, bound to the one who asked for "
                "it, and backed by more than a password."
            </p>
            <h2>"OAuth 2.0 authorization code flow with PKCE"</h2>
            <p>
                "A public client (a single-page app, a CLI) cannot keep a secret, so an intercepted "
                "authorization code would be enough to get tokens. PKCE closes that gap: the client "
                "commits to a secret it has not revealed yet, and must show it to redeem the code."
            </p>
            <StaticTable head=&["Step", "What happens", "In this app"] rows=PKCE_STEPS/>
            <p>
                "Walk through the flow one request at a time, and tamper with it, in the "
                <A href="/playground/oauth">"OAuth playground"</A> "."
            </p>
            <h2>"JWT structure"</h2>
            <p>
                "An access token is a signed statement: a header naming the algorithm and the key, the "
                "claims, and an RS256 signature. The verifier accepts only RS256 and only keys from this "
                "server's own set, and requires every claim. Unlike the catalogue's example, refresh "
                "tokens are not JWTs: they are random strings the server stores as HMACs and rotates on "
                "each use."
            </p>
            <StaticTable head=&["Claim", "In the catalogue's token", "Meaning here"] rows=CLAIMS/>
            <DemoPanel demo=Demo::Token title="Decode your own access token">
                <p>
                    "Your access token sits in an HttpOnly cookie that this page's script cannot read "
                    "(so an injected script could not steal it either). The server decodes the token "
                    "this very request was authenticated with and returns its header and claims, never "
                    "the token."
                </p>
            </DemoPanel>
            <h2>"Multi-factor authentication"</h2>
            <StaticTable head=&["Factor", "Examples", "Strength", "Here"] rows=FACTORS/>
            <p>
                "Administrators must enrol a second factor. Sensitive actions (revealing an SSN, "
                "changing a password, admin changes) ask for a fresh code: a stolen session alone "
                "cannot do them."
            </p>
        </PatternLayout>
    }
}
