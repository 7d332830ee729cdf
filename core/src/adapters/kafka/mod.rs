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

#[cfg(feature = "kafka-msk-iam")]
#[cfg_attr(docsrs, doc(cfg(feature = "kafka-msk-iam")))]
pub mod msk_iam;

use crate::adapters::EventRecord;
use crate::{Error, Result};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
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
    /// events pending pays this once per event: a longer linger lets the
    /// busiest channels' events fall behind (figures: docs/benchmarks.md).
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

    /// Adds the librdkafka settings of a Java-style client properties file's
    /// text (as MSK's documentation writes them, `client.properties`): one
    /// `key=value` per line, `#` and `!` lines and blank lines skipped, spaces
    /// around the key and the value trimmed. A line without `=` or with an
    /// empty key is an error naming its line number.
    ///
    /// ```
    /// use uoom::adapters::kafka::KafkaConfig;
    /// let c = KafkaConfig::new("b-1.msk:9096")
    ///     .with_properties("# MSK, SASL/SCRAM\nsecurity.protocol=SASL_SSL\nsasl.mechanisms = SCRAM-SHA-512\n")
    ///     .unwrap();
    /// assert_eq!(c.setting("sasl.mechanisms"), Some("SCRAM-SHA-512"));
    /// assert!(KafkaConfig::new("b:9092").with_properties("security.protocol SSL").is_err());
    /// ```
    pub fn with_properties(mut self, text: &str) -> Result<Self> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| {
                Error::io(format!(
                    "kafka properties: line {} has no `=`: {line:?}",
                    n + 1
                ))
            })?;
            let key = key.trim();
            if key.is_empty() {
                return Err(Error::io(format!(
                    "kafka properties: line {} has an empty key",
                    n + 1
                )));
            }
            self.settings
                .push((key.to_owned(), value.trim().to_owned()));
        }
        Ok(self)
    }

    /// [`with_properties`](Self::with_properties) from a file; an unreadable
    /// file is an error naming it.
    ///
    /// ```no_run
    /// use uoom::adapters::kafka::KafkaConfig;
    /// let c = KafkaConfig::new("b-1.msk:9094").with_properties_file("/etc/uoom/client.properties").unwrap();
    /// ```
    pub fn with_properties_file(self, path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io_with(format!("kafka properties {}", path.display()), e))?;
        self.with_properties(&text)
            .map_err(|e| Error::io_with(format!("kafka properties {}", path.display()), e))
    }

    /// The last value given for a librdkafka setting among [`settings`](Self::settings).
    ///
    /// ```
    /// use uoom::adapters::kafka::KafkaConfig;
    /// let c = KafkaConfig::new("b:9094").with_setting("security.protocol", "SSL");
    /// assert_eq!(c.setting("security.protocol"), Some("SSL"));
    /// assert_eq!(c.setting("ssl.ca.location"), None);
    /// ```
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether these settings ask for Amazon MSK IAM authentication: the
    /// SASL mechanism `AWS_MSK_IAM` of MSK's Java `client.properties`. The
    /// producer then speaks SASL/OAUTHBEARER with SigV4 tokens from the AWS
    /// default credential chain ([`msk_iam`](self::msk_iam), feature
    /// `kafka-msk-iam`), and the Java-only `sasl.jaas.config` and
    /// `sasl.client.callback.handler.class` are not passed to librdkafka
    /// (an `awsProfileName` in the former picks the AWS profile).
    ///
    /// ```
    /// use uoom::adapters::kafka::KafkaConfig;
    /// let c = KafkaConfig::new("b-1.demo.ab12cd.c2.kafka.us-east-1.amazonaws.com:9098")
    ///     .with_properties("security.protocol=SASL_SSL\nsasl.mechanism=AWS_MSK_IAM\n\
    ///         sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName=\"orders\";\n")
    ///     .unwrap();
    /// assert!(c.is_msk_iam());
    /// assert_eq!(c.msk_iam_profile().as_deref(), Some("orders"));
    /// assert!(!KafkaConfig::new("b:9096").with_setting("sasl.mechanism", "SCRAM-SHA-512").is_msk_iam());
    /// ```
    pub fn is_msk_iam(&self) -> bool {
        self.setting("sasl.mechanisms")
            .or_else(|| self.setting("sasl.mechanism"))
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("AWS_MSK_IAM"))
    }

    /// The AWS profile named by `awsProfileName="…"` in `sasl.jaas.config`
    /// (MSK's Java IAM login module option), if any.
    ///
    /// ```
    /// use uoom::adapters::kafka::KafkaConfig;
    /// let c = KafkaConfig::new("b:9098").with_setting("sasl.jaas.config",
    ///     "software.amazon.msk.auth.iam.IAMLoginModule required;");
    /// assert_eq!(c.msk_iam_profile(), None);
    /// ```
    pub fn msk_iam_profile(&self) -> Option<String> {
        let jaas = self.setting("sasl.jaas.config")?;
        let rest = &jaas[jaas.find("awsProfileName")? + "awsProfileName".len()..];
        let rest = rest.trim_start().strip_prefix('=')?.trim_start();
        let value = match rest.strip_prefix('"') {
            Some(quoted) => &quoted[..quoted.find('"')?],
            None => rest.split(|c: char| c.is_whitespace() || c == ';').next()?,
        };
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// What in these settings needs librdkafka built with OpenSSL (feature
    /// `kafka-tls`): TLS, or SCRAM (which librdkafka implements with OpenSSL).
    fn needs_openssl(&self) -> Option<String> {
        let protocol = self.setting("security.protocol").unwrap_or("plaintext");
        if protocol.eq_ignore_ascii_case("ssl") || protocol.eq_ignore_ascii_case("sasl_ssl") {
            return Some(format!("security.protocol={protocol}"));
        }
        let mechanisms = self
            .setting("sasl.mechanisms")
            .or_else(|| self.setting("sasl.mechanism"))?;
        mechanisms
            .to_ascii_uppercase()
            .contains("SCRAM")
            .then(|| format!("sasl.mechanisms={mechanisms}"))
    }

    /// [`client_config`](Self::client_config) for a client of ours (`client`
    /// names it in errors), refused when its settings need OpenSSL and this
    /// build has none (feature `kafka-tls`).
    fn checked_client_config(&self, client: &str) -> Result<ClientConfig> {
        if !cfg!(feature = "kafka-msk-iam") && self.is_msk_iam() {
            return Err(Error::io(format!(
                "{client}: sasl.mechanism=AWS_MSK_IAM needs uoom's `kafka-msk-iam` \
                 feature (SigV4 tokens over SASL/OAUTHBEARER)"
            )));
        }
        if !cfg!(feature = "kafka-tls") {
            if let Some(what) = self.needs_openssl() {
                return Err(Error::io(format!(
                    "{client}: {what} needs TLS, but uoom was built without its \
                     `kafka-tls` feature (librdkafka with OpenSSL)"
                )));
            }
        }
        Ok(self.client_config())
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
        let iam = self.is_msk_iam();
        for (k, v) in &self.settings {
            match k.as_str() {
                // MSK's Java settings for IAM, which librdkafka does not know.
                "sasl.jaas.config" | "sasl.client.callback.handler.class" if iam => {}
                "sasl.mechanism" | "sasl.mechanisms" if iam => {
                    c.set(k, "OAUTHBEARER");
                }
                _ => {
                    c.set(k, v);
                }
            }
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
    results: Vec<Option<Result<()>>>,
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
    fn settle(&self, i: usize, outcome: Result<()>) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    fn wait(&self, timeout: Duration) -> Vec<Result<()>> {
        let s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut s, _) = self
            .done
            .wait_timeout_while(s, timeout, |s| s.left > 0)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.results
            .iter_mut()
            .map(|r| {
                r.take().unwrap_or_else(|| {
                    Err(Error::io(format!(
                        "kafka delivery: no delivery report within {timeout:?}"
                    )))
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

/// Files each delivery report into its round, and keeps the client's last
/// error (a failed TLS handshake or SASL authentication, an unreachable
/// broker) to say why messages time out, until a message is delivered again.
#[derive(Default)]
struct Reports {
    last_error: Mutex<Option<String>>,
    /// Signs MSK IAM tokens when librdkafka asks (SASL/OAUTHBEARER).
    #[cfg(feature = "kafka-msk-iam")]
    msk_iam: Option<msk_iam::MskIamSigner>,
}

impl Reports {
    /// The context for a client of `config`: with an MSK IAM signer when its
    /// settings ask for IAM (the region from the brokers' host names, else
    /// the AWS default region chain).
    fn for_config(config: &KafkaConfig) -> Result<Self> {
        #[cfg(feature = "kafka-msk-iam")]
        if config.is_msk_iam() {
            return Ok(Self {
                msk_iam: Some(msk_iam::MskIamSigner::new(
                    msk_iam::region_of_brokers(&config.brokers),
                    config.msk_iam_profile(),
                )?),
                ..Self::default()
            });
        }
        let _ = config;
        Ok(Self::default())
    }

    fn last_error(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client's last error as " (last client error: …)", or nothing: what
    /// a failure's message appends to say why.
    fn why(&self) -> String {
        match &*self.last_error() {
            Some(why) => format!(" (last client error: {why})"),
            None => String::new(),
        }
    }
}

impl ClientContext for Reports {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = cfg!(feature = "kafka-msk-iam");

    #[cfg(feature = "kafka-msk-iam")]
    fn generate_oauth_token(
        &self,
        _config: Option<&str>,
    ) -> std::result::Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        let signer = self
            .msk_iam
            .as_ref()
            .ok_or("SASL/OAUTHBEARER: uoom signs tokens only for sasl.mechanism=AWS_MSK_IAM")?;
        let token = signer.token().inspect_err(|e| {
            // Said where a failed delivery says why.
            *self.last_error() = Some(e.chain().to_string());
        })?;
        Ok(rdkafka::client::OAuthToken {
            token: token.token,
            principal_name: String::new(),
            lifetime_ms: token.expires_at_ms,
        })
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(target: "uoom::kafka", "librdkafka: {error}: {reason}");
        // "N/N brokers are down" follows the error that brought them down
        // (a TLS handshake, SASL): it does not replace it.
        let summary =
            error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::AllBrokersDown);
        let mut last = self.last_error();
        if !summary || last.is_none() {
            *last = Some(reason.to_owned());
        }
    }
}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<Slot>;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: Box<Slot>) {
        let outcome = match result {
            Ok(_) => {
                // Uncontended, like the round's own lock in `settle`.
                *self.last_error() = None;
                Ok(())
            }
            Err((e, _)) => Err(Error::io_with(
                format!("kafka delivery{}", self.why()),
                e.clone(),
            )),
        };
        slot.round.settle(slot.index, outcome);
    }
}

impl KafkaPublisher {
    /// Creates the producer (no connection is made until the first send).
    /// librdkafka runs on threads of its own, so no runtime is needed.
    ///
    /// Settings that need TLS or SCRAM are an error in a build without the
    /// `kafka-tls` feature (librdkafka without OpenSSL), saying so.
    pub fn new(config: KafkaConfig) -> Result<Self> {
        let reports = Reports::for_config(&config)?;
        Self::with_context(config, reports)
    }

    /// [`new`](Self::new) for MSK IAM with a signer of the caller's (its own
    /// credentials provider or region); `config` must ask for IAM
    /// ([`KafkaConfig::is_msk_iam`]), or this is a validation error.
    ///
    /// ```no_run
    /// use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
    /// use uoom::adapters::kafka::msk_iam::{Credentials, MskIamSigner};
    /// let config = KafkaConfig::new("b-1.demo.ab12cd.c2.kafka.us-east-1.amazonaws.com:9098")
    ///     .with_setting("security.protocol", "SASL_SSL")
    ///     .with_setting("sasl.mechanism", "AWS_MSK_IAM");
    /// let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "vault");
    /// let p = KafkaPublisher::with_msk_iam_signer(config, MskIamSigner::from_provider("us-east-1", creds).unwrap());
    /// ```
    #[cfg(feature = "kafka-msk-iam")]
    #[cfg_attr(docsrs, doc(cfg(feature = "kafka-msk-iam")))]
    pub fn with_msk_iam_signer(config: KafkaConfig, signer: msk_iam::MskIamSigner) -> Result<Self> {
        if !config.is_msk_iam() {
            return Err(Error::invalid(
                "sasl.mechanism",
                "not_msk_iam",
                "an MSK IAM signer goes with sasl.mechanism=AWS_MSK_IAM",
            ));
        }
        let reports = Reports {
            msk_iam: Some(signer),
            ..Reports::default()
        };
        Self::with_context(config, reports)
    }

    fn with_context(config: KafkaConfig, reports: Reports) -> Result<Self> {
        let producer: ThreadedProducer<Reports> = config
            .checked_client_config("kafka producer")?
            .create_with_context(reports)
            .map_err(|e| Error::io_with("kafka producer", e))?;
        let dlq = config.dlq_topic();
        Ok(Self {
            producer,
            config,
            dlq,
        })
    }

    /// Connects to the brokers and waits until the events topic has a
    /// leader for every partition (where the brokers create topics on first
    /// use, this creates it), for at most `timeout`. A relay that calls this
    /// before it claims publishes its first events at once, instead of
    /// queueing them behind the connection's set-up (TLS, SASL) and the
    /// topic's creation, which delays the first seconds of events (figures:
    /// docs/benchmarks.md). An error says what was missing.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};
    /// let p = KafkaPublisher::new(KafkaConfig::new("127.0.0.1:29092").with_topic("orders.events")).unwrap();
    /// p.connect(Duration::from_secs(10)).unwrap();
    /// ```
    pub fn connect(&self, timeout: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        let topic = &self.config.topic;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Some(why) = self.topic_not_ready(left) else {
                return Ok(());
            };
            if left.is_zero() {
                return Err(Error::io(format!(
                    "kafka: topic {topic} not ready within {timeout:?}: {why}{}",
                    self.producer.context().why()
                )));
            }
            std::thread::sleep(Duration::from_millis(100).min(left));
        }
    }

    /// What keeps the events topic from taking events now (one metadata
    /// request of at most `wait`), or `None` when each partition has a leader.
    fn topic_not_ready(&self, wait: Duration) -> Option<String> {
        let topic = &self.config.topic;
        let md = match self.producer.client().fetch_metadata(Some(topic), wait) {
            Ok(md) => md,
            Err(e) => return Some(e.to_string()),
        };
        let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
            return Some("not in the metadata".to_owned());
        };
        if let Some(e) = t.error() {
            return Some(format!("{:?}", rdkafka::types::RDKafkaErrorCode::from(e)));
        }
        if t.partitions().is_empty() {
            return Some("no partitions".to_owned());
        }
        t.partitions()
            .iter()
            .any(|p| p.leader() < 0)
            .then(|| "a partition without a leader".to_owned())
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
    ) -> Vec<Result<()>> {
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
                round.settle(index, Err(Error::io_with("kafka enqueue", e)));
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
    pub fn publish_events(&self, events: &[&EventRecord]) -> Vec<Result<()>> {
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
    ) -> Result<()> {
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
            .unwrap_or_else(|| Err(Error::io("kafka delivery: no outcome")))
    }
}

/// Deletes `topics` from the cluster of `config` (its brokers and client
/// settings), waiting up to `timeout` for the controller. A topic that does not
/// exist is not an error: the call leaves none of `topics` behind. As with
/// [`KafkaPublisher::new`], TLS or SCRAM settings need the `kafka-tls` feature.
///
/// ```no_run
/// use std::time::Duration;
/// use uoom::adapters::kafka::{KafkaConfig, delete_topics};
/// let config = KafkaConfig::new("127.0.0.1:29092").with_topic("uoom.sim.1");
/// delete_topics(&config, &["uoom.sim.1", "uoom.sim.1.dlq"], Duration::from_secs(10)).unwrap();
/// ```
pub fn delete_topics(config: &KafkaConfig, topics: &[&str], timeout: Duration) -> Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::types::RDKafkaErrorCode;
    let admin: AdminClient<Reports> = config
        .checked_client_config("kafka admin client")?
        .create_with_context(Reports::for_config(config)?)
        .map_err(|e| Error::io_with("kafka admin client", e))?;
    #[cfg(feature = "kafka-msk-iam")]
    if config.is_msk_iam() {
        set_first_token(admin.inner())?;
    }
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::io_with("kafka admin runtime", e))?;
    let results = rt
        .block_on(admin.delete_topics(topics, &options))
        .map_err(|e| Error::io_with("kafka delete topics", e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
            Err((topic, code)) => {
                return Err(Error::io(format!("kafka delete topic {topic}: {code}")));
            }
        }
    }
    Ok(())
}

/// Hands an admin client its first MSK IAM token. rdkafka's admin client
/// polls only its own queue, never the one librdkafka asks for tokens on, so
/// without this it would wait for a token forever; one token (900 s) outlasts
/// any admin call of ours.
#[cfg(feature = "kafka-msk-iam")]
#[allow(
    unsafe_code,
    reason = "rdkafka has no safe call to set an admin client's token: librdkafka's C API"
)]
fn set_first_token(client: &rdkafka::client::Client<Reports>) -> Result<()> {
    use std::ffi::{CString, c_char};
    let token =
        client
            .context()
            .generate_oauth_token(None)
            .map_err(|e| match e.downcast::<Error>() {
                // The signer's own error (credentials, region): keep its chain.
                Ok(e) => Error::io_with("kafka admin client: msk iam", *e),
                Err(e) => Error::io(format!("kafka admin client: msk iam: {e}")),
            })?;
    let value = CString::new(token.token)
        .map_err(|e| Error::io_with("kafka admin client: msk iam token", e))?;
    let principal = CString::new(token.principal_name)
        .map_err(|e| Error::io_with("kafka admin client: msk iam principal", e))?;
    let mut err = [0 as c_char; 512];
    // SAFETY: the client pointer is live for `client`'s lifetime; the strings
    // outlive the call, which copies them; no extensions (null, 0); `err` is
    // a buffer of the length given.
    let code = unsafe {
        rdkafka::bindings::rd_kafka_oauthbearer_set_token(
            client.native_ptr(),
            value.as_ptr(),
            token.lifetime_ms,
            principal.as_ptr(),
            std::ptr::null_mut(),
            0,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    if code != rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        // SAFETY: librdkafka writes a NUL-terminated message into `err`.
        let why = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
        return Err(Error::io(format!(
            "kafka admin client: msk iam token refused by librdkafka: {}",
            why.to_string_lossy()
        )));
    }
    Ok(())
}

#[cfg(feature = "outbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
impl crate::adapters::outbox::Publisher for KafkaPublisher {
    fn publish(&self, events: &[&EventRecord]) -> Vec<Result<()>> {
        self.publish_events(events)
    }

    fn publish_dead_letter(&self, event: &EventRecord, error: &str, attempts: u32) -> Result<()> {
        self.publish_to_dead_letters(event, error, attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn properties_skip_comments_and_blanks_and_keep_everything_after_the_first_equals() {
        let c = KafkaConfig::new("b:9096")
            .with_properties(
                "# MSK\n! also a comment\n\n  security.protocol = SASL_SSL  \n\
                 sasl.password=a=b==\nssl.ca.location=\n",
            )
            .unwrap();
        assert_eq!(
            c.settings,
            vec![
                ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
                ("sasl.password".to_owned(), "a=b==".to_owned()),
                ("ssl.ca.location".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn a_property_line_without_equals_or_key_is_an_error_naming_the_line() {
        let e = KafkaConfig::new("b:9092")
            .with_properties("acks=all\nsecurity.protocol SSL\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("no `=`"), "{e}");
        let e = KafkaConfig::new("b:9092")
            .with_properties(" = SSL")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("empty key"), "{e}");
        let e = KafkaConfig::new("b:9092")
            .with_properties_file("/nonexistent/client.properties")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/client.properties"), "{e}");
    }

    #[test]
    fn tls_and_scram_settings_are_what_needs_openssl() {
        let needs = |kv: &[(&str, &str)]| {
            kv.iter()
                .fold(KafkaConfig::new("b:9092"), |c, (k, v)| {
                    c.with_setting(*k, *v)
                })
                .needs_openssl()
        };
        assert_eq!(needs(&[]), None);
        assert_eq!(needs(&[("security.protocol", "PLAINTEXT")]), None);
        assert_eq!(
            needs(&[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanisms", "PLAIN")
            ]),
            None
        );
        assert!(needs(&[("security.protocol", "ssl")]).is_some());
        assert!(needs(&[("security.protocol", "SASL_SSL")]).is_some());
        assert!(
            needs(&[
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "scram-sha-512")
            ])
            .is_some()
        );
        // The last value given wins, as in librdkafka.
        assert_eq!(
            needs(&[
                ("security.protocol", "SSL"),
                ("security.protocol", "PLAINTEXT")
            ]),
            None
        );
    }

    #[test]
    fn connect_without_a_broker_is_an_error_naming_the_topic_in_bounded_time() {
        let p =
            KafkaPublisher::new(KafkaConfig::new("127.0.0.1:9").with_topic("t.connect")).unwrap();
        let t0 = std::time::Instant::now();
        let e = p
            .connect(Duration::from_millis(600))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.connect") && e.contains("not ready within"),
            "{e}"
        );
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    }

    /// MSK's Java `client.properties` for IAM, as its documentation gives it.
    const MSK_IAM_PROPERTIES: &str = "security.protocol=SASL_SSL\n\
        sasl.mechanism=AWS_MSK_IAM\n\
        sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;\n\
        sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler\n";

    #[test]
    fn msk_iam_properties_become_oauthbearer_without_the_java_only_keys() {
        let c = KafkaConfig::new("b-1.x.c2.kafka.us-east-1.amazonaws.com:9098")
            .with_properties(MSK_IAM_PROPERTIES)
            .unwrap();
        assert!(c.is_msk_iam());
        assert_eq!(c.msk_iam_profile(), None);
        let native = c.client_config();
        assert_eq!(native.get("sasl.mechanism"), Some("OAUTHBEARER"));
        assert_eq!(native.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(native.get("sasl.jaas.config"), None);
        assert_eq!(native.get("sasl.client.callback.handler.class"), None);
        // Other configurations pass those keys through untouched (librdkafka
        // then names the one it does not know).
        let scram = KafkaConfig::new("b:9096")
            .with_setting("sasl.mechanism", "SCRAM-SHA-512")
            .with_setting("sasl.jaas.config", "x");
        assert!(!scram.is_msk_iam());
        assert_eq!(scram.client_config().get("sasl.jaas.config"), Some("x"));
        assert_eq!(
            scram.client_config().get("sasl.mechanism"),
            Some("SCRAM-SHA-512")
        );
    }

    #[test]
    fn the_aws_profile_comes_from_the_jaas_options() {
        let profile = |jaas: &str| {
            KafkaConfig::new("b:9098")
                .with_setting("sasl.jaas.config", jaas)
                .msk_iam_profile()
        };
        let module = "software.amazon.msk.auth.iam.IAMLoginModule required";
        assert_eq!(
            profile(&format!("{module} awsProfileName=\"orders\";")).as_deref(),
            Some("orders")
        );
        assert_eq!(
            profile(&format!("{module} awsProfileName = prod;")).as_deref(),
            Some("prod")
        );
        assert_eq!(profile(&format!("{module} awsProfileName=\"\";")), None);
        assert_eq!(profile(&format!("{module} awsProfileName=\"open")), None);
        assert_eq!(profile(&format!("{module};")), None);
    }

    /// Runs in builds without `kafka-msk-iam` (`cargo test -p uoom --features
    /// kafka-tls --lib adapters::kafka`).
    #[cfg(not(feature = "kafka-msk-iam"))]
    #[test]
    fn without_kafka_msk_iam_iam_settings_are_an_error_naming_the_feature() {
        let c = KafkaConfig::new("b:9098")
            .with_properties(MSK_IAM_PROPERTIES)
            .unwrap();
        let e = KafkaPublisher::new(c).err().unwrap().to_string();
        assert!(
            e.contains("AWS_MSK_IAM") && e.contains("`kafka-msk-iam`"),
            "{e}"
        );
    }

    /// With no region in the host names nor the environment, creating the
    /// producer says so instead of failing later at every connection.
    #[cfg(feature = "kafka-msk-iam")]
    #[test]
    fn msk_iam_without_a_region_anywhere_is_a_validation_error() {
        // A profile that does not exist, so no config file supplies a region;
        // AWS_REGION is unset in `make test`, checked here.
        if std::env::var_os("AWS_REGION").is_some()
            || std::env::var_os("AWS_DEFAULT_REGION").is_some()
        {
            return;
        }
        let c = KafkaConfig::new("127.0.0.1:29098")
            .with_properties(MSK_IAM_PROPERTIES)
            .unwrap()
            .with_setting(
                "sasl.jaas.config",
                "software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName=\"uoom-none\";",
            );
        let e = KafkaPublisher::new(c).err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Validation, "{e}");
        assert!(e.to_string().contains("no AWS region"), "{e}");
    }

    /// Runs in builds with `kafka` but not `kafka-tls` (`cargo test -p uoom
    /// --features kafka --lib adapters::kafka`; `make test` builds with both).
    #[cfg(not(feature = "kafka-tls"))]
    #[test]
    fn without_kafka_tls_a_tls_setting_is_an_error_naming_the_feature() {
        let e = KafkaPublisher::new(
            KafkaConfig::new("b:9094").with_setting("security.protocol", "SSL"),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("security.protocol=SSL") && e.contains("`kafka-tls`"),
            "{e}"
        );
        assert!(KafkaPublisher::new(KafkaConfig::new("b:9092")).is_ok());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_cleanly(text in "\\PC*(\n\\PC*){0,8}") {
            let _ = KafkaConfig::new("b:9092").with_properties(&text);
        }

        #[test]
        fn written_properties_read_back(
            kv in prop::collection::vec(("[a-z][a-z.]{0,20}", "[ -~]{0,30}"), 0..8)
        ) {
            let text: String = kv
                .iter()
                .flat_map(|(k, v)| [k.as_str(), "=", v.as_str(), "\n"])
                .collect();
            let c = KafkaConfig::new("b:9092").with_properties(&text).unwrap();
            let want: Vec<(String, String)> =
                kv.iter().map(|(k, v)| (k.clone(), v.trim().to_owned())).collect();
            prop_assert_eq!(c.settings, want);
        }
    }
}
