/* bare_player: the "physical floor" of a prompt player.
 * From the measurement harness in /work/shared/bench/play (bare_player.c).
 *
 * Reads a WAV (8 kHz mono 16-bit), encodes it once to G.711 mu-law in memory,
 * then plays it to N streams: one thread, one absolute 20 ms deadline
 * (clock_nanosleep TIMER_ABSTIME); on each tick it sends one 172-byte PCMU RTP
 * packet per stream, each stream from its own connected UDP socket on
 * 127.0.0.1 to its own receiver port (127.0.0.1:base+4i).  The prompt loops
 * when it ends.  Per stream: random SSRC / initial seq / initial timestamp,
 * marker bit on the first packet.  No parsing, no per-stream timers, no RTCP.
 *
 * -u: the sockets are not connected; each packet goes out with sendto() and
 * the destination address, as a server that takes the address from the SDP
 * does (the kernel then looks the route up per packet).
 *
 * Runs until SIGTERM/SIGINT, then prints tick statistics to stderr.
 *
 * Build: gcc -O2 -Wall -o bare_player bare_player.c
 * Usage: bare_player -n N -b base_port -f prompt.wav [-u]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "g711.h"

#define PTIME_NS 20000000LL
#define PAY 160

typedef struct {
    int fd;
    uint32_t ssrc, ts;
    uint16_t seq;
    uint32_t pos; /* byte offset into the encoded prompt */
    int first;
} st_t;

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

#define HB 100000 /* 1 us bins up to 100 ms */
static uint32_t h_late[HB], h_work[HB];
static void hadd(uint32_t *h, int64_t ns) {
    int64_t us = ns < 0 ? 0 : ns / 1000;
    h[us >= HB ? HB - 1 : us]++;
}
static long hpct(const uint32_t *h, double p) {
    uint64_t tot = 0, acc = 0;
    for (int i = 0; i < HB; i++) tot += h[i];
    if (!tot) return -1;
    uint64_t want = (uint64_t)(p * (double)tot);
    if (want >= tot) want = tot - 1;
    for (int i = 0; i < HB; i++)
        if ((acc += h[i]) > want) return i;
    return HB - 1;
}

int main(int argc, char **argv) {
    int N = 100, base = 20000, opt, unconnected = 0;
    const char *wav = "prompt.wav";
    while ((opt = getopt(argc, argv, "n:b:f:u")) != -1) {
        switch (opt) {
        case 'n': N = atoi(optarg); break;
        case 'b': base = atoi(optarg); break;
        case 'f': wav = optarg; break;
        case 'u': unconnected = 1; break;
        default:
            fprintf(stderr, "usage: bare_player -n N -b base_port -f prompt.wav [-u]\n");
            return 2;
        }
    }
    g711_init();
    size_t ns;
    int16_t *pcm = wav_read(wav, &ns);
    if (!pcm) return 1;
    size_t plen = ns / PAY * PAY; /* whole packets only */
    if (!plen) { fprintf(stderr, "prompt shorter than one packet\n"); return 1; }
    uint8_t *enc = malloc(plen);
    for (size_t i = 0; i < plen; i++) enc[i] = lin2ulaw(pcm[i]);
    free(pcm);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)N + 64) {
        rl.rlim_cur = rl.rlim_max = (rlim_t)N + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    st_t *st = calloc(N, sizeof *st);
    struct sockaddr_in *dst = calloc(N, sizeof *dst);
    srand((unsigned)now_ns() ^ (unsigned)getpid());
    for (int i = 0; i < N; i++) {
        st[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(base + 4 * i)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        dst[i] = a;
        struct sockaddr_in local = {.sin_family = AF_INET};
        local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (st[i].fd < 0 ||
            (unconnected ? bind(st[i].fd, (struct sockaddr *)&local, sizeof local)
                         : connect(st[i].fd, (struct sockaddr *)&a, sizeof a)) < 0) {
            perror("socket/connect");
            return 1;
        }
        st[i].ssrc = (uint32_t)rand() ^ ((uint32_t)i << 20);
        st[i].ts = (uint32_t)rand();
        st[i].seq = (uint16_t)rand();
        st[i].first = 1;
    }
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);

    uint8_t pkt[12 + PAY];
    int64_t next = now_ns();
    uint64_t ticks = 0, sent = 0, errs = 0, behind = 0;
    while (!stop) {
        struct timespec t = {next / 1000000000LL, next % 1000000000LL};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) continue;
        int64_t woke = now_ns();
        hadd(h_late, woke - next);
        for (int i = 0; i < N; i++) {
            st_t *s = &st[i];
            pkt[0] = 0x80;
            pkt[1] = s->first ? 0x80 : 0x00; /* M bit on the first packet, PT 0 */
            pkt[2] = s->seq >> 8; pkt[3] = (uint8_t)s->seq;
            pkt[4] = s->ts >> 24; pkt[5] = s->ts >> 16; pkt[6] = s->ts >> 8; pkt[7] = (uint8_t)s->ts;
            pkt[8] = s->ssrc >> 24; pkt[9] = s->ssrc >> 16; pkt[10] = s->ssrc >> 8; pkt[11] = (uint8_t)s->ssrc;
            memcpy(pkt + 12, enc + s->pos, PAY);
            ssize_t r = unconnected ? sendto(s->fd, pkt, sizeof pkt, MSG_DONTWAIT, (struct sockaddr *)&dst[i], sizeof dst[i])
                                    : send(s->fd, pkt, sizeof pkt, 0);
            if (r == (ssize_t)sizeof pkt) sent++;
            else errs++;
            s->first = 0;
            s->seq++;
            s->ts += PAY;
            s->pos += PAY;
            if (s->pos >= plen) s->pos = 0;
        }
        hadd(h_work, now_ns() - woke);
        ticks++;
        next += PTIME_NS;
        if (now_ns() > next) behind++; /* the next deadline has already passed */
    }
    fprintf(stderr,
            "bare_player n=%d unconnected=%d ticks=%llu sent=%llu send_errs=%llu ticks_overrun=%llu "
            "wake_late_p50_us=%ld wake_late_p99_us=%ld wake_late_max_us=%ld "
            "tick_work_p50_us=%ld tick_work_p99_us=%ld tick_work_max_us=%ld\n",
            N, unconnected, (unsigned long long)ticks, (unsigned long long)sent, (unsigned long long)errs,
            (unsigned long long)behind, hpct(h_late, 0.5), hpct(h_late, 0.99), hpct(h_late, 1.0),
            hpct(h_work, 0.5), hpct(h_work, 0.99), hpct(h_work, 1.0));
    return 0;
}
