/* G.711 mu-law helpers and a minimal WAV reader, shared by bare_player.c and
 * playload.c.  The encoder table is built the way ffmpeg's pcm_mulaw encoder
 * builds it (round to the nearest code), so a player that encodes with ffmpeg
 * (rtpengine) should produce the same bytes.
 * From the measurement harness in /work/shared/bench/play (g711.h). */
#ifndef G711_H
#define G711_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ulaw2lin(uint8_t u) {
    int t;
    u = (uint8_t)~u;
    t = ((u & 0x0f) << 3) + 0x84;
    t <<= ((unsigned)u & 0x70) >> 4;
    return (u & 0x80) ? (0x84 - t) : (t - 0x84);
}

static uint8_t lin2ulaw_tab[16384];
static void g711_init(void) {
    int i, j = 1, v, v1, v2, mask = 0xff;
    lin2ulaw_tab[8192] = (uint8_t)mask;
    for (i = 0; i < 127; i++) {
        v1 = ulaw2lin((uint8_t)(i ^ mask));
        v2 = ulaw2lin((uint8_t)((i + 1) ^ mask));
        v = (v1 + v2 + 4) >> 3;
        for (; j < v; j++) {
            lin2ulaw_tab[8192 - j] = (uint8_t)(i ^ (mask ^ 0x80));
            lin2ulaw_tab[8192 + j] = (uint8_t)(i ^ mask);
        }
    }
    for (; j < 8192; j++) {
        lin2ulaw_tab[8192 - j] = (uint8_t)(127 ^ (mask ^ 0x80));
        lin2ulaw_tab[8192 + j] = (uint8_t)(127 ^ mask);
    }
    lin2ulaw_tab[0] = lin2ulaw_tab[1];
}
static uint8_t lin2ulaw(int16_t s) { return lin2ulaw_tab[((int)s + 32768) >> 2]; }

/* The G.711 reference encoder (CCITT/Sun g711.c, spandsp's linear_to_ulaw): bias 0x84,
 * the quantization bits truncated, not rounded.  A player that encodes this way (swmld,
 * through spandsp) differs from lin2ulaw in one step on some samples. */
static inline uint8_t lin2ulaw_trunc(int16_t s) {
    int linear = s, mask, seg = 0;
    if (linear >= 0) { linear = 0x84 + linear; mask = 0xFF; }
    else { linear = 0x84 - linear; mask = 0x7F; }
    for (int v = (linear | 0xFF) >> 8; v; v >>= 1) seg++; /* top_bit(linear | 0xFF) - 7 */
    if (seg >= 8) return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((linear >> (seg + 3)) & 0xF)) ^ mask);
}

/* Reads a PCM WAV (must be 8000 Hz, mono, 16-bit).  Returns samples, sets *n. */
static int16_t *wav_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    uint8_t h[12];
    if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) {
        fprintf(stderr, "%s: not a RIFF/WAVE file\n", path);
        fclose(f);
        return NULL;
    }
    int fmt_ok = 0;
    for (;;) {
        uint8_t ch[8];
        if (fread(ch, 1, 8, f) != 8) break;
        uint32_t len = ch[4] | ch[5] << 8 | ch[6] << 16 | (uint32_t)ch[7] << 24;
        if (!memcmp(ch, "fmt ", 4)) {
            uint8_t fm[16];
            if (len < 16 || fread(fm, 1, 16, f) != 16) break;
            int fmt = fm[0] | fm[1] << 8, chans = fm[2] | fm[3] << 8, bits = fm[14] | fm[15] << 8;
            uint32_t rate = fm[4] | fm[5] << 8 | fm[6] << 16 | (uint32_t)fm[7] << 24;
            fmt_ok = (fmt == 1 || fmt == 0xfffe) && chans == 1 && bits == 16 && rate == 8000;
            if (!fmt_ok) {
                fprintf(stderr, "%s: need 8000 Hz mono 16-bit PCM (fmt %d, %d ch, %d bit, %u Hz)\n",
                        path, fmt, chans, bits, rate);
                break;
            }
            fseek(f, (long)(len - 16 + (len & 1)), SEEK_CUR);
        } else if (!memcmp(ch, "data", 4) && fmt_ok) {
            int16_t *s = malloc(len + 2);
            size_t got = fread(s, 1, len, f);
            fclose(f);
            *n = got / 2; /* little-endian host assumed (x86) */
            return s;
        } else {
            fseek(f, (long)(len + (len & 1)), SEEK_CUR);
        }
    }
    fprintf(stderr, "%s: no usable fmt/data chunk\n", path);
    fclose(f);
    return NULL;
}
#endif
