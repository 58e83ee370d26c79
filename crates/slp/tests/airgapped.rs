//! The air-gapped topology, device and authority exchanging files.
