//! One statement, either engine: [`Exec`] is where a statement runs (a pool or a connection of SQLite
//! or PostgreSQL) and [`on_engine!`] writes the statement once for all four.
//!
//! Why not sqlx's `Any` driver: it hides the SQLite connection that [`super::is_reusable`] must inspect
//! (the defence against a failed write leaving the portal unable to write), and converts every row.
//! Why not functions generic over `sqlx::Database`: their bounds would be repeated on every function.
//! The macro instantiates the statement once per engine instead, each checked by the compiler against
//! that engine's types.
//!
//! A function of `db/` takes `db: impl Into<Exec<'_>>`, so its callers pass what they did before:
//! `&pool`, `&mut *transaction`, `&mut connection`.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

/// Where a statement runs.
pub enum Exec<'a> {
    SqlitePool(&'a SqlitePool),
    Sqlite(&'a mut SqliteConnection),
    PgPool(&'a PgPool),
    Postgres(&'a mut PgConnection),
}

/// Which engine a statement runs on, for the few statements whose text differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Exec<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Exec::SqlitePool(_) | Exec::Sqlite(_) => Engine::Sqlite,
            Exec::PgPool(_) | Exec::Postgres(_) => Engine::Postgres,
        }
    }

    /// The same place, for one more statement: a function that runs several takes `Exec` once and
    /// lends it to each.
    pub fn reborrow(&mut self) -> Exec<'_> {
        match self {
            Exec::SqlitePool(pool) => Exec::SqlitePool(pool),
            Exec::Sqlite(connection) => Exec::Sqlite(connection),
            Exec::PgPool(pool) => Exec::PgPool(pool),
            Exec::Postgres(connection) => Exec::Postgres(connection),
        }
    }
}

impl<'a> From<&'a SqlitePool> for Exec<'a> {
    fn from(pool: &'a SqlitePool) -> Self {
        Exec::SqlitePool(pool)
    }
}

impl<'a> From<&'a mut SqliteConnection> for Exec<'a> {
    fn from(connection: &'a mut SqliteConnection) -> Self {
        Exec::Sqlite(connection)
    }
}

impl<'a> From<&'a mut PoolConnection<Sqlite>> for Exec<'a> {
    fn from(connection: &'a mut PoolConnection<Sqlite>) -> Self {
        Exec::Sqlite(&mut *connection)
    }
}

impl<'a, 't> From<&'a mut Transaction<'t, Sqlite>> for Exec<'a> {
    fn from(transaction: &'a mut Transaction<'t, Sqlite>) -> Self {
        Exec::Sqlite(&mut *transaction)
    }
}

impl<'a> From<&'a PgPool> for Exec<'a> {
    fn from(pool: &'a PgPool) -> Self {
        Exec::PgPool(pool)
    }
}

impl<'a> From<&'a mut PgConnection> for Exec<'a> {
    fn from(connection: &'a mut PgConnection) -> Self {
        Exec::Postgres(connection)
    }
}

impl<'a> From<&'a mut PoolConnection<Postgres>> for Exec<'a> {
    fn from(connection: &'a mut PoolConnection<Postgres>) -> Self {
        Exec::Postgres(&mut *connection)
    }
}

/// Runs `$body` with `$executor` bound to the pool or connection that `$exec` (anything
/// `Into<Exec>`) names; `$body` is compiled once per engine.
///
/// ```ignore
/// on_engine!(db, |executor| sqlx::query("DELETE FROM t WHERE id = $1").bind(id).execute(executor).await)
/// ```
macro_rules! on_engine {
    ($exec:expr, |$executor:ident| $body:expr) => {
        match ::std::convert::Into::<$crate::db::engine::Exec<'_>>::into($exec) {
            $crate::db::engine::Exec::SqlitePool($executor) => $body,
            $crate::db::engine::Exec::Sqlite($executor) => $body,
            $crate::db::engine::Exec::PgPool($executor) => $body,
            $crate::db::engine::Exec::Postgres($executor) => $body,
        }
    };
}
pub(crate) use on_engine;

impl<'a, 't> From<&'a mut Transaction<'t, Postgres>> for Exec<'a> {
    fn from(transaction: &'a mut Transaction<'t, Postgres>) -> Self {
        Exec::Postgres(&mut *transaction)
    }
}

impl<'a> From<&'a super::Pool> for Exec<'a> {
    fn from(pool: &'a super::Pool) -> Self {
        match pool {
            super::Pool::Sqlite(pool) => Exec::SqlitePool(pool),
            super::Pool::Postgres(pool) => Exec::PgPool(pool),
        }
    }
}

impl<'a> From<&'a mut super::WriteTransaction> for Exec<'a> {
    fn from(transaction: &'a mut super::WriteTransaction) -> Self {
        match transaction {
            super::WriteTransaction::Sqlite(transaction) => Exec::Sqlite(&mut *transaction),
            super::WriteTransaction::Postgres(transaction) => Exec::Postgres(&mut *transaction),
        }
    }
}
