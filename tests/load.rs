//! Load contract: the generator keeps its loop's promise (n in flight, or a schedule kept
//! whatever the server does), an open loop charges a stall to every request behind it where a
//! closed loop hides it, a server past its capacity shows rising latency, not a flat one, and
//! every failed request is counted, never retried; and an independent tool, h2load, counts
//! the same throughput. Each server here is built to behave in a known way, or to misbehave on
//! purpose.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use servebench::client::StudyClient;
use servebench::codec::json;
use servebench::fixtures;
use servebench::ids::{Arrivals, Load, Payload};
use servebench::load::{self, LoadConfig, Point, Window};
use servebench::messages::StudyRequest;
use servebench::transport::{Protocol, Target, TransportConfig};

/// How a test server misbehaves.
#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Every request takes this long.
    work: Duration,
    /// Every `n`th request (counting from 1) takes this long instead.
    stall: Option<(u64, Duration)>,
    /// Every `n`th request is answered 503.
    refuse_every: Option<u64>,
    /// One request at a time, as a single worker: a stall holds everyone behind it.
    serial: bool,
}

#[derive(Default)]
struct Server {
    behaviour: Behaviour,
    received: AtomicU64,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    worker: tokio::sync::Mutex<()>,
}

async fn basic(State(server): State<Arc<Server>>) -> Response {
    let n = server.received.fetch_add(1, Ordering::SeqCst) + 1;
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let behaviour = server.behaviour;
    let _worker = if behaviour.serial { Some(server.worker.lock().await) } else { None };
    let work = match behaviour.stall {
        Some((every, stall)) if n % every == 0 => stall,
        _ => behaviour.work,
    };
    if !work.is_zero() {
        tokio::time::sleep(work).await;
    }
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    if behaviour.refuse_every.is_some_and(|every| n % every == 0) {
        return (StatusCode::SERVICE_UNAVAILABLE, "{\"error\": \"busy\"}").into_response();
    }
    let body = json::encode(&fixtures::basic_response()).unwrap();
    ([("content-type", "application/json")], body).into_response()
}

/// A study server answering `/basic` (HTTP/1.1 and h2c) as `behaviour` says, and a client of
/// it over `protocol`.
async fn serve(protocol: Protocol, behaviour: Behaviour) -> (Arc<Server>, StudyClient, Target) {
    let server = Arc::new(Server { behaviour, ..Default::default() });
    let router = Router::new().route("/basic", post(basic)).with_state(Arc::clone(&server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let target = Target { rest, grpc: String::new() };
    let client = StudyClient::connect(protocol, TransportConfig::default(), &target).await.unwrap();
    (server, client, target)
}

/// [`serve`] over HTTP/1.1.
async fn start(behaviour: Behaviour) -> (Arc<Server>, StudyClient) {
    let (server, client, _) = serve(Protocol::RestH1, behaviour).await;
    (server, client)
}

async fn measure(load: Load, config: &LoadConfig, client: StudyClient) -> Point {
    counted(load, config, client).await.0
}

/// [`measure`], and how many requests the loop sent in all (the windows' and those it sent
/// while the last window closed).
async fn counted(load: Load, config: &LoadConfig, client: StudyClient) -> (Point, u64) {
    let request: Arc<StudyRequest> = Arc::new(Payload::Basic.request());
    let sends = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sends);
    let point = load::measure(
        load,
        config,
        move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let (client, request) = (client.clone(), Arc::clone(&request));
            async move { client.send(&request).await }
        },
        |_, _| {},
    )
    .await;
    (point, sends.load(Ordering::SeqCst))
}

fn windows(window: Window, max_windows: usize) -> LoadConfig {
    LoadConfig { window, max_windows, ..Default::default() }
}

fn rate(per_second: f64) -> Load {
    Load::Rate { per_second, arrivals: Arrivals::Constant }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_loop_shows_a_stall_that_a_closed_loop_hides() {
    // One worker; every 100th request holds it for 200 ms.
    let stalling = Behaviour {
        stall: Some((100, Duration::from_millis(200))),
        serial: true,
        ..Default::default()
    };
    let config = windows(Window::Time(Duration::from_secs(1)), 3);

    let (_, client) = start(stalling).await;
    let closed = measure(Load::Concurrency(1), &config, client).await;

    // 100 a second: each stall holds up the 20 requests due during it, and 8 slots cannot
    // send them all on time.
    let (_, client) = start(stalling).await;
    let open_config = LoadConfig { max_in_flight: 8, ..config };
    let open = measure(rate(100.0), &open_config, client).await;

    for point in [&closed, &open] {
        assert_eq!(point.failed(), 0, "{point:?}");
        assert!(point.latency.max >= 190.0, "every loop sees a stall's request: {point:?}");
    }
    // The closed loop waits out each stall with one request: 1 in 100 is slow.
    assert!(closed.latency.p90 < 20.0, "closed p90 {} ms", closed.latency.p90);
    assert!(closed.latency.mean < 20.0, "closed mean {} ms", closed.latency.mean);
    // The open loop charges the stall to the requests due during it: 1 in 5 waits.
    assert!(open.latency.p90 >= 50.0, "open p90 {} ms", open.latency.p90);
    assert!(open.latency.p99 >= 150.0, "open p99 {} ms", open.latency.p99);
    assert!(open.delayed > 0, "no request counted as delayed: {open:?}");
    assert_eq!(closed.delayed, 0, "a closed loop sends when it can: never late");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_loop_past_capacity_shows_latency_rising() {
    // One worker at 5 ms a request: about 200 a second at most; offered twice that.
    let slow = Behaviour { work: Duration::from_millis(5), serial: true, ..Default::default() };
    let (_, client) = start(slow).await;
    let config = windows(Window::Time(Duration::from_millis(500)), 4);
    let point = measure(rate(400.0), &config, client).await;

    // Answered below 90% of its rate three windows running: overloaded, and stopped there.
    assert_eq!(point.windows.len(), 3, "{point:?}");
    assert!(!point.stable, "a queue growing without end is not a steady state: {point:?}");
    let latencies: Vec<f64> = point.windows.iter().map(|window| window.latency).collect();
    for pair in latencies.windows(2) {
        assert!(pair[1] > pair[0] * 1.2, "latency did not keep rising: {latencies:?}");
    }
    assert!(point.throughput < 0.7 * 400.0, "it answered {} a second", point.throughput);
    assert!(point.throughput > 50.0, "it answered {} a second", point.throughput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_keeps_its_concurrency_in_flight() {
    let (server, client) =
        start(Behaviour { work: Duration::from_millis(5), ..Default::default() }).await;
    let config = windows(Window::Requests(200), 3);
    let point = measure(Load::Concurrency(4), &config, client).await;
    assert_eq!(server.most_in_flight.load(Ordering::SeqCst), 4);
    assert_eq!(point.sent, 600, "three windows of 200 requests");
    // Four at a time, 5 ms each: about 800 a second, far from 200 (one at a time).
    assert!(point.throughput > 400.0, "{} a second", point.throughput);
    // Little's law: in flight = throughput x time in the system.
    let in_flight = point.throughput * point.latency.mean / 1000.0;
    assert!((3.6..=4.4).contains(&in_flight), "throughput x mean latency = {in_flight}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_counted_by_kind_and_never_retried() {
    let refusing = Behaviour { refuse_every: Some(10), ..Default::default() };
    let (server, client) = start(refusing).await;
    let config = windows(Window::Requests(100), 3);
    let (point, sends) = counted(Load::Concurrency(1), &config, client).await;
    // One at a time: the windows hold requests 1-300 and each tenth was refused.
    assert_eq!(point.sent, 300);
    let refused = &point.errors["HTTP 503 Service Unavailable"];
    assert_eq!(refused.count, 30, "{:?}", point.errors);
    assert!(refused.example.contains("busy"), "{}", refused.example);
    assert_eq!(point.succeeded, 270, "failed requests are not timed");
    // Nothing was sent twice: the server saw one request for each the loop sent (the windows'
    // 300 and the few sent while the last window closed, all let finish); a retried refusal
    // would be one more.
    let received = server.received.load(Ordering::SeqCst);
    assert!(sends >= 300, "the loop sent {sends}");
    assert_eq!(received, sends, "the server received {received} of {sends} sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_fails_requests_as_timeouts() {
    let hanging = Behaviour { work: Duration::from_secs(3600), ..Default::default() };
    let (_, client) = start(hanging).await;
    let config =
        LoadConfig { timeout: Duration::from_millis(100), ..windows(Window::Requests(5), 3) };
    let point = measure(Load::Concurrency(5), &config, client).await;
    assert_eq!(point.errors["timeout"].count, 15, "{:?}", point.errors);
    assert_eq!(point.throughput, 0.0);
    assert!(!point.stable);
}

/// h2load's requests a second against `url`'s `/basic`, `concurrency` at a time: that many
/// connections of one request each over HTTP/1.1, one connection of that many streams over
/// HTTP/2 (as servebench's clients do), for 2 s after a second's warm-up.
fn h2load(url: &str, protocol: Protocol, concurrency: usize) -> f64 {
    let dir = std::env::temp_dir().join(format!("servebench-h2load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("basic.json");
    std::fs::write(&body, json::encode(&fixtures::basic_request()).unwrap()).unwrap();
    let n = concurrency.to_string();
    let (connections, streams, h1) = match protocol {
        Protocol::RestH1 => (n.as_str(), "1", true),
        _ => ("1", n.as_str(), false),
    };
    let mut command = std::process::Command::new("h2load");
    command.args(["-c", connections, "-m", streams, "-D", "2", "--warm-up-time", "1"]);
    if h1 {
        command.arg("--h1");
    }
    let output = command
        .arg("-d")
        .arg(&body)
        .args(["-H", "content-type: application/json", &format!("{url}/basic")])
        .output()
        .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "h2load failed: {text}");
    assert!(text.contains(" 0 failed, 0 errored, 0 timeout"), "h2load saw failures: {text}");
    // "finished in 3.00s, 5792.33 req/s, 11.47MB/s"
    let finished = text.lines().find(|line| line.starts_with("finished in")).unwrap();
    let rate = finished.split(", ").nth(1).and_then(|part| part.strip_suffix(" req/s"));
    rate.and_then(|rate| rate.parse().ok()).unwrap_or_else(|| panic!("{finished}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2load_counts_the_throughput_servebench_counts() {
    let found = std::process::Command::new("h2load").arg("--version").output();
    if !found.is_ok_and(|output| output.status.success()) {
        eprintln!(
            "skipped: h2load is not installed (Debian's nghttp2-client; scripts/setup installs \
             it when run as root)"
        );
        return;
    }
    // Each request takes 10 ms of the server's time but none of its CPU: the server, not
    // either client or this machine's other load, sets the throughput (about 400/s at 4 in
    // flight), so what is compared is what each tool counts.
    let paced = Behaviour { work: Duration::from_millis(10), ..Default::default() };
    let config = windows(Window::Time(Duration::from_secs(1)), 5);
    for protocol in [Protocol::RestH1, Protocol::RestH2] {
        let (_, client, target) = serve(protocol, paced).await;
        let url = target.rest.clone();
        let theirs = tokio::task::spawn_blocking(move || h2load(&url, protocol, 4)).await.unwrap();
        let ours = measure(Load::Concurrency(4), &config, client).await;
        assert_eq!(ours.failed(), 0, "{ours:?}");
        let ratio = ours.throughput / theirs;
        eprintln!(
            "{protocol} c4, 10 ms a request: servebench {:.1}/s, h2load {theirs:.1}/s, ratio {ratio:.3}",
            ours.throughput
        );
        assert!((0.9..=1.1).contains(&ratio), "{protocol}: {ratio:.3}");
    }
}
