#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

/* compile-time geometry: C_IN input channels, KR real conv channels (KP padded to 8),
   H input side, PD conv padding, NC classes */
#define HP (H + 2 * PD)
#define S (HP - 2)
#define P ((S - 1) / 3 + 1)
#define Q (P / 2)
#define T (C_IN * 9)
#define KV (KP / 8)
#define NF (KR * Q * Q)
#define TB ((12 / KV) > 0 ? (12 / KV) : 1)

typedef float vf __attribute__((vector_size(32)));
typedef float vfu __attribute__((vector_size(32), aligned(4)));
typedef int32_t vi __attribute__((vector_size(32)));

static inline vf ld(const float *p) { return *(const vfu *)p; }
static inline void st(float *p, vf v) { *(vfu *)p = v; }
static inline vf bc(float s) { vf v = {s, s, s, s, s, s, s, s}; return v; }
static inline vf sel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
static inline vf relu(vf a) { return sel(a > bc(0.0f), a, bc(0.0f)); }

/* z at NP consecutive output positions (h, w .. w + NP - 1), all KP channels: NP * KV
   independent accumulators hide the FMA latency */
#define NP (KV >= 8 ? 1 : 8 / KV)
static inline __attribute__((always_inline)) void convn(const float *img, const float *wt, const float *bias,
                                                        int h, int w, vf z[NP][KV]) {
    #pragma GCC unroll 32
    for (int p = 0; p < NP; p++)
        #pragma GCC unroll 32
        for (int v = 0; v < KV; v++) z[p][v] = ld(bias + 8 * v);
    #pragma GCC unroll 32
    for (int i = 0; i < 3; i++) {
        const float *row = img + ((h + i) * HP + w) * C_IN;
        #pragma GCC unroll 32
        for (int j = 0; j < 3; j++)
            #pragma GCC unroll 32
            for (int c = 0; c < C_IN; c++) {
                const int t = c * 9 + i * 3 + j;
                /* opaque pointer: stops the compiler keeping pixels shared between taps in
                   registers across taps, which spills the accumulators */
                const float *rp = row + j * C_IN + c;
                __asm__("" : "+r"(rp));
                vf a[NP];
                #pragma GCC unroll 32
                for (int p = 0; p < NP; p++) a[p] = bc(rp[p * C_IN]);
                #pragma GCC unroll 32
                for (int v = 0; v < KV; v++) {
                    const vf wv = ld(wt + t * KP + 8 * v);
                    #pragma GCC unroll 32
                    for (int p = 0; p < NP; p++) z[p][v] += a[p] * wv;
                }
            }
    }
}

static inline void conv1(const float *img, const float *wt, const float *bias, int h, int w, vf *z0) {
    #pragma GCC unroll 32
    for (int v = 0; v < KV; v++) z0[v] = ld(bias + 8 * v);
    #pragma GCC unroll 32
    for (int i = 0; i < 3; i++) {
        const float *row = img + ((h + i) * HP + w) * C_IN;
        #pragma GCC unroll 32
        for (int j = 0; j < 3; j++)
            #pragma GCC unroll 32
            for (int c = 0; c < C_IN; c++) {
                const int t = c * 9 + i * 3 + j;
                const vf a = bc(row[j * C_IN + c]);
                #pragma GCC unroll 32
                for (int v = 0; v < KV; v++) z0[v] += a * ld(wt + t * KP + 8 * v);
            }
    }
}

/* one conv position's share of the forward: BN sums of relu(z), and the running maximum of
   sgn * z in its pooling window with its offset (first maximum in row-major order) */
static inline void fwd_post(const vf *z, int rowbase, float oh, int cw, float co, const vf *sg,
                            vf *r1, vf *r2, vf *wmax, vf *warg) {
    #pragma GCC unroll 32
    for (int v = 0; v < KV; v++) { vf r = relu(z[v]); r1[v] += r; r2[v] += r * r; }
    if (rowbase >= 0 && cw >= 0) {
        const vf o = bc(oh + co);
        #pragma GCC unroll 32
        for (int v = 0; v < KV; v++) {
            const int idx = rowbase + cw + v;
            const vf s = z[v] * sg[v];
            const vi m = s > wmax[idx];
            wmax[idx] = sel(m, s, wmax[idx]);
            warg[idx] = sel(m, o, warg[idx]);
        }
    }
}

/* pooling-window lookup per output row/column: the window's offset into (P, P, KV)
   arrays (-1: in no window) and the position's row/column offset inside its window */
static void window_tables(int *rwin, float *roff, int *cwin, float *coff) {
    for (int h = 0; h < S; h++) {
        const int ph = (h + 1) / 3;
        rwin[h] = ph < P ? ph * P * KV : -1;
        roff[h] = (float)(((h + 1) % 3) * 3);
        cwin[h] = ph < P ? ph * KV : -1;
        coff[h] = (float)((h + 1) % 3);
    }
}

/* forward of the pre-pool part for one fold's n rows: BN sums of relu(z) (d1, d2), and per
   pooling window the maximum of sgn * z (pooled, (n, P, P, KP)) and its window offset (arg,
   row-major, first maximum) */
static __attribute__((noinline)) void fold_fwd(int64_t n, const int64_t *rows, const float *x, const float *wf, const float *bf,
                     const float *sgf, double *d1, double *d2, float *pooled, uint8_t *arg) {
    vf *wmax = (vf *)aligned_alloc(32, sizeof(vf) * P * P * KV);
    vf *warg = (vf *)aligned_alloc(32, sizeof(vf) * P * P * KV);
    int rwin[S], cwin[S];
    float roff[S], coff[S];
    window_tables(rwin, roff, cwin, coff);
    vf sg[KV];
    for (int v = 0; v < KV; v++) sg[v] = ld(sgf + 8 * v);
    for (int k = 0; k < KP; k++) { d1[k] = 0.0; d2[k] = 0.0; }
    for (int64_t b = 0; b < n; b++) {
        const float *img = x + rows[b] * (int64_t)(HP * HP * C_IN);
        for (int i = 0; i < P * P * KV; i++) { wmax[i] = bc(-INFINITY); warg[i] = bc(0.0f); }
        for (int h = 0; h < S; h++) {
            vf r1[KV], r2[KV], z[NP][KV];
            for (int v = 0; v < KV; v++) { r1[v] = bc(0.0f); r2[v] = bc(0.0f); }
            const int rb = rwin[h];
            const float oh = roff[h];
            int w = 0;
            for (; w + NP <= S; w += NP) {
                convn(img, wf, bf, h, w, z);
                for (int p = 0; p < NP; p++) fwd_post(z[p], rb, oh, cwin[w + p], coff[w + p], sg, r1, r2, wmax, warg);
            }
            for (; w < S; w++) {
                conv1(img, wf, bf, h, w, z[0]);
                fwd_post(z[0], rb, oh, cwin[w], coff[w], sg, r1, r2, wmax, warg);
            }
            for (int v = 0; v < KV; v++)
                for (int l = 0; l < 8; l++) { d1[8 * v + l] += r1[v][l]; d2[8 * v + l] += r2[v][l]; }
        }
        float *po = pooled + b * (int64_t)(P * P * KP);
        uint8_t *ao = arg + b * (int64_t)(P * P * KP);
        for (int i = 0; i < P * P * KV; i++) {
            st(po + 8 * i, wmax[i]);
            for (int l = 0; l < 8; l++) ao[8 * i + l] = (uint8_t)warg[i][l];
        }
    }
    free(wmax);
    free(warg);
}

/* post-pool part of one fold, forward and backward: BN (batch statistics) after pooling,
   dropout, 2x2 average pooling, the linear layer (W channels-last: (NC, Q, Q, KR)), mean
   cross-entropy over the fold's n rows; gradients of BN's affine parameters and of the
   linear layer (dW in W's layout), and gsel = dL/dz at each window's selected position
   (before the ReLU and BN-statistics terms, which fold_bwd adds).
   Dropout multipliers of row b, channel k, pooled position i: mask[(b * KR + k) * P * P + i]
   when mask is given; else, when unif is given, mscale if the uniform draw
   unif[uoff[k] + b * ustr[k] + i] < keep, 0 otherwise (SeededDropout's draws, stream by
   stream); else 1 */
static __attribute__((noinline)) void fold_head(int64_t n, const int64_t *labels, const float *pooled, const float *sgf, const float *mean,
                      const float *invstd, const float *gaf, const float *bef, const float *mask, const double *unif,
                      const int64_t *uoff, const int64_t *ustr, double keep, float mscale,
                      const float *W, const float *fcbf, double *loss, float *gsel, float *dgamma, float *dbeta,
                      float *dWout, float *dBout) {
    float *xh = (float *)malloc(sizeof(float) * P * P * KR);
    float *mk = (float *)malloc(sizeof(float) * P * P * KR);
    /* linear-layer gradients accumulate here and are copied out at the end: folds run in
       different threads, and the outputs of neighbouring folds can share a cache line */
    float *dW = (float *)calloc(NC * NF, sizeof(float));
    float dB[NC];
    float feats[NF], dfeat[NF];
    double dg[KR], dbt[KR], lsum = 0.0;
    int64_t ncorrect = 0;
    for (int k = 0; k < KR; k++) { dg[k] = 0.0; dbt[k] = 0.0; }
    for (int c = 0; c < NC; c++) dB[c] = 0.0f;
    float sg[KR], mu[KR], is[KR], ga[KR], be[KR], sc[KR];
    for (int k = 0; k < KR; k++) {
        sg[k] = sgf[k]; mu[k] = mean[k]; is[k] = invstd[k];
        ga[k] = gaf[k]; be[k] = bef[k]; sc[k] = ga[k] * is[k];
    }
    for (int64_t b = 0; b < n; b++) {
        const float *po = pooled + b * (int64_t)(P * P * KP);
        float *gs = gsel + b * (int64_t)(P * P * KP);
        /* this row's multipliers, channels-last like everything else here */
        if (mask) {
            const float *mrow = mask + b * (int64_t)(KR * P * P);
            for (int k = 0; k < KR; k++)
                for (int i = 0; i < P * P; i++) mk[i * KR + k] = mrow[k * P * P + i];
        } else if (unif) {
            for (int k = 0; k < KR; k++) {
                const double *u = unif + uoff[k] + b * ustr[k];
                for (int i = 0; i < P * P; i++) mk[i * KR + k] = u[i] < keep ? mscale : 0.0f;
            }
        } else {
            for (int i = 0; i < P * P * KR; i++) mk[i] = 1.0f;
        }
        for (int i = 0; i < NF; i++) feats[i] = 0.0f;
        for (int pi = 0; pi < P; pi++)
            for (int pj = 0; pj < P; pj++) {
                const int idx = (pi * P + pj) * KP, mi = (pi * P + pj) * KR;
                const int fi = (pi < 2 * Q && pj < 2 * Q) ? ((pi / 2) * Q + pj / 2) * KR : -1;
                for (int k = 0; k < KR; k++) {
                    float q = sg[k] * po[idx + k];
                    q = q > 0.0f ? q : 0.0f;
                    const float xhat = (q - mu[k]) * is[k];
                    const float m = mk[mi + k];
                    xh[mi + k] = xhat;
                    if (fi >= 0) feats[fi + k] += (xhat * ga[k] + be[k]) * m;
                }
            }
        float logits[NC], mx = -INFINITY;
        for (int i = 0; i < NF; i++) feats[i] *= 0.25f;
        for (int c = 0; c < NC; c++) {
            float acc = 0.0f;
            for (int i = 0; i < NF; i++) acc += W[c * NF + i] * feats[i];
            logits[c] = acc + fcbf[c];
            mx = logits[c] > mx ? logits[c] : mx;
        }
        double se = 0.0;
        for (int c = 0; c < NC; c++) se += exp((double)(logits[c] - mx));
        const double lse = mx + log(se);
        const int64_t y = labels[b];
        lsum += lse - logits[y];
        int am = 0;
        for (int c = 1; c < NC; c++) am = logits[c] > logits[am] ? c : am;  /* first maximum, as torch.argmax */
        ncorrect += am == y;
        for (int i = 0; i < NF; i++) dfeat[i] = 0.0f;
        for (int c = 0; c < NC; c++) {
            const float dl = (float)((exp(logits[c] - lse) - (c == y ? 1.0 : 0.0)) / (double)n);
            dB[c] += dl;
            for (int i = 0; i < NF; i++) { dW[c * NF + i] += dl * feats[i]; dfeat[i] += dl * W[c * NF + i]; }
        }
        float sdb[KR], sdg[KR];
        for (int k = 0; k < KR; k++) { sdb[k] = 0.0f; sdg[k] = 0.0f; }
        for (int pi = 0; pi < P; pi++)
            for (int pj = 0; pj < P; pj++) {
                const int idx = (pi * P + pj) * KP, mi = (pi * P + pj) * KR;
                for (int k = KR; k < KP; k++) gs[idx + k] = 0.0f;
                if (pi >= 2 * Q || pj >= 2 * Q) {
                    for (int k = 0; k < KR; k++) gs[idx + k] = 0.0f;
                    continue;
                }
                const int fi = ((pi / 2) * Q + pj / 2) * KR;
                for (int k = 0; k < KR; k++) {
                    const float dy = 0.25f * dfeat[fi + k] * mk[mi + k];
                    sdb[k] += dy;
                    sdg[k] += dy * xh[mi + k];
                    gs[idx + k] = dy * sc[k];
                }
            }
        for (int k = 0; k < KR; k++) { dbt[k] += sdb[k]; dg[k] += sdg[k]; }
    }
    loss[0] = n > 0 ? lsum / (double)n : 0.0;
    loss[1] = (double)ncorrect;  /* training-mode hits of the batch, for the history */
    for (int k = 0; k < KP; k++) {
        dgamma[k] = k < KR ? (float)dg[k] : 0.0f;
        dbeta[k] = k < KR ? (float)dbt[k] : 0.0f;
    }
    memcpy(dWout, dW, sizeof(float) * NC * NF);
    memcpy(dBout, dB, sizeof(float) * NC);
    free(dW);
    free(xh);
    free(mk);
}

/* dwd[t][k] += sum over positions of dz[pos][k] * x[pos + offset of tap t], taps t0 .. t0 + nt
   - 1 (nt <= TB is a constant after inlining, so the accumulators stay in registers) */
static inline __attribute__((always_inline)) void dw_block(const float *dz, const float *img, const int *off,
                                                           int t0, const int nt, double *dwd) {
    vf acc[TB][KV];
    int o[TB];
    for (int tt = 0; tt < nt; tt++) {
        o[tt] = off[t0 + tt];
        for (int v = 0; v < KV; v++) acc[tt][v] = bc(0.0f);
    }
    for (int h = 0; h < S; h++)
        for (int w = 0; w < S; w++) {
            const float *dzp = dz + (h * S + w) * KP;
            const float *base = img + (h * HP + w) * C_IN;
            vf dv[KV];
#pragma GCC unroll 32
            for (int v = 0; v < KV; v++) dv[v] = ld(dzp + 8 * v);
#pragma GCC unroll 32
            for (int tt = 0; tt < nt; tt++) {
                const vf xs = bc(base[o[tt]]);
#pragma GCC unroll 32
                for (int v = 0; v < KV; v++) acc[tt][v] += xs * dv[v];
            }
        }
    for (int tt = 0; tt < nt; tt++)
        for (int v = 0; v < KV; v++)
            for (int l = 0; l < 8; l++) dwd[(t0 + tt) * KP + 8 * v + l] += acc[tt][v][l];
}

/* backward of the pre-pool part of one fold: dz = [z > 0] (A + Bc z + gsel at the window's
   selected position); weight and bias gradients, (T, KP) and (KP) */
static __attribute__((noinline)) void fold_bwd(int64_t n, const int64_t *rows, const float *x, const float *wf, const float *bf,
                     const uint8_t *arg, const float *gsel, const float *A, const float *Bc, float *dw, float *db) {
    float *dz = (float *)aligned_alloc(32, sizeof(float) * S * S * KP);
    vf *garg = (vf *)aligned_alloc(32, sizeof(vf) * P * P * KV);
    vf *gval = (vf *)aligned_alloc(32, sizeof(vf) * P * P * KV);
    int off[T], rwin[S], cwin[S];
    float roff[S], coff[S];
    window_tables(rwin, roff, cwin, coff);
    for (int c = 0; c < C_IN; c++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) off[c * 9 + i * 3 + j] = (i * HP + j) * C_IN + c;
    vf av[KV], bv[KV], dbv[KV];
    for (int v = 0; v < KV; v++) { av[v] = ld(A + 8 * v); bv[v] = ld(Bc + 8 * v); dbv[v] = bc(0.0f); }
    double dwd[T * KP];
    for (int i = 0; i < T * KP; i++) dwd[i] = 0.0;
    for (int64_t b = 0; b < n; b++) {
        const float *img = x + rows[b] * (int64_t)(HP * HP * C_IN);
        const uint8_t *ao = arg + b * (int64_t)(P * P * KP);
        const float *gs = gsel + b * (int64_t)(P * P * KP);
        for (int i = 0; i < P * P * KV; i++) {
            gval[i] = ld(gs + 8 * i);
            for (int l = 0; l < 8; l++) garg[i][l] = (float)ao[8 * i + l];
        }
        for (int h = 0; h < S; h++) {
            const int rb = rwin[h];
            const float oh = roff[h];
            for (int w = 0; w < S; w += (w + NP <= S) ? NP : 1) {
                vf z[NP][KV];
                const int np = (w + NP <= S) ? NP : 1;
                if (np == NP) convn(img, wf, bf, h, w, z); else conv1(img, wf, bf, h, w, z[0]);
                for (int u = 0; u < np; u++) {
                    const int ww = w + u, cw = cwin[ww];
                    const int inwin = rb >= 0 && cw >= 0;
                    const vf o = bc(oh + coff[ww]);
                    float *dzp = dz + (h * S + ww) * KP;
                    for (int v = 0; v < KV; v++) {
                        vf d = av[v] + bv[v] * z[u][v];
                        if (inwin) {
                            const int idx = rb + cw + v;
                            d += sel(garg[idx] == o, gval[idx], bc(0.0f));
                        }
                        d = sel(z[u][v] > bc(0.0f), d, bc(0.0f));
                        dbv[v] += d;
                        st(dzp + 8 * v, d);
                    }
                }
            }
        }
        int t0 = 0;
        for (; t0 + TB <= T; t0 += TB) dw_block(dz, img, off, t0, TB, dwd);
        if (t0 < T) dw_block(dz, img, off, t0, T - t0, dwd);
    }
    for (int i = 0; i < T * KP; i++) dw[i] = (float)dwd[i];
    for (int v = 0; v < KV; v++) st(db + 8 * v, dbv[v]);
    free(dz);
    free(garg);
    free(gval);
}

/* count uniform doubles in [0, 1) from a PyTorch CPU generator's state (the bytes of
   Generator.get_state(): seed u64, left i32, seeded i32, next u64, state[624] u64 holding
   the mt19937 words), exactly as torch.rand(..., dtype=float64) draws them: each value
   takes two 32-bit outputs hi, lo and is ((hi << 32 | lo) mod 2^53) * 2^-53. Advances the
   state in place (write it back with Generator.set_state). Python checks at start-up that
   this reproduces torch.rand on this build (stream_kernels.mt_reproduces_torch). */
#define MT_N 624
#define MT_M 397
static inline uint32_t mt_twist(uint32_t u, uint32_t v) {
    return (((u & 0x80000000u) | (v & 0x7fffffffu)) >> 1) ^ ((v & 1u) ? 0x9908b0dfu : 0u);
}
static void mt_next_state(uint32_t *st) {
    int k = 0;
    for (; k < MT_N - MT_M; k++) st[k] = st[k + MT_M] ^ mt_twist(st[k], st[k + 1]);
    for (; k < MT_N - 1; k++) st[k] = st[k + MT_M - MT_N] ^ mt_twist(st[k], st[k + 1]);
    st[MT_N - 1] = st[MT_M - 1] ^ mt_twist(st[MT_N - 1], st[0]);
}
static inline uint32_t mt_temper(uint32_t y) {
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}
void mt_uniform(uint8_t *gstate, int64_t count, double *out) {
    int32_t left;
    uint64_t next64, st64[MT_N];
    uint32_t st[MT_N];
    memcpy(&left, gstate + 8, 4);
    memcpy(&next64, gstate + 16, 8);
    memcpy(st64, gstate + 24, 8 * MT_N);
    for (int k = 0; k < MT_N; k++) st[k] = (uint32_t)st64[k];
    uint32_t next = (uint32_t)next64;
    /* the 2 * count words, in order, into out's memory; then each pair becomes one double */
    uint32_t *words = (uint32_t *)out;
    int64_t done = 0, need = 2 * count;
    while (done < need) {
        if (left == 1) { mt_next_state(st); left = MT_N + 1; next = 0; }  /* the next word refills */
        int64_t take = left - 1;
        if (take > need - done) take = need - done;
        for (int64_t t = 0; t < take; t++) words[done + t] = mt_temper(st[next + t]);
        done += take; next += (uint32_t)take; left -= (int32_t)take;
    }
    uint64_t *pairs = (uint64_t *)out;
    for (int64_t i = 0; i < count; i++) {
        const uint64_t v = ((uint64_t)words[2 * i] << 32) | words[2 * i + 1];
        const int64_t m = (int64_t)(v & ((1ULL << 53) - 1));
        const double d = (double)m * (1.0 / 9007199254740992.0);
        memcpy(pairs + i, &d, 8);
    }
    for (int k = 0; k < MT_N; k++) st64[k] = st[k];
    next64 = next;
    memcpy(gstate + 8, &left, 4);
    memcpy(gstate + 16, &next64, 8);
    memcpy(gstate + 24, st64, 8 * MT_N);
}

/* One training step of folds [f0, f1), fold after fold (each fold's forward, batch
   statistics, head and backward back to back, so its scratch stays in cache): per fold the
   batch mean and biased variance of the conv channels (mean, var: (F, KP)), the mean
   cross-entropy (loss) and the gradients of every parameter. Scratch: pooled, gsel (B, P,
   P, KP) float and arg (B, P, P, KP) bytes, reused by every fold of the call. Dropout: mask
   (F, B, KR, P, P) multipliers, or unif: for fold f the uniform draws at unif + (f - f0) *
   B * KR * P * P, stream after stream ((n, widths[s], P, P) each), or neither (no dropout).
   BN backward: A = scale (mean invstd dgamma - dbeta) / M, Bc = -scale invstd dgamma / M
   (see fused_step) */
void stream_step(int64_t f0, int64_t f1, int64_t B, const int64_t *sizes, const int64_t *rows, const int64_t *labels,
                 const float *x, const float *wt, const float *bias, const float *sgn, const float *gamma,
                 const float *beta, const float *fcw, const float *fcb, const float *mask, const double *unif,
                 double keep, float mscale, const int64_t *widths, int64_t nstreams,
                 float *pooled, uint8_t *arg, float *gsel,
                 float *mean, float *var, double *loss, float *dw, float *db, float *dgamma, float *dbeta,
                 float *dfcw, float *dfcb) {
    for (int64_t f = f0; f < f1; f++) {
        const int64_t n = sizes[f];
        const float *wf = wt + f * T * KP, *bf = bias + f * KP;
        double d1[KP], d2[KP];
        fold_fwd(n, rows + f * B, x, wf, bf, sgn + f * KP, d1, d2, pooled, arg);
        const double M = n > 0 ? (double)n * (double)(S * S) : 1.0;
        float *mu = mean + f * KP, *va = var + f * KP;
        float is[KP];
        for (int k = 0; k < KP; k++) {
            const double m64 = d1[k] / M, v64 = d2[k] / M - m64 * m64;
            mu[k] = (float)m64;
            va[k] = (float)(v64 > 0.0 ? v64 : 0.0);
            is[k] = 1.0f / sqrtf(va[k] + (float)BN_EPS);
        }
        int64_t uoff[KR], ustr[KR];
        int64_t start = 0;
        for (int64_t s = 0; s < nstreams; s++) {
            for (int64_t k = start; k < start + widths[s] && k < KR; k++) {
                uoff[k] = n * start * P * P + (k - start) * P * P;
                ustr[k] = widths[s] * P * P;
            }
            start += widths[s];
        }
        const double *uf = unif ? unif + (f - f0) * B * KR * P * P : NULL;
        const float *mf = mask ? mask + f * B * KR * P * P : NULL;
        float *dg = dgamma + f * KP, *dbt = dbeta + f * KP;
        fold_head(n, labels + f * B, pooled, sgn + f * KP, mu, is, gamma + f * KP, beta + f * KP, mf, uf, uoff, ustr,
                  keep, mscale, fcw + f * NC * NF, fcb + f * NC, loss + 2 * f, gsel, dg, dbt, dfcw + f * NC * NF, dfcb + f * NC);
        float A[KP], Bc[KP];
        const float Mf = (float)M;
        for (int k = 0; k < KP; k++) {
            const float sc = gamma[f * KP + k] * is[k];
            A[k] = sc * (mu[k] * is[k] * dg[k] - dbt[k]) / Mf;
            Bc[k] = -sc * is[k] * dg[k] / Mf;
        }
        fold_bwd(n, rows + f * B, x, wf, bf, arg, gsel, A, Bc, dw + f * T * KP, db + f * KP);
    }
}
