//! A [`Language`] stored as its code (`en`, `it`), the text it is written as everywhere else, on any
//! engine sqlx speaks whose text type it uses (SQLite's and PostgreSQL's TEXT).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::Language;

impl<DB: Database> Type<DB> for Language
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

impl<'q, DB: Database> Encode<'q, DB> for Language
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut <DB as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, DB>>::encode(self.code().to_owned(), buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for Language
where
    &'r str: Decode<'r, DB>,
{
    /// Only an exact code: the database holds only what was written.
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, DB>>::decode(value)?;
        Language::ALL.into_iter().find(|l| l.code() == text).ok_or_else(|| format!("{text:?} is not a language code").into())
    }
}
