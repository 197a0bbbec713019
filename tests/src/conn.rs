//! A minimal blocking RESP client for tests that look at bytes and frames:
//! requests are multibulk-encoded, replies decoded with the engine's own
//! frame reader (`keel_engine::resp::frame::read_frame`).

use bytes::BytesMut;
use keel_engine::resp::frame::{read_frame, Frame};
use keel_engine::testing::request;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// No test waits longer than this for a reply: a hang becomes a failure.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RespConn {
    stream: TcpStream,
    buf: BytesMut,
}

impl RespConn {
    pub fn connect(addr: SocketAddr) -> io::Result<RespConn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(RespConn {
            stream,
            buf: BytesMut::new(),
        })
    }

    /// Sends one command (multibulk) without reading its reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        self.stream.write_all(&request(&args))
    }

    /// Sends bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Closes the sending half: the server sees end-of-input, answers what
    /// it has, and closes the connection.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown(std::net::Shutdown::Write)
    }

    /// A clone of the socket, to write from another thread while this one reads.
    pub fn try_clone_stream(&self) -> io::Result<TcpStream> {
        self.stream.try_clone()
    }

    /// Sends one command and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Frame> {
        self.send(args)?;
        self.read()
    }

    /// Reads the next reply frame; an error if the server closed the
    /// connection first or sent malformed RESP.
    pub fn read(&mut self) -> io::Result<Frame> {
        loop {
            if let Some(frame) = decode(&mut self.buf)? {
                return Ok(frame);
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed; {} bytes unread", self.buf.len()),
                ));
            }
        }
    }

    /// Reads the next reply frame and returns its exact bytes.
    pub fn read_raw(&mut self) -> io::Result<Vec<u8>> {
        loop {
            let mut probe = self.buf.clone();
            if decode(&mut probe)?.is_some() {
                let consumed = self.buf.len() - probe.len();
                return Ok(self.buf.split_to(consumed).to_vec());
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a frame",
                ));
            }
        }
    }

    /// Reads every frame until the server closes the connection.
    pub fn read_until_close(&mut self) -> io::Result<Vec<Frame>> {
        let mut frames = Vec::new();
        loop {
            while let Some(frame) = decode(&mut self.buf)? {
                frames.push(frame);
            }
            if self.fill()? == 0 {
                if !self.buf.is_empty() {
                    return Err(io::Error::other(format!(
                        "closed with a partial frame: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    )));
                }
                return Ok(frames);
            }
        }
    }

    /// Every byte the server sends until it closes the connection, undecoded.
    pub fn read_bytes_until_close(&mut self) -> io::Result<Vec<u8>> {
        while self.fill()? > 0 {}
        Ok(self.buf.split().to_vec())
    }

    /// Reads what the socket has into the buffer; 0 at EOF. A reset by the
    /// peer counts as EOF: a server that closes with unread input resets.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// Decodes one frame from the front of `buf` (consuming it), if complete.
fn decode(buf: &mut BytesMut) -> io::Result<Option<Frame>> {
    read_frame(buf).map_err(|e| io::Error::other(format!("bad RESP: {}", e.0)))
}
