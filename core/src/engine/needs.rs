//! What routing needs to know about an order: the solver's [`Demand`], used
//! by the real-time path too, with the engine's default policy for orders
//! without routing hints and the hard constraints of a channel.

use crate::solve::Demand;
use crate::{Channel, GeoPoint, Vehicle};

/// Default delivery deadline when the order gives none, in minutes.
pub const DEFAULT_DEADLINE_MIN: f64 = 45.0;

impl Demand {
    /// The documented default policy when an order carries no routing hints:
    /// units are the total item quantity bucketed to 1..=4 (a rider's box
    /// holds about four items' worth), a bike carries up to 2 units, a car
    /// more; deadline [`DEFAULT_DEADLINE_MIN`], priority 1.
    ///
    /// ```
    /// use uoom::solve::Demand;
    /// use uoom::{GeoPoint, Vehicle};
    /// let d = Demand::from_quantity(GeoPoint::new(24.7, 46.7), 7);
    /// assert_eq!((d.units, d.vehicle), (4, Vehicle::Car));
    /// assert_eq!(d.deadline_min, 45.0);
    /// assert_eq!(Demand::from_quantity(GeoPoint::new(0.0, 0.0), 0).units, 1);
    /// ```
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

    /// True when `channel` can serve this demand at all: up, in radius, with
    /// the vehicle, within the deadline (the benchmark spec's feasibility,
    /// with its 1e-9 slack). The round-robin fallback filters on it.
    ///
    /// ```
    /// use uoom::solve::Demand;
    /// use uoom::{Channel, ChannelKind, GeoPoint, Health};
    /// let here = GeoPoint::new(24.70, 46.70);
    /// let mut c = Channel::builder("c1", ChannelKind::DarkStore, here).build().unwrap();
    /// let d = Demand::from_quantity(GeoPoint::new(24.71, 46.70), 1);
    /// assert!(d.feasible_on(&c));
    /// c.health = Health::Down;
    /// assert!(!d.feasible_on(&c));
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
