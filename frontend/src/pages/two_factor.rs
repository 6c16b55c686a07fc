//! The account page's "Two-factor authentication" section: enrol (QR code and
//! key), confirm, save the recovery codes, regenerate them, turn MFA off.
//! Enrolment runs in the browser (it shows a secret once); without
//! JavaScript the section explains that.

use crate::components::form::{ReauthCheck, TextField};
use crate::format::short_time;
use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use wire::form_error_message;
use wire::{FieldError, MfaSetupResponse, MfaStatus};

/// `data:` URL for inline content (QR SVG, recovery-code download): every
/// byte outside `[A-Za-z0-9-_.~]` percent-encoded.
pub fn data_url(mime: &str, content: &str) -> String {
    let mut out = format!("data:{mime},");
    for b in content.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "GEZDGNBV…" -> "GEZD GNBV …" for reading aloud and typing.
pub fn grouped(key: &str) -> String {
    key.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn TwoFactor(status: MfaStatus) -> impl IntoView {
    let setup = RwSignal::new(None::<MfaSetupResponse>);
    let codes = RwSignal::new(None::<Vec<String>>);
    let alert = RwSignal::new(None::<String>);
    let confirm_code = RwSignal::new(String::new());
    let confirm_errors = RwSignal::new(Vec::<FieldError>::new());
    let enabled = status.enabled;
    // Open when the server wants the password again before enrolling.
    let reauth = RwSignal::new(false);

    let start = Callback::new(move |()| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::client::post_json_for::<_, MfaSetupResponse>(
                "/api/v1/me/mfa/totp/setup",
                &(),
            )
            .await
            {
                Ok(s) => {
                    alert.set(None);
                    setup.set(Some(s));
                }
                Err(e) if e.error == "reauthentication_required" => {
                    alert.set(form_error_message(&e.error).map(str::to_owned));
                    reauth.set(true);
                }
                Err(e) => alert.set(Some(e.error)),
            }
        });
    });
    // After the password: start the enrolment again, or send the code again.
    let after_reauth = Callback::new(move |()| {
        alert.set(None);
        if setup.get_untracked().is_none() {
            start.run(());
        } else {
            #[cfg(feature = "hydrate")]
            confirm_code_step(
                confirm_code.get_untracked(),
                setup,
                codes,
                confirm_errors,
                reauth,
                alert,
            );
        }
    });

    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = confirm_code.get_untracked();
        if code.trim().is_empty() {
            confirm_errors.set(vec![FieldError::new("code", "required")]);
        } else {
            #[cfg(feature = "hydrate")]
            confirm_code_step(code, setup, codes, confirm_errors, reauth, alert);
        }
    };

    view! {
        <section aria-labelledby="two-factor">
            <h2 id="two-factor">"Two-factor authentication"</h2>
            <div class="form-alert" role="alert">{move || alert.get().map(|m| view! { <p>{m}</p> })}</div>
            <ReauthCheck open=reauth on_confirmed=after_reauth/>
            {move || match (codes.get(), setup.get()) {
                (Some(list), _) => view! { <RecoveryCodes codes=list/> }.into_any(),
                (None, Some(s)) => view! {
                    <ol class="steps">
                        <li>
                            "Scan this QR code with your authenticator app:"
                            <img class="qr" src=data_url("image/svg+xml", &s.qr_svg)
                                alt="QR code with your two-factor key" width="200" height="200"/>
                        </li>
                        <li>
                            "Or type this key: "
                            <code class="secret" data-testid="totp-secret" data-secret=s.secret.clone()>{grouped(&s.secret)}</code>
                        </li>
                        <li>"Enter the 6-digit code the app shows:"</li>
                    </ol>
                    <form class="card-form" on:submit=confirm novalidate>
                        <TextField name="code" label="Authentication code" autocomplete="one-time-code"
                            input_mode="numeric" value=confirm_code errors=confirm_errors/>
                        <button type="submit">"Turn on two-factor authentication"</button>
                    </form>
                }.into_any(),
                (None, None) if enabled => view! { <Enabled status=status.clone()/> }.into_any(),
                (None, None) => view! {
                    <p data-testid="mfa-status">"Off. "
                        {status.required.then_some("Your role requires it: ")}
                        "Protect your account with a code from an authenticator app as well as your password."</p>
                    <button type="button" on:click=move |_| start.run(())>"Set up two-factor authentication"</button>
                    <noscript><p class="hint">"Setting it up needs JavaScript in your browser."</p></noscript>
                }.into_any(),
            }}
        </section>
    }
}

/// Sends the confirmation code; on success the recovery codes replace the setup.
#[cfg(feature = "hydrate")]
fn confirm_code_step(
    code: String,
    setup: RwSignal<Option<MfaSetupResponse>>,
    codes: RwSignal<Option<Vec<String>>>,
    errors: RwSignal<Vec<FieldError>>,
    reauth: RwSignal<bool>,
    alert: RwSignal<Option<String>>,
) {
    leptos::task::spawn_local(async move {
        let body = wire::MfaCodeRequest { code };
        let answer = crate::client::post_json_for::<_, wire::RecoveryCodesResponse>(
            "/api/v1/me/mfa/totp/confirm",
            &body,
        )
        .await;
        match answer {
            Ok(r) => {
                setup.set(None);
                codes.set(Some(r.recovery_codes));
            }
            Err(e) if e.error == "reauthentication_required" => {
                alert.set(form_error_message(&e.error).map(str::to_owned));
                reauth.set(true);
            }
            Err(e) if e.fields.is_empty() => errors.set(vec![FieldError::new("code", "invalid")]),
            Err(e) => errors.set(e.fields),
        }
    });
}

#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let text = format!("Recovery codes (each works once)\n\n{}\n", codes.join("\n"));
    view! {
        <div class="notice" role="status">
            <p><strong>"Two-factor authentication is on."</strong>
               " Save these recovery codes somewhere safe. Each works once if you lose your device. They are shown only now."</p>
            <ul class="recovery-codes" data-testid="recovery-codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
            <p>
                <a class="button secondary" href=data_url("text/plain;charset=utf-8", &text) download="recovery-codes.txt">"Download the codes"</a>
                " "
                <a class="button" href="/account" rel="external">"I have saved them"</a>
            </p>
        </div>
    }
}

#[component]
fn Enabled(status: MfaStatus) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let new_codes = RwSignal::new(None::<Vec<String>>);
    let regen_code = RwSignal::new(String::new());
    let regen_errors = RwSignal::new(Vec::<FieldError>::new());
    let need_step_up = RwSignal::new(false);
    let reauth = RwSignal::new(false);

    let send_disable = Callback::new(move |()| {
        let (p, c) = (password.get_untracked(), code.get_untracked());
        let mut found = Vec::new();
        if p.is_empty() {
            found.push(FieldError::new("current_password", "required"));
        }
        if c.trim().is_empty() {
            found.push(FieldError::new("code", "required"));
        }
        if !found.is_empty() {
            errors.set(found);
            return;
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let body = wire::DisableMfaRequest {
                password: p,
                code: c,
            };
            match crate::client::post_json("/api/v1/me/mfa/disable", &body).await {
                Ok(()) => crate::client::go_to("/account"),
                // The session authenticated too long ago: the password
                // again, then the same request.
                Err(e) if e.error == "reauthentication_required" => reauth.set(true),
                Err(e) if e.fields.is_empty() => {
                    errors.set(vec![FieldError::new("code", "invalid")])
                }
                Err(e) => errors.set(e.fields),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (p, c);
    });
    let disable = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send_disable.run(());
    };

    // Regenerating needs a recent second factor: ask for a code when told to.
    let regenerate = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let step_up_code = regen_code.get_untracked();
        if need_step_up.get_untracked() && step_up_code.trim().is_empty() {
            regen_errors.set(vec![FieldError::new("code", "required")]);
            return;
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if need_step_up.get_untracked() {
                let body = wire::MfaCodeRequest { code: step_up_code };
                if crate::client::post_json("/api/v1/me/mfa/step-up", &body)
                    .await
                    .is_err()
                {
                    regen_errors.set(vec![FieldError::new("code", "invalid")]);
                    return;
                }
            }
            match crate::client::post_json_for::<_, wire::RecoveryCodesResponse>(
                "/api/v1/me/mfa/recovery-codes",
                &(),
            )
            .await
            {
                Ok(r) => new_codes.set(Some(r.recovery_codes)),
                // A step-up code is also a re-authentication.
                Err(e)
                    if matches!(
                        e.error.as_str(),
                        "step_up_required" | "reauthentication_required"
                    ) =>
                {
                    need_step_up.set(true)
                }
                Err(_) => regen_errors.set(vec![FieldError::new("code", "invalid")]),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = step_up_code;
    };

    view! {
        <p data-testid="mfa-status">
            "On since " {status.enabled_at.as_deref().map(short_time).unwrap_or_default()} ". "
            "Recovery codes left: " <strong data-testid="recovery-remaining">{status.recovery_codes_remaining}</strong> "."
        </p>
        {move || new_codes.get().map(|list| view! { <RecoveryCodes codes=list/> })}
        <form class="card-form" on:submit=regenerate novalidate>
            <Show when=move || need_step_up.get()>
                <p>"Confirm it is you: enter a current code from your authenticator app."</p>
                <TextField name="code" label="Authentication code" autocomplete="one-time-code"
                    input_mode="numeric" value=regen_code errors=regen_errors/>
            </Show>
            <button type="submit" class="secondary-button">"Get new recovery codes"</button>
        </form>
        <details>
            <summary>"Turn off two-factor authentication"</summary>
            <form class="card-form" on:submit=disable novalidate>
                <TextField name="current_password" label="Your password" input_type="password"
                    autocomplete="current-password" value=password errors=errors/>
                <TextField name="code" label="Authentication code" autocomplete="one-time-code"
                    input_mode="numeric" value=code errors=errors/>
                <button type="submit">"Turn off"</button>
            </form>
            <ReauthCheck open=reauth on_confirmed=send_disable/>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_escape_everything_unsafe() {
        assert_eq!(
            data_url("text/plain", "a b<\"'>"),
            "data:text/plain,a%20b%3C%22%27%3E"
        );
        assert_eq!(grouped("GEZDGNBVGY"), "GEZD GNBV GY");
    }
}
