//! Storage: the database (SQLite beside the binary, or PostgreSQL shared by replicas: [`Pool`]) and
//! every SQL statement of the portal, one file per table, each written once for both engines
//! ([`engine`]).
//!
//! SQLite runs in WAL mode (readers never wait for the writer), with a busy timeout (a writer waits for
//! another instead of failing at once), foreign keys enforced, and `synchronous = FULL`, so a write that
//! was acknowledged survives a crash of the process or the machine.
//!
//! A connection goes back into the pool only when it is outside any transaction: see
//! [`is_reusable`] for why a failed write could otherwise leave the whole portal unable to write.

pub mod audit;
pub mod campaigns;
pub mod checks;
pub mod consent_states;
pub mod credential_notices;
pub mod customers;
pub mod engine;
pub mod fleet;
pub mod invites;
pub mod monitoring;
pub mod outbox;
pub mod permission_sets;
pub mod postgres;
pub mod sessions;
pub mod tenants;
pub mod types;
pub mod webhooks;
pub mod write_probe;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::config::DatabaseLocation;
use crate::domain::Timestamp;

/// The migrations in `migrations/`, embedded in the binary. sqlx records a checksum of each one it
/// applies and refuses to start when a migration that was applied has since changed.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a connection waits for a lock held by another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the database folder {path}: {source}")]
    CreateFolder { path: String, source: std::io::Error },
    #[error("cannot open the database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("the database {path} is read-only: the portal needs to write to it ({source})")]
    ReadOnly { path: String, source: sqlx::Error },
    #[error("cannot apply migrations to {path}: {source}")]
    Migrate { path: String, source: sqlx::migrate::MigrateError },
}

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        // 8 MiB of page cache per connection (SQLite's default is 2 MiB), allocated only as pages are
        // read: a scan of a 10,000-tenant campaign stays in memory instead of being read again from the
        // file at each page view.
        .pragma("cache_size", PAGE_CACHE_KIB)
}

/// The page cache of each connection, in KiB (negative: SQLite's unit for a size in KiB).
const PAGE_CACHE_KIB: &str = "-8000";

/// Opens the database (SQLite: creating it and its folder when missing), checks it can be written, and
/// applies the migrations. Any failure here is a reason not to start.
pub async fn open(location: &DatabaseLocation) -> Result<Pool, OpenError> {
    match location {
        DatabaseLocation::Sqlite { path, .. } => open_sqlite(path).await.map(Pool::Sqlite),
        DatabaseLocation::Postgres { url } => {
            let pool = Pool::Postgres(postgres::open(url.expose()).await?);
            write_probe::write(&pool).await.map_err(|source| OpenError::Open { path: location.shown(), source })?;
            Ok(pool)
        }
    }
}

/// Opens the SQLite database in `file` (see [`open`]).
pub async fn open_sqlite(file: &Path) -> Result<SqlitePool, OpenError> {
    let path = file.display().to_string();
    if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|source| OpenError::CreateFolder { path: folder.display().to_string(), source })?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .after_release(|connection, _| Box::pin(is_reusable(connection)))
        .connect_with(connect_options(file))
        .await
        .map_err(|source| match is_read_only(&source) {
            true => OpenError::ReadOnly { path: path.clone(), source },
            false => OpenError::Open { path: path.clone(), source },
        })?;
    MIGRATOR.run(&pool).await.map_err(|source| OpenError::Migrate { path: path.clone(), source })?;
    sessions::create_table(&pool).await.map_err(|source| OpenError::Open { path: path.clone(), source })?;
    // Opening, reading, migrations already applied and even `BEGIN IMMEDIATE` all succeed on a
    // read-only database in WAL mode (SQLite quietly makes that a read transaction): only a write
    // tells. Find out now, not at the first customer's consent, with the write `/readyz` makes.
    write_probe::write(&pool).await.map_err(|source| match is_read_only(&source) {
        true => OpenError::ReadOnly { path: path.clone(), source },
        false => OpenError::Open { path, source },
    })?;
    Ok(pool)
}

/// May a connection coming back to the pool be lent again? Only when it is outside any transaction,
/// both by sqlx's count and by SQLite's own state; otherwise the pool closes it (closing rolls back
/// what SQLite still holds and releases its locks) and opens a fresh one when needed.
///
/// Both go out of step when a write fails at the wrong moment, most often on a full disk:
/// - a `COMMIT` that fails with SQLITE_FULL or an I/O error makes SQLite roll the transaction back by
///   itself, but sqlx counts the transaction as still open; the `ROLLBACK` it sends when the
///   `Transaction` is dropped then fails ("no transaction is active"), so the count stays at 1 for
///   good and every later `BEGIN IMMEDIATE` on that connection is refused ("attempted to call
///   begin_with at non-zero transaction depth");
/// - on such a connection a plain `begin()` (as tower-sessions' SQLite store made) becomes a
///   `SAVEPOINT`, which in SQLite starts a real transaction; when its `RELEASE` fails too, sqlx rolls
///   back only to the savepoint, which leaves SQLite inside the transaction, holding the database's
///   write lock: every other writer, in this process or another, waits out the busy timeout and fails.
///
/// Checking when the connection comes back covers every way it is used (our transactions, the session
/// store's writes, the e-mail worker's, the sweeps'), whatever failed. Closing rather than repairing:
/// sqlx's count cannot be set from outside, and a fresh connection costs a file open.
async fn is_reusable(connection: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    // Locking the handle waits for the worker to finish what was queued before (the rollback of a
    // dropped transaction), so both states below are read after it.
    let sqlite_in_transaction = {
        let mut handle = connection.lock_handle().await?;
        // SAFETY: the handle is locked away from the connection's worker thread while `handle` lives,
        // and sqlite3_get_autocommit only reads the state of that open connection.
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) == 0 }
    };
    if sqlite_in_transaction || connection.is_in_transaction() {
        tracing::warn!("closing a database connection that a failed write left inside a transaction");
        return Ok(false);
    }
    Ok(true)
}

/// The portal's database: SQLite beside the binary (the default), or PostgreSQL shared by several
/// replicas. Cheap to clone (a pool is shared); pass `&pool` to the functions of `db/`.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    /// Waits for the connections in use to come back, then closes them all.
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Pool::Postgres(_))
    }
}

impl From<SqlitePool> for Pool {
    fn from(pool: SqlitePool) -> Self {
        Pool::Sqlite(pool)
    }
}

impl From<PgPool> for Pool {
    fn from(pool: PgPool) -> Self {
        Pool::Postgres(pool)
    }
}

/// A transaction opened by [`begin_write`]; pass `&mut transaction` to the functions of `db/`.
pub enum WriteTransaction {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl WriteTransaction {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTransaction::Sqlite(transaction) => transaction.commit().await,
            WriteTransaction::Postgres(transaction) => transaction.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTransaction::Sqlite(transaction) => transaction.rollback().await,
            WriteTransaction::Postgres(transaction) => transaction.rollback().await,
        }
    }
}

/// Starts a write transaction that runs alone, as every write transaction of the portal expects: they
/// read, decide and write, and two of them deciding on the same rows at once must queue, not interleave.
///
/// - SQLite: `BEGIN IMMEDIATE` takes the database's write lock at once, so two writers queue on the
///   busy timeout instead of one failing half-way with "database is locked".
/// - PostgreSQL: the transaction first takes one transaction-scoped advisory lock that every write
///   transaction of every replica takes ([`postgres::WRITE_LOCK`]), so they run one at a time across
///   replicas as they do on SQLite, and each statement after the lock sees what the previous holder
///   committed (READ COMMITTED takes a snapshot per statement). The lock goes with the commit or the
///   rollback, or with the connection when a replica dies.
pub async fn begin_write(pool: &Pool) -> Result<WriteTransaction, sqlx::Error> {
    match pool {
        Pool::Sqlite(pool) => Ok(WriteTransaction::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
        Pool::Postgres(pool) => {
            let mut transaction = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(postgres::WRITE_LOCK).execute(&mut *transaction).await?;
            Ok(WriteTransaction::Postgres(transaction))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: choose a new file, a backup never overwrites one")]
    Exists(String),
    #[error("cannot write the backup {path}: {source}")]
    Write { path: String, source: sqlx::Error },
}

/// A consistent copy of the live database at `target` (`VACUUM INTO`), safe while the portal runs.
pub async fn backup(pool: &SqlitePool, target: &Path) -> Result<(), BackupError> {
    let shown = target.display().to_string();
    if target.exists() {
        return Err(BackupError::Exists(shown));
    }
    // VACUUM INTO also refuses an existing non-empty file, which covers a file appearing meanwhile.
    sqlx::query("VACUUM INTO $1")
        .bind(target.to_string_lossy().into_owned())
        .execute(pool)
        .await
        .map_err(|source| BackupError::Write { path: shown, source })?;
    Ok(())
}

/// Is this error the database saying it cannot write now (SQLite: read-only file or folder, full disk,
/// I/O error, a lock that outlasted the busy timeout; PostgreSQL: the server unreachable, shutting
/// down, out of resources, or a read-only standby)? Such errors make the request answer 503, not 500,
/// and go away by themselves when the database comes back.
pub fn is_unavailable_for_writes(error: &sqlx::Error) -> bool {
    is_read_only(error)
        || sqlite_primary_code(error)
            .is_some_and(|code| matches!(code, SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN))
        || postgres::is_unavailable(error)
        || matches!(error, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
}

fn is_read_only(error: &sqlx::Error) -> bool {
    sqlite_primary_code(error) == Some(SQLITE_READONLY)
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;

/// SQLite's primary result code (the low byte of an extended code).
fn sqlite_primary_code(error: &sqlx::Error) -> Option<i32> {
    let code = error.as_database_error()?.code()?;
    i32::from_str(&code).ok().map(|code| code & 0xff)
}

/// Is this a violation of a UNIQUE or PRIMARY KEY constraint?
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}

/// `count` numbered placeholders from `$first` on: `$3, $4, $5`. Statements number their placeholders
/// (`$1`), which both SQLite and PostgreSQL read, rather than writing SQLite's `?`.
pub(crate) fn placeholder_list(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// `rows` rows of `values` placeholders each, numbered from `$1`: `($1, $2), ($3, $4)`.
pub(crate) fn placeholder_rows(rows: usize, values: usize) -> String {
    (0..rows).map(|row| format!("({})", placeholder_list(1 + row * values, values))).collect::<Vec<_>>().join(", ")
}

/// The current time of the system clock as stored in the database: RFC 3339, UTC, whole seconds.
pub fn now_text() -> String {
    timestamp_text(time::OffsetDateTime::now_utc())
}

/// `at` as stored in the database (see [`Timestamp`]).
pub fn timestamp_text(at: time::OffsetDateTime) -> String {
    Timestamp::new(at).to_string()
}

#[cfg(test)]
mod migration_tests {
    use std::borrow::Cow;

    use sqlx::migrate::Migrator;

    use super::*;

    /// The rebuild of the outbox (a CHECK constraint SQLite cannot alter) keeps every e-mail and every
    /// link, with the links still pointing at their e-mails, and enforces foreign keys after it.
    #[tokio::test]
    async fn the_outbox_rebuild_keeps_every_row_and_its_links() {
        let dir = tempfile::tempdir().unwrap();
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(connect_options(&dir.path().join("old.db"))).await.unwrap();
        let before = MIGRATOR.migrations.iter().filter(|m| m.version < 10).cloned().collect::<Vec<_>>();
        Migrator { migrations: Cow::Owned(before), ..Migrator::DEFAULT }.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO customers (id, name, created_at) VALUES ('c', 'Contoso', '2026-11-01T00:00:00Z'); \
             INSERT INTO invites (id, customer_id, token_hash, created_at, expires_at) VALUES ('i', 'c', 'h', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'); \
             INSERT INTO outbox (id, kind, recipient, invite_id, status, next_attempt_at, created_at) VALUES ('o1', 'onboarding', 'a@contoso.example', 'i', 'failed', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z'); \
             INSERT INTO outbox (id, kind, recipient, invite_id, status, next_attempt_at, created_at) VALUES ('o2', 'onboarding', 'a@contoso.example', 'i', 'sent', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z'); \
             UPDATE outbox SET resent_as = 'o2' WHERE id = 'o1'; \
             INSERT INTO invite_links (token_hash, invite_id, outbox_id, created_at) VALUES ('l', 'i', 'o2', '2026-11-01T00:00:00Z');",
        )
        .execute(&pool)
        .await
        .unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        let rows: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT id, status, resent_as FROM outbox ORDER BY id").fetch_all(&pool).await.unwrap();
        assert_eq!(rows, [("o1".into(), "failed".into(), Some("o2".into())), ("o2".into(), "sent".into(), None)]);
        let link: String = sqlx::query_scalar("SELECT outbox_id FROM invite_links").fetch_one(&pool).await.unwrap();
        assert_eq!(link, "o2");
        let problems: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&pool).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        // The new kinds are accepted, an unknown one still is not, and a link must name an e-mail.
        sqlx::query("INSERT INTO outbox (id, kind, recipient, next_attempt_at, created_at) VALUES ('o3', 'campaign_digest', 'ops@x.example', 'x', 'x')")
            .execute(&pool)
            .await
            .unwrap();
        assert!(
            sqlx::query(
                "INSERT INTO outbox (id, kind, recipient, next_attempt_at, created_at) VALUES ('o4', 'spam', 'x@x.example', 'x', 'x')"
            )
            .execute(&pool)
            .await
            .is_err()
        );
        assert!(
            sqlx::query("INSERT INTO invite_links (token_hash, invite_id, outbox_id, created_at) VALUES ('m', 'i', 'nope', 'x')")
                .execute(&pool)
                .await
                .is_err()
        );
    }
}
