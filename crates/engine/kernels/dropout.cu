// Dropout whose mask is a pure function of (key, element index): the CUDA side of
// crates/engine/src/nn/dropout.rs. Compiled to PTX by crates/engine/build.rs (cuda feature only).
//
// Element e of the contiguous input reads mask position
//     idx = offset + (e / inner) * stride + (e % inner)
// (stride 0: idx = offset + e), so a block of a larger virtual mask can be applied in place. The
// element is kept iff the top 24 bits of SplitMix64::at(key, idx) are >= threshold
// (threshold = floor(p * 2^24), computed on the host); a kept element becomes x * scale (the
// product in f32, or f64 for f64, then rounded to the element type), a dropped one +0.
//
// Everything up to the keep decision is integer arithmetic, and the kept value is one correctly
// rounded multiply, so the output equals the CPU's (dropout.rs, `MaskOp::cpu_loop`) bit for bit.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

typedef unsigned long long u64;
typedef unsigned int u32;

// tunesmith_vocab::SplitMix64::at: mix(seed + (index + 1) * GOLDEN_GAMMA), all mod 2^64.
__device__ __forceinline__ u64 splitmix64_at(u64 seed, u64 index) {
    u64 z = seed + (index + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

__device__ __forceinline__ bool keep(u64 e, u64 key, u32 threshold, u64 inner, u64 stride,
                                     u64 offset) {
    u64 idx = stride == 0ull ? offset + e : offset + (e / inner) * stride + (e % inner);
    return (u32)(splitmix64_at(key, idx) >> 40) >= threshold;
}

#define DROPOUT_KERNEL(NAME, T, TO_F, FROM_F, F, MUL)                                        \
    extern "C" __global__ void NAME(const T *x, T *y, u64 n, u64 key, u32 threshold,          \
                                    float scale, u64 inner, u64 stride, u64 offset) {         \
        u64 step = (u64)blockDim.x * (u64)gridDim.x;                                          \
        for (u64 e = (u64)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += step) {          \
            if (keep(e, key, threshold, inner, stride, offset)) {                             \
                y[e] = FROM_F(MUL(TO_F(x[e]), (F)scale));                                     \
            } else {                                                                          \
                y[e] = FROM_F((F)0);                                                          \
            }                                                                                 \
        }                                                                                     \
    }

#define ID(v) (v)

DROPOUT_KERNEL(tunesmith_dropout_f32, float, ID, ID, float, __fmul_rn)
DROPOUT_KERNEL(tunesmith_dropout_f64, double, ID, ID, double, __dmul_rn)
DROPOUT_KERNEL(tunesmith_dropout_bf16, __nv_bfloat16, __bfloat162float, __float2bfloat16_rn, float,
               __fmul_rn)
DROPOUT_KERNEL(tunesmith_dropout_f16, __half, __half2float, __float2half_rn, float, __fmul_rn)
