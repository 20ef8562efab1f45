//! The `customers` table.

use super::engine::{Exec, on_engine};
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::Timestamp;

#[derive(Debug, Clone, FromRow)]
pub struct Customer {
    pub id: String,
    /// As stored: a name that passed `CustomerName` when it was typed (older rows may predate that
    /// check, so it is read as plain text).
    pub name: String,
    pub contact_email: Option<String>,
    pub created_at: Timestamp,
}

pub async fn insert<'e>(db: impl Into<Exec<'e>>, name: &str, contact_email: Option<&str>, now: Timestamp) -> Result<Customer, sqlx::Error> {
    let customer = Customer {
        id: Uuid::now_v7().to_string(),
        name: name.to_owned(),
        contact_email: contact_email.map(str::to_owned),
        created_at: now,
    };
    on_engine!(db, |executor| sqlx::query("INSERT INTO customers (id, name, contact_email, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&customer.id)
        .bind(&customer.name)
        .bind(&customer.contact_email)
        .bind(customer.created_at)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(customer)
}

pub async fn count<'e>(db: impl Into<Exec<'e>>) -> Result<i64, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(executor).await)
}

pub async fn find_by_name<'e>(db: impl Into<Exec<'e>>, name: &str) -> Result<Option<Customer>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(
        "SELECT id, name, contact_email, created_at FROM customers WHERE name = $1 ORDER BY id LIMIT 1"
    )
    .bind(name)
    .fetch_optional(executor)
    .await)
}
