//! `transport/...`: the study's requests from client to server and back
//! (`benches/transport.rs`).

use super::{Family, Group, Payload, counted, family};
use crate::transport::Protocol;

/// `transport/<protocol>/<payload>/c<concurrency>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId {
    /// How the requests travel.
    pub protocol: Protocol,
    /// What each request is.
    pub payload: Payload,
    /// Requests sent at once and timed together (`c1`: one request's latency).
    pub concurrency: usize,
}

impl TransportId {
    /// The concurrencies the bench measures: one request, and the study's unit of 20.
    pub const CONCURRENCY: [usize; 2] = [1, 20];
}

family!(TransportId, Transport);

impl Family for TransportId {
    const GROUP: Group = Group::Transport;

    fn function(&self) -> String {
        self.protocol.name().to_owned()
    }

    fn parameter(&self) -> Option<String> {
        Some(format!("{}/c{}", self.payload, self.concurrency))
    }

    fn from_segments(segments: &[&str]) -> Option<Self> {
        let [protocol, payload, concurrency] = segments else { return None };
        Some(Self {
            protocol: protocol.parse().ok()?,
            payload: payload.parse().ok()?,
            concurrency: counted('c', concurrency)?,
        })
    }

    fn all() -> Vec<Self> {
        let mut all = Vec::new();
        for protocol in Protocol::ALL {
            for payload in Payload::all() {
                for concurrency in Self::CONCURRENCY {
                    all.push(Self { protocol, payload, concurrency });
                }
            }
        }
        all
    }
}
