//! The status read model in DynamoDB (official AWS SDK): write-through on
//! status change, reads by id, batch reads with `BatchGetItem`, the two index
//! queries, the TTL attribute, order details; plus a fallback to the
//! PostgreSQL write model that repopulates on a miss (with feature `postgres`).
//!
//! [`DynamoStatusStore::connect_async`] builds the client on the caller's
//! runtime, for the engine's async read model
//! ([`AsyncStatusReadModel`](crate::engine::AsyncStatusReadModel)): its
//! requests are futures of that runtime. [`DynamoStatusStore::connect`]
//! gives it an [`AdapterRuntime`] for the blocking methods of the
//! synchronous façade.
//!
//! `aws_sdk_dynamodb` is re-exported for callers that need the raw client.
//!
//! ```no_run
//! use uoom::adapters::AdapterRuntime;
//! use uoom::adapters::dynamodb::{DynamoConfig, DynamoStatusStore};
//! let rt = AdapterRuntime::new(1).unwrap();
//! let cfg = DynamoConfig::default().with_endpoint("http://127.0.0.1:28000");
//! let store = DynamoStatusStore::connect(cfg, rt).unwrap();
//! store.create_tables().unwrap();
//! assert!(store.get(&uoom::OrderId::from_u128(1)).unwrap().is_none());
//! ```

mod record;
mod tables;

#[cfg(feature = "postgres")]
mod fallback;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use fallback::StatusWithFallback;

pub use aws_sdk_dynamodb;
pub use record::StatusRecord;

use crate::adapters::AdapterRuntime;
use crate::{CustomerId, Error, Order, OrderId, OrderStatus, RestaurantId, Result};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// Which tables, where, and how long items live.
///
/// ```
/// use std::time::Duration;
/// let c = uoom::adapters::dynamodb::DynamoConfig::default()
///     .with_table_prefix("test_")
///     .with_ttl(Duration::from_secs(3_600));
/// assert_eq!(c.status_table, "test_uoom_order_status");
/// assert!(c.endpoint.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    /// Endpoint override (DynamoDB Local, a VPC endpoint); `None` uses AWS's.
    pub endpoint: Option<String>,
    /// Region override; `None` takes it from the default chain.
    pub region: Option<String>,
    /// The status table (default `uoom_order_status`).
    pub status_table: String,
    /// The details table (default `uoom_order_details`).
    pub details_table: String,
    /// Items expire this long after their last update (default 30 days).
    pub ttl: Duration,
}

impl Default for DynamoConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            status_table: "uoom_order_status".into(),
            details_table: "uoom_order_details".into(),
            ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl DynamoConfig {
    /// Sets the endpoint.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Sets the region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Prefixes both table names (tests, several environments in one account).
    pub fn with_table_prefix(mut self, prefix: &str) -> Self {
        self.status_table = format!("{prefix}uoom_order_status");
        self.details_table = format!("{prefix}uoom_order_details");
        self
    }

    /// Sets the TTL.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

pub(crate) fn sdk_err<E, R>(what: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::io_with(format!("dynamodb {what}"), e)
}

/// The DynamoDB read model.
pub struct DynamoStatusStore {
    /// The runtime of the blocking methods; `None` when built on the
    /// caller's runtime ([`DynamoStatusStore::connect_async`]).
    rt: Option<AdapterRuntime>,
    client: Client,
    config: DynamoConfig,
}

const BATCH_GET_MAX: usize = 100;

impl DynamoStatusStore {
    /// Loads credentials and region from the default chain (environment,
    /// `~/.aws`, instance role), applying the config's overrides; the
    /// blocking methods run on `rt`.
    pub fn connect(config: DynamoConfig, rt: AdapterRuntime) -> Result<Self> {
        let mut store = rt.block_on(Self::connect_async(config))??;
        store.rt = Some(rt);
        Ok(store)
    }

    /// [`DynamoStatusStore::connect`] on the caller's runtime, for the
    /// engine's async read model. The store has no runtime of its own: its
    /// blocking methods answer `Error::Io`.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// use uoom::adapters::dynamodb::{DynamoConfig, DynamoStatusStore};
    /// let cfg = DynamoConfig::default().with_endpoint("http://127.0.0.1:28000");
    /// let store = DynamoStatusStore::connect_async(cfg).await?;
    /// store.create_tables_async().await?;
    /// assert!(store.runtime().is_none());
    /// # Ok(()) }
    /// ```
    pub async fn connect_async(config: DynamoConfig) -> Result<Self> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(e) = &config.endpoint {
            loader = loader.endpoint_url(e);
        }
        if let Some(r) = &config.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let sdk = loader.load().await;
        Ok(Self {
            rt: None,
            client: Client::new(&sdk),
            config,
        })
    }

    /// The SDK client, for what this adapter does not wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The runtime the blocking methods run on; `None` for a store built
    /// with [`DynamoStatusStore::connect_async`].
    pub fn runtime(&self) -> Option<&AdapterRuntime> {
        self.rt.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &DynamoConfig {
        &self.config
    }

    /// Runs `fut` on the store's own runtime: the blocking façade.
    fn block<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match &self.rt {
            Some(rt) => rt.block_on(fut)?,
            None => Err(Error::io(
                "this DynamoStatusStore was built with connect_async on the caller's runtime: use the engine's async read model (DynamoStatusStore::connect gives a store with blocking methods)",
            )),
        }
    }

    /// Creates both tables (as `core/migrations/dynamodb/` defines them) if
    /// missing and switches TTL on.
    pub fn create_tables(&self) -> Result<()> {
        self.block(self.create_tables_async())
    }

    /// [`DynamoStatusStore::create_tables`] as a future of the caller's runtime.
    ///
    /// ```no_run
    /// # async fn run() -> uoom::Result<()> {
    /// # let store = uoom::adapters::dynamodb::DynamoStatusStore::connect_async(
    /// #     uoom::adapters::dynamodb::DynamoConfig::default()).await?;
    /// store.create_tables_async().await?; // idempotent
    /// # Ok(()) }
    /// ```
    pub async fn create_tables_async(&self) -> Result<()> {
        let c = &self.client;
        tables::create(c, tables::TABLES[0], &self.config.status_table).await?;
        tables::create(c, tables::TABLES[1], &self.config.details_table).await
    }

    fn expires_at(&self, rec: &StatusRecord) -> u64 {
        rec.updated_at.0 / 1000 + self.config.ttl.as_secs()
    }

    /// Writes a status through, unless the stored item is newer; true when written.
    pub fn upsert(&self, rec: &StatusRecord) -> Result<bool> {
        self.block(self.put_status(rec))
    }

    pub(crate) fn put_status(
        &self,
        rec: &StatusRecord,
    ) -> impl Future<Output = Result<bool>> + Send + '_ {
        let item = rec.to_item(self.expires_at(rec));
        let req = self
            .client
            .put_item()
            .table_name(&self.config.status_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(orderId) OR version <= :v")
            .expression_attribute_values(":v", AttributeValue::N(rec.version().to_string()));
        async move {
            match req.send().await {
                Ok(_) => Ok(true),
                Err(e)
                    if e.as_service_error().is_some_and(
                        aws_sdk_dynamodb::operation::put_item::PutItemError::is_conditional_check_failed_exception,
                    ) =>
                {
                    Ok(false)
                }
                Err(e) => Err(sdk_err("status write", e)),
            }
        }
    }

    /// One order's status.
    pub fn get(&self, id: &OrderId) -> Result<Option<StatusRecord>> {
        self.block(self.get_status(id))
    }

    pub(crate) fn get_status(
        &self,
        id: &OrderId,
    ) -> impl Future<Output = Result<Option<StatusRecord>>> + Send + '_ {
        let req = self
            .client
            .get_item()
            .table_name(&self.config.status_table)
            .key("orderId", AttributeValue::S(id.to_string()));
        async move {
            let out = req.send().await.map_err(|e| sdk_err("status read", e))?;
            out.item().map(StatusRecord::from_item).transpose()
        }
    }

    /// Many orders' statuses with `BatchGetItem` (100 keys a request,
    /// unprocessed keys retried with backoff); missing orders are left out.
    pub fn batch_get(&self, ids: &[OrderId]) -> Result<Vec<StatusRecord>> {
        let items = self.block(self.batch_items(&self.config.status_table, ids))?;
        items.iter().map(StatusRecord::from_item).collect()
    }

    async fn batch_items(
        &self,
        table: &str,
        ids: &[OrderId],
    ) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut unique: Vec<String> = ids.iter().map(std::string::ToString::to_string).collect();
        unique.sort();
        unique.dedup();
        let client = &self.client;
        let mut found = Vec::new();
        for chunk in unique.chunks(BATCH_GET_MAX) {
            let keys = chunk
                .iter()
                .map(|id| HashMap::from([("orderId".to_string(), AttributeValue::S(id.clone()))]))
                .collect();
            let mut request = HashMap::from([(
                table.to_string(),
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .map_err(|e| Error::io_with("dynamodb batch get", e))?,
            )]);
            let mut delay = Duration::from_millis(20);
            for round in 0.. {
                let out = client
                    .batch_get_item()
                    .set_request_items(Some(request))
                    .send()
                    .await
                    .map_err(|e| sdk_err("batch get", e))?;
                if let Some(items) = out.responses().and_then(|r| r.get(table)) {
                    found.extend(items.iter().cloned());
                }
                match out.unprocessed_keys() {
                    Some(rest) if !rest.is_empty() => {
                        if round >= 8 {
                            return Err(Error::Timeout(
                                "dynamodb batch get: keys still unprocessed after 8 retries".into(),
                            ));
                        }
                        request = rest.clone();
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    /// A customer's orders (in one status, or all), newest first, through
    /// `CustomerStatusIndex`.
    pub fn by_customer(
        &self,
        customer: &CustomerId,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<StatusRecord>> {
        self.block(self.query_customer(customer, status, limit))
    }

    pub(crate) fn query_customer(
        &self,
        customer: &CustomerId,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StatusRecord>>> + Send + '_ {
        let key = customer.to_string();
        self.query_index("CustomerStatusIndex", "customerId", key, status, limit)
    }

    /// A restaurant's orders (in one status, or all), newest first, through
    /// `RestaurantStatusIndex`.
    pub fn by_restaurant(
        &self,
        restaurant: &RestaurantId,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<StatusRecord>> {
        self.block(self.query_index(
            "RestaurantStatusIndex",
            "restaurantId",
            restaurant.to_string(),
            status,
            limit,
        ))
    }

    async fn query_index(
        &self,
        index: &'static str,
        hash: &'static str,
        key: String,
        status: Option<OrderStatus>,
        limit: usize,
    ) -> Result<Vec<StatusRecord>> {
        let client = &self.client;
        let table = &self.config.status_table;
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let mut q = client
                .query()
                .table_name(table)
                .index_name(index)
                .expression_attribute_names("#h", hash)
                .expression_attribute_values(":h", AttributeValue::S(key.clone()))
                .set_exclusive_start_key(start.take());
            q = match status {
                Some(s) => q
                    .key_condition_expression("#h = :h AND #s = :s")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(":s", AttributeValue::S(s.as_str().into())),
                None => q.key_condition_expression("#h = :h"),
            };
            let page = q.send().await.map_err(|e| sdk_err("index query", e))?;
            for item in page.items() {
                records.push(StatusRecord::from_item(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        records.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(a.order_id.cmp(&b.order_id))
        });
        records.truncate(limit);
        Ok(records)
    }

    /// Stores the whole order (JSON) in the details table.
    pub fn put_details(&self, order: &Order) -> Result<()> {
        let json = serde_json::to_string(order).map_err(|e| Error::io_with("order to JSON", e))?;
        let expires = order.updated_at.0 / 1000 + self.config.ttl.as_secs();
        let req = self
            .client
            .put_item()
            .table_name(&self.config.details_table)
            .item("orderId", AttributeValue::S(order.id.to_string()))
            .item("order", AttributeValue::S(json))
            .item("expiresAt", AttributeValue::N(expires.to_string()));
        self.block(async move {
            req.send().await.map_err(|e| sdk_err("details write", e))?;
            Ok(())
        })
    }

    /// The stored order details.
    pub fn details(&self, id: &OrderId) -> Result<Option<Order>> {
        let req = self
            .client
            .get_item()
            .table_name(&self.config.details_table)
            .key("orderId", AttributeValue::S(id.to_string()));
        let out =
            self.block(async move { req.send().await.map_err(|e| sdk_err("details read", e)) })?;
        out.item()
            .and_then(|i| i.get("order"))
            .and_then(|v| v.as_s().ok())
            .map(|s| {
                serde_json::from_str(s).map_err(|e| Error::io_with("dynamodb details item", e))
            })
            .transpose()
    }

    /// Many orders' details with `BatchGetItem`; missing ones are left out.
    pub fn batch_details(&self, ids: &[OrderId]) -> Result<Vec<Order>> {
        let items = self.block(self.batch_items(&self.config.details_table, ids))?;
        items
            .iter()
            .filter_map(|i| i.get("order").and_then(|v| v.as_s().ok()))
            .map(|s| {
                serde_json::from_str(s).map_err(|e| Error::io_with("dynamodb details item", e))
            })
            .collect()
    }
}
