//! A blocking connection with a read buffer that hands out parsed frames.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::resp::{self, Frame};

/// How long a read may wait before the run is declared stuck (a lost
/// message or reply would otherwise hang the benchmark).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const INITIAL_BUFFER: usize = 64 * 1024;

pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` read from the socket and not yet parsed.
    filled: usize,
}

impl Conn {
    pub fn connect(port: u16) -> io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn {
            stream,
            buf: vec![0; INITIAL_BUFFER],
            filled: 0,
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads frames until `handle` has seen `count` of them. Bytes past the
    /// last one stay buffered for the next call.
    pub fn read_frames(
        &mut self,
        count: u64,
        mut handle: impl FnMut(Frame<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut seen = 0;
        while seen < count {
            let mut pos = 0;
            while seen < count {
                match resp::parse(&self.buf[pos..self.filled])? {
                    Some((frame, used)) => {
                        handle(frame)?;
                        pos += used;
                        seen += 1;
                    }
                    None => break,
                }
            }
            self.discard_front(pos);
            if seen < count {
                self.fill()
                    .map_err(|e| format!("after {seen} of {count} frames: {e}"))?;
            }
        }
        Ok(())
    }

    fn discard_front(&mut self, used: usize) {
        self.buf.copy_within(used..self.filled, 0);
        self.filled -= used;
    }

    /// One read from the socket, growing the buffer when a frame fills it.
    fn fill(&mut self) -> io::Result<()> {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.stream.read(&mut self.buf[self.filled..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.filled += n;
        Ok(())
    }
}
