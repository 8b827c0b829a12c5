//! Network namespaces of this process's own. A namespace here has no name: a parked thread
//! made it (`unshare`) and stays in it, and a descriptor of it lets any thread step in
//! (`setns`) for a while ([`Namespace::enter`]) or for good (a tokio runtime's threads,
//! [`Namespace::runtime_builder`]). A socket belongs to the namespace of the thread that made
//! it, so a server that binds while in one is reachable only over that namespace's interfaces,
//! whichever threads then serve it. When the namespace's holder, descriptors and sockets are
//! gone (the process ended, however it ended), the kernel deletes it with its interfaces.

use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::Command;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use super::LinkError;

/// A network namespace this process made, kept alive until dropped.
#[derive(Debug)]
pub struct Namespace {
    fd: Arc<OwnedFd>,
    tid: libc::pid_t,
    /// Dropping the sender lets the holder thread leave (and end).
    holder: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Namespace {
    /// A new, empty network namespace (only a `lo`, down). Needs CAP_SYS_ADMIN in the
    /// process's user namespace: [`LinkError::Unprivileged`] without it.
    pub fn new() -> Result<Self, LinkError> {
        let (made, receive) = mpsc::channel();
        let (stay, stop) = mpsc::channel::<()>();
        let holder = std::thread::Builder::new()
            .name("servebench-netns".into())
            .spawn(move || {
                let namespace = unshared();
                let ok = namespace.is_ok();
                let _ = made.send(namespace);
                if ok {
                    // Parked inside the namespace: its thread id names it to `ip ... netns`.
                    let _ = stop.recv();
                }
            })
            .map_err(|error| LinkError::Io("starting a namespace's thread", error))?;
        let (fd, tid) = receive.recv().expect("the namespace thread answers")?;
        Ok(Self { fd: Arc::new(fd), tid, holder: Some((stay, holder)) })
    }

    /// The id of a thread inside the namespace, which `ip link ... netns <pid>` takes.
    pub fn thread_id(&self) -> libc::pid_t {
        self.tid
    }

    /// The namespace's inode: what `/proc/<pid>/ns/net` of every thread inside it names
    /// (`net:[<inode>]`), so a test can look for anything still in it.
    pub fn inode(&self) -> io::Result<u64> {
        use std::os::unix::fs::MetadataExt;
        Ok(File::from(self.fd.try_clone()?).metadata()?.ino())
    }

    /// Moves the calling thread into the namespace until the guard drops. Sockets the thread
    /// makes meanwhile (a listener it binds, a connection it opens) belong to the namespace,
    /// and so do the processes it starts.
    pub fn enter(&self) -> Result<Entered, LinkError> {
        let previous: OwnedFd = File::open("/proc/thread-self/ns/net")
            .map_err(|error| LinkError::Io("opening this thread's namespace", error))?
            .into();
        setns(self.fd.as_fd()).map_err(|error| LinkError::Io("entering a namespace", error))?;
        Ok(Entered { previous, not_send: PhantomData })
    }

    /// Runs `program` with `args` inside the namespace, failing with what it printed.
    pub fn run(&self, program: &'static str, args: &[&str]) -> Result<(), LinkError> {
        let _inside = self.enter()?;
        let output =
            Command::new(program).args(args).output().map_err(|error| match error.kind() {
                io::ErrorKind::NotFound => LinkError::MissingTool(program, error),
                _ => LinkError::Io("starting ip or tc", error),
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(LinkError::Command {
            command: format!("{program} {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }

    /// A builder of multi-threaded tokio runtimes (with the I/O and time drivers) whose every
    /// thread, workers and blocking pool alike, lives in the namespace: what they spawn binds
    /// and connects there. Work given to `block_on` runs on the calling thread, in whichever
    /// namespace that thread is in ([`enter`](Self::enter) it first).
    pub fn runtime_builder(&self) -> tokio::runtime::Builder {
        let fd = Arc::clone(&self.fd);
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().on_thread_start(move || {
            setns(fd.as_fd()).expect("a runtime thread enters its link's namespace");
        });
        builder
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Some((stay, holder)) = self.holder.take() {
            drop(stay);
            let _ = holder.join();
        }
    }
}

/// The calling thread inside a [`Namespace`]; dropping it moves the thread back.
#[derive(Debug)]
#[must_use = "the thread leaves the namespace when this guard drops"]
pub struct Entered {
    previous: OwnedFd,
    /// A namespace is a thread's: the guard must drop on the thread that entered.
    not_send: PhantomData<*const ()>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        // The namespace the thread came from still exists (this descriptor holds it), so
        // going back cannot fail for want of it; a thread left elsewhere would be a bug that
        // sends later sockets astray, so it is not ignored.
        setns(self.previous.as_fd()).expect("a thread goes back to its namespace");
    }
}

/// A fresh namespace for the calling thread: its descriptor and the thread's id.
fn unshared() -> Result<(OwnedFd, libc::pid_t), LinkError> {
    // SAFETY: unshare takes flags only and changes the calling thread's own namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(LinkError::Unprivileged(io::Error::last_os_error()));
    }
    let fd = File::open("/proc/thread-self/ns/net")
        .map_err(|error| LinkError::Io("opening the new namespace", error))?;
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::gettid() };
    Ok((fd.into(), tid))
}

/// Moves the calling thread into the network namespace `fd` refers to.
fn setns(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns reads a descriptor this borrow keeps open and changes only the calling
    // thread's network namespace.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
