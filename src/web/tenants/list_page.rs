//! The dashboard's list of tenants: the page of a search, its sort links, status filter, pagination
//! and the banner of tenants that got worse.

use askama::Template;
use serde::Deserialize;

use crate::campaigns::DashboardPanel;
use crate::campaigns::requirements::Change;
use crate::db::tenants::{SortKey, TenantSummary};
use crate::domain::{TenantId, TenantStatus, Timestamp};
use crate::monitor::sweep::SweepProgress;
use crate::tenants::{Search, SearchPage};
use crate::web::staff_auth::Nav;
use crate::web::staff_auth::StaffUser;

/// Tenants per page.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
}

struct TenantLine {
    tenant_id: TenantId,
    customer: String,
    consented_by: String,
    consented_at: Timestamp,
    label: &'static str,
    tone: &'static str,
    reason: String,
    roles_present: Vec<String>,
    roles_missing: Vec<String>,
    last_checked_at: String,
}

struct Degraded {
    tenant_id: String,
    at: Timestamp,
    from: &'static str,
    to: &'static str,
    tone: &'static str,
}

struct SortLink {
    label: &'static str,
    href: String,
    /// "ascending", "descending" or "none" (aria-sort).
    state: &'static str,
}

struct StatusOption {
    value: &'static str,
    label: &'static str,
    count: i64,
    selected: bool,
}

#[derive(Template)]
#[template(path = "staff/tenants.html")]
pub(super) struct ListPage {
    nav: Option<Nav>,
    rows: Vec<TenantLine>,
    total: i64,
    all_count: i64,
    search: String,
    statuses: Vec<StatusOption>,
    sort: &'static str,
    dir: &'static str,
    sort_links: Vec<SortLink>,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    degraded: Vec<Degraded>,
    /// Admins get the "Check all" button.
    admin: bool,
    csrf: String,
    /// The current (or last) sweep over all tenants.
    sweep: SweepProgress,
    /// Tenants that need re-consent, the latest change of the required permissions, the campaign button.
    reconsent: Option<ReconsentPanel>,
}

/// The re-consent panel: shown while tenants need re-consent, or for 30 days after the required
/// permissions changed.
struct ReconsentPanel {
    needs: i64,
    askable: i64,
    change: Option<Change>,
    emails_enabled: bool,
}

impl ListQuery {
    /// The search the query asks for: a search text of 200 characters at most, a known status, a
    /// known sort.
    pub fn search(&self) -> (String, Option<TenantStatus>, SortKey, bool, i64) {
        let text: String = self.q.as_deref().unwrap_or_default().trim().chars().take(200).collect();
        let status = self.status.as_deref().and_then(TenantStatus::parse);
        let sort = self.sort.as_deref().and_then(SortKey::parse).unwrap_or_default();
        let descending = self.dir.as_deref() == Some("desc");
        let page = self.page.as_deref().and_then(|p| p.parse::<i64>().ok()).unwrap_or(1);
        (text, status, sort, descending, page)
    }
}

impl ListPage {
    pub fn new(
        staff: &StaffUser,
        sweep: SweepProgress,
        search: &Search<'_>,
        found: SearchPage,
        panel: DashboardPanel,
        now: Timestamp,
        emails_enabled: bool,
    ) -> Self {
        let needs = found.counts.get(&TenantStatus::NeedsReconsent).copied().unwrap_or(0);
        let recent_change = panel.change.filter(|change| now.as_datetime() - change.at.as_datetime() < time::Duration::days(30));
        let reconsent = (needs > 0 || recent_change.is_some()).then_some(ReconsentPanel {
            needs,
            askable: panel.askable,
            change: recent_change,
            emails_enabled,
        });
        let (status, sort, descending, page, pages) = (search.status, search.sort, search.descending, found.page, found.pages);
        let href = |page| list_href(search.text, status, sort, descending, page);
        Self {
            nav: Some(staff.nav("tenants")),
            admin: staff.is_admin(),
            csrf: staff.csrf.clone(),
            sweep,
            rows: found.rows.into_iter().map(TenantLine::from).collect(),
            total: found.total,
            all_count: found.counts.values().sum(),
            statuses: TenantStatus::ALL
                .into_iter()
                .map(|s| StatusOption {
                    value: s.as_str(),
                    label: s.label(),
                    count: found.counts.get(&s).copied().unwrap_or(0),
                    selected: status == Some(s),
                })
                .collect(),
            sort: sort.as_str(),
            dir: if descending { "desc" } else { "asc" },
            sort_links: sort_links(search),
            page,
            pages,
            previous: (page > 1).then(|| href(page - 1)),
            next: (page < pages).then(|| href(page + 1)),
            degraded: found
                .degraded
                .into_iter()
                .map(|d| Degraded {
                    tenant_id: d.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
                    at: d.at,
                    from: d.from.label(),
                    to: d.to.label(),
                    tone: d.to.tone(),
                })
                .collect(),
            search: search.text.to_owned(),
            reconsent,
        }
    }
}

impl From<TenantSummary> for TenantLine {
    fn from(row: TenantSummary) -> Self {
        let s = row.tenant.status;
        Self {
            consented_by: row.tenant.consented_by().unwrap_or_default().to_owned(),
            roles_present: row.roles_present.map(|r| r.names()).unwrap_or_default(),
            roles_missing: row.roles_missing.map(|r| r.names()).unwrap_or_default(),
            tenant_id: row.tenant.tenant_id,
            customer: row.tenant.customer,
            consented_at: row.tenant.consented_at,
            label: s.label(),
            tone: s.tone(),
            reason: row.tenant.status_reason.unwrap_or_default(),
            last_checked_at: row.tenant.last_checked_at.map(|at| at.to_string()).unwrap_or_default(),
        }
    }
}

/// The column headers' links: each sorts by its column, ascending first, then the other way.
fn sort_links(search: &Search<'_>) -> Vec<SortLink> {
    let columns = [
        (SortKey::Customer, "Customer"),
        (SortKey::Status, "Status"),
        (SortKey::ConsentedAt, "Consented"),
        (SortKey::LastCheck, "Last check"),
    ];
    columns
        .into_iter()
        .map(|(key, label)| {
            let current = key == search.sort;
            SortLink {
                label,
                href: list_href(search.text, search.status, key, current && !search.descending, 1),
                state: match (current, search.descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect()
}

/// A link to the list with these parameters.
fn list_href(search: &str, status: Option<TenantStatus>, sort: SortKey, descending: bool, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    if let Some(status) = status {
        query.append_pair("status", status.as_str());
    }
    query.append_pair("sort", sort.as_str());
    query.append_pair("dir", if descending { "desc" } else { "asc" });
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    format!("/tenants?{}", query.finish())
}
