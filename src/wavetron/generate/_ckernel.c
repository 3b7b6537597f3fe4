/* The compiled per-sample loop of WaveNet's fast CPU path, in C with AVX2/FMA (weights in float32 or
 * float16), or AVX-512 BF16 (weights in bfloat16). The same algorithm as kernels.py (numba), which stays
 * the fallback where this module is not built or the CPU lacks AVX2, FMA or F16C.
 *
 * Weights arrive "blocked": a matrix W (O, I) is stored as (ceil(O/8), I, 8), so that for each input i
 * the eight outputs of a block are one contiguous vector. A matrix-vector product then needs no
 * horizontal sums: broadcast x[i], multiply-add one weight vector per block. Eight blocks are done at a
 * time, one accumulator chain each, enough independent FMAs to hide their latency. Every path sums a
 * block's inputs in the same order (one chain, i ascending), so a stream's output does not depend on how
 * streams are grouped (one at a time or four by four, i.e. on the thread count): sampled at a low
 * temperature, a last-bit difference would pick another class and the rest of the audio would follow it.
 * Padded outputs (zero weight rows) are computed and never read.
 *
 * bfloat16 weights are blocked by pairs of inputs instead: (ceil(O/16), ceil(I/2), 16, 2), so that one
 * 64-byte vector holds inputs 2p and 2p+1 of sixteen outputs, which VDPBF16PS multiplies by the input
 * pair (rounded to bfloat16 once per product) and adds into sixteen float32 sums: 32 multiply-adds per
 * instruction from half the bytes of float32. Each block keeps two chains (even and odd pairs, added at
 * the end) in every path, so here too the grouping of streams does not change a sum. At batch 1 the loop
 * streams every weight from L2 once per sample, so bytes per weight, not FMA width, set its speed.
 *
 * One call runs n steps for B streams; the Python side (fast.py) checks every shape before calling.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_KERNEL 1
#include <immintrin.h>
#else
#define HAVE_KERNEL 0
#endif

#if HAVE_KERNEL
#define TARGET __attribute__((target("avx2,fma,f16c")))
#define TARGET_BF16 __attribute__((target("avx2,fma,f16c,avx512f,avx512bf16")))
enum { F32 = 0, F16 = 1, BF16 = 2 };

typedef struct {
    int B, R, G, S, C, L, K, hop, nq, mol, half, record; /* half: F32, F16 or BF16 */
    int64_t n_prompt;
    int G8, SR8, S8, C8; /* padded output counts (multiples of the block width: 8, or 16 for bfloat16) */
    int P;               /* the block width */
    uint32_t *xpairs;    /* bfloat16 only: scratch for the inputs of one product as bfloat16 pairs */
    const float *frames, *cnst, *u;
    float *queues;
    const int64_t *offsets, *masks, *dil;
    const void *wd, *wsr, *w1, *w2;
    const float *bsr, *b1, *b2, *emb, *in_w, *in_b;
    float skip_scale, temperature, log_scale_min;
    int64_t *prev_cls;
    float *prev_val;
    const int64_t *prompt_cls;
    const float *prompt_val;
    const float *uniforms;
    int64_t *out_cls;
    float *out_val, *logits;
    int64_t rows, n_frames;
    /* excitation model (order > 0): per-sample predictor coefficients (B, n_coef, order) float32, the class
     * values (C,) float64, the last `order` samples per stream (B, order) float64, newest first, and the
     * generated signal (B, n) float64 */
    int order;
    int64_t n_coef;
    const float *coef;
    const double *table;
    double *history, *signal;
    /* per-sample temperatures (B, n) float32 of the softmax draws, in place of `temperature`; NULL: none */
    const float *temperatures;
} Job;

TARGET static inline __m256 load8(const void *w, size_t idx, int half) {
    if (half) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + idx)));
    return _mm256_loadu_ps((const float *)w + idx);
}

/* y[b, 0:8*nblk] += W x[b] for b < B. W blocked (nblk, I, 8), float32 (half 0) or float16 (half 1);
 * x (B, I) with row stride xs; y row stride ys. One stream at a time: for batch 1. */
TARGET static void matvec1(const void *W, int nblk, int I, const float *x, int xs, int B, float *y, int ys, int half) {
    int blk = 0;
    for (; blk + 8 <= nblk; blk += 8) {
        const size_t stride = (size_t)I * 8;
        const size_t base = (size_t)blk * stride;
        for (int b = 0; b < B; b++) {
            const float *xb = x + (size_t)b * xs;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int i = 0; i < I; i++) {
                __m256 xi = _mm256_broadcast_ss(xb + i);
                size_t k = base + (size_t)i * 8;
                a0 = _mm256_fmadd_ps(load8(W, k, half), xi, a0);
                a1 = _mm256_fmadd_ps(load8(W, k + stride, half), xi, a1);
                a2 = _mm256_fmadd_ps(load8(W, k + 2 * stride, half), xi, a2);
                a3 = _mm256_fmadd_ps(load8(W, k + 3 * stride, half), xi, a3);
                a4 = _mm256_fmadd_ps(load8(W, k + 4 * stride, half), xi, a4);
                a5 = _mm256_fmadd_ps(load8(W, k + 5 * stride, half), xi, a5);
                a6 = _mm256_fmadd_ps(load8(W, k + 6 * stride, half), xi, a6);
                a7 = _mm256_fmadd_ps(load8(W, k + 7 * stride, half), xi, a7);
            }
            float *yb = y + (size_t)b * ys + blk * 8;
            _mm256_storeu_ps(yb, _mm256_add_ps(_mm256_loadu_ps(yb), a0));
            _mm256_storeu_ps(yb + 8, _mm256_add_ps(_mm256_loadu_ps(yb + 8), a1));
            _mm256_storeu_ps(yb + 16, _mm256_add_ps(_mm256_loadu_ps(yb + 16), a2));
            _mm256_storeu_ps(yb + 24, _mm256_add_ps(_mm256_loadu_ps(yb + 24), a3));
            _mm256_storeu_ps(yb + 32, _mm256_add_ps(_mm256_loadu_ps(yb + 32), a4));
            _mm256_storeu_ps(yb + 40, _mm256_add_ps(_mm256_loadu_ps(yb + 40), a5));
            _mm256_storeu_ps(yb + 48, _mm256_add_ps(_mm256_loadu_ps(yb + 48), a6));
            _mm256_storeu_ps(yb + 56, _mm256_add_ps(_mm256_loadu_ps(yb + 56), a7));
        }
    }
    for (; blk + 4 <= nblk; blk += 4) {
        size_t base = (size_t)blk * I * 8, stride = (size_t)I * 8;
        for (int b = 0; b < B; b++) {
            const float *xb = x + (size_t)b * xs;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < I; i++) {
                __m256 x0 = _mm256_broadcast_ss(xb + i);
                size_t k = base + (size_t)i * 8;
                a0 = _mm256_fmadd_ps(load8(W, k, half), x0, a0);
                a1 = _mm256_fmadd_ps(load8(W, k + stride, half), x0, a1);
                a2 = _mm256_fmadd_ps(load8(W, k + 2 * stride, half), x0, a2);
                a3 = _mm256_fmadd_ps(load8(W, k + 3 * stride, half), x0, a3);
            }
            float *yb = y + (size_t)b * ys + blk * 8;
            _mm256_storeu_ps(yb, _mm256_add_ps(_mm256_loadu_ps(yb), a0));
            _mm256_storeu_ps(yb + 8, _mm256_add_ps(_mm256_loadu_ps(yb + 8), a1));
            _mm256_storeu_ps(yb + 16, _mm256_add_ps(_mm256_loadu_ps(yb + 16), a2));
            _mm256_storeu_ps(yb + 24, _mm256_add_ps(_mm256_loadu_ps(yb + 24), a3));
        }
    }
    for (; blk < nblk; blk++) {
        size_t base = (size_t)blk * I * 8;
        for (int b = 0; b < B; b++) {
            const float *xb = x + (size_t)b * xs;
            __m256 a0 = _mm256_setzero_ps();
            for (int i = 0; i < I; i++)
                a0 = _mm256_fmadd_ps(load8(W, base + (size_t)i * 8, half), _mm256_broadcast_ss(xb + i), a0);
            float *yb = y + (size_t)b * ys + blk * 8;
            _mm256_storeu_ps(yb, _mm256_add_ps(_mm256_loadu_ps(yb), a0));
        }
    }
}

/* matvec1 for four streams at once: each weight vector, loaded (and widened) once, serves four FMAs. */
TARGET static void matvec4(const void *W, int nblk, int I, const float *x, int xs, float *y, int ys, int half) {
    const size_t stride = (size_t)I * 8;
    const float *x0 = x, *x1 = x + xs, *x2 = x + 2 * (size_t)xs, *x3 = x + 3 * (size_t)xs;
    int blk = 0;
    for (; blk + 2 <= nblk; blk += 2) {
        const size_t base = (size_t)blk * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        const char *p0 = (const char *)W + base * (half ? 2 : 4), *p1 = p0 + stride * (half ? 2 : 4);
        const size_t step = half ? 16 : 32, ahead = 16 * 64;
        for (int i = 0; i < I; i++) {
            _mm_prefetch(p0 + i * step + ahead, _MM_HINT_T0);  /* two weight streams: fetch well ahead */
            _mm_prefetch(p1 + i * step + ahead, _MM_HINT_T0);
            const __m256 w0 = load8(W, base + (size_t)i * 8, half), w1 = load8(W, base + stride + (size_t)i * 8, half);
            const __m256 v0 = _mm256_broadcast_ss(x0 + i), v1 = _mm256_broadcast_ss(x1 + i);
            const __m256 v2 = _mm256_broadcast_ss(x2 + i), v3 = _mm256_broadcast_ss(x3 + i);
            a0 = _mm256_fmadd_ps(w0, v0, a0); c0 = _mm256_fmadd_ps(w1, v0, c0);
            a1 = _mm256_fmadd_ps(w0, v1, a1); c1 = _mm256_fmadd_ps(w1, v1, c1);
            a2 = _mm256_fmadd_ps(w0, v2, a2); c2 = _mm256_fmadd_ps(w1, v2, c2);
            a3 = _mm256_fmadd_ps(w0, v3, a3); c3 = _mm256_fmadd_ps(w1, v3, c3);
        }
        __m256 acc[8] = {a0, c0, a1, c1, a2, c2, a3, c3};
        for (int b = 0; b < 4; b++) {
            float *yb = y + (size_t)b * ys + blk * 8;
            _mm256_storeu_ps(yb, _mm256_add_ps(_mm256_loadu_ps(yb), acc[2 * b]));
            _mm256_storeu_ps(yb + 8, _mm256_add_ps(_mm256_loadu_ps(yb + 8), acc[2 * b + 1]));
        }
    }
    if (blk < nblk) matvec1((const char *)W + (size_t)blk * stride * (half ? 2 : 4), nblk - blk, I, x, xs, 4,
                            y + blk * 8, ys, half);
}

/* x[0:I] as ceil(I/2) bfloat16 pairs (round to nearest even; an odd I gets a zero partner). */
TARGET_BF16 static void to_pairs(const float *x, int I, uint32_t *pairs) {
    int i = 0;
    for (; i + 16 <= I; i += 16)
        _mm256_storeu_si256((__m256i *)((uint16_t *)pairs + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
    if (i < I) {
        const __mmask16 m = (__mmask16)((1u << (I - i)) - 1);
        __m256i v = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
        uint16_t tail[16];
        _mm256_storeu_si256((__m256i *)tail, v);
        memcpy((uint16_t *)pairs + i, tail, sizeof(uint16_t) * (size_t)(I - i + ((I - i) & 1)));
    }
}

/* y[b, 0:16*nblk] += W x[b] for b < B, W bfloat16 blocked (nblk, ceil(I/2), 16, 2); pairs: per stream
 * ceil(I/2) input pairs (to_pairs), one stream at a time. Four blocks at a time, two chains each (even
 * and odd pairs), eight sums in flight against the instruction's latency. */
TARGET_BF16 static void matvec_bf16_1(const uint32_t *W, int nblk, int I2, const uint32_t *pairs, int B, float *y, int ys) {
    const size_t stride = (size_t)I2 * 16;  /* uint32 per block */
    for (int b = 0; b < B; b++) {
        const uint32_t *xb = pairs + (size_t)b * I2;
        float *yb = y + (size_t)b * ys;
        int blk = 0;
        for (; blk + 4 <= nblk; blk += 4) {
            const uint32_t *w = W + (size_t)blk * stride;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            int p = 0;
            for (; p + 2 <= I2; p += 2) {
                const __m512bh x0 = (__m512bh)_mm512_set1_epi32((int)xb[p]), x1 = (__m512bh)_mm512_set1_epi32((int)xb[p + 1]);
                const uint32_t *k = w + (size_t)p * 16;
                a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(k), x0);
                a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(k + stride), x0);
                a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(k + 2 * stride), x0);
                a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(k + 3 * stride), x0);
                c0 = _mm512_dpbf16_ps(c0, (__m512bh)_mm512_loadu_si512(k + 16), x1);
                c1 = _mm512_dpbf16_ps(c1, (__m512bh)_mm512_loadu_si512(k + 16 + stride), x1);
                c2 = _mm512_dpbf16_ps(c2, (__m512bh)_mm512_loadu_si512(k + 16 + 2 * stride), x1);
                c3 = _mm512_dpbf16_ps(c3, (__m512bh)_mm512_loadu_si512(k + 16 + 3 * stride), x1);
            }
            if (p < I2) {
                const __m512bh x0 = (__m512bh)_mm512_set1_epi32((int)xb[p]);
                const uint32_t *k = w + (size_t)p * 16;
                a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(k), x0);
                a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(k + stride), x0);
                a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(k + 2 * stride), x0);
                a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(k + 3 * stride), x0);
            }
            float *o = yb + blk * 16;
            _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), _mm512_add_ps(a0, c0)));
            _mm512_storeu_ps(o + 16, _mm512_add_ps(_mm512_loadu_ps(o + 16), _mm512_add_ps(a1, c1)));
            _mm512_storeu_ps(o + 32, _mm512_add_ps(_mm512_loadu_ps(o + 32), _mm512_add_ps(a2, c2)));
            _mm512_storeu_ps(o + 48, _mm512_add_ps(_mm512_loadu_ps(o + 48), _mm512_add_ps(a3, c3)));
        }
        for (; blk < nblk; blk++) {
            const uint32_t *w = W + (size_t)blk * stride;
            __m512 a0 = _mm512_setzero_ps(), c0 = a0;
            int p = 0;
            for (; p + 2 <= I2; p += 2) {
                const uint32_t *k = w + (size_t)p * 16;
                a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(k), (__m512bh)_mm512_set1_epi32((int)xb[p]));
                c0 = _mm512_dpbf16_ps(c0, (__m512bh)_mm512_loadu_si512(k + 16), (__m512bh)_mm512_set1_epi32((int)xb[p + 1]));
            }
            if (p < I2)
                a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w + (size_t)p * 16), (__m512bh)_mm512_set1_epi32((int)xb[p]));
            float *o = yb + blk * 16;
            _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), _mm512_add_ps(a0, c0)));
        }
    }
}

/* matvec_bf16_1 for four streams at once: each weight vector, loaded once, serves four products. One
 * block at a time, its sums in matvec_bf16_1's order (even and odd pairs apart, then added). */
TARGET_BF16 static void matvec_bf16_4(const uint32_t *W, int nblk, int I2, const uint32_t *pairs, float *y, int ys) {
    const size_t stride = (size_t)I2 * 16;
    const uint32_t *x0 = pairs, *x1 = pairs + I2, *x2 = pairs + 2 * (size_t)I2, *x3 = pairs + 3 * (size_t)I2;
    for (int blk = 0; blk < nblk; blk++) {
        const uint32_t *w = W + (size_t)blk * stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        int p = 0;
        for (; p + 2 <= I2; p += 2) {
            const __m512bh we = (__m512bh)_mm512_loadu_si512(w + (size_t)p * 16);
            const __m512bh wo = (__m512bh)_mm512_loadu_si512(w + (size_t)p * 16 + 16);
            a0 = _mm512_dpbf16_ps(a0, we, (__m512bh)_mm512_set1_epi32((int)x0[p]));
            a1 = _mm512_dpbf16_ps(a1, we, (__m512bh)_mm512_set1_epi32((int)x1[p]));
            a2 = _mm512_dpbf16_ps(a2, we, (__m512bh)_mm512_set1_epi32((int)x2[p]));
            a3 = _mm512_dpbf16_ps(a3, we, (__m512bh)_mm512_set1_epi32((int)x3[p]));
            c0 = _mm512_dpbf16_ps(c0, wo, (__m512bh)_mm512_set1_epi32((int)x0[p + 1]));
            c1 = _mm512_dpbf16_ps(c1, wo, (__m512bh)_mm512_set1_epi32((int)x1[p + 1]));
            c2 = _mm512_dpbf16_ps(c2, wo, (__m512bh)_mm512_set1_epi32((int)x2[p + 1]));
            c3 = _mm512_dpbf16_ps(c3, wo, (__m512bh)_mm512_set1_epi32((int)x3[p + 1]));
        }
        if (p < I2) {
            const __m512bh we = (__m512bh)_mm512_loadu_si512(w + (size_t)p * 16);
            a0 = _mm512_dpbf16_ps(a0, we, (__m512bh)_mm512_set1_epi32((int)x0[p]));
            a1 = _mm512_dpbf16_ps(a1, we, (__m512bh)_mm512_set1_epi32((int)x1[p]));
            a2 = _mm512_dpbf16_ps(a2, we, (__m512bh)_mm512_set1_epi32((int)x2[p]));
            a3 = _mm512_dpbf16_ps(a3, we, (__m512bh)_mm512_set1_epi32((int)x3[p]));
        }
        const __m512 acc[4] = {_mm512_add_ps(a0, c0), _mm512_add_ps(a1, c1), _mm512_add_ps(a2, c2), _mm512_add_ps(a3, c3)};
        for (int b = 0; b < 4; b++) {
            float *o = y + (size_t)b * ys + blk * 16;
            _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), acc[b]));
        }
    }
}

/* y[b] += W x[b] for every stream b: four streams at a time, the rest one by one. nblk blocks of the
 * precision's width (8 outputs; 16 for bfloat16, whose inputs are first rounded into j->xpairs). */
TARGET static void matvec(const Job *j, const void *W, int nblk, int I, const float *x, int xs, int B, float *y, int ys) {
    if (j->half == BF16) {
        const int I2 = (I + 1) / 2;
        for (int b = 0; b < B; b += 4) {
            const int n = B - b < 4 ? B - b : 4;
            for (int s = 0; s < n; s++) to_pairs(x + (size_t)(b + s) * xs, I, j->xpairs + (size_t)s * I2);
            if (n == 4) matvec_bf16_4(W, nblk, I2, j->xpairs, y + (size_t)b * ys, ys);
            else matvec_bf16_1(W, nblk, I2, j->xpairs, n, y + (size_t)b * ys, ys);
        }
        return;
    }
    const int half = j->half;
    int b = 0;
    for (; b + 4 <= B; b += 4) matvec4(W, nblk, I, x + (size_t)b * xs, xs, y + (size_t)b * ys, ys, half);
    if (b < B) matvec1(W, nblk, I, x + (size_t)b * xs, xs, B - b, y + (size_t)b * ys, ys, half);
}

/* tanh within 3.3e-7 (the rational approximation Eigen uses for float), eight at a time. */
TARGET static inline __m256 tanh8(__m256 x) {
    const __m256 clamp = _mm256_set1_ps(7.90531110763549805f);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_sub_ps(_mm256_setzero_ps(), clamp)), clamp);
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-2.76076847742355e-16f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.00018790482477e-13f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-8.60467152213735e-11f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(5.12229709037114e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(1.48572235717979e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(6.37261928875436e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(4.89352455891786e-03f));
    __m256 q = _mm256_set1_ps(1.19825839466702e-06f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(1.18534705686654e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(2.26843463243900e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(4.89352518554385e-03f));
    return _mm256_div_ps(_mm256_mul_ps(x, p), q);
}

static float tanh1(float x) {
    const float c = 7.90531110763549805f;
    x = x < -c ? -c : (x > c ? c : x);
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return x * p / q;
}

/* exp(x) for float x <= 0 within 2 ulp (Cephes' expf polynomial), eight at a time; exp(-88) and below -> 0. */
TARGET static inline __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

TARGET static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Inverse-CDF draw from softmax(logits / temperature); argmax (the first maximum) when temperature <= 0.
 * probs: C8 + C8 / 8 scratch. Vectorised: the maximum eight at a time, the probabilities with their sums
 * per eight classes, and the search walks those sums before the eight classes of the chosen block (a
 * serial scan over every class was a tenth of the kernel's time at 256 classes). */
TARGET static int64_t sample_class(const float *logits, int C, float u, float temperature, float *probs) {
    const int full = C / 8 * 8;
    float top = logits[0];
    if (full) {
        __m256 m = _mm256_loadu_ps(logits);
        for (int c = 8; c < full; c += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(logits + c));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        top = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
    }
    for (int c = full; c < C; c++) top = logits[c] > top ? logits[c] : top;
    if (temperature <= 0) {
        const __m256 tv = _mm256_set1_ps(top);
        for (int c = 0; c < full; c += 8) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(logits + c), tv, _CMP_EQ_OQ));
            if (hit) return c + __builtin_ctz(hit);
        }
        for (int c = full; c < C; c++)
            if (logits[c] == top) return c;
        return 0;
    }
    const __m256 topv = _mm256_set1_ps(top), inv = _mm256_set1_ps(1.0f / temperature);
    float *block = probs + (C + 7) / 8 * 8, total = 0.0f;
    for (int c = 0; c < full; c += 8) {
        __m256 e = exp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(logits + c), topv), inv));
        _mm256_storeu_ps(probs + c, e);
        total += block[c / 8] = hsum8(e);
    }
    for (int c = full; c < C; c++) total += probs[c] = expf((logits[c] - top) / temperature);
    const float target = u * total;
    float acc = 0.0f;
    for (int c = 0; c < full; c += 8) {
        if (acc + block[c / 8] <= target) {
            acc += block[c / 8];
            continue;
        }
        for (int k = c; k < c + 8; k++) {  /* the draw falls in this block (up to rounding: else go on) */
            acc += probs[k];
            if (acc > target) return k;
        }
    }
    for (int c = full; c < C; c++) {
        acc += probs[c];
        if (acc > target) return c;
    }
    return C - 1;
}

/* One value from the mixture of logistics params (3M): logits, means, log scales (as kernels.py). */
static float sample_mol(const float *params, int M, float u0, float u1, float temperature, float log_scale_min) {
    int best = 0;
    for (int m = 1; m < M; m++)
        if (params[m] > params[best]) best = m;
    int pick = best;
    if (temperature > 0) {
        double total = 0.0;
        for (int m = 0; m < M; m++) total += exp((double)(params[m] - params[best]));
        double target = u0 * total, acc = 0.0;
        pick = M - 1;
        for (int m = 0; m < M; m++) {
            acc += exp((double)(params[m] - params[best]));
            if (acc >= target) { pick = m; break; }
        }
    }
    double value = params[M + pick];
    if (temperature > 0) {
        double u = u1 < 1e-5 ? 1e-5 : (u1 > 1.0 - 1e-5 ? 1.0 - 1e-5 : u1);
        double ls = params[2 * M + pick];
        double scale = exp(ls > log_scale_min ? ls : log_scale_min);
        value += temperature * scale * (log(u) - log1p(-u));
    }
    return (float)(value < -1.0 ? -1.0 : (value > 1.0 ? 1.0 : value));
}

/* The mu-law class of x (clipped to [-1, 1]) in double, operation for operation as models.wavenet.mulaw_quantize
 * and audio.lpc's closed loop (this file is built with -ffp-contract=off: no fused multiply-adds here). */
static int64_t mulaw_class(double x, int classes) {
    const double mu = classes - 1;
    x = x < -1.0 ? -1.0 : (x > 1.0 ? 1.0 : x);
    const double sign = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
    const double y = sign * log1p(mu * fabs(x)) / log1p(mu);
    return (int64_t)floor((y + 1.0) / 2.0 * mu + 0.5);
}

/* The excitation model's input of step t for stream b: p_t = -sum_k a_k(t) s_{t-k} (k = 1, 2, ... in that
 * order, in double, as generate.common.ExcitationLoop), then the three embeddings summed as the model does:
 * previous sample + prediction + previous excitation. Returns p_t. */
static double excitation_input(const Job *j, int b, int64_t t, float *xb) {
    const int R = j->R, order = j->order;
    const double *hist = j->history + (size_t)b * order;
    const float *a = j->coef + ((size_t)b * j->n_coef + t) * order;
    const int taps = t < order ? (int)t : order;
    double p = 0.0;
    for (int k = 0; k < taps; k++) p = p - (double)a[k] * hist[k];
    const int64_t previous = mulaw_class(hist[0], j->C), predicted = mulaw_class(p, j->C);
    const float *e0 = j->emb + (size_t)previous * R, *e1 = j->emb + ((size_t)j->C + predicted) * R;
    const float *e2 = j->emb + ((size_t)2 * j->C + j->prev_cls[b]) * R;
    for (int i = 0; i < R; i++) xb[i] = (e0[i] + e1[i]) + e2[i];
    return p;
}

/* After sampling class c at step t: s_t = clip(p_t + table[c], -1, 1) joins the history. */
static void excitation_push(const Job *j, int b, int64_t step, double p, int64_t c, int64_t n) {
    double *hist = j->history + (size_t)b * j->order;
    double s = p + j->table[c];
    s = s < -1.0 ? -1.0 : (s > 1.0 ? 1.0 : s);
    memmove(hist + 1, hist, sizeof(double) * (size_t)(j->order - 1));
    hist[0] = s;
    j->signal[(size_t)b * n + step] = s;
}

/* Stored inputs per output row: bfloat16 pairs them, so an odd count gets a zero column. */
static size_t padded_inputs(int I, int half) { return half == BF16 ? (size_t)(I + 1) / 2 * 2 : (size_t)I; }

TARGET static void run(const Job *j, int64_t t0, int64_t n, float *scratch) {
    const int B = j->B, R = j->R, G = j->G, H = G / 2, S = j->S, C = j->C, L = j->L, K = j->K;
    const int KR = K * R, H8 = (H + 7) / 8 * 8, P = j->P, wbytes = j->half == F32 ? 4 : 2;
    float *x = scratch, *taps = x + (size_t)B * R, *h = taps + (size_t)B * KR, *z = h + (size_t)B * j->G8;
    float *sr = z + (size_t)B * H8, *skip = sr + (size_t)B * j->SR8, *hidden = skip + (size_t)B * j->S8;
    float *relu = hidden + (size_t)B * j->S8, *out = relu + (size_t)B * j->S8, *probs = out + (size_t)B * j->C8;
    double *pred = (double *)(((uintptr_t)(probs + j->C8 + j->C8 / 8) + 63) & ~(uintptr_t)63);  /* p_t per stream */
    const size_t wd_size = (size_t)j->G8 * padded_inputs(KR, j->half), wsr_size = (size_t)j->SR8 * padded_inputs(H, j->half);
    const __m256 sqrt_half = _mm256_set1_ps(0.70710678118654752f), halfv = _mm256_set1_ps(0.5f);
    for (int64_t step = 0; step < n; step++) {
        const int64_t t = t0 + step;
        for (int b = 0; b < B; b++) {
            float *xb = x + (size_t)b * R;
            if (j->mol) for (int i = 0; i < R; i++) xb[i] = j->in_w[i] * j->prev_val[b] + j->in_b[i];
            else if (j->order) pred[b] = excitation_input(j, b, t, xb);
            else memcpy(xb, j->emb + (size_t)j->prev_cls[b] * R, sizeof(float) * R);
        }
        memset(skip, 0, sizeof(float) * (size_t)B * j->S8);
        for (int l = 0; l < L; l++) {
            const int64_t off = j->offsets[l], mask = j->masks[l], d = j->dil[l];
            for (int b = 0; b < B; b++) {
                float *q = j->queues + (size_t)b * j->rows * R;
                memcpy(q + (off + (t & mask)) * R, x + (size_t)b * R, sizeof(float) * R);
                for (int k = 0; k < K; k++) {  /* tap k reads the input (K-1-k)*d steps back */
                    int64_t row = off + ((t - (int64_t)(K - 1 - k) * d) & mask);
                    memcpy(taps + (size_t)b * KR + (size_t)k * R, q + row * R, sizeof(float) * R);
                }
                float *hb = h + (size_t)b * j->G8;
                memcpy(hb, j->cnst + ((size_t)b * L + l) * G, sizeof(float) * G);
                if (j->n_frames > 0) {  /* the upsampled mel term: interpolate the projected frames */
                    const int64_t f = t / j->hop, jj = t % j->hop;
                    for (int qq = 0; qq < j->nq; qq++) {
                        const float c = j->u[jj * j->nq + qq];
                        if (c == 0.0f) continue;
                        const float *fr = j->frames + (((size_t)b * j->n_frames + f + qq) * L + l) * G;
                        const __m256 cv = _mm256_set1_ps(c);
                        int o = 0;
                        for (; o + 8 <= G; o += 8)
                            _mm256_storeu_ps(hb + o, _mm256_fmadd_ps(cv, _mm256_loadu_ps(fr + o), _mm256_loadu_ps(hb + o)));
                        for (; o < G; o++) hb[o] += c * fr[o];
                    }
                }
            }
            matvec(j, (const char *)j->wd + wd_size * l * wbytes, j->G8 / P, KR, taps, KR, B, h, j->G8);
            for (int b = 0; b < B; b++) {  /* gate: tanh(a) * sigmoid(b), sigmoid(v) = 0.5 + 0.5 tanh(v / 2) */
                const float *hb = h + (size_t)b * j->G8;
                float *zb = z + (size_t)b * H8;
                int o = 0;
                for (; o + 8 <= H; o += 8) {
                    __m256 sg = _mm256_fmadd_ps(halfv, tanh8(_mm256_mul_ps(halfv, _mm256_loadu_ps(hb + H + o))), halfv);
                    _mm256_storeu_ps(zb + o, _mm256_mul_ps(tanh8(_mm256_loadu_ps(hb + o)), sg));
                }
                for (; o < H; o++) zb[o] = tanh1(hb[o]) * (0.5f + 0.5f * tanh1(0.5f * hb[H + o]));
                memcpy(sr + (size_t)b * j->SR8, j->bsr + (size_t)l * (S + R), sizeof(float) * (S + R));
            }
            const int width = l < L - 1 ? S + R : S;  /* the last layer has no residual output */
            matvec(j, (const char *)j->wsr + wsr_size * l * wbytes, (width + P - 1) / P, H, z, H8, B, sr, j->SR8);
            for (int b = 0; b < B; b++) {
                float *srb = sr + (size_t)b * j->SR8, *sk = skip + (size_t)b * j->S8, *xb = x + (size_t)b * R;
                for (int o = 0; o < S; o++) sk[o] += srb[o];
                if (l < L - 1) {
                    int o = 0;
                    for (; o + 8 <= R; o += 8)
                        _mm256_storeu_ps(xb + o, _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(xb + o),
                                                                             _mm256_loadu_ps(srb + S + o)), sqrt_half));
                    for (; o < R; o++) xb[o] = (xb[o] + srb[S + o]) * 0.70710678118654752f;
                }
            }
        }
        /* head: out = W2 relu(W1 relu(skip * scale) + b1) + b2 */
        for (int b = 0; b < B; b++) {
            float *rb = relu + (size_t)b * j->S8, *hd = hidden + (size_t)b * j->S8, *ob = out + (size_t)b * j->C8;
            const float *sk = skip + (size_t)b * j->S8;
            for (int o = 0; o < S; o++) {
                float v = sk[o] * j->skip_scale;
                rb[o] = v > 0.0f ? v : 0.0f;
                hd[o] = j->b1[o];
            }
            memcpy(ob, j->b2, sizeof(float) * C);
        }
        matvec(j, j->w1, j->S8 / P, S, relu, j->S8, B, hidden, j->S8);
        for (size_t i = 0; i < (size_t)B * j->S8; i++) hidden[i] = hidden[i] > 0.0f ? hidden[i] : 0.0f;
        matvec(j, j->w2, j->C8 / P, S, hidden, j->S8, B, out, j->C8);
        for (int b = 0; b < B; b++) {
            const float *ob = out + (size_t)b * j->C8;
            const float *ub = j->uniforms + ((size_t)b * n + step) * 2;
            if (j->record) memcpy(j->logits + ((size_t)b * n + step) * C, ob, sizeof(float) * C);
            if (j->mol) {
                float value = t < j->n_prompt ? j->prompt_val[(size_t)b * j->n_prompt + t]
                                              : sample_mol(ob, C / 3, ub[0], ub[1], j->temperature, j->log_scale_min);
                j->prev_val[b] = value;
                j->out_val[(size_t)b * n + step] = value;
            } else {
                const float temp = j->temperatures ? j->temperatures[(size_t)b * n + step] : j->temperature;
                int64_t cls = t < j->n_prompt ? j->prompt_cls[(size_t)b * j->n_prompt + t]
                                              : sample_class(ob, C, ub[0], temp, probs);
                if (j->order) excitation_push(j, b, step, pred[b], cls, n);
                j->prev_cls[b] = cls;
                j->out_cls[(size_t)b * n + step] = cls;
            }
        }
    }
}

/* Sums `bytes` of buf `repeats` times with 64-byte loads in eight independent chains: the rate at which
 * this core streams a buffer the size of the weights from the cache that holds it, the bound of a batch-1
 * product that reads each weight once (benchmarks/wavenet_generate.py's roofline). Returns the sum. */
__attribute__((target("avx512f"))) static float stream_avx512(const float *buf, size_t floats, int64_t repeats) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t r = 0; r < repeats; r++)
        for (size_t i = 0; i + 128 <= floats; i += 128) {
            a0 = _mm512_add_ps(a0, _mm512_loadu_ps(buf + i)); a1 = _mm512_add_ps(a1, _mm512_loadu_ps(buf + i + 16));
            a2 = _mm512_add_ps(a2, _mm512_loadu_ps(buf + i + 32)); a3 = _mm512_add_ps(a3, _mm512_loadu_ps(buf + i + 48));
            a4 = _mm512_add_ps(a4, _mm512_loadu_ps(buf + i + 64)); a5 = _mm512_add_ps(a5, _mm512_loadu_ps(buf + i + 80));
            a6 = _mm512_add_ps(a6, _mm512_loadu_ps(buf + i + 96)); a7 = _mm512_add_ps(a7, _mm512_loadu_ps(buf + i + 112));
        }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                              _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7))));
}

/* The same with 32-byte loads, for CPUs without AVX-512 (their widest load). */
TARGET static float stream_avx2(const float *buf, size_t floats, int64_t repeats) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int64_t r = 0; r < repeats; r++)
        for (size_t i = 0; i + 64 <= floats; i += 64) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(buf + i)); a1 = _mm256_add_ps(a1, _mm256_loadu_ps(buf + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(buf + i + 16)); a3 = _mm256_add_ps(a3, _mm256_loadu_ps(buf + i + 24));
            a4 = _mm256_add_ps(a4, _mm256_loadu_ps(buf + i + 32)); a5 = _mm256_add_ps(a5, _mm256_loadu_ps(buf + i + 40));
            a6 = _mm256_add_ps(a6, _mm256_loadu_ps(buf + i + 48)); a7 = _mm256_add_ps(a7, _mm256_loadu_ps(buf + i + 56));
        }
    return hsum8(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                               _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7))));
}
#endif /* HAVE_KERNEL */

static int kernel_supported(void) {
#if HAVE_KERNEL
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

static int bfloat16_supported(void) {
#if HAVE_KERNEL
    __builtin_cpu_init();
    return kernel_supported() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

static PyObject *py_supported(PyObject *self, PyObject *args) {
    (void)self; (void)args;
    return PyBool_FromLong(kernel_supported());
}

static PyObject *py_bfloat16_supported(PyObject *self, PyObject *args) {
    (void)self; (void)args;
    return PyBool_FromLong(bfloat16_supported());
}

/* stream(buffer, repeats) -> seconds: reads the buffer (float32, whole 256-byte lines) repeats times. */
static PyObject *py_stream(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer buf;
    long long repeats;
    if (!PyArg_ParseTuple(args, "y*L:stream", &buf, &repeats)) return NULL;
    PyObject *result = NULL;
#if HAVE_KERNEL
    if (!kernel_supported() || repeats < 1) {
        PyErr_SetString(PyExc_ValueError, "stream: needs AVX2 and repeats >= 1");
    } else {
        const size_t floats = (size_t)buf.len / 4;
        struct timespec a, b;
        volatile float sink;
        __builtin_cpu_init();
        const int wide = __builtin_cpu_supports("avx512f");
        Py_BEGIN_ALLOW_THREADS
        clock_gettime(CLOCK_MONOTONIC, &a);
        sink = wide ? stream_avx512(buf.buf, floats, repeats) : stream_avx2(buf.buf, floats, repeats);
        clock_gettime(CLOCK_MONOTONIC, &b);
        Py_END_ALLOW_THREADS
        (void)sink;
        result = PyFloat_FromDouble((double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec));
    }
#else
    PyErr_SetString(PyExc_RuntimeError, "stream: x86-64 only");
#endif
    PyBuffer_Release(&buf);
    return result;
}

#define NBUF 30
static const char *BUF_NAMES[NBUF] = {
    "frames", "const", "u", "queues", "offsets", "masks", "dilations", "wd", "wsr", "bsr", "w1", "b1", "w2",
    "b2", "emb", "in_w", "in_b", "prev_cls", "prev_val", "prompt_cls", "prompt_val", "uniforms", "out_cls",
    "out_val", "logits", "coef", "table", "history", "signal", "temperatures"};

/* run_steps((t0, n, B, R, G, S, C, L, K, hop, nq, n_frames, mol, half, record, n_prompt, rows, order, n_coef,
 *            per_sample), (skip_scale, temperature, log_scale_min), *30 buffers in BUF_NAMES order);
 * half: the weights' precision, 0 float32, 1 float16, 2 bfloat16 */
static PyObject *py_run_steps(PyObject *self, PyObject *args) {
    (void)self;
    long long t0, n, n_frames, n_prompt, rows, n_coef;
    int B, R, G, S, C, L, K, hop, nq, mol, half, record, order, per_sample;
    float skip_scale, temperature, log_scale_min;
    Py_buffer v[NBUF];
    memset(v, 0, sizeof(v));
    if (!PyArg_ParseTuple(args, "(LLiiiiiiiiiLiiiLLiLi)(fff)y*y*y*w*y*y*y*y*y*y*y*y*y*y*y*y*y*w*w*y*y*y*w*w*w*y*y*w*w*y*:run_steps",
                          &t0, &n, &B, &R, &G, &S, &C, &L, &K, &hop, &nq, &n_frames, &mol, &half, &record, &n_prompt,
                          &rows, &order, &n_coef, &per_sample, &skip_scale, &temperature, &log_scale_min, &v[0], &v[1], &v[2],
                          &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14],
                          &v[15], &v[16], &v[17], &v[18], &v[19], &v[20], &v[21], &v[22], &v[23], &v[24], &v[25],
                          &v[26], &v[27], &v[28], &v[29]))
        return NULL;
    PyObject *result = NULL;
#if HAVE_KERNEL
    if (!kernel_supported()) {
        PyErr_SetString(PyExc_RuntimeError, "this CPU lacks AVX2, FMA or F16C: use the numba kernel");
        goto done;
    }
    if (half < F32 || half > BF16 || (half == BF16 && !bfloat16_supported())) {
        PyErr_SetString(PyExc_RuntimeError, half == BF16 ? "this CPU lacks AVX-512 BF16: bfloat16 weights need it"
                                                         : "run_steps: unknown weight precision");
        goto done;
    }
    Job j;
    memset(&j, 0, sizeof(j));
    j.B = B; j.R = R; j.G = G; j.S = S; j.C = C; j.L = L; j.K = K; j.hop = hop; j.nq = nq; j.mol = mol;
    j.half = half; j.record = record; j.n_prompt = n_prompt; j.rows = rows; j.n_frames = n_frames;
    const int P = half == BF16 ? 16 : 8;
    j.P = P;
    j.G8 = (G + P - 1) / P * P; j.SR8 = (S + R + P - 1) / P * P; j.S8 = (S + P - 1) / P * P; j.C8 = (C + P - 1) / P * P;
    j.skip_scale = skip_scale; j.temperature = temperature; j.log_scale_min = log_scale_min;
    j.order = order; j.n_coef = n_coef;
    const int H = G / 2, wbytes = half == F32 ? 4 : 2;
    const Py_ssize_t KRp = (Py_ssize_t)padded_inputs(K * R, half), Hp = (Py_ssize_t)padded_inputs(H, half),
                     Sp = (Py_ssize_t)padded_inputs(S, half);
    /* bytes each buffer must hold at least */
    Py_ssize_t need[NBUF] = {
        (Py_ssize_t)B * n_frames * L * G * 4, (Py_ssize_t)B * L * G * 4, n_frames > 0 ? (Py_ssize_t)hop * nq * 4 : 0,
        (Py_ssize_t)B * rows * R * 4, (Py_ssize_t)L * 8, (Py_ssize_t)L * 8, (Py_ssize_t)L * 8,
        (Py_ssize_t)L * j.G8 * KRp * wbytes, (Py_ssize_t)L * j.SR8 * Hp * wbytes, (Py_ssize_t)L * (S + R) * 4,
        (Py_ssize_t)j.S8 * Sp * wbytes, (Py_ssize_t)S * 4, (Py_ssize_t)j.C8 * Sp * wbytes, (Py_ssize_t)C * 4,
        0, (Py_ssize_t)R * 4, (Py_ssize_t)R * 4, (Py_ssize_t)B * 8, (Py_ssize_t)B * 4,
        mol ? 0 : (Py_ssize_t)B * n_prompt * 8, mol ? (Py_ssize_t)B * n_prompt * 4 : 0, (Py_ssize_t)B * n * 2 * 4,
        (Py_ssize_t)B * n * 8, (Py_ssize_t)B * n * 4, record ? (Py_ssize_t)B * n * C * 4 : 0,
        order ? (Py_ssize_t)B * n_coef * order * 4 : 0, order ? (Py_ssize_t)C * 8 : 0,
        order ? (Py_ssize_t)B * order * 8 : 0, order ? (Py_ssize_t)B * n * 8 : 0,
        per_sample ? (Py_ssize_t)B * n * 4 : 0};
    for (int i = 0; i < NBUF; i++) {
        if (v[i].len < need[i]) {
            PyErr_Format(PyExc_ValueError, "run_steps: %s holds %zd bytes, needs %zd", BUF_NAMES[i], v[i].len, need[i]);
            goto done;
        }
    }
    if (B < 1 || K < 1 || G % 2 || (nq > 0 && hop < 1) || order < 0 || (order && (mol || t0 + n > n_coef))
        || (!mol && v[14].len < (Py_ssize_t)(order ? 3 : 1) * C * R * 4)) {
        PyErr_SetString(PyExc_ValueError, "run_steps: inconsistent dimensions");
        goto done;
    }
    j.frames = v[0].buf; j.cnst = v[1].buf; j.u = v[2].buf; j.queues = v[3].buf; j.offsets = v[4].buf;
    j.masks = v[5].buf; j.dil = v[6].buf; j.wd = v[7].buf; j.wsr = v[8].buf; j.bsr = v[9].buf; j.w1 = v[10].buf;
    j.b1 = v[11].buf; j.w2 = v[12].buf; j.b2 = v[13].buf; j.emb = v[14].buf; j.in_w = v[15].buf; j.in_b = v[16].buf;
    j.prev_cls = v[17].buf; j.prev_val = v[18].buf; j.prompt_cls = v[19].buf; j.prompt_val = v[20].buf;
    j.uniforms = v[21].buf; j.out_cls = v[22].buf; j.out_val = v[23].buf; j.logits = v[24].buf;
    j.coef = v[25].buf; j.table = v[26].buf; j.history = v[27].buf; j.signal = v[28].buf;
    j.temperatures = per_sample ? v[29].buf : NULL;
    const size_t H8 = (size_t)(H + 7) / 8 * 8;
    size_t floats = (size_t)B * (R + (size_t)K * R + j.G8 + H8 + j.SR8 + 3 * (size_t)j.S8 + j.C8 + 2) + j.C8 + j.C8 / 8 + 32;
    float *scratch = aligned_alloc(64, (floats * 4 + 63) / 64 * 64);
    /* four streams' inputs of the widest product, as pairs (bfloat16 only) */
    const size_t widest = (size_t)(KRp > Hp ? (KRp > Sp ? KRp : Sp) : (Hp > Sp ? Hp : Sp));
    j.xpairs = half == BF16 ? calloc(4 * (widest / 2 + 1), sizeof(uint32_t)) : NULL;
    if (!scratch || (half == BF16 && !j.xpairs)) { free(scratch); free(j.xpairs); PyErr_NoMemory(); goto done; }
    memset(scratch, 0, floats * 4);
    Py_BEGIN_ALLOW_THREADS
    run(&j, t0, n, scratch);
    Py_END_ALLOW_THREADS
    free(scratch);
    free(j.xpairs);
    Py_INCREF(Py_None);
    result = Py_None;
#else
    PyErr_SetString(PyExc_RuntimeError, "the C kernel is built for x86-64 only: use the numba kernel");
    goto done;
#endif
done:
    for (int i = 0; i < NBUF; i++)
        if (v[i].obj) PyBuffer_Release(&v[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"supported", py_supported, METH_NOARGS, "Whether this CPU can run the kernel (x86-64 with AVX2, FMA, F16C)."},
    {"bfloat16_supported", py_bfloat16_supported, METH_NOARGS,
     "Whether this CPU can run the kernel with bfloat16 weights (AVX-512F and AVX-512 BF16 besides)."},
    {"stream", py_stream, METH_VARARGS, "Seconds to read a float32 buffer `repeats` times (cache bandwidth)."},
    {"run_steps", py_run_steps, METH_VARARGS, "Run n generation steps for B streams (see fast.py)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_ckernel",
    .m_doc = "WaveNet's per-sample generation loop in C (AVX2/FMA, float32 or float16 weights; AVX-512 BF16, bfloat16 weights).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__ckernel(void) { return PyModule_Create(&module); }
