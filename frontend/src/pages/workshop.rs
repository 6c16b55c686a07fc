//! Workshop mode (`APP_WORKSHOP=1`): the banner every page shows while it
//! is on, and the participant's scoreboard at `/workshop`.
//!
//! The scoreboard only displays: a challenge turns "solved" when the server
//! observed the attempt, and the one answer form sends a value the server
//! checks against its own records.

use crate::page_data::{api_resource, set_page_status, LoadError};
use leptos::prelude::*;
use leptos_meta::Title;
use wire::workshop::{ChallengeInfo, WorkshopChallenges, WORKSHOP_BANNER};

/// Whether workshop mode is on, provided by `App` for the banner and the nav.
#[derive(Clone, Copy)]
pub struct WorkshopMode(pub Resource<bool>);

/// Workshop mode is on: said on every page (from `App`).
#[component]
pub fn WorkshopBanner(on: Resource<bool>) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                on.await.then(|| view! {
                    <p class="workshop-banner" role="note" data-testid="workshop-banner">
                        <strong>{WORKSHOP_BANNER}</strong>
                        " · "
                        <a href="/workshop">"Scoreboard"</a>
                    </p>
                })
            })}
        </Suspense>
    }
}

/// `"★★☆☆☆"` for difficulty 2 of 5.
pub fn stars(difficulty: u8) -> String {
    let d = usize::from(difficulty.min(5));
    format!("{}{}", "★".repeat(d), "☆".repeat(5 - d))
}

/// The categories in catalogue order, each with its challenges.
pub fn by_category(challenges: Vec<ChallengeInfo>) -> Vec<(String, Vec<ChallengeInfo>)> {
    let mut groups: Vec<(String, Vec<ChallengeInfo>)> = Vec::new();
    for c in challenges {
        match groups.iter_mut().find(|(name, _)| *name == c.category) {
            Some((_, list)) => list.push(c),
            None => groups.push((c.category.clone(), vec![c])),
        }
    }
    groups
}

#[component]
pub fn WorkshopPage() -> impl IntoView {
    let board = api_resource::<WorkshopChallenges>(|| "/api/v1/workshop/challenges".to_owned());
    view! {
        <Title text="Workshop · Secure Reference"/>
        <Suspense fallback=|| view! { <p class="hint">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match board.await {
                    Ok(b) => view! { <Scoreboard board=b/> }.into_any(),
                    Err(e) => view! { <WorkshopUnavailable error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Workshop mode off (404), not signed in, or an error.
#[component]
pub fn WorkshopUnavailable(error: LoadError) -> impl IntoView {
    match error {
        LoadError::NotFound => {
            set_page_status(404);
            view! {
                <h1>"Workshop"</h1>
                <p data-testid="workshop-off">
                    "Workshop mode is off. It is turned on for a training session with "
                    <code>"APP_WORKSHOP=1"</code> " (see docs/workshop.md), never in production."
                </p>
            }
            .into_any()
        }
        LoadError::SignedOut => {
            set_page_status(401);
            view! {
                <h1>"Workshop"</h1>
                <p>"Please " <a href="/login">"log in"</a> " to see your scoreboard: every attempt counts for the account it was made from."</p>
            }
            .into_any()
        }
        LoadError::NotAllowed => {
            set_page_status(403);
            view! {
                <h1>"Workshop"</h1>
                <p data-testid="not-allowed">"Your account does not have the permission to see this page."</p>
            }
            .into_any()
        }
        LoadError::Failed => view! {
            <h1>"Workshop"</h1>
            <p role="alert">"The server did not answer as expected. Reload the page to try again."</p>
        }
        .into_any(),
    }
}

#[component]
fn Scoreboard(board: WorkshopChallenges) -> impl IntoView {
    let groups = by_category(board.challenges);
    view! {
        <h1>"Workshop scoreboard"</h1>
        <p data-testid="workshop-score">
            <strong>{board.solved}</strong> " of " {board.total} " challenges solved."
        </p>
        <p class="hint">
            "Each challenge is an attack this app is built to refuse. It counts as solved when the "
            "server observes your attempt, made while you are signed in as yourself: there is no "
            "button that marks it solved. Reload this page after an attempt."
        </p>
        {groups.into_iter().map(|(category, list)| view! {
            <section class="workshop-category">
                <h2>{category}</h2>
                <ul class="workshop-challenges">
                    {list.into_iter().map(|c| view! { <ChallengeCard challenge=c/> }).collect_view()}
                </ul>
            </section>
        }).collect_view()}
    }
}

#[component]
fn ChallengeCard(challenge: ChallengeInfo) -> impl IntoView {
    let solved = challenge.solved_at.is_some();
    let answer_form = (challenge.answered && !solved).then(|| {
        view! { <AnswerForm challenge=challenge.id.clone()/> }
    });
    view! {
        <li class="workshop-challenge" class:solved=solved
            data-testid="workshop-challenge" data-challenge=challenge.id.clone()>
            <h3>
                {challenge.title}
                " "
                <span class="stars" title=format!("difficulty {} of 5", challenge.difficulty)
                    aria-label=format!("difficulty {} of 5", challenge.difficulty)>
                    {stars(challenge.difficulty)}
                </span>
            </h3>
            <p data-testid="challenge-state">
                {if solved {
                    view! { <strong class="badge ok">"Solved"</strong> }.into_any()
                } else {
                    view! { <span class="badge pending">"Not solved yet"</span> }.into_any()
                }}
            </p>
            <details>
                <summary>"Hint"</summary>
                <p>{challenge.hint}</p>
            </details>
            <p><a href=challenge.pattern.clone()>"The pattern behind it: " {challenge.category.clone()}</a></p>
            {answer_form}
        </li>
    }
}

/// The request-id challenge's answer: the server checks it against the
/// server errors it recorded for this participant.
#[component]
fn AnswerForm(challenge: String) -> impl IntoView {
    let value = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let challenge = StoredValue::new(challenge);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let body = wire::workshop::WorkshopAnswer {
                challenge: challenge.get_value(),
                answer: value.get_untracked(),
            };
            leptos::task::spawn_local(async move {
                let answer =
                    crate::client::post_json_for::<_, wire::workshop::WorkshopAnswerResult>(
                        "/api/v1/workshop/answer",
                        &body,
                    )
                    .await;
                match answer {
                    Ok(r) if r.correct => crate::client::reload(),
                    Ok(_) => message.set(Some(
                        "Not the id of a server error you caused. Try again.".into(),
                    )),
                    Err(e) => message.set(Some(e.error)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (challenge, value, message);
    };
    view! {
        <form class="inline-fields" on:submit=on_submit novalidate>
            <label>
                "Request id "
                <input type="text" name="answer" autocomplete="off" spellcheck="false"
                    data-testid="workshop-answer"
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            </label>
            <button type="submit">"Check"</button>
            <noscript><p class="hint">"Checking an answer needs JavaScript."</p></noscript>
        </form>
        <p role="status" data-testid="workshop-answer-result">{move || message.get()}</p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(id: &str, category: &str) -> ChallengeInfo {
        ChallengeInfo {
            id: id.into(),
            title: id.into(),
            category: category.into(),
            difficulty: 1,
            hint: String::new(),
            pattern: "/patterns/tools".into(),
            answered: false,
            solved_at: None,
        }
    }

    #[test]
    fn stars_show_the_difficulty_out_of_five() {
        assert_eq!(stars(1), "★☆☆☆☆");
        assert_eq!(stars(5), "★★★★★");
        assert_eq!(stars(9), "★★★★★");
    }

    #[test]
    fn categories_keep_the_catalogue_order() {
        let groups = by_category(vec![
            challenge("a", "Zero trust"),
            challenge("b", "API security"),
            challenge("c", "Zero trust"),
        ]);
        let names: Vec<_> = groups.iter().map(|(n, l)| (n.as_str(), l.len())).collect();
        assert_eq!(names, vec![("Zero trust", 2), ("API security", 1)]);
    }
}
