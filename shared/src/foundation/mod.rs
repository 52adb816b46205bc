//! The bottom layer: values every other layer speaks in. Ids and validated
//! newtypes, money, time, secrets, the one error type, request-body
//! parsing and pagination cursors. Names nothing above it.

pub mod clock;
pub mod cursor;
pub mod error;
pub mod ids;
pub mod input;
pub mod money;
pub(crate) mod newtype;
pub mod retry;
pub mod secret;
pub mod status;
