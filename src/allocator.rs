//! The C allocator's policy for big blocks, such as libtorch's tensors: kept for reuse, not
//! handed back to the kernel and faulted in again.
//!
//! Why it exists: glibc's malloc serves a block over its mmap threshold with a fresh mapping,
//! trims freed memory at the heap's top back to the kernel, and moves that threshold as blocks
//! are freed. So a stage's time alone depended on what its bench process had allocated before:
//! after `inference/batch/b8` ran, `inference/batch/b20` took 10.8 ms instead of 1.1 ms and a
//! ResNet-50 forward pass (`inference/resnet50_cpu/b1`) 39.6 ms instead of 31.6 ms (2 cores),
//! the difference being page faults. [`keep_freed_memory`] fixes the policy, as
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=...:glibc.malloc.trim_threshold=...` would from
//! outside, so `benches/inference.rs` measures the same in any order or filter.
//!
//! The servers leave glibc's default alone, as TorchServe's Python workers do: fixed, it made
//! the model server's `end_to_end/grpc_raw/360x640/cpu_b1` 16% slower (`servebench compare`,
//! 99% confidence; REST unchanged), likely through gRPC's growing message buffers: a mapped
//! block grows by remapping, a heap block by copying (not measured apart).

/// Blocks up to this size come from the heap and are reused (glibc's largest allowed value on
/// 64-bit, half its 64 MiB heap size); a 1080x1920 image or a batch of 20 224x224 inputs is
/// well under it.
pub const MMAP_THRESHOLD: usize = 32 << 20;

/// Free memory at the heap's top beyond this is returned to the kernel.
pub const TRIM_THRESHOLD: usize = 256 << 20;

/// Fixes the C allocator's policy for this process: big blocks come from the heap, and freed
/// memory stays there for reuse up to [`TRIM_THRESHOLD`]. Returns whether the allocator took
/// it: `false` where the C library is not glibc (musl, macOS), whose allocators have no such
/// knobs and are left as they are.
pub fn keep_freed_memory() -> bool {
    imp::keep_freed_memory()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::ffi::c_int;

    // glibc's <malloc.h>.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;

    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }

    pub fn keep_freed_memory() -> bool {
        let set = |param, value: usize| {
            let value = c_int::try_from(value).expect("the thresholds fit a C int");
            // SAFETY: mallopt only changes malloc's tunables, under malloc's own lock; any
            // values are valid to pass (it refuses the ones it does not take, returning 0).
            unsafe { mallopt(param, value) == 1 }
        };
        // Setting either threshold also stops glibc from moving them as blocks are freed.
        set(M_MMAP_THRESHOLD, super::MMAP_THRESHOLD) & set(M_TRIM_THRESHOLD, super::TRIM_THRESHOLD)
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn keep_freed_memory() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_policy() {
        assert!(super::keep_freed_memory());
        // Idempotent.
        assert!(super::keep_freed_memory());
    }
}
