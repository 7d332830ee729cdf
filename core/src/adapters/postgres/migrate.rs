//! The schema of `core/migrations/postgres/`, embedded and applied in order.

use crate::Result;
use tokio_postgres::Client;

/// Every migration file, in the order it applies.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init.sql",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_outbox_claim.sql",
        include_str!("../../../migrations/postgres/0002_outbox_claim.sql"),
    ),
    (
        "0003_adapters.sql",
        include_str!("../../../migrations/postgres/0003_adapters.sql"),
    ),
    (
        "0004_outbox_claim_runs.sql",
        include_str!("../../../migrations/postgres/0004_outbox_claim_runs.sql"),
    ),
    (
        "0005_order_placement.sql",
        include_str!("../../../migrations/postgres/0005_order_placement.sql"),
    ),
    (
        "0006_outbox_partitions.sql",
        include_str!("../../../migrations/postgres/0006_outbox_partitions.sql"),
    ),
    (
        "0007_outbox_payload_json.sql",
        include_str!("../../../migrations/postgres/0007_outbox_payload_json.sql"),
    ),
    (
        "0008_outbox_slots.sql",
        include_str!("../../../migrations/postgres/0008_outbox_slots.sql"),
    ),
    (
        "0009_orders_statistics.sql",
        include_str!("../../../migrations/postgres/0009_orders_statistics.sql"),
    ),
    (
        "0010_outbox_bundles.sql",
        include_str!("../../../migrations/postgres/0010_outbox_bundles.sql"),
    ),
    (
        "0011_capacity_leases.sql",
        include_str!("../../../migrations/postgres/0011_capacity_leases.sql"),
    ),
];

/// Applies the migrations not yet recorded in `uoom_schema_migrations`, each
/// in its own transaction, under an advisory lock so that two processes
/// starting together do not both apply a file. Returns the names applied.
pub(crate) async fn migrate(client: &Client) -> Result<Vec<&'static str>> {
    let io = |e: tokio_postgres::Error| super::pg_error("migration", e);
    client
        .batch_execute(
            "SELECT pg_advisory_lock(72330117); \
             CREATE TABLE IF NOT EXISTS uoom_schema_migrations ( \
                name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(io)?;
    let mut applied = Vec::new();
    let mut result = Ok(());
    for (name, sql) in MIGRATIONS {
        let done = client
            .query_opt(
                "SELECT 1 FROM uoom_schema_migrations WHERE name = $1",
                &[name],
            )
            .await
            .map_err(io);
        match done {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
        let body = format!(
            "BEGIN;\n{sql}\n;INSERT INTO uoom_schema_migrations (name) VALUES ('{name}');\nCOMMIT;"
        );
        if let Err(e) = client.batch_execute(&body).await {
            let _ = client.batch_execute("ROLLBACK").await;
            result = Err(super::pg_error(format!("migration {name} failed"), e));
            break;
        }
        tracing::info!(migration = name, "applied");
        applied.push(*name);
    }
    let _ = client
        .batch_execute("SELECT pg_advisory_unlock(72330117)")
        .await;
    result.map(|()| applied)
}
