//! In-memory ports: the embedded default for the write model with its outbox,
//! and for the status read model.
//!
//! One mutex guards orders, outbox and idempotency records together, which is
//! what makes [`WriteModel::save`] one unit of work here. A router per city
//! (or per thread) with its own store never contends on it.

use super::decision::Outcome;
use super::ports::{Outbox, OutboxEntry, StatusReadModel, StatusView, UnitOfWork, WriteModel};
use crate::events::DomainEvent;
use crate::{CustomerId, Order, OrderId, Result};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Default)]
struct Store {
    orders: HashMap<OrderId, Order>,
    keys: HashMap<String, Outcome>,
    outbox: VecDeque<OutboxEntry>,
    next_seq: u64,
}

impl Store {
    fn push(&mut self, events: &[DomainEvent]) {
        for e in events {
            self.next_seq += 1;
            self.outbox.push_back(OutboxEntry {
                seq: self.next_seq,
                event: e.clone(),
            });
        }
    }
}

/// Orders, outbox and idempotency records in memory.
///
/// ```
/// use uoom::engine::{MemoryStore, Outbox};
/// use uoom::events::{Aggregate, DomainEvent, EventPayload};
/// use uoom::{ChannelId, EventId, Millis};
/// let store = MemoryStore::default();
/// let c = ChannelId::from("c1");
/// let e = DomainEvent::new(EventId::from_u128(1), Aggregate::Channel(c.clone()), Millis(0),
///     EventPayload::CapacityUpdated { channel: c, slot: uoom::ledger::SlotId(0), capacity: 5 });
/// store.append(&[e.clone(), e]).unwrap();
/// let pending = store.pending(10);
/// assert_eq!(pending.len(), 2);
/// store.acknowledge(pending[0].seq).unwrap();
/// assert_eq!(store.depth(), 1);
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Store>,
}

impl MemoryStore {
    /// A store with room for `orders` orders and their outbox entries, so a
    /// run of known size never pauses to grow its tables.
    ///
    /// ```
    /// let store = uoom::engine::MemoryStore::with_capacity(1_000);
    /// assert_eq!(store.order_count(), 0);
    /// ```
    pub fn with_capacity(orders: usize) -> Self {
        Self {
            inner: Mutex::new(Store {
                orders: HashMap::with_capacity(orders),
                ..Store::default()
            }),
        }
    }

    /// Number of orders stored.
    pub fn order_count(&self) -> usize {
        self.inner.lock().orders.len()
    }

    /// Every stored order (tests and invariant checks).
    pub fn orders(&self) -> Vec<Order> {
        self.inner.lock().orders.values().cloned().collect()
    }
}

impl WriteModel for MemoryStore {
    fn save(&self, unit: UnitOfWork<'_>) -> Result<()> {
        let mut s = self.inner.lock();
        match s.orders.get_mut(&unit.order.id) {
            // An order's contents never change after creation, only its
            // status, timestamp and placement: no deep copy on every later save.
            Some(stored) => {
                stored.status = unit.order.status;
                stored.updated_at = unit.order.updated_at;
                if stored.placement != unit.order.placement {
                    stored.placement.clone_from(&unit.order.placement);
                }
            }
            None => {
                s.orders.insert(unit.order.id, unit.order.clone());
            }
        }
        if let Some((key, outcome)) = unit.idempotency {
            match s.keys.get_mut(key) {
                Some(stored) => stored.clone_from(outcome),
                None => {
                    s.keys.insert(key.to_owned(), outcome.clone());
                }
            }
        }
        s.push(unit.events);
        Ok(())
    }

    fn order(&self, id: &OrderId) -> Option<Order> {
        self.inner.lock().orders.get(id).cloned()
    }

    fn outcome_for_key(&self, key: &str) -> Option<Outcome> {
        self.inner.lock().keys.get(key).cloned()
    }
}

impl Outbox for MemoryStore {
    fn append(&self, events: &[DomainEvent]) -> Result<()> {
        self.inner.lock().push(events);
        Ok(())
    }

    fn pending(&self, max: usize) -> Vec<OutboxEntry> {
        self.inner.lock().outbox.iter().take(max).cloned().collect()
    }

    fn acknowledge(&self, seq: u64) -> Result<()> {
        let mut s = self.inner.lock();
        while s.outbox.front().is_some_and(|e| e.seq <= seq) {
            s.outbox.pop_front();
        }
        Ok(())
    }

    fn depth(&self) -> usize {
        self.inner.lock().outbox.len()
    }
}

#[derive(Debug, Default)]
struct Views {
    by_id: HashMap<OrderId, StatusView>,
    by_customer: HashMap<CustomerId, Vec<OrderId>>,
}

/// Order status views in memory, indexed by order and by customer.
///
/// ```
/// use uoom::engine::{MemoryReadModel, StatusReadModel, StatusView};
/// use uoom::{CustomerId, Millis, OrderId, OrderStatus};
/// let rm = MemoryReadModel::default();
/// let customer = CustomerId::from_u128(7);
/// for (i, t) in [(1u128, 10u64), (2, 30), (3, 20)] {
///     rm.upsert(StatusView { order_id: OrderId::from_u128(i), customer_id: customer, restaurant_id: None,
///         status: OrderStatus::Pending, channel: None, decision: None, failure: None,
///         created_at: Millis(t), updated_at: Millis(t) });
/// }
/// let newest_first: Vec<_> = rm.by_customer(&customer, 2).iter().map(|v| v.created_at.0).collect();
/// assert_eq!(newest_first, vec![30, 20]);
/// ```
#[derive(Debug, Default)]
pub struct MemoryReadModel {
    inner: Mutex<Views>,
}

impl MemoryReadModel {
    /// A read model with room for `orders` views.
    ///
    /// ```
    /// use uoom::engine::{MemoryReadModel, StatusReadModel};
    /// let rm = MemoryReadModel::with_capacity(100);
    /// assert!(rm.get(&uoom::OrderId::from_u128(1)).is_none());
    /// ```
    pub fn with_capacity(orders: usize) -> Self {
        Self {
            inner: Mutex::new(Views {
                by_id: HashMap::with_capacity(orders),
                by_customer: HashMap::new(),
            }),
        }
    }
}

impl StatusReadModel for MemoryReadModel {
    fn upsert(&self, view: StatusView) {
        let mut v = self.inner.lock();
        let (id, customer) = (view.order_id, view.customer_id);
        if v.by_id.insert(id, view).is_none() {
            v.by_customer.entry(customer).or_default().push(id);
        }
    }

    fn get(&self, id: &OrderId) -> Option<StatusView> {
        self.inner.lock().by_id.get(id).cloned()
    }

    fn by_customer(&self, customer: &CustomerId, limit: usize) -> Vec<StatusView> {
        let v = self.inner.lock();
        let Some(ids) = v.by_customer.get(customer) else {
            return Vec::new();
        };
        let mut views: Vec<StatusView> = ids
            .iter()
            .rev()
            .filter_map(|id| v.by_id.get(id).cloned())
            .collect();
        views.sort_by_key(|v| std::cmp::Reverse(v.created_at));
        views.truncate(limit);
        views
    }
}
