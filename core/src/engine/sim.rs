//! A generated, realistic, seeded order stream for simulations and tests:
//! cities with their channels (own kitchens, dark stores, partners), orders
//! arriving as a Poisson stream weighted by city size, and partner outages.
//!
//! Everything is a pure function of the seed, so a simulation (and every
//! test built on one) replays exactly.
//!
//! This is the workload generator of the `uoom simulate` command and of the
//! engine's scale tests, built only with the `sim` feature: its cities,
//! menus and mixes are a demo's, not part of the library's stable API. To
//! test code that drives a [`Router`] against simulated partners, the
//! [`SimGateway`] test double is always available.

use super::gateway_sim::{Outage, PartnerProfile, SimGateway};
use super::router::{Router, RouterBuilder};
use crate::{
    Channel, ChannelKind, Clock, CreateOrderRequest, Currency, CustomerId, DeliveryAddress,
    GeoPoint, Millis, Money, OrderItem, RestaurantId, RoutingHints, Vehicle,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// A city the simulation serves: name, centre, currency, relative size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    /// Name, as it appears in delivery addresses.
    pub name: &'static str,
    /// City centre.
    pub centre: GeoPoint,
    /// Local currency code.
    pub currency: &'static str,
    /// Relative order volume.
    pub weight: f64,
}

const fn city(name: &'static str, lat: f64, lon: f64, currency: &'static str, weight: f64) -> City {
    City {
        name,
        centre: GeoPoint { lat, lon },
        currency,
        weight,
    }
}

/// The cities, largest first.
pub const CITIES: [City; 8] = [
    city("Riyadh", 24.7136, 46.6753, "SAR", 1.0),
    city("New York", 40.7128, -74.0060, "USD", 0.9),
    city("Dubai", 25.2048, 55.2708, "AED", 0.7),
    city("London", 51.5072, -0.1276, "GBP", 0.7),
    city("Jeddah", 21.5433, 39.1728, "SAR", 0.6),
    city("Paris", 48.8566, 2.3522, "EUR", 0.5),
    city("Berlin", 52.5200, 13.4050, "EUR", 0.4),
    city("Abu Dhabi", 24.4539, 54.3773, "AED", 0.3),
];

/// What to generate.
///
/// ```
/// let c = uoom::engine::ScenarioConfig::new(1_000, 7);
/// assert_eq!((c.orders, c.seed), (1_000, 7));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioConfig {
    /// Seed of every draw.
    pub seed: u64,
    /// Orders in the stream.
    pub orders: usize,
    /// Channels over all cities.
    pub channels: usize,
    /// Cities used (1..=8, largest first).
    pub cities: usize,
    /// Virtual arrival rate, orders per second (sets timestamps, slot use
    /// and how long outages last relative to the stream).
    pub rps: f64,
    /// Share of partner channels that suffer one outage during the run.
    pub outage_share: f64,
    /// Capacity over expected demand per city (below 1: scarcity).
    pub capacity_headroom: f64,
    /// Virtual start of the stream.
    pub start: Millis,
}

impl ScenarioConfig {
    /// Defaults: 80 channels over 8 cities, 5,000 orders/s, a quarter of
    /// partners with an outage, 15 % capacity headroom.
    pub fn new(orders: usize, seed: u64) -> Self {
        Self {
            seed,
            orders,
            channels: 80,
            cities: CITIES.len(),
            rps: 5_000.0,
            outage_share: 0.25,
            capacity_headroom: 1.15,
            start: Millis(1_767_225_600_000), // 2026-01-01T00:00:00Z
        }
    }
}

/// One city's share of a scenario.
#[derive(Debug, Clone)]
pub struct CityPlan {
    /// The city.
    pub city: City,
    /// Its channels.
    pub channels: Vec<Channel>,
    /// Partner outages in it.
    pub outages: Vec<Outage>,
}

/// One generated order: when it arrives, where, and the request.
#[derive(Debug, Clone)]
pub struct SimOrder {
    /// Virtual arrival time.
    pub at: Millis,
    /// Index into [`Scenario::cities`].
    pub city: usize,
    /// The create-order request.
    pub request: CreateOrderRequest,
}

/// A generated scenario.
///
/// ```
/// use uoom::engine::{Scenario, ScenarioConfig};
/// let s = Scenario::generate(&ScenarioConfig::new(500, 1));
/// assert_eq!(s.orders.len(), 500);
/// assert_eq!(s.cities.iter().map(|c| c.channels.len()).sum::<usize>(), 80);
/// assert!(s.orders.windows(2).all(|w| w[0].at <= w[1].at));
/// let again = Scenario::generate(&ScenarioConfig::new(500, 1));
/// assert_eq!(again.orders[499].request, s.orders[499].request);
/// ```
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The configuration it was made from.
    pub config: ScenarioConfig,
    /// Cities with their channels and outages.
    pub cities: Vec<CityPlan>,
    /// The order stream, in arrival order.
    pub orders: Vec<SimOrder>,
}

const ITEMS: [(&str, i64); 10] = [
    ("Margherita pizza", 1599),
    ("Chicken shawarma", 1250),
    ("Caesar salad", 950),
    ("Falafel wrap", 790),
    ("Sushi box", 2290),
    ("Burger", 1399),
    ("Pad thai", 1490),
    ("Kabsa", 1850),
    ("Iced latte", 450),
    ("Cheesecake", 690),
];

/// A point about `max_km` around `c`, uniform over the disc.
fn around(rng: &mut SmallRng, c: GeoPoint, max_km: f64) -> GeoPoint {
    let r = max_km * rng.random::<f64>().sqrt();
    let theta = rng.random::<f64>() * std::f64::consts::TAU;
    let dlat = r * theta.sin() / 111.32;
    let dlon = r * theta.cos() / (111.32 * c.lat.to_radians().cos());
    GeoPoint {
        lat: c.lat + dlat,
        lon: c.lon + dlon,
    }
}

impl Scenario {
    /// Generates the scenario of `config`.
    pub fn generate(config: &ScenarioConfig) -> Scenario {
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let cities: Vec<City> = CITIES[..config.cities.clamp(1, CITIES.len())].to_vec();
        let total_weight: f64 = cities.iter().map(|c| c.weight).sum();
        let duration_ms = (config.orders as f64 / config.rps.max(1e-3) * 1e3) as u64;

        // Orders first, so capacity can be sized on the demand each city gets.
        let customers = (config.orders / 4).max(1) as u128;
        let mut orders = Vec::with_capacity(config.orders);
        let mut demand = vec![0.0f64; cities.len()];
        let mut t = config.start.0 as f64;
        for _ in 0..config.orders {
            t += -(1.0 - rng.random::<f64>()).ln() / config.rps.max(1e-3) * 1e3;
            let mut pick = rng.random::<f64>() * total_weight;
            let ci = cities
                .iter()
                .position(|c| {
                    pick -= c.weight;
                    pick <= 0.0
                })
                .unwrap_or(cities.len() - 1);
            let city = cities[ci];
            let currency = Currency::parse(city.currency).unwrap_or_default();
            let lines = rng.random_range(1..=3usize);
            let items: Vec<OrderItem> = rand::seq::index::sample(&mut rng, ITEMS.len(), lines)
                .into_iter()
                .map(|k| {
                    let (name, price) = ITEMS[k];
                    OrderItem {
                        item_id: format!("sku-{k}"),
                        name: name.to_owned(),
                        quantity: if rng.random::<f64>() < 0.8 { 1 } else { 2 },
                        unit_price: Money::from_minor(price, currency),
                    }
                })
                .collect();
            let qty: u32 = items.iter().map(|i| i.quantity).sum();
            demand[ci] += f64::from(qty.clamp(1, 4));
            let mut hints = RoutingHints::default();
            let h = rng.random::<f64>();
            if h < 0.05 {
                hints.deadline_min = Some(30.0);
            } else if h < 0.10 {
                hints.vehicle = Some(Vehicle::Car);
            } else if h < 0.12 {
                hints.priority = Some(3);
            }
            let location = around(&mut rng, city.centre, 7.0);
            let n = rng.random_range(1..400u32);
            orders.push(SimOrder {
                at: Millis(t as u64),
                city: ci,
                request: CreateOrderRequest {
                    customer_id: CustomerId::from_u128(rng.random_range(1..=customers)),
                    restaurant_id: (rng.random::<f64>() < 0.7)
                        .then(|| RestaurantId::from_u128(rng.random_range(1..=500u128))),
                    items,
                    delivery: DeliveryAddress {
                        street: format!("{n} Market St"),
                        city: city.name.to_owned(),
                        postal_code: format!("{:05}", 10_000 + n),
                        location,
                    },
                    hints,
                },
            });
        }

        // Channels: spread over cities by weight, at least one each.
        let mut plans = Vec::with_capacity(cities.len());
        let mut left = config.channels.max(cities.len());
        for (ci, city) in cities.iter().enumerate() {
            let remaining_weight: f64 = cities[ci..].iter().map(|c| c.weight).sum();
            let n = if ci + 1 == cities.len() {
                left
            } else {
                ((left as f64 * city.weight / remaining_weight).round() as usize)
                    .clamp(1, left - (cities.len() - ci - 1))
            };
            left -= n;
            let shares: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..1.5)).collect();
            let share_sum: f64 = shares.iter().sum();
            let mut channels = Vec::with_capacity(n);
            let mut outages = Vec::new();
            for (k, share) in shares.iter().enumerate() {
                let roll = rng.random::<f64>();
                let kind = match roll {
                    r if r < 0.30 => ChannelKind::InternalKitchen,
                    r if r < 0.60 => ChannelKind::DarkStore,
                    r if r < 0.85 => ChannelKind::ExternalPartner,
                    _ => ChannelKind::PartnerNetwork,
                };
                let vehicles: &[Vehicle] = match kind {
                    ChannelKind::InternalKitchen | ChannelKind::DarkStore => {
                        &[Vehicle::Bike, Vehicle::Car]
                    }
                    _ => &[Vehicle::Bike, Vehicle::Car, Vehicle::Van],
                };
                let capacity =
                    (demand[ci] * config.capacity_headroom * share / share_sum).ceil() as u32;
                let id = format!(
                    "{}-{}-{k}",
                    city.name.to_lowercase().replace(' ', "-"),
                    kind.as_str()
                );
                let channel =
                    Channel::builder(id.as_str(), kind, around(&mut rng, city.centre, 5.0))
                        .with_radius_km(rng.random_range(6.0..10.0))
                        .with_capacity(capacity)
                        .with_vehicles(vehicles.iter().copied())
                        .with_cost(rng.random_range(1.5..4.0), rng.random_range(0.3..0.9))
                        .with_prep_min(rng.random_range(6.0..15.0))
                        .with_speed_kmh(rng.random_range(18.0..35.0))
                        .with_quality(rng.random_range(0.75..0.98))
                        .build()
                        .expect("generated channel fields are in range");
                let partner = matches!(
                    kind,
                    ChannelKind::ExternalPartner | ChannelKind::PartnerNetwork
                );
                if partner && rng.random::<f64>() < config.outage_share {
                    let from = config.start.0 + rng.random_range(0..duration_ms.max(1));
                    let len = rng.random_range(duration_ms / 20..=duration_ms / 5 + 1);
                    outages.push(Outage {
                        channel: channel.id.clone(),
                        from: Millis(from),
                        until: Millis(from + len),
                    });
                }
                channels.push(channel);
            }
            plans.push(CityPlan {
                city: *city,
                channels,
                outages,
            });
        }
        Scenario {
            config: config.clone(),
            cities: plans,
            orders,
        }
    }

    /// The simulated partners of city `ci`: reliable kitchens and dark
    /// stores, external partners that fail 2 % and time out 1 % of the time,
    /// partner networks at half that, plus the city's outages.
    pub fn gateway(&self, ci: usize, clock: Arc<dyn Clock>) -> SimGateway {
        let mut gw = SimGateway::new(clock, self.config.seed ^ (ci as u64).wrapping_mul(0x9e37))
            .with_kind_profile(ChannelKind::ExternalPartner, PartnerProfile::external())
            .with_kind_profile(
                ChannelKind::PartnerNetwork,
                PartnerProfile {
                    failure_rate: 0.01,
                    slow_share: 0.005,
                    ..PartnerProfile::external()
                },
            );
        for o in &self.cities[ci].outages {
            gw = gw.with_outage(o.channel.clone(), o.from, o.until);
        }
        gw
    }

    /// A router builder over city `ci`'s channels booking through `gateway`,
    /// on `clock`, with ids seeded from the scenario.
    pub fn router(
        &self,
        ci: usize,
        clock: Arc<dyn Clock>,
        gateway: Arc<SimGateway>,
    ) -> RouterBuilder {
        Router::builder(self.cities[ci].channels.clone(), gateway)
            .with_clock(clock)
            .with_id_seed(self.config.seed.wrapping_mul(31).wrapping_add(ci as u64))
    }
}
