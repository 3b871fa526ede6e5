//! glibc's allocator for a thread per connection: the settings the
//! program restarts itself with, and the memory given back to the kernel
//! after connections close.
//!
//! In scope: `GLIBC_TUNABLES` at start, `malloc_trim` after closes.
//! Out of scope: anything other C libraries need (they keep no memory back
//! the way glibc does).

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rustic_rtmp::ServerHandle;

/// glibc settings for a thread per connection (see
/// `restart_with_malloc_settings`).
const MALLOC_SETTINGS: [(&str, &str); 3] = [
    ("glibc.malloc.tcache_count", "0"),
    ("glibc.malloc.arena_max", "2"),
    ("glibc.pthread.stack_cache_size", "0"),
];

/// Runs this program again, in place (same process id), with glibc's
/// allocator set for a thread per connection; what `GLIBC_TUNABLES`
/// already sets is kept:
/// - no per-thread caches of freed blocks (`tcache_count=0`): each kept up
///   to seven freed blocks of every small size it ever freed, out of reach
///   of other threads, 8.5 KiB of RSS per idle player, a third of the total
///   (bench, 1000 players); the publishing thread, which does the
///   allocating, showed no cost without them;
/// - two arenas, not sixteen (`arena_max=2`): freed memory spread over
///   fewer arenas is reused sooner as players come and go;
/// - no cache of exited threads' stacks (`stack_cache_size=0`): glibc kept
///   up to 40 MiB of them, with 12 KiB each still resident.
///
/// With the last two, RSS 10 s after 1200 players came and went in waves
/// fell from 6.2-6.5 to 2.6-3.7 MB over what it was before. glibc reads
/// these only at start, hence the exec. Elsewhere than glibc the variable
/// means nothing.
pub(crate) fn restart_with_malloc_settings() {
    // Set in the restarted program: never restart twice, whatever the C
    // library made of the variable (glibc 2.36 shows only its first
    // setting to /proc/PID/environ, though it applies them all).
    const RESTARTED: &str = "RUSTIC_RTMP_MALLOC_SET";
    if std::env::var_os(RESTARTED).is_some() {
        return;
    }
    let given = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let missing: Vec<String> = MALLOC_SETTINGS
        .iter()
        .filter(|(name, _)| !given.contains(name))
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    if missing.is_empty() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tunables = [given]
        .into_iter()
        .filter(|g| !g.is_empty())
        .chain(missing)
        .collect::<Vec<_>>()
        .join(":");
    let mut args = std::env::args_os();
    let mut command = Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    // Returns only if the exec failed: go on as glibc is.
    let e = command
        .args(args)
        .env("GLIBC_TUNABLES", &tunables)
        .env(RESTARTED, "1")
        .exec();
    eprintln!("rustic_rtmp: could not restart with GLIBC_TUNABLES={tunables} ({e}); going on without");
}

/// How often the binary looks whether connections closed.
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Every `TRIM_EVERY` until `stop`, gives the kernel back the memory that
/// connections which closed since the last look had freed. glibc returns
/// only the top of each arena by itself, and the stream's frames, long
/// lived, sit above what players free: 10 s after 1200 players came and
/// went in waves, RSS stayed 3.7 MB above where it started, 0.2 MB after a
/// trim (scripts/soak.sh, 30 minutes: +5.4 MB without).
pub(crate) fn trim_after_closes(server: &ServerHandle, stop: &Receiver<()>) {
    let mut open = server.connections();
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(TRIM_EVERY) {
        let now = server.connections();
        if now < open {
            release_freed_memory();
        }
        open = now;
    }
}

#[cfg(target_env = "gnu")]
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: malloc_trim takes no pointer and has no precondition; glibc
    // locks each arena while it walks it, so it is safe beside every other
    // thread's allocations.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other C libraries keep no memory back the way glibc does.
#[cfg(not(target_env = "gnu"))]
fn release_freed_memory() {}
