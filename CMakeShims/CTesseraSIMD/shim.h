// CTesseraSIMD: the integer dot-product instructions Swift's SIMD types cannot reach (AVX-512
// VNNI's vpdpbusd; AVX2's vpmaddubsw, vpmaddwd and vpsignb), through the compiler's own
// intrinsics header. Swift has no way to call an LLVM intrinsic, and LLVM forms AVX-512 VNNI's
// vpdpbusd only from an add-reduction, which costs a horizontal sum per block (measured: slower
// than the f32 kernel). Each wrapper carries its own target attribute, so it compiles without a
// CPU flag; callers ask tessera_has_avx512_vnni() or tessera_has_avx2() at run time first. With
// the Makefile's native flags the calls inline to the instructions.
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

/// Tells the CPU the caller is spinning on a memory word (x86 `pause`, ARM `yield`): the loop
/// yields its SMT sibling the core's issue slots and leaves the spin more cheaply when the word
/// changes.
static inline void tessera_spin_pause(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/// Asks the CPU to bring the cache line at `address` into the caches ahead of use (a hint: it
/// never faults, even past the end of a buffer). Streaming kernels call it a fixed distance
/// ahead of their loads where the hardware prefetcher alone leaves them waiting on memory.
static inline void tessera_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

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

/// 1 when this CPU has AVX2 and the OS saves the ymm registers; else 0.
static inline int tessera_has_avx2(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b >> 5 & 1)) return 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return 0;  // OSXSAVE
  unsigned low, high;
  __asm__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  return (low & 0x6) == 0x6;  // SSE and AVX state
}

/// Transposes a 16×16 block of floats with AVX-512 F: `dst[c·dstStride + r] = src[r·srcStride +
/// c]` for `r, c < 16` (the blocks must not overlap). Sixteen loads, four passes of shuffles in
/// registers (pairs of floats, pairs of doubles, then 128-bit lanes twice) and sixteen stores.
/// (Swift's SIMD `evenHalf`/`oddHalf` pairs give such shuffles only where the optimiser happens
/// to inline them; in the depthwise convolution they went lane by lane through the stack.) Only
/// call when tessera_has_avx512_vnni() (or when compiled for AVX-512: tessera_transpose16).
__attribute__((target("avx512f,evex512")))
static inline void tessera_transpose16_avx512(const float *src, long srcStride, float *dst, long dstStride) {
  __m512 r[16], t[16], u[16];
  for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * srcStride);
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + k], 128-bit lane q: column 4q + k of rows 4g ..< 4g + 4.
  for (int g = 0; g < 4; g++) {
    __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
    __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // Column 4q + k gathers lane q of u[k], u[4 + k], u[8 + k] and u[12 + k].
  for (int k = 0; k < 4; k++) {
    __m512 even = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88), odd = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
    __m512 even2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    __m512 odd2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    _mm512_storeu_ps(dst + k * dstStride, _mm512_shuffle_f32x4(even, even2, 0x88));
    _mm512_storeu_ps(dst + (8 + k) * dstStride, _mm512_shuffle_f32x4(even, even2, 0xDD));
    _mm512_storeu_ps(dst + (4 + k) * dstStride, _mm512_shuffle_f32x4(odd, odd2, 0x88));
    _mm512_storeu_ps(dst + (12 + k) * dstStride, _mm512_shuffle_f32x4(odd, odd2, 0xDD));
  }
}
#endif

/// `dst[c·dstStride + r] = src[r·srcStride + c]` for `r, c < 16`: tessera_transpose16_avx512 where
/// this code is compiled for AVX-512, a plain loop otherwise.
static inline void tessera_transpose16(const float *src, long srcStride, float *dst, long dstStride) {
#if defined(__AVX512F__)
  tessera_transpose16_avx512(src, srcStride, dst, dstStride);
#else
  for (int r = 0; r < 16; r++)
    for (int c = 0; c < 16; c++) dst[c * dstStride + r] = src[r * srcStride + c];
#endif
}

/// Sixteen floats a vector, in clang's vector extension (one register with AVX-512).
typedef float tessera_float16 __attribute__((ext_vector_type(16)));

/// `evens[i] = src[2i]`, `odds[i] = src[2i + 1]` for `i < 16`: two unaligned loads and two
/// two-register shuffles (a `SIMD32` load's `evenHalf` and `oddHalf` in Swift became lane
/// inserts and broadcasts).
static inline void tessera_deinterleave32(const float *src, float *evens, float *odds) {
  tessera_float16 low, high;
  __builtin_memcpy(&low, src, sizeof low);
  __builtin_memcpy(&high, src + 16, sizeof high);
  tessera_float16 even = __builtin_shufflevector(low, high, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  tessera_float16 odd = __builtin_shufflevector(low, high, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __builtin_memcpy(evens, &even, sizeof even);
  __builtin_memcpy(odds, &odd, sizeof odd);
}

/// Eight floats a vector.
typedef float tessera_float8 __attribute__((ext_vector_type(8)));

/// `evens[i] = src[2i]`, `odds[i] = src[2i + 1]` for `i < 8`: tessera_deinterleave32's half.
static inline void tessera_deinterleave16(const float *src, float *evens, float *odds) {
  tessera_float8 low, high;
  __builtin_memcpy(&low, src, sizeof low);
  __builtin_memcpy(&high, src + 8, sizeof high);
  tessera_float8 even = __builtin_shufflevector(low, high, 0, 2, 4, 6, 8, 10, 12, 14);
  tessera_float8 odd = __builtin_shufflevector(low, high, 1, 3, 5, 7, 9, 11, 13, 15);
  __builtin_memcpy(evens, &even, sizeof even);
  __builtin_memcpy(odds, &odd, sizeof odd);
}

#if defined(__x86_64__)
/// Stores into `lanes` the sixteen floats `row[first]`, … `row[first + 15]`, those outside
/// `row[0 ..< count]` as zeros without reading them (`first` may be negative): one masked load (a
/// masked-off lane never faults). Only call when tessera_has_avx512_vnni() (or when compiled for
/// AVX-512: tessera_load16_within).
__attribute__((target("avx512f,evex512")))
static inline void tessera_load16_within_avx512(const float *row, long first, long count, float *lanes) {
  long low = first < 0 ? (-first < 16 ? -first : 16) : 0;
  long high = count <= first ? 0 : count - first < 16 ? count - first : 16;
  unsigned bits = high > low ? ((1u << high) - 1) & ~((1u << low) - 1) : 0;
  const float *start = (const float *)((uintptr_t)row + (uintptr_t)(first * (long)sizeof(float)));
  _mm512_storeu_ps(lanes, _mm512_maskz_loadu_ps((__mmask16)bits, start));
}
#endif

#if defined(__x86_64__)
/// tessera_load16_within_avx512 with AVX2: two masked loads (`vmaskmovps`). AMD leaves it to the
/// implementation whether a masked-off lane may fault, so the masked loads are used only where
/// every 4 KiB page they touch holds one of the row's floats (so is mapped); otherwise the
/// floats are copied one by one. Only call when tessera_has_avx2() (or when compiled for AVX2:
/// tessera_load16_within).
__attribute__((target("avx2")))
static inline void tessera_load16_within_avx2(const float *row, long first, long count, float *lanes) {
  long low = first < 0 ? (-first < 16 ? -first : 16) : 0;
  long high = count <= first ? 0 : count - first < 16 ? count - first : 16;
  const float *start = (const float *)((uintptr_t)row + (uintptr_t)(first * (long)sizeof(float)));
  uintptr_t spanFirst = (uintptr_t)start, spanLast = spanFirst + 16 * sizeof(float) - 1;
  uintptr_t insideFirst = (uintptr_t)(start + low), insideLast = (uintptr_t)(start + high) - 1;
  if (high <= low || spanFirst >> 12 != insideFirst >> 12 || spanLast >> 12 != insideLast >> 12) {
    for (long i = 0; i < 16; i++) lanes[i] = i >= low && i < high ? start[i] : 0.0f;
    return;
  }
  __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i lowV = _mm256_set1_epi32((int)low), highV = _mm256_set1_epi32((int)high);
  for (int half = 0; half < 2; half++) {
    // Lane i is inside where low <= i < high.
    __m256i i = _mm256_add_epi32(index, _mm256_set1_epi32(8 * half));
    __m256i inside = _mm256_andnot_si256(_mm256_cmpgt_epi32(lowV, i), _mm256_cmpgt_epi32(highV, i));
    _mm256_storeu_ps(lanes + 8 * half, _mm256_maskload_ps(start + 8 * half, inside));
  }
}
#endif

/// The sixteen floats `row[first]`, … `row[first + 15]`, lanes outside `row[0 ..< count]` zero
/// and never read (`first` may be negative): a plain load where all sixteen lie inside, else
/// tessera_load16_within_avx512 where this code is compiled for AVX-512,
/// tessera_load16_within_avx2 for AVX2, a loop otherwise.
static inline tessera_float16 tessera_load16_within(const float *row, long first, long count) {
  tessera_float16 lanes = 0;
  if (first >= 0 && first + 16 <= count) {
    __builtin_memcpy(&lanes, row + first, sizeof lanes);
    return lanes;
  }
#if defined(__AVX512F__)
  tessera_load16_within_avx512(row, first, count, (float *)&lanes);
#elif defined(__AVX2__)
  tessera_load16_within_avx2(row, first, count, (float *)&lanes);
#else
  for (long i = first < 0 ? -first : 0; i < 16 && first + i < count; i++) lanes[i] = row[first + i];
#endif
  return lanes;
}

/// Lanes 0, 2, … 30 of the 32 in `low` then `high`: one two-register shuffle.
static inline tessera_float16 tessera_even_lanes32(tessera_float16 low, tessera_float16 high) {
  return __builtin_shufflevector(low, high, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

/// Lanes 1, 3, … 31 of the 32 in `low` then `high`: one two-register shuffle.
static inline tessera_float16 tessera_odd_lanes32(tessera_float16 low, tessera_float16 high) {
  return __builtin_shufflevector(low, high, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

/// `first`, then lanes 0 … 14 of `lanes`: every lane moved up one.
static inline tessera_float16 tessera_shift_up(float first, tessera_float16 lanes) {
  tessera_float16 before = first;
  return __builtin_shufflevector(before, lanes, 0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
}

#if defined(__x86_64__)
/// acc[i] += Σ_j (low[4i + j] · lowX[4i + j] + high[4i + j] · highX[4i + j]) over j < 4, for
/// i < 16: two 64-byte products of unsigned bytes below 16 (four-bit codes) by signed bytes,
/// with AVX2. In each 32-byte half, vpmaddubsw multiplies byte pairs into int16 sums (at most
/// 2 · 15 · 128 each), the two products' sums are added as int16 (at most 7680, never
/// saturated), and one vpmaddwd adds those pairs into int32 lanes: one vpmaddwd where a
/// product each took two (Zen 1 runs both multiplies on one pipe). Only call when
/// tessera_has_avx2().
__attribute__((target("avx2")))
static inline void tessera_dot_u4s8_pair_avx2(
  void *acc, const void *low, const void *lowX, const void *high, const void *highX) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int half = 0; half < 2; half++) {
    __m256i lowPairs = _mm256_maddubs_epi16(
      _mm256_loadu_si256((const __m256i *)low + half), _mm256_loadu_si256((const __m256i *)lowX + half));
    __m256i highPairs = _mm256_maddubs_epi16(
      _mm256_loadu_si256((const __m256i *)high + half), _mm256_loadu_si256((const __m256i *)highX + half));
    __m256i *sum = (__m256i *)acc + half;
    __m256i pairs = _mm256_add_epi16(lowPairs, highPairs);
    _mm256_storeu_si256(sum, _mm256_add_epi32(_mm256_loadu_si256(sum), _mm256_madd_epi16(pairs, ones)));
  }
}

/// acc[i] += Σ_j w[4i + j] · x[4i + j] over j < 4, for i < 16: 64 signed bytes times 64 signed
/// bytes in [-127, 127], with AVX2: |w| times x carrying w's sign (vpsignb) keeps vpmaddubsw's
/// pair sums within int16 (at most 2 · 128 · 127). Only call when tessera_has_avx2().
__attribute__((target("avx2")))
static inline void tessera_dot_s8s8_avx2(void *acc, const void *w, const void *x) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int half = 0; half < 2; half++) {
    __m256i weights = _mm256_loadu_si256((const __m256i *)w + half);
    __m256i signedX = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x + half), weights);
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(weights, weights), signedX);
    __m256i *sum = (__m256i *)acc + half;
    _mm256_storeu_si256(sum, _mm256_add_epi32(_mm256_loadu_si256(sum), _mm256_madd_epi16(pairs, ones)));
  }
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
static inline int tessera_has_avx2(void) { return 0; }

static inline void tessera_dot_u4s8_pair_avx2(
  void *acc, const void *low, const void *lowX, const void *high, const void *highX) {
  int32_t *sum = (int32_t *)acc;
  const uint8_t *a = (const uint8_t *)low, *c = (const uint8_t *)high;
  const int8_t *b = (const int8_t *)lowX, *d = (const int8_t *)highX;
  for (int i = 0; i < 64; i++) sum[i / 4] += (int32_t)a[i] * (int32_t)b[i] + (int32_t)c[i] * (int32_t)d[i];
}

static inline void tessera_dot_s8s8_avx2(void *acc, const void *w, const void *x) {
  int32_t *sum = (int32_t *)acc;
  const int8_t *a = (const int8_t *)w;
  const int8_t *b = (const int8_t *)x;
  for (int i = 0; i < 64; i++) sum[i / 4] += (int32_t)a[i] * (int32_t)b[i];
}

static inline void tessera_dpbusd_512(void *acc, const void *u8, const void *s8) {
  int32_t *sum = (int32_t *)acc;
  const uint8_t *a = (const uint8_t *)u8;
  const int8_t *b = (const int8_t *)s8;
  for (int i = 0; i < 64; i++) sum[i / 4] += (int32_t)a[i] * (int32_t)b[i];
}
#endif
#endif
