//! Raw SQL in a test, on whichever engine the portal under test runs (`PORTAL_TEST_DATABASE`): one
//! statement with numbered placeholders (`$1`, which SQLite takes too), its values bound in order.
//!
//! ```ignore
//! let count: i64 = sql(&app.db, "SELECT COUNT(*) FROM tenants WHERE customer_id = $1").bind(&id).scalar().await;
//! ```

use consent_portal::db::{Pool, WriteTransaction};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Sqlite};

/// A value bound to a placeholder: every column of the schema is text or an integer on both engines.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Bind {
    fn from(value: &str) -> Self {
        Bind::Text(Some(value.to_owned()))
    }
}

impl From<String> for Bind {
    fn from(value: String) -> Self {
        Bind::Text(Some(value))
    }
}

impl From<&String> for Bind {
    fn from(value: &String) -> Self {
        Bind::Text(Some(value.clone()))
    }
}

impl From<Option<&str>> for Bind {
    fn from(value: Option<&str>) -> Self {
        Bind::Text(value.map(str::to_owned))
    }
}

impl From<Option<String>> for Bind {
    fn from(value: Option<String>) -> Self {
        Bind::Text(value)
    }
}

impl From<i64> for Bind {
    fn from(value: i64) -> Self {
        Bind::Int(Some(value))
    }
}

impl From<consent_portal::domain::TenantId> for Bind {
    fn from(value: consent_portal::domain::TenantId) -> Self {
        Bind::Text(Some(value.to_string()))
    }
}

impl From<consent_portal::domain::Timestamp> for Bind {
    fn from(value: consent_portal::domain::Timestamp) -> Self {
        Bind::Text(Some(value.to_string()))
    }
}

impl From<Option<i64>> for Bind {
    fn from(value: Option<i64>) -> Self {
        Bind::Int(value)
    }
}

/// Where a statement runs: the test's database, or a write transaction on it.
pub enum On<'a> {
    Pool(&'a Pool),
    Transaction(&'a mut WriteTransaction),
}

impl<'a> From<&'a Pool> for On<'a> {
    fn from(pool: &'a Pool) -> Self {
        On::Pool(pool)
    }
}

impl<'a> From<&'a mut WriteTransaction> for On<'a> {
    fn from(transaction: &'a mut WriteTransaction) -> Self {
        On::Transaction(transaction)
    }
}

/// One statement, built with [`sql`].
pub struct Sql<'a> {
    on: On<'a>,
    text: String,
    binds: Vec<Bind>,
}

/// A statement on the test's database (`&app.db`) or in a transaction of it (`&mut transaction`).
pub fn sql<'a>(on: impl Into<On<'a>>, text: &str) -> Sql<'a> {
    Sql { on: on.into(), text: text.to_owned(), binds: Vec::new() }
}

/// Binds each value in order to one query of either engine.
macro_rules! bound {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                Bind::Text(value) => query.bind(value.clone()),
                Bind::Int(value) => query.bind(*value),
            };
        }
        query
    }};
}

/// Builds the query with `$make::<engine, ...>` on the statement's engine, binds, and runs `$fetch`.
macro_rules! run {
    ($sql:expr, $make:ident $(, $ty:ty)?; $fetch:ident) => {
        run!($sql, $make $(, $ty)?; $fetch; |found| found)
    };
    ($sql:expr, $make:ident $(, $ty:ty)?; $fetch:ident; $map:expr) => {{
        let Sql { on, text, binds } = $sql;
        let result = match on {
            On::Pool(Pool::Sqlite(pool)) => bound!(sqlx::$make::<Sqlite $(, $ty)?>(&text), &binds).$fetch(pool).await.map($map),
            On::Pool(Pool::Postgres(pool)) => bound!(sqlx::$make::<Postgres $(, $ty)?>(&text), &binds).$fetch(pool).await.map($map),
            On::Transaction(WriteTransaction::Sqlite(transaction)) => {
                bound!(sqlx::$make::<Sqlite $(, $ty)?>(&text), &binds).$fetch(&mut **transaction).await.map($map)
            }
            On::Transaction(WriteTransaction::Postgres(transaction)) => {
                bound!(sqlx::$make::<Postgres $(, $ty)?>(&text), &binds).$fetch(&mut **transaction).await.map($map)
            }
        };
        (result, text)
    }};
}

/// What both engines decode a column into.
pub trait Column:
    for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Send + Unpin
{
}
impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Send + Unpin
{
}

/// What both engines' rows convert into (a tuple of [`Column`]s).
pub trait Row: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {}

fn unwrapped<T>((result, text): (Result<T, sqlx::Error>, String)) -> T {
    result.unwrap_or_else(|e| panic!("{text}: {e}"))
}

impl Sql<'_> {
    pub fn bind(mut self, value: impl Into<Bind>) -> Self {
        self.binds.push(value.into());
        self
    }

    /// Runs the statement; returns the number of rows it changed.
    pub async fn try_execute(self) -> Result<u64, sqlx::Error> {
        run!(self, query; execute; |done| done.rows_affected()).0
    }

    pub async fn execute(self) -> u64 {
        let text = self.text.clone();
        self.try_execute().await.unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// The first column of the one row the query returns.
    pub async fn scalar<T: Column>(self) -> T {
        unwrapped(run!(self, query_scalar, T; fetch_one))
    }

    /// The first column of every row.
    pub async fn scalars<T: Column>(self) -> Vec<T> {
        unwrapped(run!(self, query_scalar, T; fetch_all))
    }

    /// The one row the query returns, as a tuple.
    pub async fn row<T: Row>(self) -> T {
        unwrapped(run!(self, query_as, T; fetch_one))
    }

    /// Every row.
    pub async fn rows<T: Row>(self) -> Vec<T> {
        unwrapped(run!(self, query_as, T; fetch_all))
    }
}
