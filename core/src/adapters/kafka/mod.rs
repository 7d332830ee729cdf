//! Kafka publisher: rdkafka (vendored librdkafka), idempotent producer with
//! `acks=all`, events keyed by aggregate id, and a dead-letter topic.
//!
//! `rdkafka` is re-exported so callers can consume or tune without a second
//! copy of the dependency.
//!
//! ```no_run
//! use uoom::adapters::AdapterRuntime;
//! use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
//! let rt = AdapterRuntime::new(1).unwrap();
//! let p = KafkaPublisher::new(KafkaConfig::new("127.0.0.1:29092").with_topic("orders.events"), rt).unwrap();
//! assert_eq!(p.config().dlq_topic(), "orders.events.dlq");
//! ```

pub use rdkafka;

use crate::adapters::{AdapterRuntime, EventRecord};
use crate::{Error, Result};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::time::Duration;

/// Where and how to publish.
///
/// ```
/// use std::time::Duration;
/// use uoom::adapters::kafka::KafkaConfig;
/// let c = KafkaConfig::new("b1:9096,b2:9096")
///     .with_setting("security.protocol", "SASL_SSL")
///     .with_message_timeout(Duration::from_secs(5));
/// assert_eq!(c.topic, "uoom.events");
/// assert_eq!(c.dlq_topic(), "uoom.events.dlq");
/// ```
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The events topic (default `uoom.events`).
    pub topic: String,
    /// The dead-letter topic (default: the events topic + `.dlq`).
    pub dlq_topic: Option<String>,
    /// How long librdkafka keeps trying one message before reporting failure
    /// (`message.timeout.ms`, default 10 s); the relay's retries come after.
    pub message_timeout: Duration,
    /// `linger.ms` (default 1 ms): how long the producer gathers a batch.
    /// The relay publishes a batch in rounds (one event per aggregate per
    /// round, each round acknowledged before the next, which keeps an
    /// aggregate's order even when an event fails), so an aggregate with many
    /// events pending pays this once per event. Measured under `uoom
    /// simulate` at 5,000 orders/s: 2 ms let the busiest channels' events fall
    /// up to 1.4 s behind, 1 ms kept every event within 0.3-0.8 s.
    pub linger: Duration,
    /// Any other librdkafka settings (TLS, SASL, …), applied last.
    pub settings: Vec<(String, String)>,
}

impl KafkaConfig {
    /// Defaults for a broker list.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic: "uoom.events".into(),
            dlq_topic: None,
            message_timeout: Duration::from_secs(10),
            linger: Duration::from_millis(1),
            settings: Vec::new(),
        }
    }

    /// Sets the events topic.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = topic.into();
        self
    }

    /// Sets the dead-letter topic.
    pub fn with_dlq_topic(mut self, topic: impl Into<String>) -> Self {
        self.dlq_topic = Some(topic.into());
        self
    }

    /// Sets `message.timeout.ms`.
    pub fn with_message_timeout(mut self, d: Duration) -> Self {
        self.message_timeout = d;
        self
    }

    /// Sets `linger.ms`.
    pub fn with_linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }

    /// Adds a librdkafka setting.
    pub fn with_setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((key.into(), value.into()));
        self
    }

    /// The dead-letter topic in effect.
    pub fn dlq_topic(&self) -> String {
        self.dlq_topic
            .clone()
            .unwrap_or_else(|| format!("{}.dlq", self.topic))
    }

    /// The producer's librdkafka configuration.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            .set(
                "message.timeout.ms",
                self.message_timeout.as_millis().to_string(),
            )
            .set("linger.ms", self.linger.as_millis().to_string());
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }
}

/// Publishes events as JSON envelopes keyed by aggregate id.
pub struct KafkaPublisher {
    rt: AdapterRuntime,
    producer: FutureProducer,
    config: KafkaConfig,
    dlq: String,
}

impl KafkaPublisher {
    /// Creates the producer (no connection is made until the first send).
    pub fn new(config: KafkaConfig, rt: AdapterRuntime) -> Result<Self> {
        let producer: FutureProducer = config
            .client_config()
            .create()
            .map_err(|e| Error::Io(format!("kafka producer: {e}")))?;
        let dlq = config.dlq_topic();
        Ok(Self {
            rt,
            producer,
            config,
            dlq,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    fn enqueue(
        &self,
        topic: &str,
        event: &EventRecord,
        headers: OwnedHeaders,
    ) -> std::result::Result<DeliveryFuture, String> {
        let body = event.envelope_bytes();
        let id = event.id.to_string();
        let headers = headers
            .insert(Header {
                key: "uoom-event-id",
                value: Some(id.as_bytes()),
            })
            .insert(Header {
                key: "uoom-event-type",
                value: Some(event.event_type.as_bytes()),
            });
        let record = FutureRecord::to(topic)
            .key(event.key())
            .payload(&body)
            .headers(headers);
        self.producer
            .send_result(record)
            .map_err(|(e, _)| format!("kafka enqueue: {e}"))
    }

    async fn settle(fut: DeliveryFuture) -> std::result::Result<(), String> {
        match fut.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((e, _))) => Err(format!("kafka delivery: {e}")),
            Err(_) => Err("kafka delivery: producer dropped the message".into()),
        }
    }
}

#[cfg(feature = "outbox")]
impl crate::adapters::outbox::Publisher for KafkaPublisher {
    fn publish(&self, events: &[&EventRecord]) -> Vec<std::result::Result<(), String>> {
        let pending: Vec<_> = events
            .iter()
            .map(|e| self.enqueue(&self.config.topic, e, OwnedHeaders::new()))
            .collect();
        let n = pending.len();
        self.rt
            .block_on(async move {
                let mut out = Vec::with_capacity(n);
                for p in pending {
                    out.push(match p {
                        Ok(fut) => Self::settle(fut).await,
                        Err(e) => Err(e),
                    });
                }
                out
            })
            .unwrap_or_else(|e| vec![Err(e.to_string()); n])
    }

    fn publish_dead_letter(
        &self,
        event: &EventRecord,
        error: &str,
        attempts: u32,
    ) -> std::result::Result<(), String> {
        let attempts = attempts.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "uoom-error",
                value: Some(error.as_bytes()),
            })
            .insert(Header {
                key: "uoom-attempts",
                value: Some(attempts.as_bytes()),
            })
            .insert(Header {
                key: "uoom-original-topic",
                value: Some(self.config.topic.as_bytes()),
            });
        let fut = self.enqueue(&self.dlq, event, headers)?;
        self.rt
            .block_on(Self::settle(fut))
            .map_err(|e| e.to_string())?
    }
}
