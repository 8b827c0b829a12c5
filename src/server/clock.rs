//! When a request's body arrived. Every servebench server hands each request a [`RequestClock`]
//! (in its extensions) that starts when the server is given the request, its headers read,
//! and notes when each data frame of its body is read; so a handler can tell the time the body
//! took to arrive (the `receive` stage: transfer, flow control, framing) from the time after
//! its last byte (decoding, for the study's servers). Starting a [`ServerHandle`] puts both of
//! its listeners behind it.
//!
//! [`ServerHandle`]: super::ServerHandle

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body as HttpBody, Frame, SizeHint};

use crate::timing::{Stage, StageTimings};

/// A REST handler's extractor of its request's clock (none where the server gave it none).
pub(crate) type Clock = Option<axum::Extension<RequestClock>>;

/// The stages `clock` has measured of its request: its `receive`; none without a clock.
pub fn received(clock: Option<&RequestClock>) -> StageTimings {
    let mut timings = StageTimings::default();
    if let Some(clock) = clock {
        timings.record(Stage::Receive, clock.receive());
    }
    timings
}

/// A request's clock: shared by its body, which stops it at each data frame, and its handler,
/// which reads it.
#[derive(Clone, Debug)]
pub struct RequestClock(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// When the server was handed the request.
    started: Instant,
    /// Nanoseconds from `started` to the body's last data frame read so far; 0: none yet.
    body_end: AtomicU64,
}

impl RequestClock {
    fn start() -> Self {
        Self(Arc::new(Inner { started: Instant::now(), body_end: AtomicU64::new(0) }))
    }

    fn body_frame(&self) {
        let nanos = u64::try_from(self.0.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0.body_end.store(nanos.max(1), Ordering::Relaxed);
    }

    /// From the request's headers to the last data frame of its body read so far (zero for a
    /// body without data).
    pub fn receive(&self) -> Duration {
        Duration::from_nanos(self.0.body_end.load(Ordering::Relaxed))
    }

    /// From the body's last data frame (its headers, for a body without data) to now.
    pub fn since_body(&self) -> Duration {
        self.0.started.elapsed().saturating_sub(self.receive())
    }
}

/// A request body that stops its request's clock at each data frame it yields.
#[derive(Debug)]
pub struct Timed<B> {
    inner: B,
    clock: RequestClock,
}

impl<B: HttpBody + Unpin> HttpBody for Timed<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && frame.is_data()
        {
            self.clock.body_frame();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `request` with its clock started, in its extensions, and its body timed; `rebody` makes the
/// server's body type of the timed one.
fn start<B>(mut request: http::Request<B>, rebody: impl FnOnce(Timed<B>) -> B) -> http::Request<B> {
    let clock = RequestClock::start();
    request.extensions_mut().insert(clock.clone());
    request.map(|inner| rebody(Timed { inner, clock }))
}

/// A REST request, clocked (for axum's `Router::layer` through `tower`'s `MapRequestLayer`).
pub(crate) fn rest(request: axum::extract::Request) -> axum::extract::Request {
    start(request, axum::body::Body::new)
}

/// A gRPC request, clocked (for tonic's `Server::layer`).
pub(crate) fn grpc(request: http::Request<tonic::body::Body>) -> http::Request<tonic::body::Body> {
    start(request, tonic::body::Body::new)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    #[tokio::test]
    async fn receive_ends_at_the_last_data_frame_and_decode_runs_from_there() {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, String>>(4);
        let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
        let request = http::Request::new(StreamBody::new(stream));
        let clock = RequestClock::start();
        let mut body = Timed { inner: request.into_body(), clock: clock.clone() };
        assert_eq!(clock.receive(), Duration::ZERO, "no data yet");
        let feed = tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                sender.send(Ok(Frame::data(Bytes::from_static(b"part")))).await.unwrap();
            }
        });
        let mut read = 0;
        while let Some(frame) = body.frame().await {
            read += frame.unwrap().into_data().unwrap().len();
        }
        feed.await.unwrap();
        assert_eq!(read, 8);
        let receive = clock.receive();
        assert!(receive >= Duration::from_millis(60), "{receive:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(clock.since_body() >= Duration::from_millis(20), "{:?}", clock.since_body());
        assert_eq!(clock.receive(), receive, "reading nothing more does not move it");
    }
}
