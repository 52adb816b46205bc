//! The pieces of `make capacity` and `make chaos` that tests use too: the
//! proxy in front of the emulator (metering, faults), its fault plans, and
//! the payment provider stub with its ledger.

pub mod faults;
pub mod meter;
pub mod provider;
pub mod proxy;
