//! The layers every slp router is wrapped in.
