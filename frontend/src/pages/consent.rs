//! The OAuth consent page and the refused-request page. The server renders
//! them to plain HTML (`RenderHtml::to_html`) for `GET /oauth/authorize`:
//! they are not hydrated, so they work without JavaScript and carry no
//! script at all — the decision is an ordinary form post.

use leptos::prelude::*;

/// What the user is asked to approve; every value is escaped by Leptos.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRequest {
    pub client_name: String,
    pub username: String,
    /// The scopes the client asks for (already checked against its registration).
    pub scopes: Vec<String>,
    /// Those of `scopes` the user has not approved for this client before.
    pub new_scopes: Vec<String>,
    /// Whether the user approved this client before.
    pub granted_before: bool,
    pub redirect_uri: String,
    /// The id of the request as the server stored it: the only value the
    /// form posts back with the decision (the code is issued from the
    /// stored request, so editing the form cannot change what is granted).
    pub consent_id: String,
}

/// What a scope lets a client do, in words a user can judge.
pub fn scope_description(scope: &str) -> &'static str {
    match scope {
        "account" => "see and change your own account: profile, sessions, devices, two-factor settings",
        "admin:read" => {
            "read the admin dashboard, the audit log and access decisions — only if your own role allows it"
        }
        _ => "a permission this app does not describe",
    }
}

#[component]
pub fn ConsentPage(request: ConsentRequest) -> impl IntoView {
    let ConsentRequest {
        client_name,
        username,
        scopes,
        new_scopes,
        granted_before,
        redirect_uri,
        consent_id,
    } = request;
    let scope_items = if scopes.is_empty() {
        view! { <li>"your account, with no specific scope"</li> }.into_any()
    } else {
        scopes
            .into_iter()
            .map(|s| {
                let what = scope_description(&s);
                // Only after an earlier approval is anything "new".
                if granted_before && new_scopes.contains(&s) {
                    let name = s.clone();
                    view! {
                        <li data-new-scope=name>
                            <code>{s}</code>": "{what}" "<strong>"(new: not allowed before)"</strong>
                        </li>
                    }
                    .into_any()
                } else {
                    view! { <li><code>{s}</code>": "{what}</li> }.into_any()
                }
            })
            .collect_view()
            .into_any()
    };
    let before = match (granted_before, new_scopes.is_empty()) {
        (false, _) => None,
        (true, true) => Some(
            view! {
                <p data-testid="consent-granted-before">
                    "You allowed this application these permissions before."
                </p>
            }
            .into_any(),
        ),
        (true, false) => Some(
            view! {
                <p data-testid="consent-granted-before">
                    <strong>"This application asks for more than you allowed it before"</strong>
                    " (marked new below)."
                </p>
            }
            .into_any(),
        ),
    };
    view! {
        <h1>"Allow access?"</h1>
        <p>
            <strong data-testid="consent-client">{client_name}</strong>
            " asks to use your account "<strong>{username}</strong>"."
        </p>
        {before}
        <p>"It would be allowed to:"</p>
        <ul data-testid="consent-scopes">{scope_items}</ul>
        <p>"You will be sent back to "<code>{redirect_uri}</code>"."</p>
        <p class="hint">
            "Only allow applications you trust. You can end this access at any time under "
            <a href="/account/sessions">"Sessions"</a>"."
        </p>
        <form method="post" action="/oauth/authorize/decision">
            <input type="hidden" name="consent_id" value=consent_id/>
            <button type="submit" name="decision" value="allow">"Allow"</button>
            " "
            <button type="submit" name="decision" value="deny" class="secondary">"Deny"</button>
        </form>
    }
}

/// An authorization request that cannot be answered with a redirect (the
/// client or its redirect URI is wrong): the user stays here.
#[component]
pub fn AuthorizeRefused(reason: String) -> impl IntoView {
    view! {
        <h1>"Authorization request refused"</h1>
        <p>{reason}"."</p>
        <p>
            "The application that sent you here is misconfigured; you have not been sent back to it. "
            <a href="/">"Go to the home page"</a>"."
        </p>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use leptos::tachys::view::RenderHtml;

    fn request() -> ConsentRequest {
        ConsentRequest {
            client_name: "Demo <app>".into(),
            username: "alice".into(),
            scopes: vec!["account".into()],
            redirect_uri: "https://client.example/cb?a=\"b<c".into(),
            new_scopes: vec![],
            granted_before: false,
            consent_id: "id-123".into(),
        }
    }

    #[test]
    fn every_value_is_escaped_and_no_script_is_rendered() {
        let html = view! { <ConsentPage request=request()/> }.to_html();
        assert!(html.contains("Demo &lt;app&gt;"), "{html}");
        assert!(!html.contains("Demo <app>"));
        assert!(html.contains("cb?a=\"b&lt;c"), "{html}");
        assert!(
            html.contains("name=\"consent_id\" value=\"id-123\""),
            "{html}"
        );
        assert!(!html.contains("<script"));
        assert!(html.contains("action=\"/oauth/authorize/decision\""));
    }

    #[test]
    fn scopes_are_explained() {
        let html = view! { <ConsentPage request=request()/> }.to_html();
        assert!(html.contains(scope_description("account")), "{html}");
        assert_ne!(scope_description("admin:read"), scope_description("x"));
    }

    #[test]
    fn scopes_new_since_an_earlier_approval_are_marked() {
        let mut r = request();
        r.scopes = vec!["account".into(), "admin:read".into()];
        r.new_scopes = vec!["admin:read".into()];
        let first = view! { <ConsentPage request=r.clone()/> }.to_html();
        assert!(
            !first.contains("data-new-scope"),
            "nothing is new without an earlier grant"
        );
        r.granted_before = true;
        let html = view! { <ConsentPage request=r/> }.to_html();
        assert!(html.contains("data-new-scope=\"admin:read\""), "{html}");
        assert!(!html.contains("data-new-scope=\"account\""), "{html}");
        // A scope token may hold `<`, `&` and `'` (RFC 6749 §3.3): escaped
        // in the attribute too.
        let mut r = request();
        r.scopes = vec!["x<y&z'".into()];
        r.new_scopes = r.scopes.clone();
        r.granted_before = true;
        let html = view! { <ConsentPage request=r/> }.to_html();
        assert!(html.contains("data-new-scope=\"x"), "{html}");
        assert!(!html.contains("x<y"), "{html}");
        assert!(html.contains("more than you allowed it before"), "{html}");
    }
}
