//! Exact money in minor units with a currency.
//!
//! Amounts are integers of minor units (cents, halalas, fils): sums and
//! products are exact and overflow is an error, never a silent wrap or a
//! rounding drift. Every currency uoom handles has two decimals (USD, SAR,
//! AED, EUR, ...); three-decimal currencies (KWD, BHD) are out of scope until a
//! request format carries them.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Minor units per major unit: every supported currency has two decimals.
pub const MINOR_PER_MAJOR: i64 = 100;

/// An ISO 4217 currency code: three ASCII uppercase letters.
///
/// Only the shape is checked, not membership in the ISO list, so a new
/// currency needs no release of uoom.
///
/// ```
/// use uoom::Currency;
/// assert_eq!(Currency::parse("SAR").unwrap(), Currency::SAR);
/// assert_eq!(Currency::USD.as_str(), "USD");
/// assert!(Currency::parse("usd").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollar, the default when a request names no currency.
    pub const USD: Currency = Currency(*b"USD");
    /// Saudi riyal.
    pub const SAR: Currency = Currency(*b"SAR");
    /// UAE dirham.
    pub const AED: Currency = Currency(*b"AED");

    /// Parses a three-letter uppercase code.
    ///
    /// ```
    /// let e = uoom::Currency::parse("US").unwrap_err();
    /// assert_eq!(e.field_errors()[0].code, "invalid_currency");
    /// ```
    pub fn parse(code: &str) -> Result<Currency> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(Error::invalid(
                "currency",
                "invalid_currency",
                format!("currency must be a 3-letter uppercase ISO 4217 code, got {code:?}"),
            )),
        }
    }

    /// The code as a string slice.
    ///
    /// ```
    /// assert_eq!(uoom::Currency::AED.as_str(), "AED");
    /// ```
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII uppercase by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::USD
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a decimal string is not an exact amount; the request validator maps
/// each to its stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not of the form `-?digits(.digits)?`.
    Malformed,
    /// More than two digits after the point.
    TooManyDecimals,
    /// Does not fit in `i64` minor units.
    Overflow,
}

impl DecimalError {
    /// The stable validation code of this problem.
    ///
    /// ```
    /// assert_eq!(uoom::DecimalError::TooManyDecimals.code(), "too_many_decimals");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            DecimalError::Malformed => "invalid_type",
            DecimalError::TooManyDecimals => "too_many_decimals",
            DecimalError::Overflow => "out_of_range",
        }
    }
}

/// Parses `-?digits(.d{1,2})?` into minor units, exactly (no floating point).
///
/// ```
/// use uoom::model::money::{parse_minor, DecimalError};
/// assert_eq!(parse_minor("15.99"), Ok(1599));
/// assert_eq!(parse_minor("-0.5"), Ok(-50));
/// assert_eq!(parse_minor("1.999"), Err(DecimalError::TooManyDecimals));
/// assert_eq!(parse_minor("1e3"), Err(DecimalError::Malformed));
/// ```
pub fn parse_minor(s: &str) -> std::result::Result<i64, DecimalError> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(DecimalError::Malformed);
    }
    let frac = frac.unwrap_or("");
    if frac.len() > 2 {
        return Err(DecimalError::TooManyDecimals);
    }
    // Accumulate negatively so that i64::MIN minor units parse too.
    let mut acc: i64 = 0;
    for b in int
        .bytes()
        .chain(frac.bytes())
        .chain("00"[frac.len()..].bytes())
    {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_sub(i64::from(b - b'0')))
            .ok_or(DecimalError::Overflow)?;
    }
    if negative {
        Ok(acc)
    } else {
        acc.checked_neg().ok_or(DecimalError::Overflow)
    }
}

/// An exact amount of money: integer minor units and a currency.
///
/// Serialized as `{"amount": "15.99", "currency": "USD"}`: the amount is a
/// decimal string so that no JSON reader turns it into a binary float.
///
/// ```
/// use uoom::{Currency, Money};
/// let price = Money::parse_decimal("15.99", Currency::USD).unwrap();
/// let line = price.checked_mul(3).unwrap();
/// assert_eq!(line.minor(), 4797);
/// assert_eq!(line.to_string(), "47.97 USD");
/// let json = serde_json::to_value(line).unwrap();
/// assert_eq!(json, serde_json::json!({"amount": "47.97", "currency": "USD"}));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount from minor units (1599 = 15.99).
    ///
    /// ```
    /// let m = uoom::Money::from_minor(1599, uoom::Currency::USD);
    /// assert_eq!(m.minor(), 1599);
    /// ```
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in `currency`: the start of a sum.
    ///
    /// ```
    /// assert_eq!(uoom::Money::zero(uoom::Currency::SAR).minor(), 0);
    /// ```
    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    ///
    /// ```
    /// assert_eq!(uoom::Money::from_minor(-5, uoom::Currency::USD).minor(), -5);
    /// ```
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    ///
    /// ```
    /// assert_eq!(uoom::Money::from_minor(1, uoom::Currency::AED).currency(), uoom::Currency::AED);
    /// ```
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// Parses an exact decimal string (`"15.99"`, `"-3"`, `"0.5"`), string based:
    /// no floating point is involved.
    ///
    /// ```
    /// use uoom::{Currency, Money};
    /// assert_eq!(Money::parse_decimal("0.1", Currency::USD).unwrap().minor(), 10);
    /// let e = Money::parse_decimal("1.234", Currency::USD).unwrap_err();
    /// assert_eq!(e.field_errors()[0].code, "too_many_decimals");
    /// ```
    pub fn parse_decimal(s: &str, currency: Currency) -> Result<Money> {
        parse_minor(s)
            .map(|minor| Money { minor, currency })
            .map_err(|e| {
                let msg = match e {
                    DecimalError::Malformed => format!("{s:?} is not a decimal amount"),
                    DecimalError::TooManyDecimals => {
                        format!("{s:?} has more than two decimals")
                    }
                    DecimalError::Overflow => format!("{s:?} is too large"),
                };
                Error::invalid("amount", e.code(), msg)
            })
    }

    /// The amount as a decimal string with exactly two decimals (`"15.90"`).
    ///
    /// ```
    /// assert_eq!(uoom::Money::from_minor(-1590, uoom::Currency::USD).amount_string(), "-15.90");
    /// ```
    pub fn amount_string(&self) -> String {
        let abs = self.minor.unsigned_abs();
        let sign = if self.minor < 0 { "-" } else { "" };
        let per = MINOR_PER_MAJOR as u64;
        format!("{sign}{}.{:02}", abs / per, abs % per)
    }

    /// Sum of two amounts of the same currency; a currency mismatch or an
    /// overflow is an error.
    ///
    /// ```
    /// use uoom::{Currency, Money};
    /// let a = Money::from_minor(150, Currency::USD);
    /// assert_eq!(a.checked_add(&a).unwrap().minor(), 300);
    /// assert!(a.checked_add(&Money::from_minor(1, Currency::SAR)).is_err());
    /// assert!(Money::from_minor(i64::MAX, Currency::USD).checked_add(&a).is_err());
    /// ```
    pub fn checked_add(&self, other: &Money) -> Result<Money> {
        if self.currency != other.currency {
            return Err(Error::invalid(
                "currency",
                "currency_mismatch",
                format!("cannot add {} to {}", other.currency, self.currency),
            ));
        }
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or_else(|| overflow(format!("{self} + {other} overflows")))
    }

    /// The amount times a quantity; overflow is an error.
    ///
    /// ```
    /// use uoom::{Currency, Money};
    /// assert_eq!(Money::from_minor(1599, Currency::USD).checked_mul(2).unwrap().minor(), 3198);
    /// assert!(Money::from_minor(i64::MAX, Currency::USD).checked_mul(2).is_err());
    /// ```
    pub fn checked_mul(&self, qty: u32) -> Result<Money> {
        self.minor
            .checked_mul(i64::from(qty))
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or_else(|| overflow(format!("{self} x {qty} overflows")))
    }

    /// Sum of many amounts, all in `currency`.
    ///
    /// ```
    /// use uoom::{Currency, Money};
    /// let xs = [Money::from_minor(1, Currency::USD), Money::from_minor(2, Currency::USD)];
    /// assert_eq!(Money::checked_sum(Currency::USD, xs.iter()).unwrap().minor(), 3);
    /// ```
    pub fn checked_sum<'a>(
        currency: Currency,
        items: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }
}

fn overflow(msg: String) -> Error {
    Error::invalid("amount", "overflow", msg)
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

#[derive(Serialize, Deserialize)]
struct MoneyWire {
    amount: String,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        MoneyWire {
            amount: self.amount_string(),
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let w = MoneyWire::deserialize(d)?;
        Money::parse_decimal(&w.amount, w.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_edge_forms() {
        assert_eq!(parse_minor("0"), Ok(0));
        assert_eq!(parse_minor("-0"), Ok(0));
        assert_eq!(parse_minor("007.10"), Ok(710));
        assert_eq!(parse_minor(""), Err(DecimalError::Malformed));
        assert_eq!(parse_minor("-"), Err(DecimalError::Malformed));
        assert_eq!(parse_minor("1."), Err(DecimalError::Malformed));
        assert_eq!(parse_minor(".5"), Err(DecimalError::Malformed));
        assert_eq!(parse_minor("+1"), Err(DecimalError::Malformed));
        assert_eq!(parse_minor("1,5"), Err(DecimalError::Malformed));
        assert_eq!(parse_minor("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(parse_minor("-92233720368547758.08"), Ok(i64::MIN));
        assert_eq!(
            parse_minor("92233720368547758.08"),
            Err(DecimalError::Overflow)
        );
        assert_eq!(
            parse_minor("99999999999999999999999"),
            Err(DecimalError::Overflow)
        );
    }

    #[test]
    fn renders_and_round_trips_json() {
        let m = Money::from_minor(i64::MIN, Currency::SAR);
        assert_eq!(m.amount_string(), "-92233720368547758.08");
        let back: Money = serde_json::from_value(serde_json::to_value(m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(Money::from_minor(5, Currency::USD).to_string(), "0.05 USD");
    }

    #[test]
    fn deserialize_rejects_bad_currency() {
        let v = serde_json::json!({"amount": "1.00", "currency": "usd"});
        assert!(serde_json::from_value::<Money>(v).is_err());
    }

    proptest! {
        #[test]
        fn decimal_round_trip_is_exact(minor in any::<i64>()) {
            let m = Money::from_minor(minor, Currency::USD);
            prop_assert_eq!(Money::parse_decimal(&m.amount_string(), Currency::USD).unwrap(), m);
        }

        #[test]
        fn add_is_exact_or_overflow(a in any::<i64>(), b in any::<i64>()) {
            let r = Money::from_minor(a, Currency::AED).checked_add(&Money::from_minor(b, Currency::AED));
            let exact = i128::from(a) + i128::from(b);
            match r {
                Ok(m) => prop_assert_eq!(i128::from(m.minor()), exact),
                Err(e) => {
                    prop_assert!(i64::try_from(exact).is_err());
                    prop_assert_eq!(e.field_errors()[0].code.as_str(), "overflow");
                }
            }
        }

        #[test]
        fn mul_is_exact_or_overflow(a in any::<i64>(), q in any::<u32>()) {
            let r = Money::from_minor(a, Currency::USD).checked_mul(q);
            let exact = i128::from(a) * i128::from(q);
            match r {
                Ok(m) => prop_assert_eq!(i128::from(m.minor()), exact),
                Err(_) => prop_assert!(i64::try_from(exact).is_err()),
            }
        }

        #[test]
        fn two_decimal_floats_convert_exactly(minor in -10_000_000_000i64..10_000_000_000) {
            // The request path: a JSON number with <= 2 decimals, rendered by
            // Rust's shortest round-trip formatting, parses back to the same cents.
            let text = Money::from_minor(minor, Currency::USD).amount_string();
            let f: f64 = text.parse().unwrap();
            prop_assert_eq!(parse_minor(&format!("{f}")), Ok(minor));
        }
    }
}
