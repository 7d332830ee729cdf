//! The engine's ports (`crate::engine::ports`) on the adapters: thin
//! conversions over the adapters' own APIs.
//!
//! The ports cannot return errors from reads (`order`, `get`, …): a failed
//! read is logged (`tracing::warn!`) and answers `None` / empty.

use super::EventRecord;
use crate::events::{Aggregate, DomainEvent};
use crate::{ChannelId, OrderId};

impl From<&DomainEvent> for EventRecord {
    fn from(e: &DomainEvent) -> Self {
        EventRecord {
            id: e.id,
            aggregate_type: e.aggregate.kind().to_string(),
            aggregate_id: e.key(),
            event_type: e.event_type().as_str().to_string(),
            schema_version: e.schema_version,
            payload: super::record::raw(&e.payload),
            occurred_at: e.at,
        }
    }
}

impl EventRecord {
    /// The engine's typed event back from a stored record; `None` when the
    /// record is not one of the engine's events (another writer's, or a
    /// payload of an unknown schema).
    ///
    /// ```
    /// use uoom::adapters::EventRecord;
    /// use uoom::events::{Aggregate, DomainEvent, EventPayload};
    /// use uoom::{ChannelId, EventId, Millis};
    /// let e = DomainEvent::new(EventId::from_u128(2), Aggregate::Channel(ChannelId::from("c1")), Millis(5),
    ///     EventPayload::CapacityUpdated { channel: ChannelId::from("c1"), slot: uoom::ledger::SlotId(0), capacity: 9 });
    /// let r = EventRecord::from(&e);
    /// assert_eq!(r.aggregate_id, "c1");
    /// assert_eq!(r.to_domain_event(), Some(e));
    /// ```
    pub fn to_domain_event(&self) -> Option<DomainEvent> {
        let aggregate = match self.aggregate_type.as_str() {
            "order" => Aggregate::Order(OrderId::parse(&self.aggregate_id)?),
            "channel" => Aggregate::Channel(ChannelId::from(self.aggregate_id.as_str())),
            _ => return None,
        };
        let payload = serde_json::from_str(self.payload.get()).ok()?;
        Some(DomainEvent {
            id: self.id,
            aggregate,
            schema_version: self.schema_version,
            at: self.occurred_at,
            payload,
        })
    }
}

#[cfg(feature = "postgres")]
mod pg {
    use crate::adapters::postgres::PgStore;
    use crate::engine::{
        AsyncOutbox, AsyncWriteModel, BoxFuture, Outbox, OutboxEntry, Outcome, OwnedUnitOfWork,
        UnitOfWork, WriteModel,
    };
    use crate::events::DomainEvent;
    use crate::{Error, Order, OrderId, Result};

    fn entries(rows: Vec<(i64, crate::adapters::EventRecord)>) -> Vec<OutboxEntry> {
        rows.into_iter()
            .filter_map(|(seq, r)| {
                r.to_domain_event().map(|event| OutboxEntry {
                    seq: seq.max(0) as u64,
                    event,
                })
            })
            .collect()
    }

    fn outcome_json(outcome: &Outcome) -> Result<serde_json::Value> {
        serde_json::to_value(outcome).map_err(|e| Error::io_with("outcome to JSON", e))
    }

    /// On the caller's runtime: no call here blocks (see [`PgStore::connect_async`]).
    impl AsyncWriteModel for PgStore {
        fn save<'a>(&'a self, unit: &'a OwnedUnitOfWork) -> BoxFuture<'a, Result<()>> {
            let key = match &unit.idempotency {
                Some((k, outcome)) => match outcome_json(outcome) {
                    Ok(v) => Some((k.clone(), v)),
                    Err(e) => return Box::pin(std::future::ready(Err(e))),
                },
                None => None,
            };
            if unit.capacity.is_some() {
                return Box::pin(self.write_placed(&unit.order, &unit.events, key, unit.capacity));
            }
            Box::pin(self.write_events(Some(&unit.order), &unit.events, key))
        }

        fn applies_lease_commits(&self) -> bool {
            self.config().lease_commits
        }

        fn order<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<Order>>> {
            Box::pin(self.read_order(id))
        }

        fn outcome_for_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Outcome>>> {
            Box::pin(async move {
                match self.read_outcome(key).await? {
                    None => Ok(None),
                    // A record the engine cannot read must not pass for a new key.
                    Some(v) => serde_json::from_value(v)
                        .map(Some)
                        .map_err(|e| Error::io_with("idempotency record is not an outcome", e)),
                }
            })
        }
    }

    impl AsyncOutbox for PgStore {
        fn append<'a>(&'a self, events: &'a [DomainEvent]) -> BoxFuture<'a, Result<()>> {
            Box::pin(self.write_events(None, events, None))
        }

        fn pending(&self, max: usize) -> BoxFuture<'_, Result<Vec<OutboxEntry>>> {
            Box::pin(async move { self.read_pending(max).await.map(entries) })
        }

        fn acknowledge(&self, seq: u64) -> BoxFuture<'_, Result<()>> {
            Box::pin(self.write_published_through(i64::try_from(seq).unwrap_or(i64::MAX)))
        }

        fn depth(&self) -> BoxFuture<'_, Result<usize>> {
            Box::pin(async move { self.read_outbox_depth().await.map(|n| n as usize) })
        }
    }

    impl WriteModel for PgStore {
        fn save(&self, unit: UnitOfWork<'_>) -> Result<()> {
            let key = match unit.idempotency {
                Some((k, outcome)) => Some((k.to_owned(), outcome_json(outcome)?)),
                None => None,
            };
            if unit.capacity.is_some() {
                return self.save_placed(unit.order, unit.events, key, unit.capacity);
            }
            self.save_events(Some(unit.order), unit.events, key)
        }

        fn applies_lease_commits(&self) -> bool {
            self.config().lease_commits
        }

        fn order(&self, id: &OrderId) -> Option<Order> {
            PgStore::order(self, id).unwrap_or_else(|e| {
                tracing::warn!(order = %id, error = %e.chain(), "postgres order read failed");
                None
            })
        }

        fn outcome_for_key(&self, key: &str) -> Option<Outcome> {
            match PgStore::outcome_for_key(self, key) {
                Ok(v) => v.and_then(|v| serde_json::from_value(v).ok()),
                Err(e) => {
                    tracing::warn!(key, error = %e.chain(), "postgres idempotency read failed");
                    None
                }
            }
        }
    }

    impl Outbox for PgStore {
        fn append(&self, events: &[DomainEvent]) -> Result<()> {
            self.save_events(None, events, None)
        }

        fn pending(&self, max: usize) -> Vec<OutboxEntry> {
            match self.pending_records(max) {
                Ok(rows) => entries(rows),
                Err(e) => {
                    tracing::warn!(error = %e.chain(), "postgres outbox read failed");
                    Vec::new()
                }
            }
        }

        fn acknowledge(&self, seq: u64) -> Result<()> {
            self.mark_published_through(i64::try_from(seq).unwrap_or(i64::MAX))
        }

        fn depth(&self) -> usize {
            self.outbox_depth().map_or_else(
                |e| {
                    tracing::warn!(error = %e.chain(), "postgres outbox depth failed");
                    0
                },
                |n| n as usize,
            )
        }
    }
}

#[cfg(feature = "dynamodb")]
mod ddb {
    use crate::adapters::dynamodb::{DynamoStatusStore, StatusRecord};
    use crate::engine::{
        AsyncStatusReadModel, BoxFuture, DecisionKind, StatusReadModel, StatusView,
    };
    use crate::events::FailureReason;
    use crate::{ChannelId, CustomerId, OrderId, Result};

    fn to_record(v: &StatusView) -> StatusRecord {
        StatusRecord {
            order_id: v.order_id,
            customer_id: v.customer_id,
            restaurant_id: v.restaurant_id,
            status: v.status,
            channel: v.channel.as_ref().map(std::string::ToString::to_string),
            decision: v
                .decision
                .and_then(|d| serde_json::to_value(d).ok())
                .and_then(|j| j.as_str().map(str::to_owned)),
            failure: v.failure.map(|f| f.as_str().to_string()),
            created_at: v.created_at,
            updated_at: v.updated_at,
            expires_at: None,
        }
    }

    pub(super) fn to_view(r: StatusRecord) -> StatusView {
        StatusView {
            order_id: r.order_id,
            customer_id: r.customer_id,
            restaurant_id: r.restaurant_id,
            status: r.status,
            channel: r.channel.map(ChannelId::from),
            decision: r.decision.and_then(|d| {
                serde_json::from_value::<DecisionKind>(serde_json::Value::String(d)).ok()
            }),
            failure: r.failure.and_then(|f| {
                serde_json::from_value::<FailureReason>(serde_json::Value::String(f)).ok()
            }),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    impl StatusReadModel for DynamoStatusStore {
        fn upsert(&self, view: StatusView) {
            if let Err(e) = DynamoStatusStore::upsert(self, &to_record(&view)) {
                tracing::warn!(order = %view.order_id, error = %e.chain(), "dynamodb write-through failed");
            }
        }

        fn get(&self, id: &OrderId) -> Option<StatusView> {
            DynamoStatusStore::get(self, id)
                .unwrap_or_else(|e| {
                    tracing::warn!(order = %id, error = %e.chain(), "dynamodb read failed");
                    None
                })
                .map(to_view)
        }

        fn by_customer(&self, customer: &CustomerId, limit: usize) -> Vec<StatusView> {
            DynamoStatusStore::by_customer(self, customer, None, limit)
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e.chain(), "dynamodb query failed");
                    Vec::new()
                })
                .into_iter()
                .map(to_view)
                .collect()
        }
    }

    /// On the caller's runtime (see [`DynamoStatusStore::connect_async`]).
    impl AsyncStatusReadModel for DynamoStatusStore {
        fn upsert(&self, view: StatusView) -> BoxFuture<'_, Result<()>> {
            let rec = to_record(&view);
            Box::pin(async move { self.put_status(&rec).await.map(|_| ()) })
        }

        fn get<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<StatusView>>> {
            Box::pin(async move { Ok(self.get_status(id).await?.map(to_view)) })
        }

        fn by_customer<'a>(
            &'a self,
            customer: &'a CustomerId,
            limit: usize,
        ) -> BoxFuture<'a, Result<Vec<StatusView>>> {
            Box::pin(async move {
                let records = self.query_customer(customer, None, limit).await?;
                Ok(records.into_iter().map(to_view).collect())
            })
        }
    }

    /// Writes through to DynamoDB; reads fall back to PostgreSQL (and
    /// repopulate DynamoDB), all on the caller's runtime.
    #[cfg(feature = "postgres")]
    impl AsyncStatusReadModel for crate::adapters::dynamodb::StatusWithFallback {
        fn upsert(&self, view: StatusView) -> BoxFuture<'_, Result<()>> {
            let rec = to_record(&view);
            Box::pin(async move { self.dynamo().put_status(&rec).await.map(|_| ()) })
        }

        fn get<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, Result<Option<StatusView>>> {
            Box::pin(async move { Ok(self.get_async(id).await?.map(to_view)) })
        }

        fn by_customer<'a>(
            &'a self,
            customer: &'a CustomerId,
            limit: usize,
        ) -> BoxFuture<'a, Result<Vec<StatusView>>> {
            Box::pin(async move {
                let records = self.by_customer_async(customer, limit).await?;
                Ok(records.into_iter().map(to_view).collect())
            })
        }
    }

    /// The read model the engine uses when DynamoDB may miss or be down:
    /// writes go through to DynamoDB, reads fall back to PostgreSQL (and
    /// repopulate DynamoDB). Errors of both are logged; the port answers
    /// `None` / empty.
    #[cfg(feature = "postgres")]
    impl StatusReadModel for crate::adapters::dynamodb::StatusWithFallback {
        fn upsert(&self, view: StatusView) {
            if let Err(e) = self.dynamo().upsert(&to_record(&view)) {
                tracing::warn!(order = %view.order_id, error = %e.chain(), "dynamodb write-through failed");
            }
        }

        fn get(&self, id: &OrderId) -> Option<StatusView> {
            crate::adapters::dynamodb::StatusWithFallback::get(self, id)
                .unwrap_or_else(|e| {
                    tracing::warn!(order = %id, error = %e.chain(), "status read failed on both stores");
                    None
                })
                .map(to_view)
        }

        fn by_customer(&self, customer: &CustomerId, limit: usize) -> Vec<StatusView> {
            crate::adapters::dynamodb::StatusWithFallback::by_customer(self, customer, None, limit)
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e.chain(), "status query failed on both stores");
                    Vec::new()
                })
                .into_iter()
                .map(to_view)
                .collect()
        }
    }
}
