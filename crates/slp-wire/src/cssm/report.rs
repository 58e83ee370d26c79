//! `POST {BASE}/v2/devices/reportusage`, `…/v2/devices/authrequest` and `…/v2/accounts/poll`
//! (PROTOCOL.md §7.3).
