//! A [`Language`] stored in SQLite as its code (`en`, `it`): the text it is written as everywhere else.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Sqlite, Type};

use crate::Language;

impl Type<Sqlite> for Language {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Language {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'q, Sqlite>>::encode(self.code(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Language {
    /// Only an exact code: the database holds only what was written.
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<'r, Sqlite>>::decode(value)?;
        Language::ALL.into_iter().find(|l| l.code() == text).ok_or_else(|| format!("{text:?} is not a language code").into())
    }
}
