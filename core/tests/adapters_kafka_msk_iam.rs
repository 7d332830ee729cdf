//! Amazon MSK IAM authentication (feature `kafka-msk-iam`) against the test
//! broker's IAM listener (`scripts/servers/kafka.sh iam-brokers`, MSK's 9098):
//! TLS with SASL/OAUTHBEARER, where the broker checks each token as MSK does,
//! recomputing its SigV4 signature with the one test identity's secret
//! (`scripts/servers/kafka/MskIamValidator.java`). What is published over it
//! is read back over the plain listener.
#![cfg(feature = "kafka-msk-iam")]

mod adapters_common;

use adapters_common::*;
use std::time::Duration;
use uoom::adapters::kafka::msk_iam::{Credentials, MskIamSigner};
use uoom::adapters::kafka::{KafkaConfig, KafkaPublisher, delete_topics};

/// The broker's IAM listener and its one identity (`kafka.sh iam`).
fn iam() -> (String, String, String) {
    (
        env_or("UOOM_TEST_KAFKA_IAM_BROKERS", "127.0.0.1:29098"),
        env_or("UOOM_TEST_KAFKA_IAM_ACCESS_KEY", "AKIAUOOMTESTKEY01"),
        env_or("UOOM_TEST_KAFKA_IAM_SECRET", "uoom-test-iam-secret"),
    )
}

/// MSK's Java `client.properties` for IAM, plus the test CA.
fn msk_iam_config(brokers: &str, topic: &str) -> KafkaConfig {
    KafkaConfig::new(brokers)
        .with_topic(topic)
        .with_message_timeout(Duration::from_secs(6))
        .with_properties(&format!(
            "security.protocol=SASL_SSL\n\
             sasl.mechanism=AWS_MSK_IAM\n\
             sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;\n\
             sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler\n\
             ssl.ca.location={}\n",
            test_ca("UOOM_TEST_KAFKA_CA", "kafka/tls/ca.pem")
        ))
        .unwrap()
}

/// Publishes events of order `n` with a signer for `secret`; their outcomes
/// and key.
fn publish(
    config: KafkaConfig,
    key_id: &str,
    secret: &str,
    n: u128,
) -> (Vec<uoom::Result<()>>, String) {
    let creds = Credentials::new(key_id, secret, None, None, "test");
    let signer = MskIamSigner::from_provider("us-east-1", creds).unwrap();
    let publisher = KafkaPublisher::with_msk_iam_signer(config, signer).unwrap();
    let o = order(n, n, None, 1_000);
    let events = events_for(&o, n * 100, 3);
    let refs: Vec<_> = events.iter().collect();
    (
        publisher.publish_events(&refs),
        events[0].aggregate_id.clone(),
    )
}

/// One test in this binary, so that it can point the AWS default chain at a
/// credentials file of its own before any thread exists that reads the
/// environment.
#[test]
fn msk_iam_tokens_are_accepted_a_wrong_secret_or_key_is_refused_and_admin_calls_authenticate() {
    let (brokers, key_id, secret) = iam();
    // `delete_topics` signs with the default credential chain: the test
    // identity reaches it as a profile of a credentials file of our own.
    let dir = std::env::temp_dir().join(unique("uoom-aws"));
    std::fs::create_dir_all(&dir).unwrap();
    let creds_file = dir.join("credentials");
    std::fs::write(
        &creds_file,
        format!("[uoom-test]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    // SAFETY: the only test of this binary, before it starts any thread.
    #[allow(
        unsafe_code,
        reason = "set_var: the AWS SDK reads its files from the environment"
    )]
    unsafe {
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &creds_file);
        std::env::set_var("AWS_CONFIG_FILE", dir.join("config"));
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        // The environment's own identity (DynamoDB Local's, from `all.sh
        // env`) would come first in the chain.
        for key in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_PROFILE",
        ] {
            std::env::remove_var(key);
        }
    }

    let topic = unique("uoom.iam");
    let (outcomes, key) = publish(msk_iam_config(&brokers, &topic), &key_id, &secret, 11);
    assert_eq!(outcomes.len(), 3);
    for o in outcomes {
        o.unwrap();
    }
    assert_topic_holds(&topic, 3, &key, "over IAM");

    // A token signed with another secret, or for another key id, fails the
    // broker's signature check: SASL authentication fails, and the delivery
    // error says so.
    for (id, s) in [
        (key_id.as_str(), "not-the-secret"),
        ("AKIAOTHERKEY", secret.as_str()),
    ] {
        let (outcomes, _) = publish(msk_iam_config(&brokers, &topic), id, s, 12);
        let err = outcomes
            .into_iter()
            .next()
            .unwrap()
            .unwrap_err()
            .chain()
            .to_string();
        assert!(
            err.contains("SASL authentication error") && err.contains("invalid_token"),
            "{err}"
        );
    }

    // The admin client, which rdkafka never asks for a token, is handed one:
    // `delete_topics` over the IAM listener, with the profile's identity
    // (the region from the test broker's host name is missing: none there).
    let profile = |name: &str| {
        msk_iam_config(&brokers, &topic).with_setting(
            "sasl.jaas.config",
            format!(
                "software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName=\"{name}\";"
            ),
        )
    };
    let e = delete_topics(&profile("uoom-test"), &[&topic], Duration::from_secs(20)).unwrap_err();
    assert!(e.to_string().contains("no AWS region"), "{e}");
    std::fs::write(
        dir.join("config"),
        "[profile uoom-test]\nregion = us-east-1\n",
    )
    .unwrap();
    delete_topics(&profile("uoom-test"), &[&topic], Duration::from_secs(20)).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
