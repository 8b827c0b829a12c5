//! `end_to_end/...`: a model server's requests end to end, their time attributed to stages
//! (`benches/end_to_end.rs`).

use std::fmt;
use std::str::FromStr;

use super::{Device, Family, Group, IdError, counted, family, named};
use crate::fixtures::{ImageSize, STUDY_SIZES};
use crate::link::Link;
use crate::transport::{Body, HttpVersion, Route};

/// How servebench's model server spends its CPU on an image: a setup's suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Design {
    /// No suffix: TorchServe's design, the model's worker decoding, preprocessing and inferring
    /// each batch in turn.
    Serial,
    /// `_pipelined`: images decoded and preprocessed on a pool of threads as they arrive, the
    /// worker only stacking, inferring and handing back.
    Pipelined,
    /// `_pipelined_scaled`: pipelined, and JPEGs decoded at a fraction of their size
    /// (`vision::DecodeMode::Scaled`).
    PipelinedScaled,
}

impl Design {
    /// Every design, TorchServe's first.
    pub const ALL: [Self; 3] = [Self::Serial, Self::Pipelined, Self::PipelinedScaled];

    /// The setup's suffix: empty for TorchServe's design.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Serial => "",
            Self::Pipelined => "_pipelined",
            Self::PipelinedScaled => "_pipelined_scaled",
        }
    }
}

/// The server a route is measured against: servebench's model server on a device with a
/// batch size and a design, or an external server speaking TorchServe's APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Setup {
    /// `<device>_b<batch>[_pipelined[_scaled]]`: servebench's model server, ResNet-50 on
    /// `device`, batches of up to `batch` requests, built as `design` says.
    Local {
        /// Where the model runs.
        device: Device,
        /// The most requests inferred together.
        batch: usize,
        /// How the server spends its CPU on an image.
        design: Design,
    },
    /// `external`: whatever `SERVEBENCH_MODEL_*_TARGET` points at.
    External,
}

impl Setup {
    /// The model server setups the bench measures by default, where the machine has the
    /// device: TorchServe's design at its default (batch 1) and at batches of up to 8, on the
    /// CPU and on CUDA.
    pub const LOCAL: [Self; 4] = [
        Self::serial(Device::Cpu, 1),
        Self::serial(Device::Cpu, 8),
        Self::serial(Device::Cuda, 1),
        Self::serial(Device::Cuda, 8),
    ];

    /// The pipelined designs (`SERVEBENCH_SETUPS=pipelined`), exact and with the scaled
    /// decode, at batch 1 and 8, on the CPU and on CUDA.
    pub const PIPELINED: [Self; 8] = [
        Self::Local { device: Device::Cpu, batch: 1, design: Design::Pipelined },
        Self::Local { device: Device::Cpu, batch: 1, design: Design::PipelinedScaled },
        Self::Local { device: Device::Cpu, batch: 8, design: Design::Pipelined },
        Self::Local { device: Device::Cpu, batch: 8, design: Design::PipelinedScaled },
        Self::Local { device: Device::Cuda, batch: 1, design: Design::Pipelined },
        Self::Local { device: Device::Cuda, batch: 1, design: Design::PipelinedScaled },
        Self::Local { device: Device::Cuda, batch: 8, design: Design::Pipelined },
        Self::Local { device: Device::Cuda, batch: 8, design: Design::PipelinedScaled },
    ];

    /// TorchServe's design on `device` at `batch`.
    pub const fn serial(device: Device, batch: usize) -> Self {
        Self::Local { device, batch, design: Design::Serial }
    }

    /// Every local setup: [`LOCAL`](Self::LOCAL), then [`PIPELINED`](Self::PIPELINED).
    pub fn all_local() -> impl Iterator<Item = Self> {
        Self::LOCAL.into_iter().chain(Self::PIPELINED)
    }

    /// Local setups named in `text`, comma-separated: sets (`serial`: [`LOCAL`](Self::LOCAL),
    /// `pipelined`: [`PIPELINED`](Self::PIPELINED), `all`) and setup names (`cpu_b8_pipelined`).
    pub fn parse_list(text: &str) -> Result<Vec<Self>, crate::error::UnknownName> {
        crate::error::by_names(text, |name| {
            Ok(match name {
                "serial" => Self::LOCAL.to_vec(),
                "pipelined" => Self::PIPELINED.to_vec(),
                "all" => Self::all_local().collect(),
                // `external` is chosen by pointing the bench at a server, not by name.
                _ => vec![name.parse().ok().filter(|setup| *setup != Self::External).ok_or_else(
                    || crate::error::UnknownName { what: "local setup", name: name.to_owned() },
                )?],
            })
        })
    }

    /// The device of a local setup.
    pub fn device(self) -> Option<Device> {
        match self {
            Self::Local { device, .. } => Some(device),
            Self::External => None,
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { device, batch, design } => {
                write!(f, "{}_b{batch}{}", device.name(), design.suffix())
            }
            Self::External => f.write_str("external"),
        }
    }
}

impl FromStr for Setup {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        let local = |(device, rest): (&str, &str)| {
            let design =
                *Design::ALL.iter().rev().find(|design| rest.ends_with(design.suffix()))?;
            let batch = &rest[..rest.len() - design.suffix().len()];
            Some(Self::Local {
                device: named(&Device::ALL, Device::name, device)?,
                batch: counted('b', batch)?,
                design,
            })
        };
        match text {
            "external" => Some(Self::External),
            _ => text.split_once('_').and_then(local),
        }
        .ok_or_else(|| IdError(text.to_owned()))
    }
}

/// `end_to_end/<route>[@<link>]/<size>/<setup>`: 20 concurrent requests of the study's noise
/// JPEG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndToEndId {
    /// How the image travels.
    pub route: Route,
    /// Where it travels: loopback (written as nothing), or an emulated link.
    pub link: Link,
    /// The image's size.
    pub size: ImageSize,
    /// The server.
    pub setup: Setup,
}

impl EndToEndId {
    /// The routes measured over an emulated link: the study's three columns (REST raw and
    /// base64 over HTTP/1.1, gRPC) and raw REST over HTTP/2.
    pub const LINK_ROUTES: [Route; 4] = [
        Route::Rest(HttpVersion::Http1, Body::Raw),
        Route::Rest(HttpVersion::Http1, Body::Base64),
        Route::Rest(HttpVersion::Http2, Body::Raw),
        Route::Grpc,
    ];

    /// The ids for `setup` over `link`, in the order the bench runs them: every route and size
    /// on loopback; over an emulated link, [`LINK_ROUTES`](Self::LINK_ROUTES) at every size,
    /// for TorchServe's design at batch 1 only (an external server is not behind the link).
    pub fn over(link: Link, setup: Setup) -> Vec<Self> {
        let routes: &[Route] = match link {
            Link::Loopback => &Route::ALL,
            Link::Shaped(_)
                if matches!(setup, Setup::Local { batch: 1, design: Design::Serial, .. }) =>
            {
                &Self::LINK_ROUTES
            }
            Link::Shaped(_) => &[],
        };
        let mut ids = Vec::new();
        for &route in routes {
            for size in STUDY_SIZES {
                ids.push(Self { route, link, size, setup });
            }
        }
        ids
    }
}

family!(EndToEndId, EndToEnd);

impl Family for EndToEndId {
    const GROUP: Group = Group::EndToEnd;

    fn function(&self) -> String {
        format!("{}{}", self.route.name(), self.link.suffix())
    }

    fn parameter(&self) -> Option<String> {
        Some(format!("{}/{}", self.size, self.setup))
    }

    fn from_segments(segments: &[&str]) -> Option<Self> {
        let [route, size, setup] = segments else { return None };
        let (route, link) = Link::split(route)?;
        Some(Self {
            route: route.parse().ok()?,
            link,
            size: size.parse().ok()?,
            setup: setup.parse().ok()?,
        })
    }

    fn all() -> Vec<Self> {
        let setups = Setup::all_local().chain([Setup::External]);
        let links = || Link::PROFILES.into_iter();
        setups.flat_map(|setup| links().flat_map(move |link| Self::over(link, setup))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setups_parse_by_name_and_by_set() {
        let setups =
            Setup::parse_list("cpu_b8_pipelined_scaled, serial,cuda_b1_pipelined").unwrap();
        assert_eq!(
            setups[0],
            Setup::Local { device: Device::Cpu, batch: 8, design: Design::PipelinedScaled }
        );
        assert_eq!(setups[1..5], Setup::LOCAL);
        assert_eq!(
            setups[5],
            Setup::Local { device: Device::Cuda, batch: 1, design: Design::Pipelined }
        );
        assert_eq!(Setup::parse_list("pipelined").unwrap(), Setup::PIPELINED);
        assert_eq!(Setup::parse_list("all").unwrap().len(), 12);
        for bad in ["cpu_b1_scaled", "cpu_b1_pipelined_", "cpu_pipelined", "external", "fast"] {
            assert!(Setup::parse_list(bad).is_err(), "{bad}");
        }
    }
}
