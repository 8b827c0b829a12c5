//! Batching contract: requests are grouped up to the batch size, a lone request waits no longer
//! than the delay, every caller gets its own answer, a full queue refuses at once, and a
//! failing batch fails only its own requests.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use servebench::server::batching::{BatchConfig, BatchError, Batcher};

fn config(batch_size: usize, delay_ms: u64) -> BatchConfig {
    BatchConfig {
        batch_size,
        max_batch_delay: Duration::from_millis(delay_ms),
        ..Default::default()
    }
}

#[tokio::test]
async fn concurrent_requests_share_a_batch_and_get_their_own_answers() {
    let (sizes, seen) = mpsc::channel();
    let batcher = Batcher::start(config(4, 2_000), move |_| {
        let sizes = sizes.clone();
        move |inputs: Vec<u32>| {
            sizes.send(inputs.len()).unwrap();
            inputs.into_iter().map(|x| x * 10).collect::<Vec<_>>()
        }
    });
    let answers: Vec<_> = (1..=4).map(|x| batcher.submit(x).unwrap()).collect();
    for (x, answer) in (1..=4).zip(answers) {
        let batched = answer.await.unwrap();
        assert_eq!((batched.output, batched.batch_size), (x * 10, 4));
    }
    assert_eq!(seen.recv().unwrap(), 4);
    batcher.shutdown();
}

#[tokio::test]
async fn a_lone_request_runs_once_the_delay_is_over() {
    let batcher = Batcher::start(config(8, 50), |_| |inputs: Vec<u32>| inputs);
    let batched = batcher.submit(7).unwrap().await.unwrap();
    assert_eq!((batched.output, batched.batch_size), (7, 1));
    assert!(batched.queued >= Duration::from_millis(50), "{:?}", batched.queued);

    let unbatched = Batcher::start(config(1, 10_000), |_| |inputs: Vec<u32>| inputs);
    assert_eq!(unbatched.submit(3).unwrap().await.unwrap().batch_size, 1);
}

#[tokio::test]
async fn a_full_queue_refuses_at_once() {
    let (entered, worker_entered) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let released = Arc::new(Mutex::new(released));
    let batcher = Batcher::start(BatchConfig { queue_capacity: 2, ..config(1, 0) }, move |_| {
        let (entered, released) = (entered.clone(), Arc::clone(&released));
        move |inputs: Vec<u32>| {
            entered.send(()).unwrap();
            released.lock().unwrap().recv().unwrap();
            inputs
        }
    });
    let first = batcher.submit(1).unwrap();
    worker_entered.recv().unwrap(); // the worker holds request 1: the queue is empty again
    let waiting = [batcher.submit(2).unwrap(), batcher.submit(3).unwrap()];
    assert_eq!(batcher.submit(4).err(), Some(BatchError::QueueFull { capacity: 2 }));
    for _ in 0..3 {
        release.send(()).unwrap();
    }
    assert_eq!(first.await.unwrap().output, 1);
    for (x, answer) in [2, 3].into_iter().zip(waiting) {
        assert_eq!(answer.await.unwrap().output, x);
    }
    batcher.shutdown();
}

#[tokio::test]
async fn a_failing_batch_fails_only_its_own_requests() {
    let batcher = Batcher::start(config(1, 0), |_| {
        |inputs: Vec<u32>| {
            assert_ne!(inputs[0], 13, "unlucky input");
            inputs
        }
    });
    let error = batcher.submit(13).unwrap().await.unwrap_err();
    assert!(
        matches!(&error, BatchError::WorkerFailed(reason) if reason.contains("unlucky input")),
        "{error}"
    );
    assert_eq!(batcher.submit(14).unwrap().await.unwrap().output, 14);

    let short = Batcher::start(config(1, 0), |_| |_: Vec<u32>| Vec::<u32>::new());
    let error = short.submit(1).unwrap().await.unwrap_err();
    assert_eq!(error, BatchError::WorkerFailed("0 answers for 1 requests".into()));
}

#[tokio::test]
async fn shutdown_finishes_what_is_queued() {
    let batcher = Batcher::start(BatchConfig { workers: 2, ..config(2, 20) }, |worker| {
        move |inputs: Vec<u32>| inputs.into_iter().map(|x| (x, worker)).collect::<Vec<_>>()
    });
    let answers: Vec<_> = (0..6).map(|x| batcher.submit(x).unwrap()).collect();
    tokio::task::spawn_blocking(move || batcher.shutdown()).await.unwrap();
    for (x, answer) in (0..6).zip(answers) {
        let batched = answer.await.unwrap();
        assert_eq!(batched.output.0, x);
        assert!(batched.output.1 < 2 && (1..=2).contains(&batched.batch_size));
    }
}
