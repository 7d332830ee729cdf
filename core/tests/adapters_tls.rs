//! `sslmode=require` against the test server, which offers TLS with a
//! certificate from a throwaway CA (`scripts/servers/postgres.sh ca`).
//! One test, so that setting PGSSLROOTCERT races nothing. It claims from the
//! outbox over TLS too, so it needs the `outbox` feature beside `postgres-tls`.
#![cfg(all(feature = "postgres-tls", feature = "outbox"))]

mod adapters_common;

use adapters_common::*;
use std::time::Duration;
use uoom::adapters::AdapterRuntime;
use uoom::adapters::outbox::OutboxStore;
use uoom::adapters::postgres::{PgConfig, PgOutboxStore, PgStore, ROOT_CERT_ENV};

fn connect(url: &str) -> uoom::Result<PgStore> {
    PgStore::connect(PgConfig::new(url).with_writers(1).with_readers(1))
}

fn set_roots(path: Option<&str>) {
    // SAFETY: this test binary has one test, so no other thread reads the
    // environment while it changes.
    #[allow(
        unsafe_code,
        reason = "set_var: the adapter reads its roots from the environment"
    )]
    unsafe {
        match path {
            Some(p) => std::env::set_var(ROOT_CERT_ENV, p),
            None => std::env::remove_var(ROOT_CERT_ENV),
        }
    }
}

const ENCRYPTED: &str =
    "DO $$ BEGIN ASSERT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()); END $$";
const PLAIN: &str =
    "DO $$ BEGIN ASSERT NOT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()); END $$";

#[test]
fn sslmode_require_connects_over_verified_tls_and_refuses_what_it_cannot_verify() {
    let ca = test_ca("UOOM_TEST_POSTGRES_CA", "pg/tls/ca.pem");
    let plain_url = pg_url();
    let sep = if plain_url.contains('?') { '&' } else { '?' };
    let tls_url = format!("{plain_url}{sep}sslmode=require");

    // The server's certificate is verified: unknown to the system's roots
    // alone, the connection is refused.
    set_roots(None);
    let refused = connect(&tls_url).unwrap_err().chain().to_string();
    assert!(
        refused.contains("certificate") || refused.contains("UnknownIssuer"),
        "{refused}"
    );

    // With the test CA among the roots, the session is encrypted.
    set_roots(Some(&ca));
    let store = connect(&tls_url).unwrap();
    store.execute_batch(ENCRYPTED).unwrap();
    // Without sslmode=require the client does not ask for TLS.
    connect(&plain_url).unwrap().execute_batch(PLAIN).unwrap();

    // The relay's store over TLS too: its listener connects and LISTENs
    // (the first wake-up comes once it does), and a claim finds an event.
    let schema = fresh_schema();
    let tls_schema = format!("{schema}&sslmode=require");
    let writer = connect(&tls_schema).unwrap();
    writer.migrate().unwrap();
    let relay_store = PgOutboxStore::connect(&tls_schema, AdapterRuntime::new(1).unwrap()).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || relay_store
            .wait_for_events(Duration::from_millis(200))),
        "the listener never connected"
    );
    let o = order(1, 1, None, 1_000);
    writer.save(&o, &events_for(&o, 10, 2)).unwrap();
    let (claim, events) = relay_store.claim(32, 16, uoom::Millis(0)).unwrap();
    assert_eq!(events.len(), 2);
    relay_store
        .complete(claim, &uoom::adapters::outbox::BatchOutcome::default())
        .unwrap();

    // A root file that is not there is a clear error, not a silent fallback.
    set_roots(Some("/nonexistent/uoom-ca.pem"));
    let missing = connect(&tls_url).unwrap_err().chain().to_string();
    assert!(missing.contains(ROOT_CERT_ENV), "{missing}");
    set_roots(None);
}
