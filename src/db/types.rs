//! How the domain's types are stored: each as the text it has always been stored as (a tenant id in
//! lower case, a status such as `missing_roles`, a time as RFC 3339 UTC to the second, a role list as a
//! JSON array), so typed rows read and write exactly the data that text rows did, and SQL that compares
//! those columns as text keeps working.
//!
//! A value that does not parse is a decoding error: the database holds only what the portal wrote. The
//! encodings are the same on SQLite and PostgreSQL (generic over sqlx's `Database`).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::config::ConsentFlow;
use crate::domain::{ApiResults, AuditKind, CampaignTenantState, PermissionSet, RoleList, TenantId, TenantStatus, Timestamp};

/// Stores `$type` as text on every engine (SQLite's TEXT, PostgreSQL's TEXT): `$to_text` writes it,
/// `$from_text` reads it back from `&str`.
macro_rules! text_column {
    ($type:ty, |$value:ident| $to_text:expr, |$text:ident| $from_text:expr) => {
        impl<DB: Database> Type<DB> for $type
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $type
        where
            String: Encode<'q, DB>,
        {
            fn encode_by_ref(&self, buf: &mut <DB as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
                let $value = self;
                <String as Encode<'q, DB>>::encode($to_text, buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $type
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let $text = <&str as Decode<'r, DB>>::decode(value)?;
                $from_text
            }
        }
    };
}

text_column!(TenantId, |id| id.to_string(), |text| Ok(TenantId::parse(text)?));
text_column!(Timestamp, |at| at.to_string(), |text| Ok(Timestamp::parse(text)?));
text_column!(TenantStatus, |status| status.as_str().to_owned(), |text| {
    TenantStatus::parse(text).ok_or_else(|| format!("{text:?} is not a tenant status").into())
});
text_column!(AuditKind, |kind| kind.as_str().to_owned(), |text| {
    AuditKind::parse(text).ok_or_else(|| format!("{text:?} is not an audit event kind").into())
});
text_column!(RoleList, |roles| roles.to_json(), |text| Ok(RoleList::from_json(text)?));
text_column!(CampaignTenantState, |state| state.as_str().to_owned(), |text| {
    CampaignTenantState::parse(text).ok_or_else(|| format!("{text:?} is not a campaign state").into())
});
text_column!(PermissionSet, |set| set.to_json(), |text| Ok(PermissionSet::from_json(text)?));
text_column!(ApiResults, |apis| apis.to_json(), |text| Ok(ApiResults::from_json(text)?));
text_column!(ConsentFlow, |flow| flow_text(*flow).to_owned(), |text| {
    match text {
        "v2" => Ok(ConsentFlow::V2),
        "v1" => Ok(ConsentFlow::V1),
        other => Err(format!("{other:?} is not a consent flow").into()),
    }
});

/// The text a consent flow is stored as (`consent_states.flow`, `consents.flow`).
pub fn flow_text(flow: ConsentFlow) -> &'static str {
    match flow {
        ConsentFlow::V2 => "v2",
        ConsentFlow::V1 => "v1",
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use super::*;
    use crate::domain::parse_role_list;
    use crate::i18n::Language;

    /// Each type is written as the very text the text rows held, and read back as the same value.
    #[tokio::test]
    async fn each_type_is_stored_as_its_text_and_read_back() {
        let mut db = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let tenant = TenantId::parse("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap();
        let at = Timestamp::parse("2026-11-25T15:36:30.5+01:00").unwrap();
        let roles = RoleList::from(
            parse_role_list("Incident.Read.All,AdvancedHunting.Read.All").unwrap().into_iter().map(String::from).collect::<Vec<_>>(),
        );
        let texts: (String, String, String, String, String, String, String) = sqlx::query_as("SELECT ?, ?, ?, ?, ?, ?, ?")
            .bind(tenant)
            .bind(at)
            .bind(TenantStatus::MissingRoles)
            .bind(AuditKind::TenantReconsented)
            .bind(&roles)
            .bind(Language::Italian)
            .bind(ConsentFlow::V1)
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(
            texts,
            (
                "72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned(),
                "2026-11-25T14:36:30Z".to_owned(),
                "missing_roles".to_owned(),
                "tenant.reconsented".to_owned(),
                r#"["Incident.Read.All","AdvancedHunting.Read.All"]"#.to_owned(),
                "it".to_owned(),
                "v1".to_owned(),
            )
        );
        let typed: (TenantId, Timestamp, TenantStatus, AuditKind, RoleList, Language, ConsentFlow) =
            sqlx::query_as("SELECT ?, ?, ?, ?, ?, ?, ?")
                .bind(&texts.0)
                .bind(&texts.1)
                .bind(&texts.2)
                .bind(&texts.3)
                .bind(&texts.4)
                .bind(&texts.5)
                .bind(&texts.6)
                .fetch_one(&mut db)
                .await
                .unwrap();
        assert_eq!(
            typed,
            (tenant, at, TenantStatus::MissingRoles, AuditKind::TenantReconsented, roles, Language::Italian, ConsentFlow::V1)
        );
    }

    #[tokio::test]
    async fn text_that_does_not_parse_is_a_decoding_error() {
        let mut db = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        for bad in ["contoso.com", "now"] {
            let tenant: Result<(TenantId,), _> = sqlx::query_as("SELECT ?").bind(bad).fetch_one(&mut db).await;
            assert!(tenant.is_err(), "{bad}");
        }
        let at: Result<(Timestamp,), _> = sqlx::query_as("SELECT 'later'").fetch_one(&mut db).await;
        assert!(at.is_err());
        let status: Result<(TenantStatus,), _> = sqlx::query_as("SELECT 'fine'").fetch_one(&mut db).await;
        assert!(status.is_err());
    }
}
