//! Status reads that survive a DynamoDB miss or outage: the PostgreSQL write
//! model answers, and the answer is written back to DynamoDB.

use super::{DynamoStatusStore, StatusRecord};
use crate::adapters::postgres::PgStore;
use crate::{CustomerId, OrderId, OrderStatus, RestaurantId, Result};
use std::sync::Arc;

/// DynamoDB first, PostgreSQL on a miss or an error, repopulating DynamoDB
/// from what PostgreSQL returned (best effort: a failed write-back is logged).
///
/// Records rebuilt from PostgreSQL know the order's status and times, not its
/// routing (channel, decision, failure): those come with the next write-through.
///
/// It is also the engine's [`crate::engine::StatusReadModel`]: hand it to
/// [`crate::engine::RouterBuilder::with_read_model`] and status writes go
/// through to DynamoDB while reads survive a DynamoDB miss or outage; and
/// its [`crate::engine::AsyncStatusReadModel`], for
/// [`crate::engine::AsyncRouter::with_stores`] (both stores opened with
/// their `connect_async`, so every request is a future of the host's runtime).
pub struct StatusWithFallback {
    dynamo: Arc<DynamoStatusStore>,
    pg: Arc<PgStore>,
}

impl StatusWithFallback {
    /// Combines the read model and the write model.
    pub fn new(dynamo: Arc<DynamoStatusStore>, pg: Arc<PgStore>) -> Self {
        Self { dynamo, pg }
    }

    /// The DynamoDB side (the engine's write-through goes there).
    pub fn dynamo(&self) -> &Arc<DynamoStatusStore> {
        &self.dynamo
    }

    /// The PostgreSQL side.
    pub fn postgres(&self) -> &Arc<PgStore> {
        &self.pg
    }

    /// [`StatusWithFallback::get`] on the caller's runtime (the engine's
    /// async read model).
    pub(crate) async fn get_async(&self, id: &OrderId) -> Result<Option<StatusRecord>> {
        match self.dynamo.get_status(id).await {
            Ok(Some(r)) => return Ok(Some(r)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(order = %id, error = %e.chain(), "dynamodb read failed; using postgres")
            }
        }
        let Some(order) = self.pg.read_order(id).await? else {
            return Ok(None);
        };
        let rec = StatusRecord::of_order(&order);
        self.repopulate_async(&rec).await;
        Ok(Some(rec))
    }

    /// [`StatusWithFallback::by_customer`] on the caller's runtime.
    pub(crate) async fn by_customer_async(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<StatusRecord>> {
        match self.dynamo.query_customer(customer, None, limit).await {
            Ok(v) if !v.is_empty() => return Ok(v),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.chain(), "dynamodb query failed; using postgres"),
        }
        let orders = self
            .pg
            .orders_by("customer_id", customer.0, None, limit)
            .await?;
        let mut records = Vec::with_capacity(orders.len());
        for o in &orders {
            let r = StatusRecord::of_order(o);
            self.repopulate_async(&r).await;
            records.push(r);
        }
        Ok(records)
    }

    async fn repopulate_async(&self, rec: &StatusRecord) {
        if let Err(e) = self.dynamo.put_status(rec).await {
            tracing::warn!(order = %rec.order_id, error = %e.chain(), "status write-back failed");
        }
    }

    fn repopulate(&self, rec: &StatusRecord) {
        if let Err(e) = self.dynamo.upsert(rec) {
            tracing::warn!(order = %rec.order_id, error = %e.chain(), "status write-back failed");
        }
    }

    /// One order's status.
    pub fn get(&self, id: &OrderId) -> Result<Option<StatusRecord>> {
        match self.dynamo.get(id) {
            Ok(Some(r)) => return Ok(Some(r)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(order = %id, error = %e.chain(), "dynamodb read failed; using postgres")
            }
        }
        let Some(order) = self.pg.order(id)? else {
            return Ok(None);
        };
        let rec = StatusRecord::of_order(&order);
        self.repopulate(&rec);
        Ok(Some(rec))
    }

    /// A customer's orders, newest first; PostgreSQL answers when DynamoDB
    /// fails or has none.
    pub fn by_customer(
        &self,
        customer: &CustomerId,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<StatusRecord>> {
        match self.dynamo.by_customer(customer, status, limit) {
            Ok(v) if !v.is_empty() => return Ok(v),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.chain(), "dynamodb query failed; using postgres"),
        }
        let orders = self.pg.orders_by_customer(customer, status, limit)?;
        Ok(orders
            .iter()
            .map(|o| {
                let r = StatusRecord::of_order(o);
                self.repopulate(&r);
                r
            })
            .collect())
    }

    /// A restaurant's orders, newest first; PostgreSQL answers when DynamoDB
    /// fails or has none.
    pub fn by_restaurant(
        &self,
        restaurant: &RestaurantId,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<StatusRecord>> {
        match self.dynamo.by_restaurant(restaurant, status, limit) {
            Ok(v) if !v.is_empty() => return Ok(v),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.chain(), "dynamodb query failed; using postgres"),
        }
        let orders = self.pg.orders_by_restaurant(restaurant, status, limit)?;
        Ok(orders
            .iter()
            .map(|o| {
                let r = StatusRecord::of_order(o);
                self.repopulate(&r);
                r
            })
            .collect())
    }
}
