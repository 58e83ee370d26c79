//! Show-command conformance with the Genie IOS-XE parsers.
