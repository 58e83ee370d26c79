//! slp-http's tests, one binary: `ops`, `slow`, `tls`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod ops;
mod slow;
mod tls;
