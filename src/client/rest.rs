//! REST client (hyper) with the HTTP version explicit: HTTP/1.1 keeps a pool of connections and
//! opens more under concurrency; HTTP/2 (cleartext, prior knowledge) multiplexes one connection.
//! A [`TransportConfig`] sets HTTP/2's windows and frames, can fix the connection count, and
//! can gzip request bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{ClientError, Reply, Status};
use crate::codec::{gzip, json, raw};
use crate::messages::{BasicResponse, StudyRequest};
use crate::timing;
use crate::transport::config::Compression;
use crate::transport::{HttpVersion, TransportConfig};

/// A REST client of the study's server. Clones share one connection pool.
#[derive(Clone, Debug)]
pub struct RestClient(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// One pool; over HTTP/2 with a fixed connection count, one per connection.
    clients: Vec<HttpClient>,
    /// The pool a request goes to next, round-robin.
    next: AtomicUsize,
    /// Over HTTP/1.1 with a fixed connection count, a permit per connection: a request waits
    /// for one, so the pool never opens more.
    permits: Option<tokio::sync::Semaphore>,
    /// Whether request bodies go gzipped (`Content-Encoding: gzip`).
    gzip: bool,
    /// `/basic`, `/base64` and `/binary` under the base URL, parsed once.
    uris: [Uri; 3],
}

/// hyper's pooled client.
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A pooled HTTP client speaking `version`, with Nagle off and HTTP/2 as `config` says.
pub(crate) fn http_client(version: HttpVersion, config: TransportConfig) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .http2_only(version == HttpVersion::Http2)
        .http2_initial_stream_window_size(config.windows())
        .http2_initial_connection_window_size(config.windows())
        .http2_adaptive_window(config.adaptive_window())
        .http2_max_frame_size(config.max_frame_size());
    builder.build(connector)
}

/// `path` under `base_url` (`http://host:port`).
pub(crate) fn endpoint(base_url: &str, path: &str) -> Result<Uri, ClientError> {
    format!("{}{path}", base_url.trim_end_matches('/')).parse::<Uri>().map_err(|error| {
        ClientError::InvalidTarget { url: base_url.to_owned(), source: Box::new(error) }
    })
}

impl RestClient {
    /// A client of the server at `base_url` (`http://host:port`) configured by `config`;
    /// connects on first use.
    pub fn new(
        base_url: &str,
        version: HttpVersion,
        config: TransportConfig,
    ) -> Result<Self, ClientError> {
        let uris = [
            endpoint(base_url, "/basic")?,
            endpoint(base_url, "/base64")?,
            endpoint(base_url, "/binary")?,
        ];
        let connections = config.connections.map_or(1, usize::from);
        let (pools, permits) = match (version, config.connections) {
            (HttpVersion::Http2, Some(_)) => (connections, None),
            (HttpVersion::Http1, Some(_)) => (1, Some(tokio::sync::Semaphore::new(connections))),
            (_, None) => (1, None),
        };
        let clients = (0..pools).map(|_| http_client(version, config)).collect();
        let gzip = config.compression == Compression::Gzip;
        Ok(Self(Arc::new(Inner { clients, next: AtomicUsize::new(0), permits, gzip, uris })))
    }

    /// Encodes `request` (JSON, or the raw image for `/binary`), posts it, decodes the answer.
    /// Waiting for a connection (HTTP/1.1 with a fixed count) is part of `wait`.
    pub async fn send(&self, request: &StudyRequest) -> Result<Reply<BasicResponse>, ClientError> {
        let started = Instant::now();
        let (uri, content_type, body) = match request {
            StudyRequest::Basic(message) => {
                (&self.0.uris[0], "application/json", json::encode(message)?)
            }
            StudyRequest::Base64(message) => {
                (&self.0.uris[1], "application/json", json::encode(message)?)
            }
            StudyRequest::Binary(message) => {
                (&self.0.uris[2], "application/octet-stream", raw::encode(message))
            }
        };
        let gzipped = [(header::CONTENT_ENCODING.as_str(), "gzip")];
        let (body, headers): (_, &[_]) =
            if self.0.gzip { (gzip::encode(&body), &gzipped) } else { (body, &[]) };
        let sent = Instant::now();
        let _permit = match &self.0.permits {
            Some(permits) => Some(permits.acquire().await.map_err(ClientError::transport)?),
            None => None,
        };
        let pool = self.0.next.fetch_add(1, Ordering::Relaxed) % self.0.clients.len();
        let (headers, body) = post(&self.0.clients[pool], uri, content_type, headers, body).await?;
        let received = Instant::now();
        let server = headers.get(timing::HEADER).map(|value| value.to_str());
        Ok(Reply::cut(json::decode(&body)?, server, [started, sent, received]))
    }
}

/// Posts `body` to `uri` with `headers` besides its content type (a `content-encoding`, say)
/// and reads the whole answer: its headers and body when it is 200 OK, else the error it
/// reports.
pub(crate) async fn post(
    client: &HttpClient,
    uri: &Uri,
    content_type: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(http::HeaderMap, Bytes), ClientError> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri.clone())
        .header(header::CONTENT_TYPE, content_type);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body)).map_err(ClientError::transport)?;
    let response = client.request(request).await.map_err(ClientError::transport)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(ClientError::transport)?.to_bytes();
    if parts.status != StatusCode::OK {
        return Err(ClientError::Status {
            status: Status::Http(parts.status),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    Ok((parts.headers, body))
}
