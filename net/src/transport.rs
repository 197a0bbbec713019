//! How the driver reaches the network: listeners that accept streams.
//!
//! Production uses tokio's TCP ([`TcpTransport`]); the simulation uses
//! `turmoil::net` (see `keel-sim`). The driver only needs to bind, accept,
//! and read and write bytes.

use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// A kind of network the server can listen on and connect through.
pub trait Transport: Clone + 'static {
    type Listener: Listener;

    /// Opens an outbound connection to `host:port` (a replica's link to
    /// its master). A transport that cannot connect says so.
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<<Self::Listener as Listener>::Stream>> {
        let _ = (host, port);
        async {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this transport has no outbound connections",
            ))
        }
    }

    /// Starts listening on `addr` with a pending-connection queue of `backlog`.
    fn bind(
        &self,
        addr: SocketAddr,
        backlog: u32,
    ) -> impl Future<Output = io::Result<Self::Listener>>;
}

/// A bound listening socket.
pub trait Listener: 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;

    /// Waits for the next connection (cancel-safe: nothing is lost if the
    /// future is dropped before it completes). `keepalive_secs` is the TCP
    /// keepalive period to set on it, 0 for none.
    fn accept(
        &self,
        keepalive_secs: u64,
    ) -> impl Future<Output = io::Result<Accepted<Self::Stream>>>;

    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A new connection and what the server reports about it.
#[derive(Debug)]
pub struct Accepted<S> {
    pub stream: S,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The socket's file descriptor, or -1 where there is none.
    pub fd: i64,
}

/// The OS's TCP, through tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpTransport;

impl Transport for TcpTransport {
    type Listener = tokio::net::TcpListener;

    async fn bind(&self, addr: SocketAddr, backlog: u32) -> io::Result<Self::Listener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        if addr.is_ipv6() {
            // As Redis: `::` and `0.0.0.0` are separate listeners on one port.
            socket.set_only_v6(true)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        tokio::net::TcpListener::from_std(socket.into())
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY to {host}:{port}: {e}");
        }
        Ok(stream)
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&self, keepalive_secs: u64) -> io::Result<Accepted<Self::Stream>> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        // Best effort, as Redis: a socket that cannot take its options is
        // usually already dead, and its first read will say so.
        // Replies go out as soon as they are written: no Nagle delay.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY on {peer}: {e}");
        }
        if keepalive_secs > 0 {
            if let Err(e) = set_keepalive(&stream, keepalive_secs) {
                tracing::debug!("TCP keepalive on {peer}: {e}");
            }
        }
        let local = stream.local_addr()?;
        let fd = i64::from(stream.as_raw_fd());
        Ok(Accepted {
            stream,
            peer,
            local,
            fd,
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::TcpListener::local_addr(self)
    }
}

/// Redis's `tcp-keepalive`: first probe after `secs` of silence, then one
/// every third of that, and the peer is dead after three unanswered probes.
fn set_keepalive(stream: &tokio::net::TcpStream, secs: u64) -> io::Result<()> {
    let time = Duration::from_secs(secs);
    let interval = Duration::from_secs((secs / 3).max(1));
    let params = TcpKeepalive::new()
        .with_time(time)
        .with_interval(interval)
        .with_retries(3);
    SockRef::from(stream).set_tcp_keepalive(&params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(flavor = "current_thread")]
    async fn tcp_accepts_with_nodelay_and_addresses() {
        let listener = TcpTransport
            .bind("127.0.0.1:0".parse().unwrap(), 16)
            .await
            .unwrap();
        let addr = Listener::local_addr(&listener).unwrap();
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut acc = Listener::accept(&listener, 300).await.unwrap();
        assert_eq!(acc.local, addr);
        assert_eq!(acc.peer, client.local_addr().unwrap());
        assert!(acc.fd >= 0);
        assert!(acc.stream.nodelay().unwrap());
        client.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 2];
        acc.stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");
    }
}
