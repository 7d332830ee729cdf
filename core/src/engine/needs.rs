//! What routing needs to know about an order, and the hard constraints that
//! make a channel able to serve it.

use crate::{Channel, GeoPoint, Vehicle};

/// Default delivery deadline when the order gives none, in minutes.
pub const DEFAULT_DEADLINE_MIN: f64 = 45.0;

/// The routing view of one order: where it goes, how much capacity it takes,
/// which vehicle it needs, by when, and how much it matters.
///
/// ```
/// use uoom::engine::RouteNeeds;
/// use uoom::{GeoPoint, Vehicle};
/// let n = RouteNeeds::from_quantity(GeoPoint::new(24.7, 46.7), 7);
/// assert_eq!((n.units, n.vehicle), (4, Vehicle::Car));
/// assert_eq!(n.deadline_min, 45.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteNeeds {
    /// Delivery location.
    pub location: GeoPoint,
    /// Capacity units the order consumes (1..=4).
    pub units: u32,
    /// Vehicle the delivery needs.
    pub vehicle: Vehicle,
    /// Latest acceptable ETA in minutes.
    pub deadline_min: f64,
    /// Priority (1 = normal); weighs the penalty of leaving it unrouted.
    pub priority: u32,
}

impl RouteNeeds {
    /// The documented default policy when an order carries no routing hints:
    /// units are the total item quantity bucketed to 1..=4 (a rider's box
    /// holds about four items' worth), a bike carries up to 2 units, a car
    /// more; deadline [`DEFAULT_DEADLINE_MIN`], priority 1.
    pub fn from_quantity(location: GeoPoint, total_quantity: u32) -> Self {
        let units = total_quantity.clamp(1, 4);
        Self {
            location,
            units,
            vehicle: if units <= 2 {
                Vehicle::Bike
            } else {
                Vehicle::Car
            },
            deadline_min: DEFAULT_DEADLINE_MIN,
            priority: 1,
        }
    }

    /// True when `channel` can serve this order at all: up, in radius, with
    /// the vehicle, within the deadline (the benchmark spec's feasibility).
    ///
    /// ```
    /// use uoom::engine::RouteNeeds;
    /// use uoom::{Channel, ChannelKind, GeoPoint, Health};
    /// let here = GeoPoint::new(24.70, 46.70);
    /// let mut c = Channel::builder("c1", ChannelKind::DarkStore, here).build().unwrap();
    /// let n = RouteNeeds::from_quantity(GeoPoint::new(24.71, 46.70), 1);
    /// assert!(n.feasible_on(&c));
    /// c.health = Health::Down;
    /// assert!(!n.feasible_on(&c));
    /// ```
    #[inline]
    pub fn feasible_on(&self, channel: &Channel) -> bool {
        if !channel.health.is_available() || !channel.serves(self.vehicle) {
            return false;
        }
        let d = channel.location.distance_km(&self.location);
        d <= channel.radius_km + 1e-9 && channel.eta_min(d) <= self.deadline_min + 1e-9
    }
}

impl RouteNeeds {
    /// The solver's view of the same needs.
    pub fn to_demand(&self) -> crate::solve::Demand {
        crate::solve::Demand {
            location: self.location,
            units: self.units,
            vehicle: self.vehicle,
            deadline_min: self.deadline_min,
            priority: self.priority,
        }
    }
}
