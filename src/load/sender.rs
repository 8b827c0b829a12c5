//! A [`Workload`]'s requests, ready to send: the client it travels by, connected, and the
//! request made once from the fixtures, so the load loops only clone handles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::client::floor::FloorClient;
use crate::client::torchserve::ModelClient;
use crate::client::{ClientError, Reply, StudyClient};
use crate::fixtures::{self, ImageSpec};
use crate::ids::{Carrier, Workload};
use crate::messages::StudyRequest;
use crate::timing::{ClientTimings, StageTimings};
use crate::transport::{self, Target};

/// Where a workload's server is.
#[derive(Clone, Debug, Default)]
pub struct Destination {
    /// The REST and gRPC base URLs.
    pub target: Target,
    /// The floor server's address, for `study/tcp_floor/...`.
    pub floor: Option<SocketAddr>,
    /// The model's name, for `model/...`: `/predictions/<name>`.
    pub model: String,
}

/// Why a workload cannot be sent where asked.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// The floor was asked for with no floor server.
    #[error("the floor needs a floor server: only an in-process target has one")]
    NoFloor,
    /// The client did not connect.
    #[error("connecting to {0}")]
    Connect(String, #[source] ClientError),
}

/// A workload's connected client and its request. Cloning shares the connections.
#[derive(Clone, Debug)]
pub enum Sender {
    /// A study request over a protocol.
    Study {
        /// The client.
        client: StudyClient,
        /// The request.
        request: Arc<StudyRequest>,
    },
    /// A study request's protobuf bytes over plain TCP.
    Floor {
        /// The client.
        client: FloorClient,
        /// The bytes.
        request: Bytes,
    },
    /// An image to a model server.
    Model {
        /// The client.
        client: ModelClient,
        /// The JPEG.
        image: Bytes,
    },
}

impl Sender {
    /// Connects `workload`'s client to `destination` and makes its request.
    pub async fn connect(
        workload: Workload,
        destination: &Destination,
    ) -> Result<Self, SenderError> {
        let connect = |error| SenderError::Connect(workload.to_string(), error);
        Ok(match workload {
            Workload::Study { carrier: Carrier::Floor, payload, .. } => {
                let addr = destination.floor.ok_or(SenderError::NoFloor)?;
                let request = transport::floor::request(&payload.request());
                let client = FloorClient::new(addr, transport::floor::response().len());
                Self::Floor { client, request }
            }
            Workload::Study { carrier: Carrier::Protocol(protocol, config), payload, .. } => {
                let client = StudyClient::connect(protocol, config, &destination.target)
                    .await
                    .map_err(connect)?;
                Self::Study { client, request: Arc::new(payload.request()) }
            }
            Workload::Model { route, size, .. } => {
                let client = ModelClient::connect(route, &destination.target, &destination.model)
                    .await
                    .map_err(connect)?;
                Self::Model { client, image: fixtures::image(ImageSpec::study(size)) }
            }
        })
    }

    /// Sends the request once and reads the answer; the answer itself is dropped, its timings
    /// kept.
    pub async fn send(&self) -> Result<Reply<()>, ClientError> {
        match self {
            Self::Study { client, request } => client.send(request).await.map(Reply::timings),
            Self::Model { client, image } => client.predict(image).await.map(Reply::timings),
            Self::Floor { client, request } => {
                let sent = Instant::now();
                client.exchange(request).await?;
                let client = ClientTimings { wait: sent.elapsed(), ..ClientTimings::default() };
                Ok(Reply { answer: (), client, server: StageTimings::default() })
            }
        }
    }
}
