//! Exact money in minor units with a currency.
