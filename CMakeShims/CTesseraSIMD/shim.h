// CTesseraSIMD: the one CPU instruction Swift's SIMD types cannot reach, through the compiler's
// own intrinsics header. Swift has no way to call an LLVM intrinsic, and LLVM forms AVX-512 VNNI's
// vpdpbusd only from an add-reduction, which costs a horizontal sum per block (measured: slower
// than the f32 kernel). The wrapper carries its own target attribute, so it compiles without a CPU
// flag; callers ask tessera_has_avx512_vnni() at run time first. With the Makefile's native flags
// the call inlines to the single instruction.
#ifndef TESSERA_CTESSERASIMD_SHIM_H
#define TESSERA_CTESSERASIMD_SHIM_H
#include <stdint.h>

/// 1 when this code was compiled for 512-bit vectors (AVX-512 F): Swift's `SIMD16<Float>` is then
/// one zmm register, and SGEMM's 12×32 tile fits the 32 of them; else 0 (its 6×16 tile serves).
/// Decided by the compiler flags (the Makefile gives C and Swift the same `-march=native`).
static inline int tessera_vectors_are_512_bit(void) {
#if defined(__AVX512F__)
  return 1;
#else
  return 0;
#endif
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/// 1 when this CPU has AVX-512 F, BW, VL and VNNI and the OS saves the zmm registers; else 0.
static inline int tessera_has_avx512_vnni(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int features = (b >> 16 & 1) && (b >> 30 & 1) && (b >> 31 & 1) && (c >> 11 & 1);
  if (!features || !__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return 0;  // OSXSAVE
  unsigned low, high;
  __asm__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  return (low & 0xE6) == 0xE6;  // SSE, AVX, opmask, and both halves of the zmm state
}

/// acc[i] += Σ_j u8[4i + j] · s8[4i + j] over j < 4, for i < 16: 64 unsigned bytes times 64
/// signed bytes into 16 int32 lanes (vpdpbusd). Only call when tessera_has_avx512_vnni().
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,evex512")))
static inline void tessera_dpbusd_512(void *acc, const void *u8, const void *s8) {
  __m512i sum = _mm512_loadu_si512(acc);
  sum = _mm512_dpbusd_epi32(sum, _mm512_loadu_si512(u8), _mm512_loadu_si512(s8));
  _mm512_storeu_si512(acc, sum);
}
#else
static inline int tessera_has_avx512_vnni(void) { return 0; }

static inline void tessera_dpbusd_512(void *acc, const void *u8, const void *s8) {
  int32_t *sum = (int32_t *)acc;
  const uint8_t *a = (const uint8_t *)u8;
  const int8_t *b = (const int8_t *)s8;
  for (int i = 0; i < 64; i++) sum[i / 4] += (int32_t)a[i] * (int32_t)b[i];
}
#endif
#endif
