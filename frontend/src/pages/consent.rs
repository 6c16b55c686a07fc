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
    pub redirect_uri: String,
    /// The authorization request's parameters, posted back with the decision
    /// (the server validates them again).
    pub fields: Vec<(&'static str, String)>,
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
        redirect_uri,
        fields,
    } = request;
    let scope_items = if scopes.is_empty() {
        view! { <li>"your account, with no specific scope"</li> }.into_any()
    } else {
        scopes
            .into_iter()
            .map(|s| {
                let what = scope_description(&s);
                view! { <li><code>{s}</code>": "{what}</li> }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <h1>"Allow access?"</h1>
        <p>
            <strong data-testid="consent-client">{client_name}</strong>
            " asks to use your account "<strong>{username}</strong>"."
        </p>
        <p>"It would be allowed to:"</p>
        <ul data-testid="consent-scopes">{scope_items}</ul>
        <p>"You will be sent back to "<code>{redirect_uri}</code>"."</p>
        <p class="hint">
            "Only allow applications you trust. You can end this access at any time under "
            <a href="/account/sessions">"Sessions"</a>"."
        </p>
        <form method="post" action="/oauth/authorize/decision">
            {fields
                .into_iter()
                .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
                .collect_view()}
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
            redirect_uri: "https://client.example/cb".into(),
            fields: vec![("state", "a\"b<c".into())],
        }
    }

    #[test]
    fn every_value_is_escaped_and_no_script_is_rendered() {
        let html = view! { <ConsentPage request=request()/> }.to_html();
        assert!(html.contains("Demo &lt;app&gt;"), "{html}");
        assert!(!html.contains("Demo <app>"));
        assert!(html.contains("value=\"a&quot;b&lt;c\""), "{html}");
        assert!(!html.contains("<script"));
        assert!(html.contains("action=\"/oauth/authorize/decision\""));
    }

    #[test]
    fn scopes_are_explained() {
        let html = view! { <ConsentPage request=request()/> }.to_html();
        assert!(html.contains(scope_description("account")), "{html}");
        assert_ne!(scope_description("admin:read"), scope_description("x"));
    }
}
