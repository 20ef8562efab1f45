//! PostgreSQL: the schema its migrations build, compared with SQLite's, and the rule that a changed
//! migration stops start-up. Each test starts a server of its own (`helpers::PgCluster`); without
//! PostgreSQL's programs they skip, in CI they fail.

use std::collections::BTreeSet;

use consent_portal::config::DatabaseLocation;
use consent_portal::db;

use crate::helpers::{PgCluster, open_db, postgres_programs, require};

/// Tables and their columns (`table.column`, `?` after a column that may be NULL), indexes and
/// triggers, by name.
#[derive(Debug, PartialEq, Eq)]
struct Schema {
    columns: BTreeSet<String>,
    indexes: BTreeSet<String>,
    triggers: BTreeSet<String>,
}

async fn sqlite_schema() -> Schema {
    let dir = tempfile::tempdir().unwrap();
    let location = DatabaseLocation::sqlite_file(dir.path().join("portal.db"));
    let pool = open_db(&location).await;
    let rows: Vec<(String, String, bool, bool)> = sqlx::query_as(
        "SELECT m.name, c.name, c.\"notnull\", c.pk > 0 FROM sqlite_master m, pragma_table_info(m.name) c \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx_%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // A primary key column is never NULL on PostgreSQL; on SQLite an INTEGER PRIMARY KEY (the rowid)
    // is not declared NOT NULL but cannot be NULL either.
    let columns = rows.into_iter().map(|(table, column, not_null, pk)| column_name(&table, &column, !(not_null || pk))).collect();
    let names = |kind: &'static str| {
        let pool = pool.clone();
        async move {
            let names: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM sqlite_master WHERE type = $1 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%'")
                    .bind(kind)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            names.into_iter().map(|(name,)| name).collect::<BTreeSet<_>>()
        }
    };
    Schema { columns, indexes: names("index").await, triggers: names("trigger").await }
}

async fn postgres_schema(pool: &sqlx::PgPool) -> Schema {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx\\_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let columns = rows.into_iter().map(|(table, column, nullable)| column_name(&table, &column, nullable == "YES")).collect();
    // Indexes that PostgreSQL makes for a PRIMARY KEY or a UNIQUE column are SQLite's automatic ones.
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT i.indexname::text FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename NOT LIKE '\\_sqlx\\_%' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let triggers: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT trigger_name::text FROM information_schema.triggers WHERE trigger_schema = 'public'")
            .fetch_all(pool)
            .await
            .unwrap();
    Schema {
        columns,
        indexes: indexes.into_iter().map(|(name,)| name).collect(),
        triggers: triggers.into_iter().map(|(name,)| name).collect(),
    }
}

fn column_name(table: &str, column: &str, nullable: bool) -> String {
    format!("{table}.{column}{}", if nullable { "?" } else { "" })
}

#[tokio::test]
async fn the_postgres_migrations_build_the_schema_sqlite_has() {
    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let url = cluster.create_database("portal").await;
    let pool = db::postgres::open(&url).await.unwrap();
    let (postgres, sqlite) = (postgres_schema(&pool).await, sqlite_schema().await);
    assert!(postgres.columns.len() > 100, "{postgres:?}");
    let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect::<Vec<_>>();
    assert_eq!(only(&sqlite.columns, &postgres.columns), Vec::<String>::new(), "columns only on SQLite");
    assert_eq!(only(&postgres.columns, &sqlite.columns), Vec::<String>::new(), "columns only on PostgreSQL");
    assert_eq!(only(&sqlite.indexes, &postgres.indexes), Vec::<String>::new(), "indexes only on SQLite");
    assert_eq!(only(&postgres.indexes, &sqlite.indexes), Vec::<String>::new(), "indexes only on PostgreSQL");
    assert_eq!(sqlite.triggers, postgres.triggers);
    pool.close().await;
    // A second start applies nothing and changes nothing.
    let again = db::postgres::open(&url).await.unwrap();
    assert_eq!(postgres_schema(&again).await, postgres);
}

#[tokio::test]
async fn the_postgres_triggers_keep_a_campaign_row_in_step_with_its_email_and_link() {
    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let pool = db::postgres::open(&cluster.create_database("portal").await).await.unwrap();
    for statement in [
        "INSERT INTO customers (id, name, created_at) VALUES ('c', 'Contoso', '2026-12-01T00:00:00Z')",
        "INSERT INTO invites (id, customer_id, token_hash, created_at, expires_at) \
         VALUES ('i', 'c', 'h', '2026-12-01T00:00:00Z', '2026-12-31T00:00:00Z')",
        "INSERT INTO tenants (tenant_id, customer_id, consented_at) VALUES ('t', 'c', '2026-11-01T00:00:00Z')",
        "INSERT INTO permission_sets (permissions, first_seen_at) VALUES ('[]', '2026-12-01T00:00:00Z')",
        "INSERT INTO campaigns (id, created_at, created_by, permission_set_id, selection) \
         VALUES ('k', '2026-12-01T00:00:00Z', 'cli', 1, 'all')",
        "INSERT INTO outbox (id, kind, recipient, next_attempt_at, created_at) \
         VALUES ('m1', 'onboarding', 'a@contoso.example', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')",
        "INSERT INTO outbox (id, kind, recipient, status, next_attempt_at, created_at) \
         VALUES ('m2', 'onboarding', 'a@contoso.example', 'sent', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')",
        "INSERT INTO campaign_tenants (campaign_id, tenant_id, invite_id, customer, outbox_id, link_expires_at, email_status) \
         VALUES ('k', 't', 'i', 'Contoso', 'm1', '2026-12-31T00:00:00Z', 'queued')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let row = || async {
        sqlx::query_as::<_, (Option<String>, Option<String>, String)>(
            "SELECT outbox_id, email_status, link_expires_at FROM campaign_tenants",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    sqlx::query("UPDATE outbox SET status = 'failed' WHERE id = 'm1'").execute(&pool).await.unwrap();
    assert_eq!(row().await, (Some("m1".into()), Some("failed".into()), "2026-12-31T00:00:00Z".into()));
    sqlx::query("UPDATE outbox SET resent_as = 'm2' WHERE id = 'm1'").execute(&pool).await.unwrap();
    assert_eq!(row().await, (Some("m2".into()), Some("sent".into()), "2026-12-31T00:00:00Z".into()));
    sqlx::query("UPDATE invites SET revoked_at = '2026-12-05T00:00:00Z' WHERE id = 'i'").execute(&pool).await.unwrap();
    assert_eq!(row().await.2, "2026-12-05T00:00:00Z");
}

#[tokio::test]
async fn a_changed_postgres_migration_stops_start_up() {
    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let url = cluster.create_database("portal").await;
    let pool = db::postgres::open(&url).await.unwrap();
    // As if the migration file had been edited after it was applied.
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 1").execute(&pool).await.unwrap();
    pool.close().await;
    let error = db::postgres::open(&url).await.unwrap_err();
    assert!(matches!(error, db::OpenError::Migrate { .. }), "{error}");
    assert!(error.to_string().contains("previously applied but has been modified"), "{error}");
}

#[tokio::test]
async fn an_unreachable_postgres_names_the_server_but_never_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://portal:hunter2-secret@127.0.0.1:{port}/portal?connect_timeout=2");
    let error = db::postgres::open(&url).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, db::OpenError::Open { .. }), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn each_domain_type_is_stored_as_the_same_text_on_postgres() {
    use consent_portal::config::ConsentFlow;
    use consent_portal::domain::{AuditKind, RoleList, TenantId, TenantStatus, Timestamp};
    use consent_portal::i18n::Language;

    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let pool = db::postgres::open(&cluster.create_database("portal").await).await.unwrap();
    let tenant = TenantId::parse("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap();
    let at = Timestamp::parse("2026-11-25T15:36:30.5+01:00").unwrap();
    let roles = RoleList::from(vec!["Incident.Read.All".to_owned(), "AdvancedHunting.Read.All".to_owned()]);
    // Written through the types into TEXT columns, read back as plain text: what SQLite holds too.
    let texts: (String, String, String, String, String, String, String) =
        sqlx::query_as("SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text")
            .bind(tenant)
            .bind(at)
            .bind(TenantStatus::MissingRoles)
            .bind(AuditKind::TenantReconsented)
            .bind(&roles)
            .bind(Language::Italian)
            .bind(ConsentFlow::V1)
            .fetch_one(&pool)
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
        sqlx::query_as("SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text")
            .bind(&texts.0)
            .bind(&texts.1)
            .bind(&texts.2)
            .bind(&texts.3)
            .bind(&texts.4)
            .bind(&texts.5)
            .bind(&texts.6)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(typed, (tenant, at, TenantStatus::MissingRoles, AuditKind::TenantReconsented, roles, Language::Italian, ConsentFlow::V1));
    // Text that is not a value of the type does not decode.
    let bad: Result<(TenantStatus,), _> = sqlx::query_as("SELECT 'fine'::text").fetch_one(&pool).await;
    assert!(bad.is_err());
}

/// `backup` copies SQLite files only: on PostgreSQL it says to use `pg_dump` (exit 2) instead of
/// pretending, before it connects to anything.
#[test]
fn backup_on_postgresql_says_to_use_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let output = crate::helpers::command_in(dir.path())
        .args(["backup", "copy.db"])
        .env("PORTAL_DATABASE_URL", "postgres://portal:hunter2@127.0.0.1:9/portal")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("back it up with pg_dump"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!dir.path().join("copy.db").exists());
}

/// `sslmode=verify-full` with the server's CA in `sslrootcert`: the portal connects over TLS (rustls),
/// checking the server's certificate and name; with another CA it refuses to connect.
#[tokio::test]
async fn the_portal_connects_over_tls_and_checks_the_server_certificate() {
    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let pki = tempfile::tempdir().unwrap();
    fake_entra::server::tls_self_signed(pki.path()).unwrap();
    cluster.enable_tls(pki.path()).await;
    let url = cluster.create_database("portal").await;
    let ca = pki.path().join("ca.pem").display().to_string();

    let verified = format!("{url}?sslmode=verify-full&sslrootcert={ca}");
    let pool = db::open(&DatabaseLocation::Postgres { url: consent_portal::domain::Secret::new(verified) }).await.unwrap();
    let db::Pool::Postgres(pg) = &pool else { unreachable!() };
    let encrypted: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(pg).await.unwrap();
    assert!(encrypted, "the connection is not encrypted");
    pool.close().await;

    let other = tempfile::tempdir().unwrap();
    fake_entra::server::tls_self_signed(other.path()).unwrap();
    let wrong_ca = format!("{url}?sslmode=verify-full&sslrootcert={}", other.path().join("ca.pem").display());
    let refused = db::open(&DatabaseLocation::Postgres { url: consent_portal::domain::Secret::new(wrong_ca) }).await;
    assert!(refused.is_err(), "a server certificate from another CA was accepted");
}
