//! This process's resident memory, for the training view's live "memory" figure.
//!
//! Read from `/proc/self/status` (`VmRSS`, in kB) where the OS has it (Linux); `None` elsewhere,
//! and the UI then leaves the figure out rather than show a guess.

/// Bytes of this process now resident in RAM, when the OS says.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// The `VmRSS:  1234 kB` line of a `/proc/<pid>/status` text, in bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resident_size_is_read_in_bytes_from_the_vmrss_line() {
        let status = "Name:\ttunesmith\nVmHWM:\t  9000 kB\nVmRSS:\t  2048 kB\nThreads:\t2\n";
        assert_eq!(parse_vm_rss(status), Some(2048 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_resident_size_on_linux() {
        assert!(resident_bytes().is_some_and(|b| b > 1024 * 1024));
    }
}
