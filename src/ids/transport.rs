//! `transport/...`: the study's requests from client to server and back
//! (`benches/transport.rs`), over each protocol as configured, and over the floor.

use std::fmt;
use std::str::FromStr;

use super::{Family, Group, Payload, counted, family};
use crate::error::{UnknownName, by_name};
use crate::fixtures::STUDY_SIZES;
use crate::link::Link;
use crate::transport::{Protocol, TransportConfig};

/// What carries a transport id's requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Carrier {
    /// `tcp_floor`: the same bytes over plain TCP, length-prefixed, no protocol at all
    /// ([`crate::transport::floor`]): what every protocol's time is held to.
    Floor,
    /// A protocol under a configuration: `grpc` (its defaults), `grpc+window_16m+frame_1m`.
    Protocol(Protocol, TransportConfig),
}

impl Carrier {
    /// The floor's name in ids.
    pub const FLOOR: &str = "tcp_floor";

    /// A protocol as hyper and tonic run it unconfigured.
    pub fn defaults(protocol: Protocol) -> Self {
        Self::Protocol(protocol, TransportConfig::default())
    }
}

/// `tcp_floor`, or the protocol's name followed by `+` and its configuration's knobs when it
/// has any.
impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Floor => f.write_str(Self::FLOOR),
            Self::Protocol(protocol, config) if *config == TransportConfig::default() => {
                write!(f, "{protocol}")
            }
            Self::Protocol(protocol, config) => write!(f, "{protocol}+{config}"),
        }
    }
}

impl FromStr for Carrier {
    type Err = super::IdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == Self::FLOOR {
            return Ok(Self::Floor);
        }
        let (protocol, config) = text.split_once('+').unwrap_or((text, ""));
        let protocol = protocol.parse::<Protocol>().ok();
        let config = protocol.and_then(|protocol| {
            let config = config.parse::<TransportConfig>().ok()?.check(protocol).ok()?;
            // `grpc+` is not another name for `grpc`.
            (!text.ends_with('+')).then_some(Self::Protocol(protocol, config))
        });
        config.ok_or_else(|| super::IdError(text.to_owned()))
    }
}

/// Which transport ids a run measures: a named set, so a new dimension is something a user
/// asks for rather than a multiplication of the default run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportSet {
    /// The floor and each protocol at its defaults, every payload, `c1` and `c20`.
    Default,
    /// Each protocol under every configuration of [`TransportConfig::variants`] (each knob
    /// alone, then the combinations), on [`TransportId::CONFIG_PAYLOADS`], `c1` and `c20`.
    Configs,
}

impl TransportSet {
    /// Every set, in report order.
    pub const ALL: [Self; 2] = [Self::Default, Self::Configs];

    /// The set's name: `default`, `configs`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Configs => "configs",
        }
    }

    /// The set's ids over `link`, in the order a bench runs them: every one on loopback, the
    /// study's unit alone (`c20`) over an emulated link, where one request's time is the
    /// link's round trip and wire time, which its check already measures.
    pub fn ids_over(self, link: Link) -> Vec<TransportId> {
        let mut ids = self.ids();
        for id in &mut ids {
            id.link = link;
        }
        if link != Link::Loopback {
            ids.retain(|id| id.concurrency == TransportId::LINK_CONCURRENCY);
        }
        ids
    }

    /// The set's ids on loopback, in the order a bench runs them.
    pub fn ids(self) -> Vec<TransportId> {
        let carriers: Vec<Carrier> = match self {
            Self::Default => std::iter::once(Carrier::Floor)
                .chain(Protocol::ALL.map(Carrier::defaults))
                .collect(),
            Self::Configs => Protocol::ALL
                .into_iter()
                .flat_map(|protocol| {
                    TransportConfig::variants(protocol)
                        .into_iter()
                        .map(move |config| Carrier::Protocol(protocol, config))
                })
                .collect(),
        };
        let payloads = match self {
            Self::Default => Payload::all(),
            Self::Configs => TransportId::CONFIG_PAYLOADS.to_vec(),
        };
        let mut ids = Vec::new();
        for carrier in carriers {
            for &payload in &payloads {
                for concurrency in TransportId::CONCURRENCY {
                    ids.push(TransportId { carrier, payload, concurrency, link: Link::Loopback });
                }
            }
        }
        ids
    }
}

impl fmt::Display for TransportSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TransportSet {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        by_name("transport set", &Self::ALL, Self::name, text)
    }
}

/// `transport/<carrier>[@<link>]/<payload>/c<concurrency>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId {
    /// How the requests travel.
    pub carrier: Carrier,
    /// Where they travel: loopback (written as nothing), or an emulated link.
    pub link: Link,
    /// What each request is.
    pub payload: Payload,
    /// Requests sent at once and timed together (`c1`: one request's latency).
    pub concurrency: usize,
}

impl TransportId {
    /// The concurrencies the bench measures: one request, and the study's unit of 20.
    pub const CONCURRENCY: [usize; 2] = [1, 20];

    /// The one concurrency measured over an emulated link: the study's unit.
    pub const LINK_CONCURRENCY: usize = 20;

    /// The payloads the configurations are measured on: the smallest request, and the
    /// largest image as base64 and as bytes, where windows and frames matter most.
    pub const CONFIG_PAYLOADS: [Payload; 3] = [
        Payload::Basic,
        Payload::Base64(STUDY_SIZES[STUDY_SIZES.len() - 1]),
        Payload::Binary(STUDY_SIZES[STUDY_SIZES.len() - 1]),
    ];
}

family!(TransportId, Transport);

impl Family for TransportId {
    const GROUP: Group = Group::Transport;

    fn function(&self) -> String {
        format!("{}{}", self.carrier, self.link.suffix())
    }

    fn parameter(&self) -> Option<String> {
        Some(format!("{}/c{}", self.payload, self.concurrency))
    }

    fn from_segments(segments: &[&str]) -> Option<Self> {
        let [carrier, payload, concurrency] = segments else { return None };
        let (carrier, link) = Link::split(carrier)?;
        Some(Self {
            carrier: carrier.parse().ok()?,
            link,
            payload: payload.parse().ok()?,
            concurrency: counted('c', concurrency)?,
        })
    }

    fn all() -> Vec<Self> {
        let sets = TransportSet::ALL.into_iter();
        sets.flat_map(|set| Link::PROFILES.into_iter().flat_map(move |link| set.ids_over(link)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriers_name_their_configuration_and_refuse_what_the_protocol_lacks() {
        let large = "window_16m+frame_1m".parse().unwrap();
        let cases = [
            (Carrier::Floor, "tcp_floor"),
            (Carrier::defaults(Protocol::Grpc), "grpc"),
            (Carrier::Protocol(Protocol::Grpc, large), "grpc+window_16m+frame_1m"),
        ];
        for (carrier, name) in cases {
            assert_eq!(carrier.to_string(), name);
            assert_eq!(name.parse(), Ok(carrier));
        }
        for name in ["grpc+", "rest_h1+window_16m", "tcp_floor+conns_1", "rest_h2+zstd", "tcp"] {
            assert!(name.parse::<Carrier>().is_err(), "{name}");
        }
    }

    #[test]
    fn the_sets_share_no_id_and_the_default_keeps_the_old_ids() {
        let default = TransportSet::Default.ids();
        let configs = TransportSet::Configs.ids();
        assert!(default.iter().all(|id| !configs.contains(id)));
        let names: Vec<String> = default.iter().map(ToString::to_string).collect();
        for old in ["transport/rest_h1/basic/c1", "transport/grpc/binary_1080x1920/c20"] {
            assert!(names.iter().any(|name| name == old), "{old}");
        }
        assert!(names.iter().any(|name| name == "transport/tcp_floor/binary_1080x1920/c20"));
        assert_eq!(default.len(), 4 * 7 * 2);
        assert_eq!(configs.len(), 17 * 3 * 2);
    }

    #[test]
    fn a_link_follows_the_carrier_and_loopback_is_written_as_before() {
        let slow = Link::shaped(100, 0);
        let over = TransportSet::Default.ids_over(slow);
        assert_eq!(over.len(), 4 * 7);
        let names: Vec<String> = over.iter().map(ToString::to_string).collect();
        assert!(names.contains(&"transport/grpc@100mbit/binary_1080x1920/c20".to_owned()));
        assert!(names.contains(&"transport/tcp_floor@100mbit/basic/c20".to_owned()));
        let configured: TransportId =
            "transport/grpc+conns_4@1gbit_rtt1ms/basic/c20".parse().unwrap();
        assert_eq!(configured.link, Link::shaped(1000, 1));
        assert_eq!(TransportSet::Default.ids_over(Link::Loopback), TransportSet::Default.ids());
        for wrong in ["transport/grpc@loopback/basic/c20", "transport/grpc@1000mbit/basic/c20"] {
            assert!(wrong.parse::<TransportId>().is_err(), "{wrong}");
        }
    }
}
