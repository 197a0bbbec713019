//! RESP, the Redis serialization protocol: requests in (multibulk and inline),
//! replies out (RESP2 and RESP3), and a general frame reader for clients and
//! peers that need to read replies.

pub mod ahead;
mod encode;
pub mod frame;
mod parse;
mod reply;

pub use encode::{encode, format_double};
pub use parse::{ParseLimits, ProtocolError, RequestParser};
pub use reply::{BulkArray, Reply};

/// The protocol a client speaks, chosen with `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

impl Protocol {
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}
