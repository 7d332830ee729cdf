//! Fulfillment channels: own kitchens, dark stores, external partners and
//! partner networks, with what the router needs to score and filter them.

use super::geo::GeoPoint;
use super::ids::ChannelId;
use crate::error::{Error, FieldError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of fulfillment channel this is.
///
/// ```
/// use uoom::ChannelKind;
/// assert_eq!("dark_store".parse::<ChannelKind>().unwrap(), ChannelKind::DarkStore);
/// assert_eq!(ChannelKind::PartnerNetwork.as_str(), "partner_network");
/// assert!("spaceship".parse::<ChannelKind>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The company's own kitchen.
    InternalKitchen,
    /// A dark store (delivery-only warehouse).
    DarkStore,
    /// An external partner booked through its API.
    ExternalPartner,
    /// A network of partners behind one API.
    PartnerNetwork,
}

impl ChannelKind {
    /// All kinds, in declaration order.
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::InternalKitchen,
        ChannelKind::DarkStore,
        ChannelKind::ExternalPartner,
        ChannelKind::PartnerNetwork,
    ];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::InternalKitchen => "internal_kitchen",
            ChannelKind::DarkStore => "dark_store",
            ChannelKind::ExternalPartner => "external_partner",
            ChannelKind::PartnerNetwork => "partner_network",
        }
    }
}

impl FromStr for ChannelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ChannelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "kind",
                    "unknown_kind",
                    format!("unknown channel kind {s:?}"),
                )
            })
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery vehicle type.
///
/// ```
/// use uoom::Vehicle;
/// assert_eq!("refrigerated".parse::<Vehicle>().unwrap(), Vehicle::Refrigerated);
/// assert!("rocket".parse::<Vehicle>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vehicle {
    /// Bicycle or e-bike.
    Bike,
    /// Car.
    Car,
    /// Van, for large orders.
    Van,
    /// Refrigerated vehicle, for cold-chain orders.
    Refrigerated,
}

impl Vehicle {
    /// All vehicles, in declaration order.
    pub const ALL: [Vehicle; 4] = [
        Vehicle::Bike,
        Vehicle::Car,
        Vehicle::Van,
        Vehicle::Refrigerated,
    ];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Vehicle::Bike => "bike",
            Vehicle::Car => "car",
            Vehicle::Van => "van",
            Vehicle::Refrigerated => "refrigerated",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl FromStr for Vehicle {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Vehicle::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "vehicle",
                    "unknown_vehicle",
                    format!("unknown vehicle {s:?}"),
                )
            })
    }
}

impl fmt::Display for Vehicle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of vehicles as a bitmask: membership is one AND on the hot path.
///
/// ```
/// use uoom::{Vehicle, VehicleSet};
/// let s: VehicleSet = [Vehicle::Bike, Vehicle::Car].into_iter().collect();
/// assert!(s.contains(Vehicle::Car));
/// assert!(!s.contains(Vehicle::Van));
/// assert_eq!(s.iter().collect::<Vec<_>>(), vec![Vehicle::Bike, Vehicle::Car]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VehicleSet(u8);

impl VehicleSet {
    /// The empty set.
    pub const EMPTY: VehicleSet = VehicleSet(0);

    /// True if `v` is in the set.
    #[inline]
    pub fn contains(self, v: Vehicle) -> bool {
        self.0 & v.bit() != 0
    }

    /// Adds `v`.
    pub fn insert(&mut self, v: Vehicle) {
        self.0 |= v.bit();
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Vehicle> {
        Vehicle::ALL.into_iter().filter(move |v| self.contains(*v))
    }
}

impl FromIterator<Vehicle> for VehicleSet {
    fn from_iter<I: IntoIterator<Item = Vehicle>>(iter: I) -> Self {
        let mut s = VehicleSet::EMPTY;
        for v in iter {
            s.insert(v);
        }
        s
    }
}

impl Serialize for VehicleSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for VehicleSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Vec::<Vehicle>::deserialize(d)?.into_iter().collect())
    }
}

/// Operational health of a channel as reported by monitoring.
///
/// ```
/// use uoom::Health;
/// assert!(Health::Degraded.is_available());
/// assert!(!Health::Down.is_available());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Fully operational.
    #[default]
    Up,
    /// Operational but impaired: eligible, scored lower by the ranker.
    Degraded,
    /// Not taking orders.
    Down,
}

impl Health {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }

    /// True when the channel may take orders.
    pub fn is_available(self) -> bool {
        self != Health::Down
    }
}

impl FromStr for Health {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "up" => Ok(Health::Up),
            "degraded" => Ok(Health::Degraded),
            "down" => Ok(Health::Down),
            _ => Err(Error::invalid(
                "status",
                "unknown_status",
                format!("unknown channel status {s:?}"),
            )),
        }
    }
}

/// Delivery cost of a channel: a base fee plus a per-km rate (score units,
/// not settlement money: settlement uses [`crate::Money`]).
///
/// ```
/// let c = uoom::CostModel { base: 2.0, per_km: 0.5 };
/// assert_eq!(c.cost(4.0), 4.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    /// Fixed cost per order.
    pub base: f64,
    /// Cost per km of delivery distance.
    pub per_km: f64,
}

impl CostModel {
    /// Cost of a delivery over `distance_km`.
    #[inline]
    pub fn cost(&self, distance_km: f64) -> f64 {
        self.base + self.per_km * distance_km
    }
}

/// A fulfillment channel.
///
/// ```
/// use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
/// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
///     .with_radius_km(8.0)
///     .with_capacity(60)
///     .with_vehicles([Vehicle::Bike, Vehicle::Car])
///     .with_cost(2.1, 0.65)
///     .with_prep_min(9.0)
///     .with_speed_kmh(24.0)
///     .with_quality(0.91)
///     .build()
///     .unwrap();
/// let order_at = GeoPoint::new(24.71, 46.67);
/// let d = c.location.distance_km(&order_at);
/// assert!(c.eta_min(d) > 9.0);
/// assert!(c.serves(Vehicle::Bike));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// Catalogue id.
    pub id: ChannelId,
    /// Kind of channel.
    pub kind: ChannelKind,
    /// Where orders are dispatched from.
    pub location: GeoPoint,
    /// Maximum delivery distance in km.
    pub radius_km: f64,
    /// Units the channel can take in the planning window.
    pub capacity: u32,
    /// Vehicles the channel can dispatch.
    pub vehicles: VehicleSet,
    /// Delivery cost model.
    pub cost: CostModel,
    /// Preparation time in minutes before dispatch.
    pub prep_min: f64,
    /// Average travel speed in km/h.
    pub speed_kmh: f64,
    /// Quality in [0, 1] (ratings, on-time rate).
    pub quality: f64,
    /// Operational health.
    pub health: Health,
}

impl Channel {
    /// Starts a builder with the required fields; the rest default to a
    /// plausible dark store (5 km, capacity 0, bike, cost 0, prep 10 min, 25 km/h, quality 1).
    pub fn builder(
        id: impl Into<ChannelId>,
        kind: ChannelKind,
        location: GeoPoint,
    ) -> ChannelBuilder {
        ChannelBuilder {
            channel: Channel {
                id: id.into(),
                kind,
                location,
                radius_km: 5.0,
                capacity: 0,
                vehicles: [Vehicle::Bike].into_iter().collect(),
                cost: CostModel {
                    base: 0.0,
                    per_km: 0.0,
                },
                prep_min: 10.0,
                speed_kmh: 25.0,
                quality: 1.0,
                health: Health::Up,
            },
        }
    }

    /// Estimated minutes to deliver over `distance_km`: preparation plus travel.
    #[inline]
    pub fn eta_min(&self, distance_km: f64) -> f64 {
        self.prep_min + 60.0 * distance_km / self.speed_kmh
    }

    /// True if the channel can dispatch vehicle `v`.
    #[inline]
    pub fn serves(&self, v: Vehicle) -> bool {
        self.vehicles.contains(v)
    }

    /// Checks every field and reports all problems at once, with paths
    /// prefixed by `path` (e.g. `channels[3]`).
    ///
    /// ```
    /// use uoom::{Channel, ChannelKind, GeoPoint};
    /// let mut c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(0.0, 0.0)).build().unwrap();
    /// c.speed_kmh = f64::NAN;
    /// let errs = c.check("channels[0]");
    /// assert_eq!(errs[0].field, "channels[0].speed_kmh");
    /// ```
    pub fn check(&self, path: &str) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let at = |f: &str| {
            if path.is_empty() {
                f.to_owned()
            } else {
                format!("{path}.{f}")
            }
        };
        if self.id.0.is_empty() {
            errs.push(FieldError::new(
                at("id"),
                "empty",
                "channel id must not be empty",
            ));
        }
        if !self.location.is_valid() {
            errs.push(FieldError::new(
                at("location"),
                "out_of_range",
                "latitude must be in [-90, 90] and longitude in [-180, 180]",
            ));
        }
        let nonneg = [
            ("radius_km", self.radius_km),
            ("base_cost", self.cost.base),
            ("cost_per_km", self.cost.per_km),
            ("prep_min", self.prep_min),
        ];
        for (name, v) in nonneg {
            if !v.is_finite() || v < 0.0 {
                errs.push(FieldError::new(
                    at(name),
                    "out_of_range",
                    format!("{name} must be a finite number >= 0, got {v}"),
                ));
            }
        }
        if !self.speed_kmh.is_finite() || self.speed_kmh <= 0.0 {
            errs.push(FieldError::new(
                at("speed_kmh"),
                "out_of_range",
                format!(
                    "speed_kmh must be a finite number > 0, got {}",
                    self.speed_kmh
                ),
            ));
        }
        if !self.quality.is_finite() || !(0.0..=1.0).contains(&self.quality) {
            errs.push(FieldError::new(
                at("quality"),
                "out_of_range",
                format!("quality must be in [0, 1], got {}", self.quality),
            ));
        }
        errs
    }
}

/// Builder for [`Channel`] with `with_*` setters; [`ChannelBuilder::build`] validates.
///
/// ```
/// use uoom::{Channel, ChannelKind, GeoPoint};
/// let err = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(0.0, 0.0))
///     .with_quality(1.5)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field_errors()[0].field, "quality");
/// ```
#[derive(Debug, Clone)]
pub struct ChannelBuilder {
    channel: Channel,
}

impl ChannelBuilder {
    /// Service radius in km.
    pub fn with_radius_km(mut self, v: f64) -> Self {
        self.channel.radius_km = v;
        self
    }
    /// Capacity in units for the planning window.
    pub fn with_capacity(mut self, v: u32) -> Self {
        self.channel.capacity = v;
        self
    }
    /// Vehicles the channel dispatches.
    pub fn with_vehicles(mut self, v: impl IntoIterator<Item = Vehicle>) -> Self {
        self.channel.vehicles = v.into_iter().collect();
        self
    }
    /// Cost model: base fee and per-km rate.
    pub fn with_cost(mut self, base: f64, per_km: f64) -> Self {
        self.channel.cost = CostModel { base, per_km };
        self
    }
    /// Preparation time in minutes.
    pub fn with_prep_min(mut self, v: f64) -> Self {
        self.channel.prep_min = v;
        self
    }
    /// Travel speed in km/h.
    pub fn with_speed_kmh(mut self, v: f64) -> Self {
        self.channel.speed_kmh = v;
        self
    }
    /// Quality in [0, 1].
    pub fn with_quality(mut self, v: f64) -> Self {
        self.channel.quality = v;
        self
    }
    /// Health.
    pub fn with_health(mut self, v: Health) -> Self {
        self.channel.health = v;
        self
    }
    /// Validates and returns the channel.
    pub fn build(self) -> Result<Channel> {
        let errs = self.channel.check("");
        if errs.is_empty() {
            Ok(self.channel)
        } else {
            Err(Error::Validation(errs))
        }
    }
}
