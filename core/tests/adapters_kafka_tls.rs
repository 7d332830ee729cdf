//! TLS and SASL/SCRAM to Kafka (feature `kafka-tls`) against the test
//! broker's listeners that work as Amazon MSK's do: TLS
//! (`scripts/servers/kafka.sh tls-brokers`, MSK's 9094) and TLS with
//! SCRAM-SHA-512 (`kafka.sh sasl-brokers`, MSK's 9096), the broker's
//! certificate from a throwaway CA (`kafka.sh ca`). What is published over
//! them is read back over the plain listener.
#![cfg(feature = "kafka-tls")]

mod adapters_common;

use adapters_common::*;
use std::time::Duration;
use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher};

fn ca() -> String {
    test_ca("UOOM_TEST_KAFKA_CA", "kafka/tls/ca.pem")
}

fn scram() -> (String, String) {
    (
        env_or("UOOM_TEST_KAFKA_SCRAM_USER", "uoom"),
        env_or("UOOM_TEST_KAFKA_SCRAM_PASSWORD", "uoom-test-secret"),
    )
}

/// Publishes one event of order `n` and returns its delivery outcome and key.
fn publish_one(config: KafkaConfig, n: u128) -> (uoom::Result<()>, String) {
    let publisher = KafkaPublisher::new(config).expect("a build with kafka-tls takes TLS settings");
    let o = order(n, n, None, 1_000);
    let events = events_for(&o, n * 100, 1);
    let refs: Vec<_> = events.iter().collect();
    let outcome = publisher.publish_events(&refs).pop().unwrap();
    (outcome, events[0].aggregate_id.clone())
}

#[test]
fn tls_delivers_to_a_broker_the_ca_vouches_for_and_refuses_one_it_cannot_verify() {
    let topic = unique("uoom.tls");
    let brokers = env_or("UOOM_TEST_KAFKA_TLS_BROKERS", "127.0.0.1:29094");

    // With the test CA (ssl.ca.location), as a client.properties file gives it.
    let verified = KafkaConfig::new(&brokers)
        .with_topic(&topic)
        .with_properties(&format!(
            "security.protocol=SSL\nssl.ca.location={}\n",
            ca()
        ))
        .unwrap();
    let (outcome, key) = publish_one(verified, 1);
    outcome.unwrap();
    assert_topic_holds(&topic, 1, &key, "over TLS");

    // With the system's roots only, the handshake fails on the broker's
    // certificate, and the delivery error says so.
    let unverified = KafkaConfig::new(&brokers)
        .with_topic(&topic)
        .with_message_timeout(Duration::from_secs(4))
        .with_setting("security.protocol", "SSL");
    let (outcome, _) = publish_one(unverified, 2);
    let err = outcome.unwrap_err().chain().to_string();
    assert!(err.contains("certificate verify failed"), "{err}");
}

#[test]
fn scram_over_tls_authenticates_the_user_and_refuses_a_wrong_password() {
    let topic = unique("uoom.scram");
    let brokers = env_or("UOOM_TEST_KAFKA_SASL_BROKERS", "127.0.0.1:29096");
    let (user, password) = scram();
    let config = |password: &str| {
        KafkaConfig::new(&brokers)
            .with_topic(&topic)
            .with_message_timeout(Duration::from_secs(4))
            .with_setting("security.protocol", "SASL_SSL")
            .with_setting("sasl.mechanisms", "SCRAM-SHA-512")
            .with_setting("sasl.username", &user)
            .with_setting("sasl.password", password)
            .with_setting("ssl.ca.location", ca())
    };

    let (outcome, key) = publish_one(config(&password), 3);
    outcome.unwrap();
    assert_topic_holds(&topic, 1, &key, "with SCRAM");

    let (outcome, _) = publish_one(config("not-the-password"), 4);
    let err = outcome.unwrap_err().chain().to_string();
    assert!(err.contains("Authentication failed"), "{err}");
}
