//! The kinds of credential the app authenticates with, and what is read from one without I/O: a
//! certificate's notAfter and thumbprint, a secret's expiry as configured.

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    Secret,
    Certificate,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Certificate => "certificate",
        }
    }
}

/// The notAfter of a PEM certificate.
pub fn certificate_not_after(pem: &str) -> Option<OffsetDateTime> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let certificate = pem.parse_x509().ok()?;
    Some(certificate.validity().not_after.to_datetime())
}

/// The SHA-1 thumbprint of a PEM certificate, upper-case hex: what the Entra admin center lists under
/// "Certificates & secrets", so staff can tell which one to remove.
pub fn certificate_thumbprint(pem: &str) -> Option<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &pem.contents);
    Some(hex::encode_upper(digest.as_ref()))
}

/// A secret's expiry as PORTAL_CLIENT_SECRET_EXPIRES_AT gives it: an RFC 3339 date-time, or a date
/// (read as the start of that day in UTC, the earliest moment it could mean).
pub fn parse_expiry(value: &str) -> Result<OffsetDateTime, String> {
    let value = value.trim();
    if let Ok(at) = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339) {
        return Ok(at.to_offset(time::UtcOffset::UTC));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format)
        .map(|date| date.midnight().assume_utc())
        .map_err(|_| format!("{value:?} is not an RFC 3339 date (2027-03-31) or date-time (2027-03-31T12:00:00Z)"))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn expiries_are_dates_or_date_times() {
        assert_eq!(parse_expiry("2027-03-31").unwrap(), datetime!(2027-03-31 00:00 UTC));
        assert_eq!(parse_expiry("2027-03-31T12:30:00+02:00").unwrap(), datetime!(2027-03-31 10:30 UTC));
        assert!(parse_expiry("31/03/2027").is_err());
    }
}
