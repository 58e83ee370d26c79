//! A client that never finishes its request headers (a slowloris) is disconnected after
//! [`slp_http::HEADER_READ_TIMEOUT`], while whole requests are answered. The tokio clock is paused
//! and advances by itself when every task waits: no real waiting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/x", get(|| async { "ok" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(slp_http::serve(listener, router, None, async move {
        let _ = stopped.await;
    }));

    // Headers begun, never ended: the server closes the connection.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\n").await.unwrap();
    // A connection that sends nothing at all is closed too.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let limit = slp_http::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(5);
    for (what, stream) in [("slow", &mut slow), ("silent", &mut silent)] {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(limit, stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the {what} connection is still open after {limit:?}");
        assert!(!String::from_utf8_lossy(&buf).contains(" 200 "), "{what}: {buf:?}");
    }

    // A whole request is answered.
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
