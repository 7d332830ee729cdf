//! The routing saga: reserve capacity, book the channel, commit — and on any
//! failure, compensate in reverse order (cancel the booking, release the
//! reservation) and try the next candidate.
//!
//! One order never ends both confirmed and compensated: compensation only
//! ever touches an attempt that is then abandoned, and the order is
//! confirmed only by the attempt whose commit succeeded.

use super::decision::{DecisionKind, Outcome};
use super::ports::{BookingRef, GatewayError};
use super::router::Router;
use crate::events::{Aggregate, DomainEvent, EventPayload, FailureReason};
use crate::ledger::ReservationId;
use crate::rank::RankQuery;
use crate::solve::Demand;
use crate::{ErrorKind, Order, OrderId, OrderStatus, Placement};

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
        if let Some(Some(h)) = self.accounts.get(c) {
            let b = self.ledger.balance_of(h);
            if let Err(e) = self.ranker.update_headroom(c, b.available(), b.capacity) {
                tracing::warn!(error = %e, "ranker refused a headroom update");
            }
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

    /// The real-time path: ranked top-k, then round-robin fallback over the
    /// other feasible channels; the order ends `CONFIRMED` or `FAILED`.
    pub(super) fn route_realtime(
        &mut self,
        order: &mut Order,
        needs: &Demand,
        events: &mut Vec<DomainEvent>,
    ) -> Outcome {
        let now = self.clock.now();
        if let Err(e) = self.ensure_slot(now) {
            tracing::warn!(error = %e, "could not prepare the capacity slot");
        }
        self.refresh_open_breakers();
        let log = Attempts::default();
        self.rank(needs);
        let ranked = std::mem::take(&mut self.candidates);
        let kind = DecisionKind::Realtime;
        let saga_start = events.len();
        let outcome = match self.route_over(order, needs, &ranked, kind, events, log) {
            Ok(o) => o,
            Err(e) => self.fail_hard(order, events, saga_start, e),
        };
        self.candidates = ranked;
        outcome
    }

    /// Tries `first` (tagged `kind`), then the round-robin fallback; marks
    /// the order `FAILED` with a reason when nothing books.
    pub(super) fn route_over(
        &mut self,
        order: &mut Order,
        needs: &Demand,
        first: &[usize],
        kind: DecisionKind,
        events: &mut Vec<DomainEvent>,
        mut log: Attempts,
    ) -> crate::Result<Outcome> {
        if let Some(c) = self.try_candidates(order, needs, first, kind, events, &mut log)? {
            return Ok(self.outcome(order, c, kind, &log));
        }
        let mut fallback = Vec::new();
        if self.config.fallback_attempts > 0 && order.status == OrderStatus::Validated {
            let channels = &self.channels;
            let open = &self.open;
            self.rr.candidates(
                channels.len(),
                |c| !first.contains(&c) && !open.contains(&c) && needs.feasible_on(&channels[c]),
                &mut fallback,
            );
            fallback.truncate(self.config.fallback_attempts);
        }
        let fb = DecisionKind::Fallback;
        if let Some(c) = self.try_candidates(order, needs, &fallback, fb, events, &mut log)? {
            return Ok(self.outcome(order, c, fb, &log));
        }
        if log.attempts == 0 && log.capacity_refusals == 0 && log.breaker_refusals == 0 {
            self.classify_refusals(needs, &mut log);
        }
        let reason = log.reason();
        let attempts = log.attempts;
        self.set_status_with(order, OrderStatus::Failed, events, |order_id, from, to| {
            EventPayload::OrderFailed {
                order_id,
                reason,
                attempts,
                from,
                to,
            }
        })?;
        let mut o = Outcome::new(order.id, order.status);
        o.failure = Some(reason);
        o.attempts = log.attempts;
        o.compensations = log.compensations;
        Ok(o)
    }

    fn outcome(&self, order: &Order, c: usize, kind: DecisionKind, log: &Attempts) -> Outcome {
        let mut o = Outcome::new(order.id, order.status);
        o.channel = Some(self.channels[c].id.clone());
        o.decision = Some(kind);
        o.attempts = log.attempts;
        o.compensations = log.compensations;
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

    /// Runs reserve → book → commit on each candidate in turn; returns the
    /// channel that took the order (now `CONFIRMED`), or `None`.
    fn try_candidates(
        &mut self,
        order: &mut Order,
        needs: &Demand,
        candidates: &[usize],
        kind: DecisionKind,
        events: &mut Vec<DomainEvent>,
        log: &mut Attempts,
    ) -> crate::Result<Option<usize>> {
        for &c in candidates {
            let now = self.clock.now();
            if !self.breakers[c].is_eligible(now) {
                log.breaker_refusals += 1;
                continue;
            }
            let Some(account) = self.accounts.get(c).cloned().flatten() else {
                log.capacity_refusals += 1;
                continue;
            };
            let rid = ReservationId(self.ids.uuid_v7(now).as_u128());
            let ttl = self.config.reservation_ttl_ms;
            let reservation = match self.ledger.reserve_on(rid, &account, needs.units, ttl) {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::Capacity => {
                    log.capacity_refusals += 1;
                    self.refresh_headroom(c);
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.refresh_headroom(c);
            let channel_id = self.channels[c].id.clone();
            let reserved = EventPayload::CapacityReserved {
                reservation: rid,
                order_id: order.id,
                channel: channel_id.clone(),
                slot: account.key().slot,
                units: needs.units,
                expires_at: reservation.expires_at,
            };
            self.push_event(events, Aggregate::Channel(channel_id.clone()), reserved);

            if !self.breakers[c].try_acquire(now) {
                log.breaker_refusals += 1;
                self.release(
                    order.id,
                    c,
                    rid,
                    needs.units,
                    FailureReason::BreakerOpen,
                    events,
                    log,
                );
                continue;
            }
            log.attempts += 1;
            let timeout = self.config.booking_timeout_ms;
            let booked = self.gateway.book(order, &self.channels[c], timeout);
            let booking = match booked {
                Ok(b) => {
                    self.breakers[c].record_success();
                    b
                }
                Err(err) => {
                    self.metrics.booking_failures += 1;
                    self.breaker_failure(c);
                    let reason = match err {
                        GatewayError::Timeout { .. } => {
                            self.cancel(order, c, None, FailureReason::PartnerTimeout, events, log);
                            FailureReason::PartnerTimeout
                        }
                        GatewayError::Failed(_) => FailureReason::PartnerFailed,
                    };
                    log.last_failure = Some(reason);
                    self.release(order.id, c, rid, needs.units, reason, events, log);
                    continue;
                }
            };
            let attempt = log.attempts;
            let booking_str = booking.0.clone();
            let assigned_channel = channel_id.clone();
            self.set_status_with(order, OrderStatus::Routed, events, |order_id, from, to| {
                EventPayload::ChannelAssigned {
                    order_id,
                    channel: assigned_channel,
                    decision: kind,
                    booking: booking_str,
                    attempt,
                    from,
                    to,
                }
            })?;
            match self.ledger.commit(rid, None) {
                Ok(_) => {
                    let committed = EventPayload::CapacityCommitted {
                        reservation: rid,
                        order_id: order.id,
                        channel: channel_id.clone(),
                        units: needs.units,
                    };
                    self.push_event(events, Aggregate::Channel(channel_id.clone()), committed);
                    order.placement = Some(Placement {
                        channel: channel_id.clone(),
                        booking: booking.0,
                        reservation: rid,
                    });
                    self.set_status_with(
                        order,
                        OrderStatus::Confirmed,
                        events,
                        |order_id, from, to| EventPayload::OrderConfirmed {
                            order_id,
                            channel: channel_id,
                            from,
                            to,
                        },
                    )?;
                    return Ok(Some(c));
                }
                Err(e) => {
                    // The hold lapsed (or was released) under us: undo the booking.
                    tracing::warn!(order = %order.id, error = %e, "commit failed after booking");
                    log.last_failure = Some(FailureReason::CommitFailed);
                    self.cancel(
                        order,
                        c,
                        Some(&booking),
                        FailureReason::CommitFailed,
                        events,
                        log,
                    );
                    self.release(
                        order.id,
                        c,
                        rid,
                        needs.units,
                        FailureReason::CommitFailed,
                        events,
                        log,
                    );
                    // ROUTED cannot go back to VALIDATED: route_over fails the order.
                    return Ok(None);
                }
            }
        }
        Ok(None)
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

    /// Compensation: cancels the booking of `order` on channel `c`.
    fn cancel(
        &mut self,
        order: &Order,
        c: usize,
        booking: Option<&BookingRef>,
        reason: FailureReason,
        events: &mut Vec<DomainEvent>,
        log: &mut Attempts,
    ) {
        if let Err(e) = self.gateway.cancel(order, &self.channels[c], booking) {
            tracing::warn!(order = %order.id, error = %e, "booking cancel failed; partner will see the order lapse");
        }
        log.compensations += 1;
        let channel = self.channels[c].id.clone();
        let payload = EventPayload::BookingCancelled {
            order_id: order.id,
            channel: channel.clone(),
            booking: booking.map(|b| b.0.clone()).unwrap_or_default(),
            reason,
        };
        self.push_event(events, Aggregate::Channel(channel), payload);
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
        if let Err(e) = self.ledger.release(rid) {
            // Already expired or released: the units are back either way.
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
        self.cancel(order, c, Some(&booking), reason, events, &mut log);
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
