//! The `servebench` binary as a user runs it: `serve-study` answers any client, `fixtures`
//! writes the study's images, `load` drives its own servers or anyone's and writes its runs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use servebench::client::StudyClient;
use servebench::fixtures;
use servebench::messages::StudyRequest;
use servebench::transport::{Protocol, Target, TransportConfig};

/// Kills the server even when an assertion fails first.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `servebench <command> --rest 127.0.0.1:0 --grpc 127.0.0.1:0` and reads the two
/// addresses it prints first, REST then gRPC; the rest of its output is read and dropped.
fn serve(command: &str) -> (Running, Target) {
    let child = Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args([command, "--rest", "127.0.0.1:0", "--grpc", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut url_after = |prefix: &str| {
        let line = lines.next().unwrap().unwrap();
        assert!(line.starts_with(prefix), "{line}");
        line.rsplit(' ').next().unwrap().to_owned()
    };
    let rest = url_after("REST");
    let grpc = url_after("gRPC");
    // Keep reading what it prints later, so its stdout never closes under it.
    std::thread::spawn(move || lines.for_each(drop));
    (server, Target { rest, grpc })
}

#[tokio::test]
async fn serve_study_answers_rest_and_grpc_on_the_addresses_it_prints() {
    let (_server, target) = serve("serve-study");

    let request = StudyRequest::Basic(fixtures::basic_request());
    for protocol in Protocol::ALL {
        let client =
            StudyClient::connect(protocol, TransportConfig::default(), &target).await.unwrap();
        let reply = client.send(&request).await.unwrap();
        assert_eq!(reply.answer, fixtures::basic_response(), "{protocol}");
    }
}

#[test]
fn fixtures_command_writes_the_study_images() {
    let dir = std::env::temp_dir().join(format!("servebench-cli-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args(["fixtures", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert!(dir.join(fixtures::ImageSpec::study(fixtures::STUDY_SIZES[2]).file_name()).is_file());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args(["serve-study", "--rest", "nonsense"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'nonsense'"));
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn serve_answers_curl_t_and_grpc_on_the_addresses_it_prints() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use servebench::client::torchserve::ModelClient;
    use servebench::transport::Route;

    let (_server, target) = serve("serve");
    let image = fixtures::image(fixtures::ImageSpec::study(fixtures::STUDY_SIZES[0]));
    let request = http::Request::put(format!("{}/predictions/resnet50", target.rest))
        .body(Full::new(image.clone()))
        .unwrap();
    let response =
        Client::builder(TokioExecutor::new()).build_http().request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert!(response.headers().contains_key(servebench::timing::HEADER));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer.as_object().unwrap().len(), 5, "{answer:?}");

    let grpc = ModelClient::connect(Route::Grpc, &target, "resnet50").await.unwrap();
    let reply = grpc.predict(&image).await.unwrap();
    assert_eq!(reply.answer.torchserve(), Some(&answer), "gRPC answers as REST does");
}

/// Runs `servebench load <args> --out <dir>`, a second a point at most, and reads back the run
/// of `workload` it wrote.
fn load(workload: &str, args: &[&str]) -> servebench::report::load::LoadRun {
    // A folder per workload: the tests run side by side in one process.
    let stem = workload.replace('/', "-");
    let dir = std::env::temp_dir().join(format!("servebench-load-{}-{stem}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_servebench"))
        .args(["load", workload, "--window", "0.2", "--max-windows", "4", "--out"])
        .arg(&dir)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stdout}{stderr}", output.status);
    assert!(stdout.starts_with(&format!("{workload} (")), "the table comes first: {stdout}");
    let run =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.json"))).unwrap()).unwrap();
    let csv = std::fs::read_to_string(dir.join(format!("{stem}.csv"))).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let run: servebench::report::load::LoadRun = run;
    assert_eq!(csv.lines().count(), run.points.len() + 1, "{csv}");
    assert!(csv.starts_with("id,load,offered_per_s,throughput_per_s,"), "{csv}");
    for (line, point) in csv.lines().skip(1).zip(&run.points) {
        assert!(line.starts_with(&format!("load/{workload}/{},", point.load)), "{line}");
    }
    run
}

#[test]
fn load_sweeps_an_in_process_server_and_its_floor() {
    let run = load("study/rest_h2/basic", &["--concurrency", "1:4"]);
    assert_eq!(run.target, "in-process");
    let loads: Vec<String> = run.points.iter().map(|point| point.load.to_string()).collect();
    assert_eq!(loads, ["c1", "c2", "c4"]);
    for point in &run.points {
        assert_eq!(point.failed(), 0, "{point:?}");
        assert!(point.throughput > 0.0 && point.latency.p50 > 0.0, "{point:?}");
        assert!(point.server.contains_key(&servebench::timing::Stage::Decode), "{point:?}");
    }
    let floor = load("study/tcp_floor/basic", &["--rate", "200", "--poisson"]);
    let [point] = &floor.points[..] else { panic!("{floor:?}") };
    assert_eq!(point.load.to_string(), "r200_poisson");
    assert!(point.server.is_empty(), "the floor sends no timings");
}

#[test]
fn load_searches_an_external_server_for_its_highest_rate_under_a_budget() {
    let (_server, target) = serve("serve-study");
    // A second a request could not be missed: the search's top is the answer.
    let run = load(
        "study/grpc/basic",
        // Sub-millisecond means wander more than 10% from window to window here: the test is
        // of the search, so any steady state will do.
        &["--grpc", &target.grpc, "--search", "20:80", "--budget", "1000", "--tolerance", "50"],
    );
    assert_eq!(run.target, target.grpc);
    let found = run.search.as_ref().unwrap();
    assert_eq!((found.sustained, found.at_top), (Some(80.0), true), "{found:?}");
    assert_eq!(found.budget, "p99 <= 1000 ms");
    assert_eq!(run.points.len(), 2, "the bottom and the top of the range");
}

#[test]
fn load_refuses_what_it_cannot_run_with_the_reason() {
    let refused = |args: &[&str]| {
        let output =
            Command::new(env!("CARGO_BIN_EXE_servebench")).arg("load").args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} ran");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(refused(&["study/rest_h3/basic"]).contains("rest_h3/basic"));
    assert!(refused(&["model/grpc_raw/360x640/external"]).contains("give its URLs"));
    assert!(refused(&["study/grpc/basic", "--search", "1:10"]).contains("--budget"));
    assert!(
        refused(&["study/grpc/basic", "--budget", "10", "--budget-statistic", "p97"])
            .contains("p99.9")
    );
    assert!(refused(&["study/grpc/basic", "--rate", "0"]).contains("FROM[:TO[:STEP]]"));
    assert!(
        refused(&["study/grpc@100mbit/basic", "--grpc", "http://127.0.0.1:9"])
            .contains("not behind an emulated link")
    );
}

#[test]
fn load_crosses_an_emulated_link_it_checked_first() {
    if let Err(error) = servebench::link::namespace::Namespace::new() {
        eprintln!("skipping: {}", servebench::error::chain(&error));
        return;
    }
    let payload: servebench::ids::Payload = "binary_1080x1920".parse().unwrap();
    let StudyRequest::Binary(request) = payload.request() else { panic!("a binary request") };
    let link = servebench::link::Link::shaped(100, 0);
    let wire = link.shape().unwrap().wire_time(request.image.len() as u64).as_secs_f64();
    let run = load(
        &format!("study/rest_h1@{link}/{payload}"),
        &["--concurrency", "1", "--window-requests", "3"],
    );
    let check = run.link.as_ref().expect("the run records its link's check");
    assert!(check.link == link && check.holds(), "{check}");
    let [point] = &run.points[..] else { panic!("{run:?}") };
    assert_eq!(point.failed(), 0, "{point:?}");
    // One 2.4 MB image at a time can go no faster than the wire, and (on loopback it takes
    // under 10 ms) takes little more.
    assert!(
        point.latency.p50 >= wire * 1e3,
        "p50 {} ms under the wire's {wire} s",
        point.latency.p50
    );
    assert!(point.latency.p50 <= wire * 1.5e3, "p50 {} ms, wire {wire} s", point.latency.p50);
    assert!(point.throughput <= 1.0 / wire, "{point:?}");
}

#[cfg(feature = "torch")]
#[test]
fn load_drives_the_model_server_and_reports_its_queue() {
    let run =
        load("model/rest_h1_raw/360x640/cpu_b1", &["--concurrency", "2", "--window-requests", "4"]);
    let [point] = &run.points[..] else { panic!("{run:?}") };
    assert_eq!(point.failed(), 0, "{point:?}");
    for stage in ["queue", "decode", "preprocess", "infer", "postprocess"] {
        let stage = serde_json::from_value(serde_json::json!(stage)).unwrap();
        assert!(point.server.contains_key(&stage), "{stage:?} missing: {point:?}");
    }
}

#[cfg(feature = "torch")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_requests_in_flight_finish_and_exits_0() {
    use servebench::client::torchserve::ModelClient;
    use servebench::transport::{Body, HttpVersion, Route};

    let (mut server, target) = serve("serve");
    let image = fixtures::image(fixtures::ImageSpec::study(fixtures::STUDY_SIZES[0]));
    let route = Route::Rest(HttpVersion::Http1, Body::Raw);
    let client = ModelClient::connect(route, &target, "resnet50").await.unwrap();
    // Eight at once to one worker at batch 1: answered one after another, tens of ms each.
    let (done, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..8 {
        let (client, image, done) = (client.clone(), image.clone(), done.clone());
        tokio::spawn(async move { done.send(client.predict(&image).await).unwrap() });
    }
    // The first answer back means every request has long been sent (a few hundred KB each over
    // loopback); the other seven are still queued behind the worker when SIGTERM comes.
    let first = answers.recv().await.unwrap();
    assert!(first.is_ok(), "{first:?}");
    let pid = libc::pid_t::try_from(server.0.id()).unwrap();
    // SAFETY: kill sends a signal to the child this test started and still holds.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    for _ in 1..8 {
        let reply = answers.recv().await.unwrap().expect("a request in flight at SIGTERM");
        assert!(reply.answer.torchserve().is_some(), "{reply:?}");
    }
    let status = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "still running 30 s after SIGTERM");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    assert!(status.success(), "drained, it exits 0, not 143: {status:?}");
    // And it no longer takes connections.
    let addr = target.rest.trim_start_matches("http://");
    assert!(std::net::TcpStream::connect(addr).is_err(), "still listening on {addr}");
}
