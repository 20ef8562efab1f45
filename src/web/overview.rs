//! The staff home (`/` for a signed-in staff member): the fleet at a glance — tenants per status as a
//! stacked bar, the 30-day trend of verified tenants and of tenants that need attention, and the
//! tenants that got worse in the last 7 days. The charts are inline SVG drawn here (no script, no
//! inline style: the CSP stays as it is), coloured by the stylesheet's classes (so the dark theme
//! applies), each with a text alternative.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::kit::{paths, render};
use super::staff_auth::{Nav, StaffUser};
use crate::app::AppState;
use crate::domain::TenantStatus;
use crate::fleet::{self, Overview, TrendDay};
use crate::web::error::AppError;

/// One status in the bar's legend.
struct Segment {
    status: TenantStatus,
    count: i64,
    /// Where its part of the bar starts, and its width, in percent of all tenants.
    offset: String,
    width: String,
}

/// One line of the "needs attention" list.
struct WorseLine {
    href: String,
    tenant_id: String,
    customer: String,
    label: &'static str,
    tone: &'static str,
    before: Option<&'static str>,
    since: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "staff/overview.html")]
struct OverviewPage {
    nav: Option<Nav>,
    total: i64,
    verified: i64,
    needs_attention: i64,
    segments: Vec<Segment>,
    bar_title: String,
    trend: Vec<TrendDay>,
    first_day: String,
    last_day: String,
    verified_path: String,
    attention_path: String,
    trend_summary: String,
    worse: Vec<WorseLine>,
}

/// The overview page.
pub async fn page(state: &AppState, staff: &StaffUser) -> Result<Response, AppError> {
    let overview = fleet::overview(&state.db, state.clock.now()).await?;
    Ok(render(StatusCode::OK, &page_of(overview, staff.nav("overview"))))
}

fn page_of(overview: Overview, nav: Nav) -> OverviewPage {
    let total = overview.total.max(1) as f64;
    let mut offset = 0.0;
    let segments: Vec<Segment> = overview
        .counts
        .iter()
        .map(|c| {
            let width = c.count as f64 * 100.0 / total;
            let segment = Segment { status: c.status, count: c.count, offset: number(offset), width: number(width) };
            offset += width;
            segment
        })
        .collect();
    let bar_title = if overview.counts.is_empty() {
        "No tenant yet".to_owned()
    } else {
        overview.counts.iter().map(|c| format!("{}: {}", c.status.label(), c.count)).collect::<Vec<_>>().join("; ")
    };
    let max = overview.trend.iter().filter_map(|d| d.counts.map(|(v, a)| v.max(a))).max().unwrap_or(0).max(1);
    let worse = overview
        .worse
        .iter()
        .map(|w| WorseLine {
            href: paths::tenant(w.tenant_id),
            tenant_id: w.tenant_id.to_string(),
            customer: w.customer.clone(),
            label: w.status.label(),
            tone: w.status.tone(),
            before: w.before.map(TenantStatus::label),
            since: match w.since {
                Some(at) => format!("since {at}"),
                None => format!("a problem older than {} days, worse since", fleet::WORSE_WITHIN_DAYS),
            },
            reason: w.reason.clone(),
        })
        .collect();
    OverviewPage {
        nav: Some(nav),
        total: overview.total,
        verified: overview.verified,
        needs_attention: overview.needs_attention,
        segments,
        bar_title,
        first_day: overview.trend.first().map(|d| d.day.to_string()).unwrap_or_default(),
        last_day: overview.trend.last().map(|d| d.day.to_string()).unwrap_or_default(),
        verified_path: trend_path(&overview.trend, max, TrendDay::verified),
        attention_path: trend_path(&overview.trend, max, TrendDay::needs_attention),
        trend_summary: trend_summary(&overview.trend),
        trend: overview.trend,
        worse,
    }
}

/// A number for an SVG attribute: two decimals at most.
fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The trend chart's width and height (its viewBox), and where a day's point goes.
const CHART_WIDTH: f64 = 300.0;
const CHART_TOP: f64 = 5.0;
const CHART_BOTTOM: f64 = 95.0;

/// An SVG path through each day's value; a day without a value breaks the line.
fn trend_path(trend: &[TrendDay], max: i64, value: fn(&TrendDay) -> Option<i64>) -> String {
    let step = CHART_WIDTH / trend.len().max(1) as f64;
    let mut path = String::new();
    let mut drawing = false;
    for (index, day) in trend.iter().enumerate() {
        let Some(value) = value(day) else {
            drawing = false;
            continue;
        };
        let x = step * (index as f64 + 0.5);
        let y = CHART_BOTTOM - (CHART_BOTTOM - CHART_TOP) * value as f64 / max as f64;
        let (x, y) = (number(x), number(y));
        if !path.is_empty() {
            path.push(' ');
        }
        if drawing {
            path.push_str(&format!("L{x} {y}"));
        } else {
            // Each run starts with a zero-length segment: with round caps a lone day shows as a dot.
            path.push_str(&format!("M{x} {y} L{x} {y}"));
        }
        drawing = true;
    }
    path
}

/// What the trend says, for a screen reader: from the first recorded day to today.
fn trend_summary(trend: &[TrendDay]) -> String {
    let recorded: Vec<&TrendDay> = trend.iter().filter(|d| d.counts.is_some()).collect();
    match (recorded.first(), recorded.last()) {
        (Some(first), Some(last)) if recorded.len() > 1 => format!(
            "Verified went from {} on {} to {} on {}; needs attention from {} to {}. {} of {} days recorded.",
            first.verified().unwrap_or_default(),
            first.day,
            last.verified().unwrap_or_default(),
            last.day,
            first.needs_attention().unwrap_or_default(),
            last.needs_attention().unwrap_or_default(),
            recorded.len(),
            trend.len()
        ),
        (Some(only), _) => format!(
            "Only {} is recorded: {} verified, {} need attention.",
            only.day,
            only.verified().unwrap_or_default(),
            only.needs_attention().unwrap_or_default()
        ),
        _ => "No day recorded yet.".to_owned(),
    }
}

impl OverviewPage {
    fn cell(value: Option<i64>) -> String {
        value.map_or_else(|| "—".to_owned(), |v| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_day_breaks_the_line() {
        let day = |n: u8, counts: Option<(i64, i64)>| TrendDay {
            day: time::Date::from_calendar_date(2027, time::Month::January, n).unwrap(),
            counts,
        };
        let trend = [day(1, Some((10, 0))), day(2, None), day(3, Some((5, 5))), day(4, Some((0, 10)))];
        assert_eq!(trend_path(&trend, 10, TrendDay::verified), "M37.5 5 L37.5 5 M187.5 50 L187.5 50 L262.5 95");
        assert_eq!(number(33.333_333), "33.33");
        assert_eq!(number(50.0), "50");
    }
}
