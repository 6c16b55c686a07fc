//! The "unverified" mark beside an e-mail address.

use leptos::prelude::*;

/// An address is a claim until its owner proves it: it signs in to nothing
/// and other accounts may claim it too. Nothing is shown once it is proven.
#[component]
pub fn EmailState(verified: bool) -> impl IntoView {
    (!verified).then(|| {
        view! {
            " "
            <span class="badge pending" data-testid="email-unverified"
                title="Not yet proven: it does not sign in, and other accounts may claim it">
                "unverified"
            </span>
        }
    })
}
