//! Request bodies, for every servebench REST server: [`admit`] holds a router's bodies to its
//! size limit and its [`BodyBudget`] before a byte of them is read, and the [`Body`] extractor
//! reads an admitted body whole, inflating a `Content-Encoding: gzip` body under the same
//! limit. A refused body is a [`BodyError`] that each server turns into its own error (413 over
//! the limit, 503 over the budget, 415 for an encoding it does not take).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, Version, header, request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body_util::BodyExt;

use super::ErrorBody;
use super::budget::{BodyBudget, OverBudget, Reservation};
use super::timeouts::{Paced, Timeouts, TooSlow};
use crate::codec::{CodecError, gzip};

/// What a router's bodies are held to.
#[derive(Clone, Debug)]
pub(crate) struct Admission {
    /// The largest body, in bytes.
    pub limit: usize,
    /// The bytes all bodies in flight may add up to.
    pub budget: Arc<BodyBudget>,
    /// How fast a body must arrive.
    pub timeouts: Timeouts,
}

/// An admitted request's limit and its share of the budget, for the [`Body`] extractor.
#[derive(Clone, Debug)]
struct Admitted {
    limit: usize,
    reservation: Arc<Mutex<Reservation>>,
}

impl Admitted {
    fn reservation(&self) -> MutexGuard<'_, Reservation> {
        self.reservation.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the reservation cover `bytes`, for a body that promised less (or nothing).
    fn cover(&self, bytes: usize) -> Result<(), OverBudget> {
        let mut reservation = self.reservation();
        if bytes > reservation.bytes() { reservation.resize(bytes) } else { Ok(()) }
    }
}

/// A request refused before its body was read, for the [`Body`] extractor to report.
#[derive(Clone, Copy, Debug)]
enum Refused {
    TooLarge { limit: usize },
    OverBudget(OverBudget),
}

/// How long a refused HTTP/1.1 upload is read and thrown away, at most, so that its client
/// reads the refusal instead of a reset connection (nginx's `lingering_time` is 30 s too) ...
const LINGER: Duration = Duration::from_secs(30);
/// ... and how long it may send nothing meanwhile (nginx's `lingering_timeout`).
const LINGER_IDLE: Duration = Duration::from_secs(5);

/// Admits a request, middleware for `axum::middleware::from_fn_with_state`: it reserves what
/// its headers promise ([`super::budget`]; the [`Body`] extractor grows that for a body that
/// promised nothing, or inflates) and holds it until the answer is ready; a body declared over
/// the limit, or one the budget cannot take, is refused before it is read. An admitted body is
/// [`Paced`].
pub(crate) async fn admit(
    State(admission): State<Admission>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let reserved = match declared(&body) {
        Some(declared) if declared > admission.limit => {
            Err(Refused::TooLarge { limit: admission.limit })
        }
        declared => {
            let held = declared.map_or(0, |bytes| held_while_read(bytes, Some(bytes)));
            admission.budget.reserve(held).map_err(Refused::OverBudget)
        }
    };
    match reserved {
        Ok(reservation) => {
            let reservation = Arc::new(Mutex::new(reservation));
            let admitted =
                Admitted { limit: admission.limit, reservation: Arc::clone(&reservation) };
            parts.extensions.insert(admitted);
            let body = axum::body::Body::new(Paced::new(body, &admission.timeouts));
            let response = next.run(Request::from_parts(parts, body)).await;
            drop(reservation);
            response
        }
        Err(refused) => {
            linger(&parts, body);
            parts.extensions.insert(refused);
            next.run(Request::from_parts(parts, axum::body::Body::empty())).await
        }
    }
}

/// The bytes a body will bring, when its headers say (`Content-Length`, or none at all).
fn declared(body: &axum::body::Body) -> Option<usize> {
    use axum::body::HttpBody as _;
    body.size_hint().exact().and_then(|bytes| usize::try_from(bytes).ok())
}

/// Reads and drops a refused HTTP/1.1 body in the background, for at most [`LINGER`]: its
/// client is still sending, and closing on it would reset the connection before it read its
/// answer. HTTP/2 resets just the stream, and a client that sent `Expect: 100-continue` has not
/// sent the body at all: those are dropped.
fn linger(parts: &request::Parts, body: axum::body::Body) {
    let expects_continue = parts
        .headers
        .get(header::EXPECT)
        .is_some_and(|expect| expect.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if parts.version >= Version::HTTP_2 || expects_continue {
        return;
    }
    tokio::spawn(tokio::time::timeout(LINGER, async move {
        let mut body = body;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(LINGER_IDLE, body.frame()).await {}
    }));
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the server takes.
    #[error("request body is larger than the server's limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The server holds as many bodies as its budget allows: retry later.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// The body came slower than the server waits for.
    #[error(transparent)]
    TooSlow(#[from] TooSlow),
    /// The body could not be read (for example, the connection broke off).
    #[error("could not read the request body")]
    Unreadable(#[source] axum::Error),
    /// The body came in a `Content-Encoding` the server does not take (it takes gzip).
    #[error("unsupported content encoding {0:?}: the server takes gzip or none")]
    UnsupportedEncoding(String),
    /// The body said gzip and was not.
    #[error("the gzip body does not inflate")]
    Undecodable(#[source] CodecError),
}

impl BodyError {
    /// A body's read error: [`Self::TooSlow`] when [`Paced`] ended it, else
    /// [`Self::Unreadable`].
    fn unreadable(error: axum::Error) -> Self {
        match error.into_inner().downcast::<TooSlow>() {
            Ok(too_slow) => Self::TooSlow(*too_slow),
            Err(error) => Self::Unreadable(axum::Error::new(error)),
        }
    }

    /// The HTTP status and the error body's `type`: 413 `PayloadTooLarge`, 503
    /// `ServiceUnavailable`, 408 `RequestTimeout`, 400 `BodyReadFailed`, 415
    /// `UnsupportedMediaType`.
    pub(crate) fn http(&self) -> (StatusCode, &'static str) {
        match self {
            Self::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            Self::OverBudget(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            Self::TooSlow(_) => (StatusCode::REQUEST_TIMEOUT, "RequestTimeout"),
            Self::Unreadable(_) | Self::Undecodable(_) => {
                (StatusCode::BAD_REQUEST, "BodyReadFailed")
            }
            Self::UnsupportedEncoding(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
        }
    }
}

/// A handler that takes [`Body`] without its `Result` answers its rejection so: its status
/// with the [`ErrorBody`] JSON. servebench's handlers take the `Result` and answer in their
/// server's own words.
impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let (status, kind) = self.http();
        ErrorBody::response(status, kind, &self)
    }
}

/// The whole request body, admitted against the server's limit and [budget](super::budget),
/// read under the limit, and inflated under it too when it came gzipped.
#[derive(Debug)]
pub struct Body(pub Bytes);

/// How a request body is encoded.
enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    fn of(request: &Request) -> Result<Self, BodyError> {
        let Some(value) = request.headers().get(header::CONTENT_ENCODING) else {
            return Ok(Self::Identity);
        };
        let value = String::from_utf8_lossy(value.as_bytes()).trim().to_ascii_lowercase();
        match value.as_str() {
            "" | "identity" => Ok(Self::Identity),
            "gzip" | "x-gzip" => Ok(Self::Gzip),
            _ => Err(BodyError::UnsupportedEncoding(value)),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = BodyError;

    async fn from_request(request: Request, _: &S) -> Result<Self, BodyError> {
        match request.extensions().get::<Refused>() {
            Some(Refused::TooLarge { limit }) => return Err(BodyError::TooLarge { limit: *limit }),
            Some(Refused::OverBudget(over)) => return Err(BodyError::OverBudget(*over)),
            None => {}
        }
        let admitted = request.extensions().get::<Admitted>().cloned();
        let limit = admitted.as_ref().map_or(usize::MAX, |admitted| admitted.limit);
        let encoding = Encoding::of(&request)?;
        let bytes = read(request.into_body(), limit, admitted.as_ref()).await?;
        match encoding {
            Encoding::Identity => Ok(Self(bytes)),
            Encoding::Gzip => inflate(&bytes, limit, admitted.as_ref()).map(Self),
        }
    }
}

/// `gzipped` inflated, to at most `limit` bytes: while it inflates the reservation covers both
/// it and the most it may inflate to (the budget refuses it otherwise), then the result alone.
fn inflate(gzipped: &[u8], limit: usize, admitted: Option<&Admitted>) -> Result<Bytes, BodyError> {
    if let Some(admitted) = admitted {
        admitted.cover(gzipped.len().saturating_add(limit))?;
    }
    let inflated = match gzip::decode(gzipped, limit) {
        Ok(inflated) => inflated,
        Err(CodecError::Inflated { limit }) => return Err(BodyError::TooLarge { limit }),
        Err(error) => return Err(BodyError::Undecodable(error)),
    };
    if let Some(admitted) = admitted {
        admitted.reservation().shrink_to(inflated.len());
    }
    Ok(inflated)
}

/// Bodies declared larger than this are read into one buffer sized from their length as their
/// frames arrive; smaller ones are kept as hyper hands them over and copied into one buffer at
/// the end, as axum does. glibc's largest mmap threshold: a block this large is a mapping of its
/// own, handed back to the kernel when freed, so a burst of large bodies leaves nothing behind
/// (and none is held twice); under it, blocks come from malloc's heaps and are reused request
/// after request, where a buffer held for a whole upload made the transport bench's 20
/// concurrent 2.4 MB uploads (`transport/rest_h1/binary_1080x1920/c20`) about 15% slower in
/// page faults.
const ONE_BUFFER_PAST: usize = crate::allocator::MMAP_THRESHOLD;

/// The most a body of `bytes` holds while it is read: twice its size while a gathered body is
/// copied into one buffer, its size when it is read into one from the start (`declared` past
/// [`ONE_BUFFER_PAST`]).
fn held_while_read(bytes: usize, declared: Option<usize>) -> usize {
    if declared.is_some_and(|declared| declared > ONE_BUFFER_PAST) {
        bytes
    } else {
        bytes.saturating_mul(2)
    }
}

/// `body`'s bytes, at most `limit` of them, its share of the budget grown as they arrive when it
/// promised less and given back to its size once whole: a body in one frame as it came, a body
/// larger than [`ONE_BUFFER_PAST`] copied frame by frame into one buffer, a smaller one gathered
/// and then copied into one.
async fn read(
    mut body: axum::body::Body,
    limit: usize,
    admitted: Option<&Admitted>,
) -> Result<Bytes, BodyError> {
    use axum::body::HttpBody as _;
    let expected = body.size_hint().exact().and_then(|bytes| usize::try_from(bytes).ok());
    let one_buffer = expected.filter(|bytes| *bytes > ONE_BUFFER_PAST);
    let (mut frames, mut buffer, mut received) = (Vec::new(), BytesMut::new(), 0);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(BodyError::unreadable)?.into_data() else { continue };
        received += data.len();
        if received > limit {
            return Err(BodyError::TooLarge { limit });
        }
        if let Some(admitted) = admitted {
            admitted.cover(held_while_read(received, expected))?;
        }
        match one_buffer {
            Some(expected) => {
                buffer.reserve(expected.min(limit).saturating_sub(buffer.len()));
                buffer.extend_from_slice(&data);
            }
            None => frames.push(data),
        }
    }
    let whole = match frames.len() {
        0 => buffer.freeze(),
        1 => frames.remove(0),
        _ => {
            let mut whole = BytesMut::with_capacity(received);
            for frame in frames {
                whole.extend_from_slice(&frame);
            }
            whole.freeze()
        }
    };
    if let Some(admitted) = admitted {
        admitted.reservation().shrink_to(whole.len());
    }
    Ok(whole)
}
