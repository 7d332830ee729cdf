//! The routing saga: reserve capacity, book the channel, commit — and on any
//! failure, compensate in reverse order (cancel the booking, release the
//! reservation) and try the next candidate.
//!
//! The saga is a state machine ([`Saga`]) that stops wherever it needs a
//! partner: [`Router::step_saga`] runs it up to the next booking and takes
//! the answer back, so the same code serves the blocking façade
//! ([`Router::run_saga`] over a [`super::ChannelGateway`]) and asynchronous
//! hosts ([`Router::begin`] / [`Router::resume`], see [`super::step`]).
//!
//! One order never ends both confirmed and compensated: compensation only
//! ever touches an attempt that is then abandoned, and the order is
//! confirmed only by the attempt whose commit succeeded.

use super::decision::{DecisionKind, Outcome};
use super::ports::{BookingRef, CapacityPlacement, GatewayError};
use super::router::Router;
use super::step::{BookingAnswer, CancelCall};
use crate::events::{Aggregate, DomainEvent, EventPayload, FailureReason};
use crate::ledger::lease::LeaseError;
use crate::ledger::{ReservationId, SlotId};
use crate::rank::RankQuery;
use crate::solve::Demand;
use crate::{ErrorKind, Millis, Order, OrderId, OrderStatus, Placement};
use std::time::Instant;

/// How often a router on leases re-reads every channel's headroom from its
/// replica's quota (other replicas and the background refresh move it).
const LEASE_HEADROOM_SYNC_MS: u64 = 250;

/// What one saga run over a candidate list left behind.
#[derive(Debug, Default)]
pub(super) struct Attempts {
    pub(super) attempts: u32,
    pub(super) compensations: u32,
    pub(super) capacity_refusals: u32,
    pub(super) breaker_refusals: u32,
    pub(super) last_failure: Option<FailureReason>,
}

impl Attempts {
    /// Why the order failed, given everything tried: the last partner
    /// failure if any, else the constraint that kept channels out.
    pub(super) fn reason(&self) -> FailureReason {
        match self.last_failure {
            Some(r) => r,
            None if self.capacity_refusals > 0 => FailureReason::CapacityExhausted,
            None if self.breaker_refusals > 0 => FailureReason::BreakerOpen,
            None => FailureReason::NoFeasibleChannel,
        }
    }
}

/// Which candidate list a saga is walking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// The ranked top-k (real time) or the solver's channel (batch).
    First,
    /// The round-robin fallback over the other feasible channels.
    Fallback,
    /// Nothing more may be tried (a commit failed after a booking).
    Over,
}

/// The booking a saga waits for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Waiting {
    pub(super) c: usize,
    pub(super) rid: ReservationId,
    pub(super) deadline: Millis,
}

/// The write a saga waits for (deferred writes).
#[derive(Debug)]
pub(super) enum Saving {
    /// The validated order, before routing.
    Intake,
    /// The order's final state, with this outcome.
    Final(Outcome),
    /// The failed state after the final write failed, with this outcome.
    Compensation(Outcome),
}

/// One order's saga between steps.
#[derive(Debug)]
pub(super) struct Saga {
    pub(super) order: Order,
    pub(super) needs: Demand,
    pub(super) key: Option<String>,
    pub(super) started: Instant,
    pub(super) events: Vec<DomainEvent>,
    pub(super) saga_start: usize,
    pub(super) log: Attempts,
    pub(super) kind: DecisionKind,
    pub(super) candidates: Vec<usize>,
    pub(super) next: usize,
    pub(super) phase: Phase,
    pub(super) waiting: Option<Waiting>,
    pub(super) saving: Option<Saving>,
    /// The capacity the order took once confirmed (its final unit carries it).
    pub(super) capacity: Option<CapacityPlacement>,
}

/// Where [`Router::step_saga`] stopped.
#[derive(Debug)]
pub(super) enum SagaStep {
    /// Book the order on this channel index, then step again with the answer.
    Book(usize),
    /// The saga is over.
    Done(Outcome),
}

impl Router {
    /// Breakers whose open period is over become eligible for a probe again.
    pub(super) fn refresh_open_breakers(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let now = self.clock.now();
        let mut i = 0;
        while i < self.open.len() {
            let c = self.open[i];
            if self.breakers[c].is_eligible(now) {
                // Open period over: ranking may offer it for one probe.
                self.open.swap_remove(i);
                self.set_ranker_breaker(c, false);
            } else {
                i += 1;
            }
        }
    }

    fn set_ranker_breaker(&mut self, c: usize, open: bool) {
        if let Err(e) = self.ranker.set_breaker_open(c, open) {
            tracing::warn!(error = %e, "ranker refused a breaker update");
        }
    }

    /// Tells the ranker what channel `c` has left, after the ledger moved.
    fn refresh_headroom(&mut self, c: usize) {
        if self.leases.is_some() {
            self.lease_headroom(c);
            return;
        }
        if let Some(Some(h)) = self.accounts.get(c) {
            let b = self.ledger.balance_of(h);
            if let Err(e) = self.ranker.update_headroom(c, b.available(), b.capacity) {
                tracing::warn!(error = %e, "ranker refused a headroom update");
            }
        }
    }

    /// Tells the ranker what channel `c` may still take on leases: the
    /// local quota's free units plus the authority's free pool as last
    /// seen; the channel's nominal capacity while nothing is known yet (the
    /// first reserve then asks the authority).
    pub(super) fn lease_headroom(&mut self, c: usize) {
        let (Some(leases), Some(slot)) = (&self.leases, self.slot) else {
            return;
        };
        let ch = &self.channels[c];
        let (available, capacity) = leases
            .headroom(&ch.id, slot)
            .unwrap_or((ch.capacity, ch.capacity));
        if let Err(e) = self.ranker.update_headroom(c, available, capacity) {
            tracing::warn!(error = %e, "ranker refused a headroom update");
        }
    }

    /// True if channel `c` may be tried now (its breaker lets traffic through).
    #[inline]
    pub(super) fn eligible(&self, c: usize) -> bool {
        !self.open.contains(&c)
    }

    /// Ranks the channels for `needs` with the [`crate::rank::Ranker`]
    /// (feasible, breaker closed, room in the ledger, weighted score) and
    /// keeps the best `top_k` in `self.candidates`.
    fn rank(&mut self, needs: &Demand) {
        let query = RankQuery {
            location: needs.location,
            vehicle: needs.vehicle,
            units: needs.units,
            deadline_min: Some(needs.deadline_min),
            weights: self.config.rank_weights,
        };
        self.candidates.clear();
        match self
            .ranker
            .top_k_into(&query, self.config.top_k, &mut self.ranked)
        {
            Ok(()) => self
                .candidates
                .extend(self.ranked.iter().map(|r| r.channel)),
            Err(e) => tracing::warn!(error = %e, "ranking failed; falling back"),
        }
    }

    /// Why no channel was even tried: the constraint that kept the feasible
    /// channels out (only computed on that rare path).
    fn classify_refusals(&self, needs: &Demand, log: &mut Attempts) {
        for (c, ch) in self.channels.iter().enumerate() {
            if !needs.feasible_on(ch) {
                continue;
            }
            if !self.eligible(c) {
                log.breaker_refusals += 1;
            } else {
                log.capacity_refusals += 1;
            }
        }
    }

    /// Starts the saga of a validated order over `first` (tagged `kind`).
    /// The saga borrows the router's reusable buffers when they are free
    /// (the synchronous path then allocates nothing per order).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn saga(
        &mut self,
        order: Order,
        needs: Demand,
        key: Option<String>,
        started: Instant,
        mut events: Vec<DomainEvent>,
        first: Vec<usize>,
        kind: DecisionKind,
    ) -> Saga {
        let saga_start = events.len();
        events.reserve(8);
        Saga {
            order,
            needs,
            key,
            started,
            events,
            saga_start,
            log: Attempts::default(),
            kind,
            candidates: first,
            next: 0,
            phase: Phase::First,
            waiting: None,
            saving: None,
            capacity: None,
        }
    }

    /// The real-time path's saga: ranked top-k, then round-robin fallback
    /// over the other feasible channels.
    pub(super) fn saga_realtime(
        &mut self,
        order: Order,
        needs: Demand,
        key: Option<String>,
        started: Instant,
        mut events: Vec<DomainEvent>,
    ) -> Saga {
        let now = self.clock.now();
        if let Err(e) = self.ensure_slot(now) {
            tracing::warn!(error = %e, "could not prepare the capacity slot");
        }
        if self.leases.is_some() && now >= self.lease_sync_at {
            // Other replicas and the background refresh move the pool.
            self.lease_sync_at = now.plus_ms(LEASE_HEADROOM_SYNC_MS);
            for c in 0..self.channels.len() {
                self.lease_headroom(c);
            }
        }
        if !self.slot_events.is_empty() {
            // Deferred writes: a new slot's capacity goes out first in
            // this order's unit, where the outbox would have had it.
            events.splice(0..0, self.slot_events.drain(..));
        }
        self.refresh_open_breakers();
        self.rank(&needs);
        let ranked = std::mem::take(&mut self.candidates);
        self.saga(
            order,
            needs,
            key,
            started,
            events,
            ranked,
            DecisionKind::Realtime,
        )
    }

    /// Advances `s` with the answer to the booking it waits for (or none, at
    /// its start) until it needs another booking or is over.
    pub(super) fn step_saga(&mut self, s: &mut Saga, answer: Option<BookingAnswer>) -> SagaStep {
        match self.try_step(s, answer) {
            Ok(step) => step,
            Err(e) => {
                s.waiting = None;
                SagaStep::Done(self.fail_hard(&s.order, &mut s.events, s.saga_start, e))
            }
        }
    }

    fn try_step(&mut self, s: &mut Saga, answer: Option<BookingAnswer>) -> crate::Result<SagaStep> {
        if let Some(answer) = answer
            && let Some(c) = self.take_answer(s, answer)?
        {
            return Ok(SagaStep::Done(self.outcome(&s.order, c, s.kind, &s.log)));
        }
        if let Some(c) = self.next_booking(s)? {
            return Ok(SagaStep::Book(c));
        }
        self.fail_order(s).map(SagaStep::Done)
    }

    /// Reserves on the next candidate that has room and a closed breaker;
    /// moves on to the round-robin fallback when the list is used up.
    /// Returns the channel to book, or `None` when nothing is left to try.
    fn next_booking(&mut self, s: &mut Saga) -> crate::Result<Option<usize>> {
        loop {
            while s.next < s.candidates.len() && s.phase != Phase::Over {
                let c = s.candidates[s.next];
                s.next += 1;
                if self.reserve_for(s, c)? {
                    return Ok(Some(c));
                }
            }
            if s.phase != Phase::First {
                return Ok(None);
            }
            s.phase = Phase::Fallback;
            let mut fallback = Vec::new();
            if self.config.fallback_attempts > 0 && s.order.status == OrderStatus::Validated {
                let channels = &self.channels;
                let open = &self.open;
                let (first, needs) = (&s.candidates, &s.needs);
                self.rr.candidates(
                    channels.len(),
                    |c| {
                        !first.contains(&c) && !open.contains(&c) && needs.feasible_on(&channels[c])
                    },
                    &mut fallback,
                );
                fallback.truncate(self.config.fallback_attempts);
            }
            self.give_back_candidates(std::mem::replace(&mut s.candidates, fallback));
            s.next = 0;
            s.kind = DecisionKind::Fallback;
        }
    }

    /// Returns a candidate buffer to the router for the next order, if the
    /// router has none.
    pub(super) fn give_back_candidates(&mut self, mut v: Vec<usize>) {
        if self.candidates.capacity() < v.capacity() {
            v.clear();
            self.candidates = v;
        }
    }

    /// Reserve on `c` and take its breaker; true when the booking may go out.
    fn reserve_for(&mut self, s: &mut Saga, c: usize) -> crate::Result<bool> {
        let now = self.clock.now();
        if !self.breakers[c].is_eligible(now) {
            s.log.breaker_refusals += 1;
            return Ok(false);
        }
        if self.leases.is_some() {
            return self.reserve_leased(s, c, now);
        }
        let Some(account) = self.accounts.get(c).cloned().flatten() else {
            s.log.capacity_refusals += 1;
            return Ok(false);
        };
        let units = s.needs.units;
        let rid = ReservationId(self.ids.uuid_v7(now).as_u128());
        let ttl = self.config.reservation_ttl_ms;
        let reservation = match self.ledger.reserve_on(rid, &account, units, ttl) {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::Capacity => {
                s.log.capacity_refusals += 1;
                self.refresh_headroom(c);
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        self.refresh_headroom(c);
        Ok(self.reserved(s, c, rid, account.key().slot, reservation.expires_at, now))
    }

    /// [`Router::reserve_for`] on leases: a hold on the replica's local
    /// quota (a round trip to the authority only when it is short).
    fn reserve_leased(&mut self, s: &mut Saga, c: usize, now: Millis) -> crate::Result<bool> {
        let (Some(leases), Some(slot)) = (&self.leases, self.slot) else {
            s.log.capacity_refusals += 1;
            return Ok(false);
        };
        let units = s.needs.units;
        let rid = ReservationId(self.ids.uuid_v7(now).as_u128());
        let ttl = self.config.reservation_ttl_ms;
        let held = leases.reserve(rid, &self.channels[c].id, slot, units, ttl);
        self.lease_headroom(c);
        match held {
            Ok(hold) => Ok(self.reserved(s, c, rid, slot, hold.expires_at, now)),
            Err(e) if e.is_stale() || e.kind() == ErrorKind::Capacity => {
                s.log.capacity_refusals += 1;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Capacity is held for `s` on channel `c` under `rid`: records it,
    /// takes the channel's breaker and waits for the booking; false (the
    /// hold released) when the breaker refuses.
    fn reserved(
        &mut self,
        s: &mut Saga,
        c: usize,
        rid: ReservationId,
        slot: SlotId,
        expires_at: Millis,
        now: Millis,
    ) -> bool {
        let units = s.needs.units;
        let channel_id = self.channels[c].id.clone();
        let reserved = EventPayload::CapacityReserved {
            reservation: rid,
            order_id: s.order.id,
            channel: channel_id.clone(),
            slot,
            units,
            expires_at,
        };
        self.push_event(&mut s.events, Aggregate::Channel(channel_id), reserved);
        if !self.breakers[c].try_acquire(now) {
            s.log.breaker_refusals += 1;
            let reason = FailureReason::BreakerOpen;
            self.release(s.order.id, c, rid, units, reason, &mut s.events, &mut s.log);
            return false;
        }
        s.log.attempts += 1;
        let deadline = Millis(now.0.saturating_add(self.config.booking_timeout_ms));
        s.waiting = Some(Waiting { c, rid, deadline });
        true
    }

    /// Takes the partner's answer for the booking `s` waits for: on success
    /// commits and confirms (returns the channel), on failure compensates.
    fn take_answer(&mut self, s: &mut Saga, answer: BookingAnswer) -> crate::Result<Option<usize>> {
        let Some(Waiting { c, rid, deadline }) = s.waiting.take() else {
            return Err(crate::Error::conflict(
                "no booking is awaited for this order",
            ));
        };
        let units = s.needs.units;
        // The engine owns the timeout: an answer past the deadline is one,
        // whatever the host's timer said.
        let answer = match answer {
            Ok(b) if self.clock.now() > deadline => Err((
                GatewayError::Timeout {
                    after_ms: self.config.booking_timeout_ms,
                },
                Some(b),
            )),
            Ok(b) => Ok(b),
            Err(e) => Err((e, None)),
        };
        let booking = match answer {
            Ok(b) => {
                self.breakers[c].record_success();
                b
            }
            Err((err, late)) => {
                self.metrics.booking_failures += 1;
                self.breaker_failure(c);
                let reason = match err {
                    GatewayError::Timeout { .. } => {
                        let r = FailureReason::PartnerTimeout;
                        self.cancel(&s.order, c, late, r, &mut s.events, &mut s.log);
                        r
                    }
                    GatewayError::Failed(_) => FailureReason::PartnerFailed,
                };
                s.log.last_failure = Some(reason);
                self.release(s.order.id, c, rid, units, reason, &mut s.events, &mut s.log);
                return Ok(None);
            }
        };
        let channel_id = self.channels[c].id.clone();
        let (attempt, kind) = (s.log.attempts, s.kind);
        let booking_str = booking.0.clone();
        let assigned_channel = channel_id.clone();
        self.set_status_with(
            &mut s.order,
            OrderStatus::Routed,
            &mut s.events,
            |order_id, from, to| EventPayload::ChannelAssigned {
                order_id,
                channel: assigned_channel,
                decision: kind,
                booking: booking_str,
                attempt,
                from,
                to,
            },
        )?;
        let commit = if self.leases.is_some() {
            self.commit_leased(rid, units)
        } else {
            match self.ledger.commit(rid, None) {
                Ok(_) => Ok(None),
                Err(e) => {
                    // The hold lapsed (or was released) under us.
                    tracing::warn!(order = %s.order.id, error = %e, "commit failed after booking");
                    Err(FailureReason::CommitFailed)
                }
            }
        };
        match commit {
            Ok(lease) => {
                if let Some(slot) = self.slot {
                    s.capacity = Some(CapacityPlacement {
                        slot,
                        slot_start: Millis(u64::from(slot.0).saturating_mul(self.ledger.slot_ms())),
                        units,
                        lease,
                    });
                }
                let committed = EventPayload::CapacityCommitted {
                    reservation: rid,
                    order_id: s.order.id,
                    channel: channel_id.clone(),
                    units,
                };
                self.push_event(
                    &mut s.events,
                    Aggregate::Channel(channel_id.clone()),
                    committed,
                );
                s.order.placement = Some(Placement {
                    channel: channel_id.clone(),
                    booking: booking.0,
                    reservation: rid,
                });
                self.set_status_with(
                    &mut s.order,
                    OrderStatus::Confirmed,
                    &mut s.events,
                    |order_id, from, to| EventPayload::OrderConfirmed {
                        order_id,
                        channel: channel_id,
                        from,
                        to,
                    },
                )?;
                Ok(Some(c))
            }
            Err(reason) => {
                // Undo the booking.
                s.log.last_failure = Some(reason);
                self.cancel(
                    &s.order,
                    c,
                    Some(booking),
                    reason,
                    &mut s.events,
                    &mut s.log,
                );
                self.release(s.order.id, c, rid, units, reason, &mut s.events, &mut s.log);
                // ROUTED cannot go back to VALIDATED: the order fails.
                s.phase = Phase::Over;
                Ok(None)
            }
        }
    }

    /// The commit of hold `rid` at confirmation, on leases. When the write
    /// model applies lease commits, only prepared: the call travels in the
    /// order's final unit (`Ok(Some(call))`) and is settled once written.
    /// Otherwise completed with the authority now, just before the save
    /// (`Ok(None)`). A fence refusal is `stale_lease`; any other failure
    /// `commit_failed` (the hold is then released).
    fn commit_leased(
        &mut self,
        rid: ReservationId,
        units: u32,
    ) -> Result<Option<crate::ledger::lease::CommitCall>, FailureReason> {
        let Some(leases) = &self.leases else {
            return Err(FailureReason::CommitFailed);
        };
        let answer = match leases.prepare_commit(rid, Some(units)) {
            Ok(call) if self.config.lease_commits_in_writes => return Ok(Some(call)),
            Ok(call) => leases.complete_commit(call).map(|_| None),
            Err(e) => Err(e),
        };
        answer.map_err(|e| match e {
            LeaseError::Stale(stale) => {
                tracing::warn!(hold = %rid, %stale, "lease fence refused the commit");
                FailureReason::StaleLease
            }
            LeaseError::Other(e) => {
                tracing::warn!(hold = %rid, error = %e, "lease commit failed after booking");
                FailureReason::CommitFailed
            }
        })
    }

    /// Moves the order to `FAILED` with an `OrderFailed` event naming `reason`.
    fn mark_failed(&mut self, s: &mut Saga, reason: FailureReason) -> crate::Result<()> {
        let attempts = s.log.attempts;
        self.set_status_with(
            &mut s.order,
            OrderStatus::Failed,
            &mut s.events,
            |order_id, from, to| EventPayload::OrderFailed {
                order_id,
                reason,
                attempts,
                from,
                to,
            },
        )
    }

    /// Nothing booked: marks the order `FAILED` with the reason.
    fn fail_order(&mut self, s: &mut Saga) -> crate::Result<Outcome> {
        let log = &mut s.log;
        if log.attempts == 0 && log.capacity_refusals == 0 && log.breaker_refusals == 0 {
            self.classify_refusals(&s.needs, &mut s.log);
        }
        let reason = s.log.reason();
        self.mark_failed(s, reason)?;
        let mut o = Outcome::new(s.order.id, s.order.status);
        o.failure = Some(reason);
        o.attempts = s.log.attempts;
        o.compensations = s.log.compensations;
        Ok(o)
    }

    /// The write of `s`'s confirmed state failed: cancels its booking,
    /// gives its capacity back and fails the order with `reason`
    /// ([`FailureReason::PersistFailed`], or [`FailureReason::StaleLease`]
    /// when the write's lease commit was fenced off), recording each as an
    /// event after the saga's own. Returns the failed outcome.
    pub(super) fn persist_failed(&mut self, s: &mut Saga, reason: FailureReason) -> Outcome {
        let capacity = s.capacity.take();
        if let Some(p) = s.order.placement.take() {
            match self.channels.iter().position(|ch| ch.id == p.channel) {
                Some(c) => {
                    let booking = Some(BookingRef(p.booking));
                    self.cancel(&s.order, c, booking, reason, &mut s.events, &mut s.log);
                    s.log.compensations += 1;
                    let refund = match &self.leases {
                        // The unit's commit was not written: the hold (if
                        // its lease still lives) goes back to the quota.
                        Some(leases) if capacity.is_some_and(|p| p.lease.is_some()) => {
                            if let Err(e) = leases.release(p.reservation) {
                                tracing::debug!(error = %e, "release of a hold whose commit was refused");
                            }
                            Ok(capacity.map_or(s.needs.units, |p| p.units))
                        }
                        Some(_) => Err(crate::Error::conflict(
                            "the units are committed at the lease authority, which takes no refunds",
                        )),
                        None => self.ledger.refund(p.reservation).map(|r| r.committed),
                    };
                    match refund {
                        Ok(units) => {
                            let (id, rid) = (s.order.id, p.reservation);
                            self.capacity_released(id, c, rid, units, reason, &mut s.events);
                        }
                        Err(e) => {
                            tracing::warn!(order = %s.order.id, error = %e, "refund of an order whose confirmation could not be written")
                        }
                    }
                }
                None => {
                    tracing::warn!(order = %s.order.id, channel = %p.channel, "the channel of an unwritten confirmation is no longer known")
                }
            }
        }
        s.log.last_failure = Some(reason);
        if let Err(e) = self.mark_failed(s, reason) {
            tracing::error!(order = %s.order.id, error = %e, "an unwritten confirmation could not be failed");
        }
        let mut o = Outcome::new(s.order.id, OrderStatus::Failed);
        o.failure = Some(reason);
        o.attempts = s.log.attempts;
        o.compensations = s.log.compensations;
        o
    }

    /// Runs `s` to its end through the synchronous gateway: the blocking
    /// façade of [`Router::submit`] and of batches.
    pub(super) fn run_saga(&mut self, s: &mut Saga) -> Outcome {
        let mut answer = None;
        loop {
            match self.step_saga(s, answer.take()) {
                SagaStep::Done(outcome) => {
                    self.send_cancels(&s.order);
                    return outcome;
                }
                SagaStep::Book(c) => {
                    let timeout = self.config.booking_timeout_ms;
                    answer = Some(self.gateway.book(&s.order, &self.channels[c], timeout));
                }
            }
        }
    }

    /// Sends the compensations queued for `order` through the synchronous
    /// gateway (a failure is logged: the hold is released either way).
    pub(super) fn send_cancels(&mut self, order: &Order) {
        for call in self.cancels.drain(..) {
            let Some(c) = self.channels.iter().position(|ch| ch.id == call.channel_id) else {
                continue;
            };
            if let Err(e) = self
                .gateway
                .cancel(order, &self.channels[c], call.booking.as_ref())
            {
                tracing::warn!(order = %order.id, error = %e, "booking cancel failed; partner will see the order lapse");
            }
        }
    }

    fn outcome(&self, order: &Order, c: usize, kind: DecisionKind, log: &Attempts) -> Outcome {
        let mut o = Outcome::new(order.id, order.status);
        o.channel = Some(self.channels[c].id.clone());
        o.decision = Some(kind);
        o.attempts = log.attempts;
        o.compensations = log.compensations;
        o.booking = order.placement.as_ref().map(|p| p.booking.clone());
        o
    }

    /// A state-machine or ledger error in the middle of a saga (a bug or a
    /// broken adapter, never a partner's answer): reported, not retried; a
    /// hold it made lapses at its TTL. The saga's own events (those from
    /// `saga_start` on) are dropped; any recorded before it stay.
    pub(super) fn fail_hard(
        &mut self,
        order: &Order,
        events: &mut Vec<DomainEvent>,
        saga_start: usize,
        e: crate::Error,
    ) -> Outcome {
        tracing::error!(order = %order.id, error = %e, "routing saga aborted");
        events.truncate(saga_start);
        let mut o = Outcome::new(order.id, order.status);
        o.failure = Some(FailureReason::Internal);
        o
    }

    fn breaker_failure(&mut self, c: usize) {
        let now = self.clock.now();
        if let Some(t) = self.breakers[c].record_failure(now)
            && t.to == super::BreakerState::Open
        {
            self.metrics.breaker_trips += 1;
            if !self.open.contains(&c) {
                self.open.push(c);
            }
            self.set_ranker_breaker(c, true);
            tracing::info!(channel = %self.channels[c].id, "circuit breaker opened");
        }
    }

    /// Compensation: queues the cancellation of `order`'s booking on channel
    /// `c` for the host (or the synchronous gateway) to send.
    fn cancel(
        &mut self,
        order: &Order,
        c: usize,
        booking: Option<BookingRef>,
        reason: FailureReason,
        events: &mut Vec<DomainEvent>,
        log: &mut Attempts,
    ) {
        log.compensations += 1;
        let channel = self.channels[c].id.clone();
        let payload = EventPayload::BookingCancelled {
            order_id: order.id,
            channel: channel.clone(),
            booking: booking.as_ref().map(|b| b.0.clone()).unwrap_or_default(),
            reason,
        };
        self.push_event(events, Aggregate::Channel(channel.clone()), payload);
        self.cancels.push(CancelCall {
            order_id: order.id,
            channel_id: channel,
            booking,
            reason,
        });
    }

    /// Compensation: releases reservation `rid` on channel `c`.
    #[allow(clippy::too_many_arguments)]
    fn release(
        &mut self,
        order_id: OrderId,
        c: usize,
        rid: ReservationId,
        units: u32,
        reason: FailureReason,
        events: &mut Vec<DomainEvent>,
        log: &mut Attempts,
    ) {
        log.compensations += 1;
        let released = match &self.leases {
            Some(leases) => leases.release(rid).map(|_| ()).map_err(crate::Error::from),
            None => self.ledger.release(rid).map(|_| ()),
        };
        if let Err(e) = released {
            // Already expired, released or lost with its lease: the units
            // are back either way.
            tracing::debug!(error = %e, "release of a finished reservation");
        }
        self.capacity_released(order_id, c, rid, units, reason, events);
    }

    /// Units of `rid` went back to channel `c`'s account: refreshes the
    /// ranker's headroom and records `CapacityReleased`.
    fn capacity_released(
        &mut self,
        order_id: OrderId,
        c: usize,
        rid: ReservationId,
        units: u32,
        reason: FailureReason,
        events: &mut Vec<DomainEvent>,
    ) {
        self.refresh_headroom(c);
        let channel = self.channels[c].id.clone();
        let payload = EventPayload::CapacityReleased {
            reservation: rid,
            order_id,
            channel: channel.clone(),
            units,
            reason,
        };
        self.push_event(events, Aggregate::Channel(channel), payload);
    }

    /// Undoes a confirmed order's placement when it is cancelled: cancels the
    /// partner booking and gives the committed units back to the channel's
    /// account (a ledger refund), recording both as events.
    pub(super) fn undo_placement(
        &mut self,
        order: &Order,
        placement: &Placement,
        events: &mut Vec<DomainEvent>,
    ) {
        let reason = FailureReason::OrderCancelled;
        let Some(c) = self
            .channels
            .iter()
            .position(|ch| ch.id == placement.channel)
        else {
            tracing::warn!(order = %order.id, channel = %placement.channel, "cancelled order's channel is no longer known");
            return;
        };
        let mut log = Attempts::default();
        let booking = BookingRef(placement.booking.clone());
        self.cancel(order, c, Some(booking), reason, events, &mut log);
        log.compensations += 1;
        match self.ledger.refund(placement.reservation) {
            Ok(r) => {
                let rid = placement.reservation;
                self.capacity_released(order.id, c, rid, r.committed, reason, events);
            }
            // The ledger forgot the reservation (past its retention) or its slot
            // is gone: there is nothing left to give back.
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "refund of a cancelled order's capacity")
            }
        }
        self.metrics.compensations += u64::from(log.compensations);
    }
}
