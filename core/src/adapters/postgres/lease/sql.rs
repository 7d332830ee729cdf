//! The authority's statements: one per operation, each written to run
//! after its account rows are locked (see the parent module), with
//! `clock_timestamp()` as the only clock.

use crate::error::Error;
use crate::ledger::lease::{Epoch, LeaseError, LeaseId, check_ttl};
use std::time::SystemTime;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{GenericClient, Row};

/// One statement with its typed parameters: run prepared on the
/// authority's own connections, or with `query_typed` (parse, bind and
/// execute in one message, no prepare round trip) on a caller's
/// transaction.
pub(super) struct Stmt {
    pub(super) sql: &'static str,
    pub(super) params: Vec<(Box<dyn ToSql + Sync + Send>, Type)>,
}

impl Stmt {
    pub(super) fn new(sql: &'static str) -> Self {
        Self {
            sql,
            params: Vec::new(),
        }
    }

    pub(super) fn arg<T: ToSql + Sync + Send + 'static>(mut self, value: T, ty: Type) -> Self {
        self.params.push((Box::new(value), ty));
        self
    }

    pub(super) async fn run<C: GenericClient>(
        &self,
        client: &C,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let params: Vec<(&(dyn ToSql + Sync), Type)> = self
            .params
            .iter()
            .map(|(v, t)| (v.as_ref() as &(dyn ToSql + Sync), t.clone()))
            .collect();
        client.query_typed(self.sql, &params).await
    }
}

/// Locks one account row.
pub(super) const LOCK_ACCOUNT: &str = "SELECT 1 FROM capacity_accounts \
     WHERE channel_id = $1 AND slot_start = $2 FOR UPDATE";

/// Locks the account of one lease row.
pub(super) const LOCK_BY_LEASE: &str = "SELECT 1 FROM capacity_accounts a \
     JOIN capacity_leases l ON l.channel_id = a.channel_id AND l.slot_start = a.slot_start \
     WHERE l.id = $1 FOR UPDATE OF a";

/// Locks several account rows, in key order (rows are locked as the sort
/// returns them), named directly or through their lease rows.
pub(super) const LOCK_MANY: &str = "SELECT 1 FROM capacity_accounts a \
     WHERE (a.channel_id, a.slot_start) IN (SELECT * FROM unnest($1::text[], $2::timestamptz[])) \
        OR (a.channel_id, a.slot_start) IN \
           (SELECT l.channel_id, l.slot_start FROM capacity_leases l WHERE l.id = ANY($3::int8[])) \
     ORDER BY a.channel_id, a.slot_start FOR UPDATE OF a";

/// Creates an account (capacity as given) unless it exists.
pub(super) const INSERT_ACCOUNT: &str = "INSERT INTO capacity_accounts (channel_id, slot_start, capacity) \
     VALUES ($1, $2, $3) ON CONFLICT (channel_id, slot_start) DO NOTHING";

/// Sets an existing account's capacity ($3) after releasing its expired
/// leases, revoking live ones (most units first, then lowest id) while
/// `committed + granted` exceeds it. The account is locked.
pub(super) const SET_CAPACITY: &str = "WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now), \
     reclaim AS (UPDATE capacity_leases r SET released = true FROM t \
        WHERE r.channel_id = $1 AND r.slot_start = $2 AND NOT r.released AND r.expires_at <= t.now \
        RETURNING r.units), \
     acct AS MATERIALIZED (SELECT a.committed, \
            a.granted - (SELECT coalesce(sum(units), 0)::int8 FROM reclaim) AS granted \
        FROM capacity_accounts a WHERE a.channel_id = $1 AND a.slot_start = $2), \
     victims AS MATERIALIZED (SELECT l.id, l.units, \
            sum(l.units) OVER (ORDER BY l.units DESC, l.id ROWS UNBOUNDED PRECEDING) AS upto \
        FROM capacity_leases l, t \
        WHERE l.channel_id = $1 AND l.slot_start = $2 AND NOT l.released \
          AND l.expires_at > t.now AND l.units > 0), \
     revoked AS (UPDATE capacity_leases l SET revoked = true, released = true \
        FROM victims v, acct \
        WHERE l.id = v.id AND v.upto - v.units < acct.committed + acct.granted - $3 \
        RETURNING l.id, l.replica_id, l.units), \
     acc AS (UPDATE capacity_accounts a SET capacity = $3, \
            granted = acct.granted - (SELECT coalesce(sum(units), 0)::int8 FROM revoked), \
            updated_at = t.now \
        FROM acct, t WHERE a.channel_id = $1 AND a.slot_start = $2 \
        RETURNING a.capacity, a.granted, a.committed) \
     SELECT acc.capacity AS a_capacity, acc.granted AS a_granted, acc.committed AS a_committed, \
        (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM revoked) AS revoked_ids, \
        (SELECT coalesce(array_agg(replica_id ORDER BY id), '{}') FROM revoked) AS revoked_replicas \
     FROM acc";

/// A new incarnation of the replica's row on the account ($1 replica, $2
/// channel, $3 slot start, $4 units wanted, $5 TTL ms): other replicas'
/// expired leases and this row's previous incarnation give their units
/// back first, then `min(want, free)` units are granted with the next
/// epoch. The account is locked.
pub(super) const GRANT: &str = "WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now), \
     old AS MATERIALIZED (SELECT id, units, released FROM capacity_leases \
        WHERE replica_id = $1 AND channel_id = $2 AND slot_start = $3), \
     reclaim AS (UPDATE capacity_leases r SET released = true FROM t \
        WHERE r.channel_id = $2 AND r.slot_start = $3 AND r.replica_id <> $1 \
          AND NOT r.released AND r.expires_at <= t.now \
        RETURNING r.units), \
     acct AS MATERIALIZED (SELECT a.capacity, a.committed, \
            a.granted - (SELECT coalesce(sum(units), 0)::int8 FROM reclaim) \
                      - coalesce((SELECT units FROM old WHERE NOT released), 0) AS granted \
        FROM capacity_accounts a WHERE a.channel_id = $2 AND a.slot_start = $3), \
     give AS MATERIALIZED (SELECT least($4, greatest(capacity - committed - granted, 0)) AS units \
        FROM acct), \
     renewed AS (UPDATE capacity_leases l SET epoch = nextval('capacity_lease_epochs'), \
            units = give.units, committed = 0, granted_at = t.now, \
            expires_at = t.now + $5::float8 * interval '1 millisecond', \
            revoked = false, released = false \
        FROM give, t, old WHERE l.id = old.id \
        RETURNING l.*), \
     created AS (INSERT INTO capacity_leases \
            (replica_id, channel_id, slot_start, epoch, units, granted_at, expires_at) \
        SELECT $1, $2, $3, nextval('capacity_lease_epochs'), give.units, t.now, \
            t.now + $5::float8 * interval '1 millisecond' \
        FROM give, t WHERE NOT EXISTS (SELECT 1 FROM old) \
        RETURNING *), \
     acc AS (UPDATE capacity_accounts a SET granted = acct.granted + give.units, updated_at = t.now \
        FROM acct, give, t WHERE a.channel_id = $2 AND a.slot_start = $3 \
        RETURNING a.capacity, a.granted, a.committed) \
     SELECT l.id, l.epoch, l.replica_id, l.channel_id, l.slot_start, l.units, l.committed, \
        l.granted_at, l.expires_at, l.revoked, \
        acc.capacity AS a_capacity, acc.granted AS a_granted, acc.committed AS a_committed \
     FROM (SELECT * FROM renewed UNION ALL SELECT * FROM created) l, acc";

/// Every operation on a live lease, fenced ($1 lease, $2 epoch): the row
/// must hold that epoch, be neither released nor revoked, expire after the
/// database's `clock_timestamp()` and hold at least $4 units. Then its
/// units become `units − $4` ($3 NULL) or are brought towards $3 (surplus
/// back, shortfall from the free pool), $5 of them move to committed, and
/// its expiry becomes now + $6 ms ($6 NULL: unchanged). The account's other
/// expired leases (and this one, if refused as expired) are released in
/// the same statement. Renew: ($3 NULL, $4 0, $5 0, $6 ttl); resize:
/// ($3 target, 0, 0, ttl); return: (NULL, n, 0, NULL); commit: (NULL, n,
/// n, NULL). The account is locked.
pub(super) const FENCED: &str = "WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now), \
     cur AS MATERIALIZED (SELECT l.*, (l.epoch = $2 AND NOT l.released AND NOT l.revoked \
            AND l.expires_at > t.now AND l.units >= $4) AS ok \
        FROM capacity_leases l, t WHERE l.id = $1), \
     reclaim AS (UPDATE capacity_leases r SET released = true FROM cur, t \
        WHERE r.channel_id = cur.channel_id AND r.slot_start = cur.slot_start \
          AND (r.id <> cur.id OR NOT cur.ok) AND NOT r.released AND r.expires_at <= t.now \
        RETURNING r.units), \
     acct AS MATERIALIZED (SELECT a.capacity, a.committed, \
            a.granted - (SELECT coalesce(sum(units), 0)::int8 FROM reclaim) AS granted \
        FROM capacity_accounts a, cur \
        WHERE a.channel_id = cur.channel_id AND a.slot_start = cur.slot_start), \
     next AS MATERIALIZED (SELECT CASE \
            WHEN $3::int8 IS NULL THEN cur.units - $4 \
            WHEN $3 <= cur.units THEN $3 \
            ELSE cur.units + least($3 - cur.units, \
                                   greatest(acct.capacity - acct.committed - acct.granted, 0)) \
        END AS units FROM cur, acct WHERE cur.ok), \
     upd AS (UPDATE capacity_leases l SET units = next.units, committed = l.committed + $5, \
            expires_at = CASE WHEN $6::int8 IS NULL THEN l.expires_at \
                              ELSE t.now + $6::float8 * interval '1 millisecond' END \
        FROM next, t WHERE l.id = $1 \
        RETURNING l.*), \
     acc AS (UPDATE capacity_accounts a SET \
            granted = acct.granted + coalesce((SELECT units FROM upd), cur.units) - cur.units, \
            committed = a.committed + CASE WHEN EXISTS (SELECT 1 FROM upd) THEN $5 ELSE 0 END, \
            updated_at = t.now \
        FROM acct, cur, t \
        WHERE a.channel_id = cur.channel_id AND a.slot_start = cur.slot_start \
          AND (EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM reclaim)) \
        RETURNING a.capacity, a.granted, a.committed) \
     SELECT cur.ok AS f_ok, t.now AS f_now, cur.epoch AS f_epoch, cur.revoked AS f_revoked, \
        cur.expires_at AS f_expires_at, cur.units AS f_units, \
        u.id, u.epoch, u.replica_id, u.channel_id, u.slot_start, u.units, u.committed, \
        u.granted_at, u.expires_at, u.revoked, \
        coalesce(acc.capacity, acct.capacity) AS a_capacity, \
        coalesce(acc.granted, acct.granted) AS a_granted, \
        coalesce(acc.committed, acct.committed) AS a_committed \
     FROM cur CROSS JOIN t LEFT JOIN upd u ON true LEFT JOIN acc ON true LEFT JOIN acct ON true";

/// An account as it is now, expired leases subtracted (no write).
pub(super) const STATE: &str = "WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now) \
     SELECT a.capacity AS a_capacity, a.committed AS a_committed, \
        a.granted - coalesce((SELECT sum(l.units) FROM capacity_leases l, t \
            WHERE l.channel_id = a.channel_id AND l.slot_start = a.slot_start \
              AND NOT l.released AND l.expires_at <= t.now), 0)::int8 AS a_granted \
     FROM capacity_accounts a WHERE a.channel_id = $1 AND a.slot_start = $2";

/// Every lease row of a replica.
pub(super) const LEASES_OF: &str = "SELECT id, epoch, replica_id, channel_id, slot_start, units, committed, \
        granted_at, expires_at, revoked \
     FROM capacity_leases WHERE replica_id = $1 ORDER BY id";

/// What a fenced statement does to the lease (see [`FENCED`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum Fenced {
    Renew { ttl_ms: u64 },
    Resize { target: u32, ttl_ms: u64 },
    Return { units: u32 },
    Commit { units: u32 },
}

impl Fenced {
    pub(super) fn stmt(self, lease: LeaseId, epoch: Epoch) -> Stmt {
        let (target, sub, commit, ttl): (Option<i64>, i64, i64, Option<i64>) = match self {
            Fenced::Renew { ttl_ms } => (None, 0, 0, Some(ms_param(ttl_ms))),
            Fenced::Resize { target, ttl_ms } => {
                (Some(i64::from(target)), 0, 0, Some(ms_param(ttl_ms)))
            }
            Fenced::Return { units } => (None, i64::from(units), 0, None),
            Fenced::Commit { units } => (None, i64::from(units), i64::from(units), None),
        };
        Stmt::new(FENCED)
            .arg(id_param(lease.0), Type::INT8)
            .arg(id_param(epoch.0), Type::INT8)
            .arg(target, Type::INT8)
            .arg(sub, Type::INT8)
            .arg(commit, Type::INT8)
            .arg(ttl, Type::INT8)
    }

    /// Checks the arguments before anything is sent.
    pub(super) fn check(self) -> Result<(), LeaseError> {
        match self {
            Fenced::Renew { ttl_ms } | Fenced::Resize { ttl_ms, .. } => Ok(check_ttl(ttl_ms)?),
            Fenced::Commit { units: 0 } => {
                Err(
                    Error::invalid("units", "out_of_range", "a commit needs at least 1 unit")
                        .into(),
                )
            }
            Fenced::Return { .. } | Fenced::Commit { .. } => Ok(()),
        }
    }
}

/// A TTL as a parameter (checked against `MAX_LEASE_TTL_MS` before).
pub(super) fn ms_param(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A lease id or epoch as a parameter: ids beyond `i64::MAX` exist nowhere,
/// so they are sent as -1, which matches no row.
pub(super) fn id_param(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(-1)
}

pub(super) fn lock_account(channel: &str, start: SystemTime) -> Stmt {
    Stmt::new(LOCK_ACCOUNT)
        .arg(channel.to_owned(), Type::TEXT)
        .arg(start, Type::TIMESTAMPTZ)
}

pub(super) fn lock_by_lease(lease: LeaseId) -> Stmt {
    Stmt::new(LOCK_BY_LEASE).arg(id_param(lease.0), Type::INT8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::ledger::lease::{Epoch, LeaseId};

    #[test]
    fn fenced_parameters_encode_each_operation() {
        let shape = |op: Fenced| {
            let s = op.stmt(LeaseId(1), Epoch(2));
            assert_eq!(s.params.len(), 6);
            s.params.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()
        };
        assert!(
            shape(Fenced::Renew { ttl_ms: 5 })
                .iter()
                .all(|t| *t == Type::INT8)
        );
        assert!(Fenced::Commit { units: 0 }.check().is_err());
        assert_eq!(
            Fenced::Renew { ttl_ms: 0 }.check().unwrap_err().kind(),
            ErrorKind::Validation
        );
        assert!(Fenced::Return { units: 0 }.check().is_ok());
    }

    #[test]
    fn ids_beyond_i64_match_no_row() {
        assert_eq!(id_param(u64::MAX), -1);
        assert_eq!(id_param(7), 7);
        assert_eq!(ms_param(u64::MAX), i64::MAX);
    }
}
