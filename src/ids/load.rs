//! `load/...`: what `servebench load` drives and how hard. These are not Criterion ids (a load
//! run is not a Criterion bench) but they are an interface all the same: load runs are filed
//! and charted under their [`Workload`], and each point of a run under a [`LoadId`].
//!
//! | value | text |
//! |---|---|
//! | [`Workload`] | `study/<carrier>[@<link>]/<payload>`, `model/<route>[@<link>]/<size>/<setup>` |
//! | [`Load`] | `c<concurrency>` (closed loop), `r<rate>` or `r<rate>_poisson` (open loop, per second) |
//! | [`LoadId`] | `load/<workload>/<load>` |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Carrier, IdError, Payload, Setup, counted};
use crate::fixtures::ImageSize;
use crate::link::Link;
use crate::transport::Route;

/// What a load run sends, by what, to which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// `study/<carrier>[@<link>]/<payload>`: the study's request over a protocol as
    /// configured (or over the floor, plain TCP), to the study's server.
    Study {
        /// The protocol and its configuration, or the floor.
        carrier: Carrier,
        /// Where the requests travel: loopback (written as nothing) or an emulated link.
        link: Link,
        /// The request.
        payload: Payload,
    },
    /// `model/<route>[@<link>]/<size>/<setup>`: the study's noise JPEG of `size` over a
    /// TorchServe route, to a model server.
    Model {
        /// How the image travels.
        route: Route,
        /// Where it travels: loopback (written as nothing) or an emulated link.
        link: Link,
        /// The image's size.
        size: ImageSize,
        /// Which model server: servebench's on a device with a batch size, or an external one.
        setup: Setup,
    },
}

impl Workload {
    /// The link the workload's requests cross.
    pub fn link(self) -> Link {
        match self {
            Self::Study { link, .. } | Self::Model { link, .. } => link,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Study { carrier, link, payload } => {
                write!(f, "study/{carrier}{}/{payload}", link.suffix())
            }
            Self::Model { route, link, size, setup } => {
                write!(f, "model/{route}{}/{size}/{setup}", link.suffix())
            }
        }
    }
}

impl FromStr for Workload {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let segments: Vec<&str> = text.split('/').collect();
        let parsed = || match segments[..] {
            ["study", carrier, payload] => {
                let (carrier, link) = Link::split(carrier)?;
                Some(Self::Study {
                    carrier: carrier.parse().ok()?,
                    link,
                    payload: payload.parse().ok()?,
                })
            }
            ["model", route, size, setup] => {
                let (route, link) = Link::split(route)?;
                Some(Self::Model {
                    route: route.parse().ok()?,
                    link,
                    size: size.parse().ok()?,
                    setup: setup.parse().ok()?,
                })
            }
            _ => None,
        };
        parsed().ok_or_else(|| IdError(text.to_owned()))
    }
}

/// How the requests of an open loop are spaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Evenly: one every 1/rate seconds (wrk2's and perf_analyzer's default).
    #[default]
    Constant,
    /// A Poisson process: independent, exponentially distributed gaps of mean 1/rate (many
    /// independent clients).
    Poisson,
}

/// How hard a load point drives the server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Load {
    /// `c<n>`: a closed loop, `n` requests always in flight, each sent when one comes back.
    Concurrency(usize),
    /// `r<rate>[_poisson]`: an open loop, `rate` requests a second sent on a schedule whatever
    /// the server does, each timed from when it was due.
    Rate {
        /// Requests a second.
        per_second: f64,
        /// How they are spaced.
        arrivals: Arrivals,
    },
}

impl Load {
    /// The rate an open loop offers, requests a second.
    pub fn offered(self) -> Option<f64> {
        match self {
            Self::Concurrency(_) => None,
            Self::Rate { per_second, .. } => Some(per_second),
        }
    }

    /// The load's size: the concurrency or the rate (the x of a sweep).
    pub fn level(self) -> f64 {
        match self {
            Self::Concurrency(n) => n as f64,
            Self::Rate { per_second, .. } => per_second,
        }
    }
}

/// The poisson suffix of a rate.
const POISSON: &str = "_poisson";

impl fmt::Display for Load {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Concurrency(n) => write!(f, "c{n}"),
            Self::Rate { per_second, arrivals } => {
                write!(f, "r{per_second}")?;
                match arrivals {
                    Arrivals::Constant => Ok(()),
                    Arrivals::Poisson => f.write_str(POISSON),
                }
            }
        }
    }
}

impl FromStr for Load {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let rate = |digits: &str, arrivals| {
            let per_second: f64 = digits.parse().ok()?;
            let load = Self::Rate { per_second, arrivals };
            // One canonical text per rate: `r100`, not `r100.0` or `r1e2`.
            (per_second.is_finite() && per_second > 0.0 && load.to_string() == text).then_some(load)
        };
        match text.strip_prefix('r') {
            Some(rest) => match rest.strip_suffix(POISSON) {
                Some(digits) => rate(digits, Arrivals::Poisson),
                None => rate(rest, Arrivals::Constant),
            },
            None => counted('c', text).filter(|&n| n > 0).map(Self::Concurrency),
        }
        .ok_or_else(|| IdError(text.to_owned()))
    }
}

super::as_text!(Load);
super::as_text!(Workload);

/// `load/<workload>/<load>`: one point of a load run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadId {
    /// What was sent where.
    pub workload: Workload,
    /// How hard.
    pub load: Load,
}

impl fmt::Display for LoadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "load/{}/{}", self.workload, self.load)
    }
}

impl FromStr for LoadId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let error = || IdError(text.to_owned());
        let rest = text.strip_prefix("load/").ok_or_else(error)?;
        let (workload, load) = rest.rsplit_once('/').ok_or_else(error)?;
        Ok(Self { workload: workload.parse().map_err(|_| error())?, load: load.parse()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_ids_round_trip_and_read_as_documented() {
        for text in [
            "load/study/rest_h1/binary_1080x1920/c20",
            "load/study/grpc+window_16m+frame_1m/basic/r100",
            "load/study/tcp_floor/base64_360x640/r12.5_poisson",
            "load/model/rest_h1_raw/1080x1920/cpu_b8/c1",
            "load/model/grpc_raw/360x640/external/r0.5",
            "load/study/rest_h2@100mbit/binary_1080x1920/c1",
            "load/study/tcp_floor@1gbit_rtt1ms/basic/r50",
            "load/model/grpc_raw@10gbit/360x640/cpu_b8/c8",
        ] {
            let id: LoadId = text.parse().unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(id.to_string(), text);
        }
        for wrong in [
            "load/study/rest_h1/binary_1080x1920/c0",
            "load/study/rest_h1/binary_1080x1920/c020",
            "load/study/rest_h1/binary_1080x1920/r100.0",
            "load/study/rest_h1/binary_1080x1920/r0",
            "load/study/rest_h1/binary_1080x1920/r-5",
            "load/study/rest_h1/binary_1080x1920/rinf",
            "load/study/rest_h1/binary_1080x1920/r5_gamma",
            "load/study/rest_h1_raw/binary_1080x1920/c1",
            "load/model/rest_h1/1080x1920/cpu_b1/c1",
            "load/model/rest_h1_raw/1080x1920/c1",
            "load/study/rest_h1@loopback/basic/c1",
            "load/study/rest_h1@1000mbit/basic/c1",
            "load/study/rest_h1/basic@100mbit/c1",
            "load/model/rest_h1_raw/1080x1920@100mbit/cpu_b1/c1",
            "study/rest_h1/basic/c1",
        ] {
            assert!(wrong.parse::<LoadId>().is_err(), "{wrong} parsed");
        }
    }

    #[test]
    fn a_rate_knows_what_it_offers() {
        let load: Load = "r40_poisson".parse().unwrap();
        assert_eq!(load, Load::Rate { per_second: 40.0, arrivals: Arrivals::Poisson });
        assert_eq!(load.offered(), Some(40.0));
        assert_eq!(Load::Concurrency(8).offered(), None);
        assert_eq!(Load::Concurrency(8).level(), 8.0);
    }

    #[test]
    fn a_workload_names_its_link_after_its_carrier_or_route() {
        let study: Workload = "study/grpc+conns_4@100mbit/basic".parse().unwrap();
        assert_eq!(study.link(), Link::shaped(100, 0));
        let model: Workload = "model/rest_h1_raw/360x640/cpu_b1".parse().unwrap();
        assert_eq!(model.link(), Link::Loopback);
        assert_eq!(model.to_string(), "model/rest_h1_raw/360x640/cpu_b1");
    }
}
