//! PID families: each unit of a device counts its licenses under its own family's entitlement
//! tag (`slp_core::license::FAMILIES`). A mixed stack — a C9300-24 active with C9300-48
//! members — has one usage entry, one RUM report chain and one row of `show license usage` /
//! `summary` per family, as the guide's mixed-stack examples show ("C9300-24 Network
//! Advantage" 1, "C9300-48 Network Advantage" 2), never everything under the active's PID.
//!
//! A PID of no known family, or a license level a unit's family has no known tag for, is
//! refused (init, joining the stack, `license boot level`): slp does not make up tags.

use slp_core::license::{self, LicenseInfo};
use slp_core::udi::Udi;

use super::Device;
use crate::DeviceError;

/// Checks that every unit's PID is of a known family that has a tag for each of `levels`.
pub(crate) fn check_units<'a>(
    udis: impl IntoIterator<Item = &'a Udi>,
    levels: &[Option<&str>],
) -> Result<(), DeviceError> {
    for udi in udis {
        let family =
            license::family_of(&udi.pid).map_err(|err| DeviceError::Refused(err.to_string()))?;
        for level in levels.iter().flatten() {
            if family.license(level).is_none() {
                return Err(DeviceError::Refused(format!(
                    "% Error: {level} is not available on {udi}: no entitlement tag is known for {level} on the {} family (it offers {})",
                    family.name,
                    family.features().join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Adds `count` to the entry of `info`'s entitlement tag, or appends one.
fn add(usage: &mut Vec<(&'static LicenseInfo, u64)>, info: &'static LicenseInfo, count: u64) {
    match usage.iter_mut().find(|(seen, _)| seen.entitlement_tag == info.entitlement_tag) {
        Some(entry) => entry.1 += count,
        None => usage.push((info, count)),
    }
}

impl Device {
    /// The licenses in use right now, one entry per entitlement tag with its count: each
    /// unit's boot level and add-on under its family's tag (families in the order of the
    /// units, the active's first; the base level before the add-on), then the HSECK9 key (1
    /// while the cryptographic feature holds it, else 0).
    pub fn current_usage(&self) -> Vec<(&'static LicenseInfo, u64)> {
        self.usage_with(
            [self.state.boot_level.as_deref(), self.state.boot_addon.as_deref()],
            self.state.hsec_in_use,
        )
    }

    /// The usage the units would have at the license levels `levels` (base, add-on), with the
    /// HSECK9 key held or not.
    pub(super) fn usage_with(
        &self,
        levels: [Option<&str>; 2],
        hsec_in_use: bool,
    ) -> Vec<(&'static LicenseInfo, u64)> {
        let mut usage = Vec::new();
        for unit in &self.state.units {
            // Units are checked when they join; a unit of no known family counts nothing.
            let Ok(family) = license::family_of(&unit.udi.pid) else { continue };
            for level in levels.iter().flatten() {
                if let Some(info) = family.license(level) {
                    add(&mut usage, info, 1);
                }
            }
        }
        if let Some(hsec) = license::lookup("hseck9") {
            add(&mut usage, hsec, u64::from(hsec_in_use));
        }
        usage
    }

    /// `license boot level <level> [addon <addon>]`: refused when a unit's family has no
    /// known tag for either.
    pub fn check_boot_level(&self, level: &str, addon: Option<&str>) -> Result<(), DeviceError> {
        check_units(self.state.units.iter().map(|u| &u.udi), &[Some(level), addon])
    }

    /// The level `no license boot level` returns to: network-essentials where every unit's
    /// family has it ([`license::default_boot_level`]).
    pub fn default_boot_level(&self) -> String {
        let pids: Vec<&str> = self.state.units.iter().map(|u| u.udi.pid.as_str()).collect();
        license::default_boot_level(&pids).to_owned()
    }
}
