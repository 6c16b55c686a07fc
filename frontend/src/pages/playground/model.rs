//! What the OAuth playground holds between its steps: the real exchange
//! (step e) and the tamper experiments with what each found out.

use wire::ActivityEntry;

/// The real exchange (step e): what was sent and what came back.
#[derive(Clone, Debug)]
pub(super) struct Exchange {
    /// The form body, kept to send it again ("reuse the code").
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(super) body: String,
    pub(super) status: u16,
    /// The answer as shown (refresh token masked).
    pub(super) shown: String,
    pub(super) access_token: Option<String>,
}

impl Exchange {
    pub(super) fn succeeded(&self) -> bool {
        self.status == 200 && self.access_token.is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tamper {
    Verifier,
    Reuse,
    Redirect,
    State,
}

impl Tamper {
    pub(super) fn title(self) -> &'static str {
        match self {
            Self::Verifier => "Wrong verifier",
            Self::Reuse => "Reused code",
            Self::Redirect => "Changed redirect URI",
            Self::State => "Altered state",
        }
    }

    pub(super) fn expectation(self) -> &'static str {
        match self {
            Self::Verifier => {
                "The code is exchanged with a verifier that differs in one character, as an \
                 attacker who intercepted the code but not the verifier would. Its SHA-256 does not \
                 match the stored challenge: invalid_grant. The code stays unused, so the real \
                 client can still redeem it."
            }
            Self::Reuse => {
                "The code that was already exchanged is sent again. A second use means the code \
                 leaked: the server refuses it and revokes the session the first exchange \
                 opened, so the first access token stops working at once."
            }
            Self::Redirect => {
                "The code is exchanged with another redirect URI than the authorization request \
                 named: the token request must repeat it exactly, so invalid_grant."
            }
            Self::State => {
                "The redirect comes back with another state than the one this tab stored, as \
                 when an attacker makes your browser open their own authorization response \
                 (login CSRF). The client compares before anything else and stops."
            }
        }
    }
}

/// What a tamper button found out.
#[derive(Clone, Debug)]
pub(super) struct TamperReport {
    pub(super) kind: Tamper,
    /// The request sent, as text (none when nothing was sent).
    pub(super) request: Option<String>,
    /// Status and body of the server's answer.
    pub(super) answer: Option<(u16, String)>,
    /// The newest matching entry of my activity (the audit log).
    pub(super) entry: Option<ActivityEntry>,
    /// Further findings, one sentence each.
    pub(super) lines: Vec<String>,
}
