//! The store's tests, one binary: `conformance` (both backends), `files`, `upgrade`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod conformance;
mod files;
mod upgrade;
