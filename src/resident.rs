//! This process's resident memory, for the training view's live "memory" figure, and handing the
//! memory finished jobs freed back to the operating system.
//!
//! Read from `/proc/self/status` (`VmRSS`, in kB) where the OS has it (Linux); `None` elsewhere,
//! and the UI then leaves the figure out rather than show a guess.

/// Bytes of this process now resident in RAM, when the OS says.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// Hands memory that finished jobs freed back to the operating system, where the allocator kept it
/// for reuse (glibc's `malloc_trim`; nothing elsewhere). glibc serves blocks up to 32 MB from its
/// arenas once larger ones have been freed (its mmap threshold rises), and freed arena memory stays
/// resident until trimmed: after two rounds of every job with SmolLM2-135M, 848 MB resident, 96 MB
/// once trimmed (tests/memory_rounds.rs). Returns whether anything was released.
pub fn return_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
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
