//! NETCONF (RFC 6241) over SSH (RFC 6242): `<hello>`, base:1.0 end-of-message and base:1.1
//! chunked framing, and the operations on the `cisco-smart-license` model ([`super::yang`]).
