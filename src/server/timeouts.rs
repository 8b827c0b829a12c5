//! How long a server waits on its clients ([`Timeouts`]), so that a client that sends slowly,
//! or not at all, gives up its connection and its share of the body budget instead of holding
//! them for as long as it likes.
//!
//! - **Headers** (HTTP/1.1, the REST listener): a connection's first byte and each request's
//!   whole head must arrive within [`Timeouts::header_read`] of the server starting to wait for
//!   it, which also closes a keep-alive connection idle that long between requests (hyper starts
//!   the same timer for both). A client that trickles header lines (slowloris) is cut off.
//! - **Bodies** (REST and gRPC): a body gets [`Timeouts::body_read`] plus one second per
//!   [`Timeouts::body_min_rate`] bytes it has delivered ([`Paced`]; Apache's `mod_reqtimeout`
//!   rule), then 408 (gRPC `DEADLINE_EXCEEDED`).
//! - **HTTP/2** (h2c and gRPC): a PING every [`Timeouts::keepalive_interval`] on a quiet
//!   connection, closed when unanswered within [`Timeouts::keepalive_timeout`]; at most
//!   [`Timeouts::max_concurrent_streams`] requests at once per connection.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Buf;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// How long a server waits on its clients, and how many requests one HTTP/2 connection may
/// have open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest wait for a connection's first byte and for each HTTP/1.1 request's head,
    /// idle keep-alive included.
    pub header_read: Duration,
    /// What a body gets before [`Self::body_min_rate`] adds to it.
    pub body_read: Duration,
    /// Bytes per second a body must average past [`Self::body_read`]: each this many bytes
    /// delivered earn one more second.
    pub body_min_rate: u64,
    /// How often a quiet HTTP/2 connection is pinged.
    pub keepalive_interval: Duration,
    /// How long a ping's answer may take before the connection is closed.
    pub keepalive_timeout: Duration,
    /// Most requests (streams) open at once on one HTTP/2 connection.
    pub max_concurrent_streams: u32,
}

/// What a production server would use: hyper's 30 s for headers (nginx waits 60 s, Apache
/// 20-40 s); Apache's 20 s for a body's start, at a minimum rate of 16 KiB/s (a slow mobile
/// link) rather than Apache's 500 bytes/s, because a body holds its size of the budget while
/// it arrives (a 16 MiB body may take 20 s + 17 min); a ping every 60 s answered within 20 s
/// (gRPC's keepalive timeout); hyper's 200 streams per connection.
impl Default for Timeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Timeouts {
    /// [`Timeouts::default`], as a constant.
    pub const DEFAULT: Self = Self {
        header_read: Duration::from_secs(30),
        body_read: Duration::from_secs(20),
        body_min_rate: 16 << 10,
        keepalive_interval: Duration::from_secs(60),
        keepalive_timeout: Duration::from_secs(20),
        max_concurrent_streams: 200,
    };
}

/// Why a body stopped: it fell behind its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the request body came too slowly: {received} bytes in {elapsed:?}, under the server's \
     {body_read:?} plus one second per {min_rate} bytes"
)]
pub struct TooSlow {
    /// Bytes delivered when time ran out.
    pub received: u64,
    /// How long the body had been read.
    pub elapsed: Duration,
    /// [`Timeouts::body_read`].
    pub body_read: Duration,
    /// [`Timeouts::body_min_rate`].
    pub min_rate: u64,
}

/// A request body held to [`Timeouts::body_read`] and [`Timeouts::body_min_rate`], from the
/// first time it is read: past its deadline it ends in [`TooSlow`]. The timer starts only when
/// the body has to be waited for, and moves only when it fires: a body that keeps coming costs
/// a counter, not a timer per frame.
pub struct Paced<B> {
    inner: B,
    body_read: Duration,
    min_rate: u64,
    received: u64,
    started: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> Paced<B> {
    /// `inner`, paced as `timeouts` say.
    pub fn new(inner: B, timeouts: &Timeouts) -> Self {
        Self {
            inner,
            body_read: timeouts.body_read,
            min_rate: timeouts.body_min_rate.max(1),
            received: 0,
            started: None,
            timer: None,
        }
    }

    /// When the body runs out of time, given what it has delivered.
    fn deadline(&self, started: Instant) -> Instant {
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        started + self.body_read + earned
    }
}

impl<B> HttpBody for Paced<B>
where
    B: HttpBody + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, Self::Error>>> {
        let this = self.get_mut();
        let started = *this.started.get_or_insert_with(Instant::now);
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(context) {
            if let Some(Ok(frame)) = &frame
                && let Some(data) = frame.data_ref()
            {
                this.received += data.remaining() as u64;
            }
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline(started);
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        while timer.as_mut().poll(context).is_ready() {
            // The timer was set for the deadline of an earlier poll; the body may have earned
            // more time since: wait on for the new deadline, or stop.
            if deadline <= Instant::now() {
                return Poll::Ready(Some(Err(Box::new(TooSlow {
                    received: this.received,
                    elapsed: started.elapsed(),
                    body_read: this.body_read,
                    min_rate: this.min_rate,
                }))));
            }
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn timeouts(body_read_ms: u64, min_rate: u64) -> Timeouts {
        Timeouts {
            body_read: Duration::from_millis(body_read_ms),
            body_min_rate: min_rate,
            ..Timeouts::default()
        }
    }

    /// A body that delivers `chunk` bytes every `every`, `chunks` times.
    fn trickle(
        chunk: usize,
        every: Duration,
        chunks: usize,
    ) -> impl HttpBody<Data = bytes::Bytes, Error = std::convert::Infallible> + Unpin {
        let frames = tokio_stream::StreamExt::throttle(
            tokio_stream::iter((0..chunks).map(move |_| {
                Ok::<_, std::convert::Infallible>(Frame::data(bytes::Bytes::from(vec![0; chunk])))
            })),
            every,
        );
        StreamBody::new(Box::pin(frames))
    }

    #[tokio::test]
    async fn a_body_that_keeps_the_rate_arrives_whole() {
        // 5000 bytes a second against 0.1 s plus a second per 1000 bytes: always in time.
        let paced = Paced::new(trickle(100, Duration::from_millis(20), 10), &timeouts(100, 1000));
        let body = paced.collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 1000);
    }

    #[tokio::test]
    async fn a_body_that_falls_behind_the_rate_ends_too_slow() {
        // 200 bytes a second earn 0.2 ms a second: the 0.1 s head start runs out first.
        let paced =
            Paced::new(trickle(10, Duration::from_millis(50), 100), &timeouts(100, 1_000_000));
        let started = Instant::now();
        let error = paced.collect().await.unwrap_err();
        let too_slow = error.downcast::<TooSlow>().expect("a TooSlow error");
        assert!(too_slow.received <= 30, "{too_slow:?}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited < Duration::from_secs(1),
            "{waited:?}"
        );
    }
}
