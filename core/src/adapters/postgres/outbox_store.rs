//! The relay's view of `outbox_events`: claims through `outbox_claim_at`,
//! outcome updates guarded by the lease, and `LISTEN uoom_outbox` wake-ups.

use super::{connect_client, io};
use crate::adapters::outbox::{ClaimedEvent, OutboxStore};
use crate::adapters::{AdapterRuntime, EventRecord};
use crate::{EventId, Millis, Result};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Client, NoTls};
use uuid::Uuid;

/// PostgreSQL as an [`OutboxStore`]: one connection for claims and updates,
/// one listening on `uoom_outbox` (reconnected in the background if it drops;
/// polling covers the gap).
///
/// ```no_run
/// use uoom::adapters::AdapterRuntime;
/// use uoom::adapters::postgres::PgOutboxStore;
/// let rt = AdapterRuntime::new(1).unwrap();
/// let store = PgOutboxStore::connect("postgres://uoom:uoom@127.0.0.1:25432/uoom", rt).unwrap();
/// # let _ = store;
/// ```
pub struct PgOutboxStore {
    rt: AdapterRuntime,
    client: Client,
    wake: Arc<Notify>,
}

impl PgOutboxStore {
    /// Connects and starts listening.
    pub fn connect(url: &str, rt: AdapterRuntime) -> Result<Self> {
        let wake = Arc::new(Notify::new());
        let url_owned = url.to_owned();
        let listener_wake = wake.clone();
        let client = rt.block_on(async move {
            let client = connect_client(&url_owned).await?;
            tokio::spawn(listen_forever(url_owned, listener_wake));
            Ok::<_, crate::Error>(client)
        })??;
        Ok(Self { rt, client, wake })
    }
}

/// Keeps a `LISTEN uoom_outbox` session open, waking waiters on each notification.
async fn listen_forever(url: String, wake: Arc<Notify>) {
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, mut conn)) => {
                let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
                let listen = client.batch_execute("LISTEN uoom_outbox");
                // The LISTEN only completes while the connection is polled.
                let mut listen = std::pin::pin!(listen);
                let mut listening = false;
                loop {
                    tokio::select! {
                        r = &mut listen, if !listening => {
                            if let Err(e) = r {
                                tracing::warn!(error = %e, "LISTEN uoom_outbox failed");
                                break;
                            }
                            listening = true;
                            // Anything inserted before LISTEN took effect is found by the next claim.
                            wake.notify_waiters();
                            wake.notify_one();
                        }
                        m = messages.next() => match m {
                            Some(Ok(AsyncMessage::Notification(_))) => {
                                wake.notify_waiters();
                                wake.notify_one();
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "outbox listener connection failed");
                                break;
                            }
                            None => break,
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "outbox listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn ids(ids: &[EventId]) -> Vec<Uuid> {
    ids.iter().map(|i| i.0).collect()
}

fn ts(t: Millis) -> f64 {
    t.0 as f64 / 1000.0
}

impl OutboxStore for PgOutboxStore {
    fn claim(
        &self,
        relay: &str,
        max: usize,
        lease: Duration,
        now: Millis,
    ) -> Result<Vec<ClaimedEvent>> {
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        let lease = lease.as_secs_f64();
        let rows = self
            .rt
            .block_on(self.client.query(
                "SELECT id, seq, aggregate_type, aggregate_id, event_type, schema_version, payload, \
                 (round(extract(epoch from occurred_at) * 1000))::int8, attempts, \
                 (round(extract(epoch from created_at) * 1000))::int8 \
                 FROM outbox_claim_at($1, $2, make_interval(secs => $3), to_timestamp($4))",
                &[&relay, &max, &lease, &ts(now)],
            ))?
            .map_err(io("outbox claim"))?;
        rows.iter()
            .map(|r| {
                let e = io("outbox claim");
                let version: i32 = r.try_get(5).map_err(&e)?;
                let at: i64 = r.try_get(7).map_err(&e)?;
                let attempts: i32 = r.try_get(8).map_err(&e)?;
                let stored: i64 = r.try_get(9).map_err(&e)?;
                Ok(ClaimedEvent {
                    record: EventRecord {
                        id: EventId(r.try_get(0).map_err(&e)?),
                        aggregate_type: r.try_get(2).map_err(&e)?,
                        aggregate_id: r.try_get(3).map_err(&e)?,
                        event_type: r.try_get(4).map_err(&e)?,
                        schema_version: u16::try_from(version).unwrap_or(u16::MAX),
                        payload: r.try_get(6).map_err(&e)?,
                        occurred_at: Millis(at.max(0) as u64),
                    },
                    seq: r.try_get(1).map_err(&e)?,
                    attempts: attempts.max(0) as u32,
                    stored_at: Millis(stored.max(0) as u64),
                })
            })
            .collect()
    }

    fn mark_published(&self, relay: &str, done: &[EventId]) -> Result<()> {
        self.rt
            .block_on(self.client.execute(
                "UPDATE outbox_events SET published_at = now(), claimed_by = NULL, claimed_until = NULL \
                 WHERE id = ANY($1) AND claimed_by = $2",
                &[&ids(done), &relay],
            ))?
            .map_err(io("outbox mark published"))?;
        Ok(())
    }

    fn mark_retry(
        &self,
        relay: &str,
        id: EventId,
        error: &str,
        next_attempt_at: Millis,
    ) -> Result<()> {
        self.rt
            .block_on(self.client.execute(
                "UPDATE outbox_events SET attempts = attempts + 1, last_error = $3, \
                 next_attempt_at = to_timestamp($4), claimed_by = NULL, claimed_until = NULL \
                 WHERE id = $1 AND claimed_by = $2",
                &[&id.0, &relay, &error, &ts(next_attempt_at)],
            ))?
            .map_err(io("outbox mark retry"))?;
        Ok(())
    }

    fn mark_dead(&self, relay: &str, id: EventId, error: &str) -> Result<()> {
        self.rt
            .block_on(self.client.execute(
                "UPDATE outbox_events SET dead = true, attempts = attempts + 1, last_error = $3, \
                 claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2",
                &[&id.0, &relay, &error],
            ))?
            .map_err(io("outbox mark dead"))?;
        Ok(())
    }

    fn release(&self, relay: &str, rest: &[EventId]) -> Result<()> {
        self.rt
            .block_on(self.client.execute(
                "UPDATE outbox_events SET claimed_by = NULL, claimed_until = NULL \
                 WHERE id = ANY($1) AND claimed_by = $2",
                &[&ids(rest), &relay],
            ))?
            .map_err(io("outbox release"))?;
        Ok(())
    }

    fn wait_for_events(&self, timeout: Duration) -> bool {
        let wake = self.wake.clone();
        self.rt
            .block_on(async move { tokio::time::timeout(timeout, wake.notified()).await.is_ok() })
            .unwrap_or(false)
    }
}
