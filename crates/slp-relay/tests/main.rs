//! The relay's tests, one binary: `files`, `ops`, `push`, `sanity`, `upstream`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod common;
mod files;
mod ops;
mod push;
mod sanity;
mod upstream;
