//! `/admin/workshop`: the instructor's view of workshop mode — every
//! participant × every challenge, with totals (admins and auditors).

use super::{loading, AdminNav, LoadFailed};
use crate::page_data::{api_resource, LoadError};
use crate::pages::workshop::{stars, WorkshopUnavailable};
use leptos::prelude::*;
use leptos_meta::Title;
use wire::workshop::{ChallengeTotal, ParticipantProgress, WorkshopProgress};

#[component]
pub fn WorkshopProgressPage() -> impl IntoView {
    let progress = api_resource::<WorkshopProgress>(|| "/api/v1/workshop/progress".to_owned());
    view! {
        <Title text="Workshop progress · Admin"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match progress.await {
                    Ok(p) => view! { <ProgressView progress=p/> }.into_any(),
                    Err(LoadError::NotFound) => {
                        view! { <WorkshopUnavailable error=LoadError::NotFound/> }.into_any()
                    }
                    Err(e) => view! { <LoadFailed error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProgressView(progress: WorkshopProgress) -> impl IntoView {
    let challenges = StoredValue::new(progress.challenges.clone());
    let active = progress
        .participants
        .iter()
        .filter(|p| !p.solved.is_empty())
        .count();
    view! {
        <AdminNav/>
        <h1>"Workshop progress"</h1>
        <p data-testid="workshop-participants">
            {progress.participants.len()} " participants, " {active} " with at least one solve. "
            "Clear every solve for the next group with " <code>"backend workshop-reset"</code> "."
        </p>
        <div class="table-wrap">
            <table class="data-table workshop-progress">
                <thead>
                    <tr>
                        <th scope="col">"Participant"</th>
                        {progress.challenges.iter().map(|c| view! {
                            <th scope="col" title=c.title.clone()>
                                <abbr title=c.title.clone()>{short_name(c)}</abbr>
                                <br/><span class="stars">{stars(c.difficulty)}</span>
                            </th>
                        }).collect_view()}
                        <th scope="col">"Solved"</th>
                    </tr>
                </thead>
                <tbody>
                    {progress.participants.into_iter().map(|p| view! {
                        <ParticipantRow participant=p challenges=challenges.get_value()/>
                    }).collect_view()}
                </tbody>
                <tfoot>
                    <tr>
                        <th scope="row">"Solved by"</th>
                        {progress.challenges.iter().map(|c| view! {
                            <td data-testid="workshop-total">{c.solved_by}</td>
                        }).collect_view()}
                        <td></td>
                    </tr>
                </tfoot>
            </table>
        </div>
    }
}

/// A column heading: the id is short and stable.
fn short_name(c: &ChallengeTotal) -> String {
    c.id.replace('-', " ")
}

#[component]
fn ParticipantRow(
    participant: ParticipantProgress,
    challenges: Vec<ChallengeTotal>,
) -> impl IntoView {
    let total = participant.solved.len();
    view! {
        <tr data-testid="workshop-participant">
            <th scope="row">{participant.username.clone()}</th>
            {challenges.iter().map(|c| {
                let done = participant.solved.contains(&c.id);
                view! {
                    <td class:solved=done aria-label=if done { "solved" } else { "not solved" }>
                        {if done { "✓" } else { "·" }}
                    </td>
                }
            }).collect_view()}
            <td>{total}</td>
        </tr>
    }
}
