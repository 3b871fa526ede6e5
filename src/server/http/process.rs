//! `Process`: this process's CPU time, memory, file descriptors, threads
//! and start time, read from /proc (Linux) for `/metrics` (Prometheus's
//! standard `process_*` families) and the API's summaries.
//!
//! In scope: reading /proc/self and parsing what it says (pure, tested on
//! captured text). Out of scope: other systems, where each figure is
//! `None` and its family is left out.

use std::fs;

/// What the kernel reports CPU and start times in: `USER_HZ`, 100 on
/// every Linux architecture this runs on (the /proc ABI keeps it fixed
/// whatever the kernel's own tick rate).
const TICKS_PER_SECOND: f64 = 100.0;

/// This process's figures; `None` for any /proc did not give.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Process {
    /// User and system CPU time, in seconds.
    pub(crate) cpu_seconds: Option<f64>,
    /// Resident memory (`VmRSS`), in bytes.
    pub(crate) resident_bytes: Option<u64>,
    /// Virtual memory (`VmSize`), in bytes.
    pub(crate) virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub(crate) open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub(crate) max_fds: Option<u64>,
    /// When it started, in seconds since 1970.
    pub(crate) start_time_seconds: Option<f64>,
    /// Threads.
    pub(crate) threads: Option<u64>,
}

impl Process {
    /// Reads the figures from /proc/self now.
    pub(crate) fn read() -> Process {
        let text = |path: &str| fs::read_to_string(path).unwrap_or_default();
        let mut process = Process::default();
        process.parse_status(&text("/proc/self/status"));
        process.parse_stat(&text("/proc/self/stat"), boot_time(&text("/proc/stat")));
        process.max_fds = max_open_files(&text("/proc/self/limits"));
        process.open_fds = fs::read_dir("/proc/self/fd").ok().map(|fds| fds.count() as u64);
        process
    }

    /// Memory and threads from `/proc/self/status`.
    fn parse_status(&mut self, status: &str) {
        let field = |name: &str| {
            let line = status.lines().find_map(|l| l.strip_prefix(name))?;
            line.split_whitespace().next()?.parse::<u64>().ok()
        };
        self.resident_bytes = field("VmRSS:").map(|kib| kib * 1024);
        self.virtual_bytes = field("VmSize:").map(|kib| kib * 1024);
        self.threads = field("Threads:");
    }

    /// CPU time and start time from `/proc/self/stat`, `boot_time` the
    /// system's start in seconds since 1970 (`/proc/stat`'s `btime`).
    fn parse_stat(&mut self, stat: &str, boot_time: Option<u64>) {
        // The fields after the command name, which may hold spaces and
        // parentheses: the last `)` ends it. Fields are numbered from 1
        // (proc(5)); the first after the name is the 3rd.
        let Some((_, after)) = stat.rsplit_once(')') else {
            return;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        let number = |n: usize| fields.get(n.checked_sub(3)?)?.parse::<f64>().ok();
        self.cpu_seconds = number(14)
            .zip(number(15))
            .map(|(utime, stime)| (utime + stime) / TICKS_PER_SECOND);
        self.start_time_seconds = number(22)
            .zip(boot_time)
            .map(|(ticks, boot)| boot as f64 + ticks / TICKS_PER_SECOND);
    }
}

/// `btime` of `/proc/stat`: when the system started, in seconds since
/// 1970.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_status_and_limits_are_read_as_proc_5_lays_them_out() {
        let mut process = Process::default();
        // A command name with a space and a parenthesis, as a thread may
        // be named: fields are counted after its last `)`.
        let stat = "4242 (rtmp (x) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 50 0 0 20 0 7 0 123456 104857600 2560 18446744073709551615 0";
        process.parse_stat(stat, boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"));
        assert_eq!(process.cpu_seconds, Some(3.0));
        assert_eq!(process.start_time_seconds, Some(1_700_000_000.0 + 1234.56));
        let status = "Name:\trustic_rtmp\nVmSize:\t  102400 kB\nVmRSS:\t    10240 kB\nThreads:\t7\n";
        process.parse_status(status);
        assert_eq!(process.resident_bytes, Some(10 * 1024 * 1024));
        assert_eq!(process.virtual_bytes, Some(100 * 1024 * 1024));
        assert_eq!(process.threads, Some(7));
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            20000                1048576              files     \n";
        assert_eq!(max_open_files(limits), Some(20000));
    }

    #[test]
    fn nothing_read_is_nothing_claimed() {
        let mut process = Process::default();
        process.parse_stat("", None);
        process.parse_status("");
        assert_eq!(process, Process::default());
        assert_eq!(
            max_open_files("Max open files            unlimited            unlimited"),
            None
        );
    }

    #[test]
    fn this_process_is_read() {
        let process = Process::read();
        assert!(process.resident_bytes.is_some_and(|b| b > 0), "{process:?}");
        assert!(process.open_fds.is_some_and(|n| n >= 3), "{process:?}");
        assert!(process.threads.is_some_and(|n| n >= 1), "{process:?}");
        assert!(process.start_time_seconds.is_some_and(|t| t > 1.6e9), "{process:?}");
    }
}
