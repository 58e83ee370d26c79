//! Accounts, virtual accounts, licenses, product instances, ID tokens and transfers
//! (PROTOCOL.md §7.2).
