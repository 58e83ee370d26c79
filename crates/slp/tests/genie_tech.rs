//! `show license tech support` fed to Genie's `ShowLicenseTechSupport`.
