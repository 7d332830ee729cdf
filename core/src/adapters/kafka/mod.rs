//! Kafka publisher: rdkafka (vendored librdkafka), idempotent producer with
//! `acks=all`, events keyed by aggregate id, and a dead-letter topic.
//!
//! `rdkafka` is re-exported so callers can consume or tune without a second
//! copy of the dependency.
//!
//! ```no_run
//! use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
//! let p = KafkaPublisher::new(KafkaConfig::new("127.0.0.1:29092").with_topic("orders.events")).unwrap();
//! assert_eq!(p.config().dlq_topic(), "orders.events.dlq");
//! ```

pub use rdkafka;

use crate::adapters::EventRecord;
use crate::{Error, Result};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use std::sync::{Arc, Condvar, Mutex};
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
///
/// Each publish call enqueues its messages and waits for their delivery
/// reports together: librdkafka's own thread files every report into the
/// call's [`Round`], and the caller is woken once, when the last is in (a
/// future per message woke it up to once per message).
pub struct KafkaPublisher {
    producer: ThreadedProducer<Reports>,
    config: KafkaConfig,
    dlq: String,
}

/// One publish call's outcomes, filled in by delivery reports.
struct Round {
    state: Mutex<RoundState>,
    done: Condvar,
}

struct RoundState {
    results: Vec<Option<std::result::Result<(), String>>>,
    left: usize,
}

impl Round {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(RoundState {
                results: vec![None; n],
                left: n,
            }),
            done: Condvar::new(),
        })
    }

    /// Records message `i`'s outcome (the first one only), waking the caller
    /// once every message has one.
    fn settle(&self, i: usize, outcome: std::result::Result<(), String>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.results[i].is_none() {
            s.results[i] = Some(outcome);
            s.left -= 1;
            if s.left == 0 {
                self.done.notify_one();
            }
        }
    }

    /// Every outcome, once all are in or `timeout` has passed (a message
    /// without a report by then counts as failed).
    fn wait(&self, timeout: Duration) -> Vec<std::result::Result<(), String>> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (mut s, _) = self
            .done
            .wait_timeout_while(s, timeout, |s| s.left > 0)
            .unwrap_or_else(|e| e.into_inner());
        s.results
            .iter_mut()
            .map(|r| {
                r.take().unwrap_or_else(|| {
                    Err(format!(
                        "kafka delivery: no delivery report within {timeout:?}"
                    ))
                })
            })
            .collect()
    }
}

/// Which message of which round a delivery report is about.
struct Slot {
    round: Arc<Round>,
    index: usize,
}

/// Files each delivery report into its round.
struct Reports;

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<Slot>;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: Box<Slot>) {
        let outcome = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(format!("kafka delivery: {e}")),
        };
        slot.round.settle(slot.index, outcome);
    }
}

impl KafkaPublisher {
    /// Creates the producer (no connection is made until the first send).
    /// librdkafka runs on threads of its own, so no runtime is needed.
    pub fn new(config: KafkaConfig) -> Result<Self> {
        let producer: ThreadedProducer<Reports> = config
            .client_config()
            .create_with_context(Reports)
            .map_err(|e| Error::Io(format!("kafka producer: {e}")))?;
        let dlq = config.dlq_topic();
        Ok(Self {
            producer,
            config,
            dlq,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// Enqueues `events` to `topic` (each with `headers` and the event's id
    /// and type) and waits for all their delivery reports.
    fn send_all(
        &self,
        topic: &str,
        events: &[&EventRecord],
        headers: &OwnedHeaders,
    ) -> Vec<std::result::Result<(), String>> {
        let round = Round::new(events.len());
        for (index, event) in events.iter().enumerate() {
            let body = event.envelope_bytes();
            let id = event.id.to_string();
            let headers = headers
                .clone()
                .insert(Header {
                    key: "uoom-event-id",
                    value: Some(id.as_bytes()),
                })
                .insert(Header {
                    key: "uoom-event-type",
                    value: Some(event.event_type.as_bytes()),
                });
            let slot = Box::new(Slot {
                round: round.clone(),
                index,
            });
            let record = BaseRecord::with_opaque_to(topic, slot)
                .key(event.key())
                .payload(&body)
                .headers(headers);
            if let Err((e, _)) = self.producer.send(record) {
                round.settle(index, Err(format!("kafka enqueue: {e}")));
            }
        }
        // librdkafka reports every message by message.timeout.ms; the margin
        // only guards against a report that never comes.
        round.wait(self.config.message_timeout + Duration::from_secs(5))
    }

    /// Publishes `events` to the events topic, keyed by aggregate id, and
    /// waits for every delivery report; one outcome per event, in order.
    /// Events of one aggregate in one call are not ordered against each
    /// other's failures: the relay sends one event per aggregate per call.
    ///
    /// ```no_run
    /// # use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
    /// # fn demo(events: &[uoom::adapters::EventRecord]) {
    /// let p = KafkaPublisher::new(KafkaConfig::new("127.0.0.1:29092")).unwrap();
    /// let refs: Vec<_> = events.iter().collect();
    /// for outcome in p.publish_events(&refs) {
    ///     outcome.unwrap();
    /// }
    /// # }
    /// ```
    pub fn publish_events(&self, events: &[&EventRecord]) -> Vec<std::result::Result<(), String>> {
        self.send_all(&self.config.topic, events, &OwnedHeaders::new())
    }

    /// Publishes `event` to the dead-letter topic with headers `uoom-error`,
    /// `uoom-attempts` and `uoom-original-topic`, and waits for its report.
    ///
    /// ```no_run
    /// # use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
    /// # fn demo(event: &uoom::adapters::EventRecord) {
    /// let p = KafkaPublisher::new(KafkaConfig::new("127.0.0.1:29092")).unwrap();
    /// p.publish_to_dead_letters(event, "schema rejected", 4).unwrap();
    /// # }
    /// ```
    pub fn publish_to_dead_letters(
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
        self.send_all(&self.dlq, &[event], &headers)
            .pop()
            .unwrap_or_else(|| Err("kafka delivery: no outcome".into()))
    }
}

/// Deletes `topics` from the cluster of `config` (its brokers and client
/// settings), waiting up to `timeout` for the controller. A topic that does not
/// exist is not an error: the call leaves none of `topics` behind.
///
/// ```no_run
/// use std::time::Duration;
/// use uoom::adapters::kafka::{KafkaConfig, delete_topics};
/// let config = KafkaConfig::new("127.0.0.1:29092").with_topic("uoom.sim.1");
/// delete_topics(&config, &["uoom.sim.1", "uoom.sim.1.dlq"], Duration::from_secs(10)).unwrap();
/// ```
pub fn delete_topics(config: &KafkaConfig, topics: &[&str], timeout: Duration) -> Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::types::RDKafkaErrorCode;
    let admin: AdminClient<DefaultClientContext> = config
        .client_config()
        .create()
        .map_err(|e| Error::Io(format!("kafka admin client: {e}")))?;
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Io(format!("kafka admin runtime: {e}")))?;
    let results = rt
        .block_on(admin.delete_topics(topics, &options))
        .map_err(|e| Error::Io(format!("kafka delete topics: {e}")))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((topic, code)) => {
                return Err(Error::Io(format!("kafka delete topic {topic}: {code}")));
            }
        }
    }
    Ok(())
}

#[cfg(feature = "outbox")]
impl crate::adapters::outbox::Publisher for KafkaPublisher {
    fn publish(&self, events: &[&EventRecord]) -> Vec<std::result::Result<(), String>> {
        self.publish_events(events)
    }

    fn publish_dead_letter(
        &self,
        event: &EventRecord,
        error: &str,
        attempts: u32,
    ) -> std::result::Result<(), String> {
        self.publish_to_dead_letters(event, error, attempts)
    }
}
