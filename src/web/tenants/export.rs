//! The CSV export: one row per tenant, safe to open in a spreadsheet.

use crate::tenants::TenantListing;

/// The columns every export has; one column per required permission (`api:Role`) follows.
pub const CSV_HEADER: [&str; 9] = [
    "tenant_id",
    "customer",
    "status",
    "status_reason",
    "consented_at",
    "consented_by",
    "roles_present",
    "roles_missing",
    "last_checked_at",
];

/// One CSV cell: a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return) gets a leading `'`; a cell with a comma, a quote or a line break is quoted.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// The CSV of `rows`, with a column per permission of `required` (`api:Role`): `present`, `missing`, or
/// empty when the latest check did not say.
pub fn to_csv(rows: &[TenantListing], required: &[String]) -> String {
    let mut out = CSV_HEADER.iter().map(|c| (*c).to_owned()).chain(required.iter().map(|p| csv_cell(p))).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells = [
            &row.tenant_id.to_string(),
            row.customer.as_str(),
            row.status.as_str(),
            row.status_reason.as_deref().unwrap_or_default(),
            &row.consented_at.to_string(),
            row.consented_by.as_deref().unwrap_or_default(),
            &row.roles_present.names().join(" "),
            &row.roles_missing.names().join(" "),
            &row.last_checked_at.map(|at| at.to_string()).unwrap_or_default(),
        ];
        let permissions = required.iter().map(|permission| match row.has(permission) {
            Some(true) => "present",
            Some(false) => "missing",
            None => "",
        });
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).chain(permissions.map(str::to_owned)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("Contoso"), "Contoso");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
    }
}
