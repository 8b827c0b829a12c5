//! Emulated links: built from namespaces, a veth pair and qdiscs, they are what they claim,
//! they keep to their own addresses, and they leave nothing behind, also when the process is
//! killed. Every test skips, saying why, where the process may not make network namespaces
//! (neither root nor in a user namespace of its own).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use servebench::error::chain;
use servebench::link::{self, Emulated, Link, LinkError, SERVER_IP, check::TRANSFER_BYTES};

/// The link, or `None` (said on stderr) where this machine cannot build one.
fn emulated(link: Link) -> Option<Emulated> {
    match Emulated::new(link.shape().expect("a shaped link")) {
        Ok(emulated) => Some(emulated),
        Err(error @ (LinkError::Unprivileged(_) | LinkError::MissingTool(..))) => {
            eprintln!("skipping: {}", chain(&error));
            None
        }
        Err(error) => panic!("{link}: {}", chain(&error)),
    }
}

#[test]
fn a_100mbit_link_moves_2_4_mb_in_190_to_240_ms() {
    let Some(emulated) = emulated(Link::shaped(100, 0)) else { return };
    let checked = link::check(&emulated).unwrap_or_else(|error| panic!("{}", chain(&error)));
    eprintln!("{checked}");
    assert_eq!(checked.transfer_bytes, TRANSFER_BYTES);
    assert!((190.0..=240.0).contains(&checked.transfer_ms), "{checked}");
    assert!(checked.holds(), "{checked}");
    assert!(checked.rtt_ms < 1.0, "{checked}");
}

#[test]
fn a_link_is_reached_only_from_its_client_side() {
    let Some(emulated) = emulated(Link::shaped(1000, 0)) else { return };
    // A runtime's threads live on their side: a listener a task binds is the server's.
    let server = emulated.server().runtime_builder().build().unwrap();
    let listener = server
        .block_on(server.spawn(tokio::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))))
        .unwrap()
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let answering = server.spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, b"hello").await.unwrap();
    });
    let at = SocketAddr::from((SERVER_IP, port));
    let mut stream = {
        let _client = emulated.client().enter().unwrap();
        TcpStream::connect(at).unwrap()
    };
    let mut hello = String::new();
    stream.read_to_string(&mut hello).unwrap();
    assert_eq!(hello, "hello");
    server.block_on(answering).unwrap();
    // This process's own namespace has no route to the link, and the client's side has no
    // way back to this namespace's loopback.
    let outside = TcpStream::connect_timeout(&at, Duration::from_millis(300));
    assert!(outside.is_err(), "the server's end was reached from outside the link");
    let root_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let root_addr = root_listener.local_addr().unwrap();
    let _client = emulated.client().enter().unwrap();
    assert!(TcpStream::connect_timeout(&root_addr, Duration::from_millis(300)).is_err());
}

/// What this process's own namespace has: interfaces, addresses, routes, qdiscs, named
/// namespaces.
fn root_network() -> String {
    let commands: [&[&str]; 5] = [
        &["ip", "-o", "link"],
        &["ip", "-o", "addr"],
        &["ip", "route"],
        &["tc", "qdisc", "show"],
        &["ip", "netns", "list"],
    ];
    let mut state = String::new();
    for command in commands {
        let output = Command::new(command[0]).args(&command[1..]).output().unwrap();
        state.push_str(&String::from_utf8_lossy(&output.stdout));
    }
    // Packet counters move with whatever else the machine does.
    state.lines().filter(|line| !line.contains("Sent ")).collect::<Vec<_>>().join("\n")
}

/// Whether any thread or open descriptor on the machine is in the namespace `inode`.
fn in_use(inode: u64) -> bool {
    let name = format!("net:[{inode}]");
    let links = |pattern: &str| -> Vec<std::path::PathBuf> {
        let Ok(dirs) = std::fs::read_dir("/proc") else { return vec![] };
        let pids =
            dirs.flatten().filter(|d| d.file_name().to_string_lossy().parse::<u32>().is_ok());
        pids.flat_map(|pid| {
            let base = pid.path().join(pattern);
            std::fs::read_dir(base).into_iter().flatten().flatten().map(|entry| entry.path())
        })
        .collect()
    };
    let tasks = links("task").into_iter().map(|task| task.join("ns/net"));
    tasks
        .chain(links("fd"))
        .any(|path| std::fs::read_link(path).is_ok_and(|target| target.to_string_lossy() == name))
}

#[test]
fn a_link_leaves_nothing_behind_when_dropped_or_killed() {
    let before = root_network();
    let Some(emulated) = emulated(Link::shaped(100, 0)) else { return };
    let inodes = [emulated.client().inode().unwrap(), emulated.server().inode().unwrap()];
    assert!(inodes.iter().all(|&inode| in_use(inode)));
    assert_eq!(root_network(), before, "building the link changed this namespace");
    drop(emulated);
    assert!(!inodes.iter().any(|&inode| in_use(inode)), "a namespace outlived its link");
    assert_eq!(root_network(), before);

    // A process holding a link, killed: the kernel takes its namespaces and all in them.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hold_a_link_until_killed", "--nocapture", "--include-ignored"])
        .env("SERVEBENCH_HOLD_LINK", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let held: Vec<u64> = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("holding ").map(str::to_owned))
        .expect("the child reports its link")
        .split(' ')
        .map(|inode| inode.parse().unwrap())
        .collect();
    assert!(held.iter().all(|&inode| in_use(inode)));
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel tears a namespace down asynchronously once its last user is gone.
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !held.iter().any(|&inode| in_use(inode))
    });
    assert!(gone, "a killed process's namespaces outlived it");
    assert_eq!(root_network(), before);
}

/// Run by the test above in a child process: builds a link, says which namespaces it holds,
/// and waits to be killed.
#[test]
#[ignore = "a helper: a_link_leaves_nothing_behind_when_dropped_or_killed runs it"]
fn hold_a_link_until_killed() {
    if std::env::var_os("SERVEBENCH_HOLD_LINK").is_none() {
        return;
    }
    let emulated = Emulated::new(Link::shaped(100, 0).shape().unwrap()).unwrap();
    let (client, server) = (emulated.client().inode().unwrap(), emulated.server().inode().unwrap());
    let mut out = std::io::stdout();
    writeln!(out, "holding {client} {server}").unwrap();
    out.flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn without_the_privileges_the_error_says_what_is_missing() {
    let unprivileged = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let probe = Command::new("setpriv").args(unprivileged).arg("true").status();
    if !probe.is_ok_and(|status| status.success()) {
        eprintln!("skipping: cannot run as an unprivileged user here (needs root and setpriv)");
        return;
    }
    let output = Command::new("setpriv")
        .args(unprivileged)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "a_100mbit_link_moves_2_4_mb_in_190_to_240_ms", "--nocapture"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipping: emulating a link needs CAP_SYS_ADMIN and CAP_NET_ADMIN")
            && stderr.contains("run as root, or under `unshare -rn`"),
        "{stderr}"
    );
}
