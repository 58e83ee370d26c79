//! Serving over TLS (rustls) or, on loopback or when asked, plain HTTP.
