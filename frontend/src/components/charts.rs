//! The overview's charts, drawn here as plain SVG: no chart library, no
//! script needed to see them. Geometry goes in attributes; colours come from
//! classes in main.css, since the CSP allows no inline style.

use leptos::prelude::*;
use wire::HourStats;

/// One kind of event in the activity chart.
struct Series {
    /// Suffix of its CSS class (`series-…`).
    key: &'static str,
    label: &'static str,
    value: fn(&HourStats) -> i64,
}

const SERIES: [Series; 4] = [
    Series {
        key: "logins",
        label: "Sign-ins",
        value: |h| h.logins,
    },
    Series {
        key: "failures",
        label: "Failed sign-ins",
        value: |h| h.login_failures,
    },
    Series {
        key: "denied",
        label: "Denied requests",
        value: |h| h.denied,
    },
    Series {
        key: "limited",
        label: "Rate-limited requests",
        value: |h| h.rate_limited,
    },
];

// The drawing area, in viewBox units; the SVG scales to its container.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 48.0;
const TICKS: i64 = 4;

/// The y axis for values up to `max` in `ticks` steps: `(step, top)`, with a
/// 1-2-5 step so the tick labels are round numbers.
pub fn axis_scale(max: i64, ticks: i64) -> (i64, i64) {
    let ticks = ticks.max(1);
    let needed = ((max.max(1) + ticks - 1) / ticks).max(1);
    let mut magnitude = 1_i64;
    while magnitude.saturating_mul(10) <= needed {
        magnitude = magnitude.saturating_mul(10);
    }
    let step = [1, 2, 5, 10]
        .iter()
        .map(|f| f * magnitude)
        .find(|s| *s >= needed)
        .unwrap_or(magnitude.saturating_mul(10));
    (step, step.saturating_mul(ticks))
}

/// "2026-11-28T09:00:00+00:00" -> "09:00".
fn hour_label(hour: &str) -> String {
    hour.get(11..16).unwrap_or(hour).to_owned()
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// Sign-ins, failed sign-ins, denied and rate-limited requests per hour, as
/// grouped bars, with a legend and the same figures as a table.
#[component]
pub fn ActivityChart(hours: Vec<HourStats>) -> impl IntoView {
    let max = hours
        .iter()
        .flat_map(|h| SERIES.iter().map(move |s| (s.value)(h)))
        .max()
        .unwrap_or(0);
    let (step, top) = axis_scale(max, TICKS);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y_of = move |v: i64| TOP + plot_h - (v.max(0) as f64 / top as f64) * plot_h;
    let group_w = plot_w / hours.len().max(1) as f64;
    let bar_w = group_w * 0.8 / SERIES.len() as f64;
    // Every hour's label would overlap on a narrow screen: every third one.
    let label_every = if hours.len() > 12 { 3 } else { 1 };

    let totals: Vec<String> = SERIES
        .iter()
        .map(|s| {
            let total: i64 = hours.iter().map(|h| (s.value)(h)).sum();
            format!("{} {}", total, s.label.to_lowercase())
        })
        .collect();
    let summary = format!("Totals over {} hours: {}.", hours.len(), totals.join(", "));

    let grid = (0..=TICKS)
        .map(|i| {
            let y = num(y_of(i * step));
            view! {
                <g>
                    <line class="chart-grid" x1=num(LEFT) x2=num(LEFT + plot_w) y1=y.clone() y2=y.clone()/>
                    <text class="chart-tick" x=num(LEFT - 6.0) y=num(y_of(i * step) + 4.0) text-anchor="end">{i * step}</text>
                </g>
            }
        })
        .collect_view();

    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let group_x = LEFT + i as f64 * group_w + group_w * 0.1;
            let when = hour_label(&h.hour);
            let rects = SERIES
                .iter()
                .enumerate()
                .map(|(s_idx, s)| {
                    let v = (s.value)(h);
                    let y = y_of(v);
                    let tip = format!("{when} UTC: {v} {}", s.label.to_lowercase());
                    view! {
                        <rect class=format!("series-{}", s.key)
                            x=num(group_x + s_idx as f64 * bar_w) y=num(y)
                            width=num(bar_w) height=num(TOP + plot_h - y)>
                            <title>{tip}</title>
                        </rect>
                    }
                })
                .collect_view();
            let label = (i % label_every == 0).then(|| {
                view! {
                    <text class="chart-tick" x=num(LEFT + (i as f64 + 0.5) * group_w)
                        y=num(TOP + plot_h + 16.0) text-anchor="middle">{when.clone()}</text>
                }
            });
            view! { <g>{rects}{label}</g> }
        })
        .collect_view();

    let rows = hours
        .iter()
        .map(|h| {
            view! {
                <tr>
                    <th scope="row">{hour_label(&h.hour)}</th>
                    <td>{h.logins}</td>
                    <td>{h.login_failures}</td>
                    <td>{h.denied}</td>
                    <td>{h.rate_limited}</td>
                </tr>
            }
        })
        .collect_view();

    let empty = hours.is_empty();
    view! {
        <figure class="chart-figure">
            <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
                aria-labelledby="activity-title activity-desc" data-testid="activity-chart">
                <title id="activity-title">"Activity per hour, last 24 hours"</title>
                <desc id="activity-desc">{summary}</desc>
                {grid}
                {bars}
                <line class="chart-axis" x1=num(LEFT) x2=num(LEFT + plot_w)
                    y1=num(TOP + plot_h) y2=num(TOP + plot_h)/>
                <line class="chart-axis" x1=num(LEFT) x2=num(LEFT) y1=num(TOP) y2=num(TOP + plot_h)/>
                <text class="chart-axis-title" x=num(LEFT + plot_w / 2.0) y=num(HEIGHT - 6.0)
                    text-anchor="middle">"Hour (UTC)"</text>
                <text class="chart-axis-title" x=num(-(TOP + plot_h / 2.0)) y="14"
                    transform="rotate(-90)" text-anchor="middle">"Events"</text>
                {empty.then(|| view! {
                    <text class="chart-tick" x=num(LEFT + plot_w / 2.0) y=num(TOP + plot_h / 2.0)
                        text-anchor="middle">"No activity recorded"</text>
                })}
            </svg>
            <figcaption>
                <ul class="chart-legend">
                    {SERIES.iter().map(|s| view! {
                        <li><span class=format!("swatch series-{}", s.key) aria-hidden="true"></span>{s.label}</li>
                    }).collect_view()}
                </ul>
            </figcaption>
        </figure>
        <details>
            <summary>"The figures as a table"</summary>
            <div class="table-wrap">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">"Hour (UTC)"</th>
                            {SERIES.iter().map(|s| view! { <th scope="col">{s.label}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </details>
    }
}

/// Whole percent of `part` in `whole` (0 when there is no whole).
pub fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        (part.clamp(0, whole) * 100 + whole / 2) / whole
    }
}

/// A donut: the share of users who have two-factor authentication on.
#[component]
pub fn MfaDonut(with_mfa: i64, users: i64) -> impl IntoView {
    let pct = percent(with_mfa, users);
    // A circle of circumference 100 makes the dash lengths percentages; the
    // offset of 25 starts the arc at twelve o'clock.
    let radius = 100.0 / (2.0 * std::f64::consts::PI);
    let label = format!("{pct}% of users ({with_mfa} of {users}) use two-factor authentication");
    view! {
        <figure class="donut-figure">
            <svg class="donut" viewBox="0 0 42 42" role="img" aria-label=label.clone()
                data-testid="mfa-chart">
                <circle class="donut-track" cx="21" cy="21" r=num(radius)/>
                <circle class="donut-part" cx="21" cy="21" r=num(radius)
                    stroke-dasharray=format!("{pct} {}", 100 - pct) stroke-dashoffset="25"/>
                <text class="donut-label" x="21" y="23.5" text-anchor="middle">{format!("{pct}%")}</text>
            </svg>
            <figcaption>{with_mfa} " of " {users} " users have two-factor authentication on."</figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(axis_scale(0, 4), (1, 4));
        assert_eq!(axis_scale(3, 4), (1, 4));
        assert_eq!(axis_scale(9, 4), (5, 20));
        assert_eq!(axis_scale(37, 4), (10, 40));
        assert_eq!(axis_scale(41, 4), (20, 80));
        assert_eq!(axis_scale(1234, 4), (500, 2000));
    }

    #[test]
    fn percentages_round_and_survive_zero() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(5, 0), 0);
        assert_eq!(percent(7, 5), 100);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_chart_is_plain_accessible_svg() {
        let hours: Vec<HourStats> = (0..24)
            .map(|h| HourStats {
                hour: format!("2026-11-28T{h:02}:00:00+00:00"),
                logins: h,
                login_failures: 1,
                denied: 2,
                rate_limited: 0,
            })
            .collect();
        let html = Owner::new().with(|| view! { <ActivityChart hours=hours/> }.to_html());
        assert!(html.contains(r#"data-testid="activity-chart""#));
        assert!(html.contains(r#"aria-labelledby="activity-title activity-desc""#));
        assert!(html.contains("09:00 UTC: 9 sign-ins"));
        assert_eq!(html.matches("<rect").count(), 24 * SERIES.len());
        assert!(!html.contains("style="), "the CSP allows no inline style");
    }

    #[test]
    fn hour_labels_read_as_clock_times() {
        assert_eq!(hour_label("2026-11-28T09:00:00+00:00"), "09:00");
        assert_eq!(hour_label("bad"), "bad");
    }
}
