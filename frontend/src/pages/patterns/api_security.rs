//! `/patterns/api-security`: input validation, rate limiting, SQL injection.

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;
use wire::demo::DEMO_LIMIT_PER_MINUTE;

const INPUT_RULES: &[&[&str]] = &[
    &[
        "username",
        "3–50 characters, letters, digits and _",
        "The same: Username::parse",
    ],
    &[
        "email",
        "At most 255 characters, a pattern check, lower-cased",
        "The same limits: Email::parse",
    ],
    &[
        "password",
        "12–128 characters with upper, lower, digit and special",
        "Under PASSWORD_POLICY=catalogue; see the password policy page for the NIST alternative",
    ],
    &[
        "any JSON body",
        "(not covered)",
        "Size and content type checked before a handler runs (ApiJson)",
    ],
];

const LIMITS: &[&[&str]] = &[
    &[
        "Algorithm",
        "Sliding window in Redis (sorted set per key)",
        "Token bucket (GCRA, actix-governor) in memory, per instance",
    ],
    &[
        "Key",
        "Client address or a key function",
        "Client IP (trusted proxies honoured) and the verified user",
    ],
    &[
        "Answer",
        "429 with retry_after",
        "429 with Retry-After, X-RateLimit-* and the usual error body",
    ],
    &[
        "Logging",
        "(not covered)",
        "Hits counted, one audit event per limit and minute",
    ],
];

#[component]
pub fn ApiSecurityPage() -> impl IntoView {
    view! {
        <PatternLayout slug="api-security">
            <p>
                "An API is an open door for programs, so it has to assume the worst of every caller: "
                "input shaped to break the parser or the query, and volumes meant to exhaust the service "
                "or guess a password."
            </p>
            <h2>"Input validation"</h2>
            <p>
                "Input is parsed into types whose only constructor checks the rules, so a value that "
                "reaches a service has been validated by construction. The same code is compiled into "
                "the browser bundle: the form shows the server's errors before anything is sent, and the "
                "server checks again."
            </p>
            <StaticTable head=&["Field", "The catalogue", "This app"] rows=INPUT_RULES/>
            <h2>"Rate limiting"</h2>
            <StaticTable head=&["", "The catalogue", "This app"] rows=LIMITS/>
            <DemoPanel demo=Demo::RateLimit title="Hit a rate limit">
                <p>
                    {format!(
                        "A demo route with its own bucket of {DEMO_LIMIT_PER_MINUTE} calls per minute, per user. \
                         The button calls it six times: the sixth is refused with 429 and the headers that tell \
                         a client when to retry. The sign-in limiter is deliberately not used: a room behind one \
                         address shares it."
                    )}
                </p>
            </DemoPanel>
            <h2>"SQL injection prevention"</h2>
            <p>
                "Injection happens when data is pasted into the text of a query and the database reads "
                "part of it as code. The cure is to never build query text from values: the query's shape "
                "is fixed, and values travel separately as bound parameters. Here every query goes "
                "through Diesel's query builder, a test fails the build if SQL text is built with "
                <code>"format!"</code> ", and semgrep looks for the same. For a LIKE search the wildcards "
                <code>"%"</code> " and " <code>"_"</code> " in the input are escaped too, so they match "
                "themselves."
            </p>
            <DemoPanel demo=Demo::Search title="Try an SQL-injection string">
                <p>
                    "Searches the actions of your own audit entries (like " <code>"auth.login"</code>
                    "). Try " <code>"login"</code> ", then the classic " <code>"' OR '1'='1"</code>
                    ": it is looked for as text, and matches nothing."
                </p>
            </DemoPanel>
        </PatternLayout>
    }
}
