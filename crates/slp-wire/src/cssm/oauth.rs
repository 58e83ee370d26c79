//! The OAuth2 token endpoint (PROTOCOL.md §7.1): its parameters and its reply.
