//! The product instance's tests, one binary: the guide's behaviours (`guide`, `schedule`,
//! `families`, `migration`, `config_cmds`, `coverage`, `tech_air`) and `slp device run` (`service`),
//! RESTCONF's negotiation, errors and bodies (`restconf`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed step is a failed test

mod config_cmds;
mod coverage;
mod families;
mod guide;
mod mgmt_cmds;
mod migration;
mod restconf;
mod schedule;
mod service;
mod support;
mod tech_air;
