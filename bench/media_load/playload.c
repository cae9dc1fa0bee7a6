/* playload: drives and checks a prompt player (N concurrent plays of one WAV).
 * From the measurement harness in /work/shared/bench/play (playload.c), extended here.
 *
 * Stream i is received on 127.0.0.1:base+4i (one UDP socket each).
 *   -m ng    rtpengine: per call, ng "offer" (A = 127.0.0.1:base+4i, PCMU) and
 *            "answer" (B = base+4i+2), then "play media" with "file" toward A
 *            (from-tag of A).  A's RTCP port (base+4i+1) and B are bound and
 *            counted too.  The player's PID comes from -P.
 *   -m exec  everything after "--" is started as the player (e.g. bare_player);
 *            its PID is the child's; its stderr is appended to the RESULT line.
 *   -m pid   a player already running (PID from -P) that something else makes
 *            send to these ports, e.g. swmld with SIPp placing the calls
 *            (bench/media_load/run).  playload binds, says "ready" on stderr,
 *            waits up to -w seconds for every stream's first packet, then
 *            settles and measures as in the other modes.
 * Progress goes to stderr, one line each: "playload: ready", "playload: started
 * S/N after X s", "playload: window start", "playload: window end" (a driver
 * reads them to time its own samples; they are not part of the result).
 * -k S (not in exec mode): after printing the result, keep the ports open for S
 * seconds (packets read and dropped), e.g. while a profiler watches the player.
 * After all streams have started and a settle time, a D-second window is
 * measured: the player's CPU (utime+stime from /proc/PID/stat, per thread name
 * too), this tool's own CPU (getrusage), and per stream, for packets whose
 * kernel receive time (SO_TIMESTAMPNS) falls in the window: received vs
 * expected (sequence numbers), gaps, duplicates/reordering, timestamp and SSRC
 * continuity, inter-arrival intervals (all streams: 1 us bins; per stream:
 * 100 us bins; streams whose p1 or p99 is outside 20 ms +- 2 ms; intervals
 * over 30 ms, i.e. a packet held back to the next 20 ms tick, and the streams
 * that had one), deviation from the RTP clock (arrival - ts/8000, max - min),
 * and the payload: every packet is compared with the prompt at the position
 * its sequence number implies (exact bytes, else within one mu-law step),
 * encoded the way -E says: "round" (nearest code, as ffmpeg and bare_player)
 * or "g711" (the G.711 reference encoder, truncating, as spandsp and swmld).
 * Three streams (first, middle, last) are captured and checked for the tone
 * (zero-crossing frequency, Goertzel energy share at -t Hz, level).
 *
 * Build: gcc -O2 -Wall -o playload playload.c -lpthread -lm
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "g711.h"

#define PKT_LEN 172
#define PAY 160
#define HIST_US 1000000 /* global intervals: 1 us bins up to 1 s */
#define SHB 1000        /* per-stream intervals: 100 us bins up to 100 ms */
#define NSPOT 3

typedef struct {
    int fd, fd_rtcp, fd_b;
    /* first packet ever seen on this stream */
    int have_first, marker0;
    uint16_t seq0;
    uint32_t ts0, ssrc0;
    int64_t first_arr;
    /* measurement window */
    int win;
    uint16_t prev_rel;
    uint16_t w_first_rel;
    uint32_t nrecv, lost_gaps, dup_reord, ts_jumps, ssrc_chg, pt_bad, len_bad;
    uint32_t pay_exact, pay_near, pay_bad, pay_unaligned;
    int64_t last_arr, dev_min, dev_max, ivl_max;
    uint32_t ivl_long; /* intervals over 1.5 packet times (30 ms): a packet held to the next tick */
    uint16_t *sh;
    uint32_t rtcp, bpk, outside;
    uint8_t *cap;
    uint32_t caplen, capmax;
} st_t;

static int N = 100, D = 20;
static int reply_first = 0; /* -a: answer each stream's first packet with one of ours */
static double start_wait = 5; /* s to wait for every stream's first packet */
static double linger = 0;     /* s to keep the ports open after the result (-m ng, pid) */
static st_t *st;
static uint8_t *enc; /* reference: prompt encoded to mu-law */
static int16_t *ref;
static size_t plen;
static volatile int64_t w0_rt = INT64_MAX, w1_rt = INT64_MAX;
static volatile int recv_stop;
static uint32_t *h_ivl;
static int64_t max_ivl;
static int started; /* streams with a first packet */

static int64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double hist_pct(const uint32_t *h, int nb, double p) {
    uint64_t tot = 0, acc = 0;
    for (int i = 0; i < nb; i++) tot += h[i];
    if (!tot) return -1;
    uint64_t want = (uint64_t)(p * (double)tot);
    if (want >= tot) want = tot - 1;
    for (int i = 0; i < nb; i++)
        if ((acc += h[i]) > want) return i;
    return nb - 1;
}
static double sh_pct(const uint16_t *h, double p) {
    uint64_t tot = 0, acc = 0;
    for (int i = 0; i < SHB; i++) tot += h[i];
    if (!tot) return -1;
    uint64_t want = (uint64_t)(p * (double)tot);
    if (want >= tot) want = tot - 1;
    for (int i = 0; i < SHB; i++)
        if ((acc += h[i]) > want) return i * 100.0 + 50;
    return SHB * 100.0;
}

/* ---------- per packet ---------- */
static void on_rtp(st_t *s, const uint8_t *p, int len, int64_t arr) {
    if (len < 12) { s->len_bad++; return; }
    uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
    uint32_t ts = (uint32_t)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7];
    uint32_t ssrc = (uint32_t)p[8] << 24 | p[9] << 16 | p[10] << 8 | p[11];
    if (!s->have_first) {
        s->have_first = 1;
        s->marker0 = (p[1] & 0x80) != 0;
        s->seq0 = seq;
        s->ts0 = ts;
        s->ssrc0 = ssrc;
        s->first_arr = arr;
        __atomic_add_fetch(&started, 1, __ATOMIC_RELAXED);
    }
    uint16_t rel = (uint16_t)(seq - s->seq0);
    if (arr < w0_rt || arr >= w1_rt) {
        s->outside++;
        s->last_arr = arr;
        return;
    }
    if (len != PKT_LEN) s->len_bad++;
    if ((p[1] & 0x7f) != 0 || p[0] != 0x80) s->pt_bad++;
    if (ssrc != s->ssrc0) s->ssrc_chg++;
    if (ts - s->ts0 != (uint32_t)rel * PAY) s->ts_jumps++;
    if (!s->win) {
        s->win = 1;
        s->w_first_rel = s->prev_rel = rel;
        s->dev_min = INT64_MAX;
        s->dev_max = INT64_MIN;
    } else if (rel == (uint16_t)(s->prev_rel + 1)) {
        s->prev_rel = rel;
    } else if ((int16_t)(rel - s->prev_rel) > 1) {
        s->lost_gaps += (uint16_t)(rel - s->prev_rel) - 1;
        s->prev_rel = rel;
    } else {
        s->dup_reord++;
    }
    s->nrecv++;
    /* deviation from the media clock */
    int64_t dev = arr - (int64_t)(uint32_t)(ts - s->ts0) * 125000LL;
    if (dev < s->dev_min) s->dev_min = dev;
    if (dev > s->dev_max) s->dev_max = dev;
    /* intervals */
    if (s->last_arr) {
        int64_t iv = arr - s->last_arr;
        if (iv < 0) iv = 0;
        if (iv > max_ivl) max_ivl = iv;
        if (iv > s->ivl_max) s->ivl_max = iv;
        if (iv > 30000000) s->ivl_long++;
        int64_t us = iv / 1000;
        h_ivl[us >= HIST_US ? HIST_US - 1 : us]++;
        int64_t b = iv / 100000;
        s->sh[b >= SHB ? SHB - 1 : b]++;
    }
    s->last_arr = arr;
    /* payload vs the prompt at this position */
    if (len == PKT_LEN && s->marker0) {
        size_t pos = ((size_t)rel * PAY) % plen;
        if (!memcmp(p + 12, enc + pos, PAY)) s->pay_exact++;
        else {
            int ok = 1;
            for (int k = 0; k < PAY && ok; k++) {
                int dec = ulaw2lin(p[12 + k]);
                int seg = ((~p[12 + k]) & 0x70) >> 4;
                if (abs(dec - ref[pos + k]) > (8 << seg) + 4) ok = 0;
            }
            if (ok) s->pay_near++;
            else s->pay_bad++;
        }
    } else if (len == PKT_LEN) {
        s->pay_unaligned++;
    }
    if (s->cap && len == PKT_LEN && s->caplen + PAY <= s->capmax) {
        memcpy(s->cap + s->caplen, p + 12, PAY);
        s->caplen += PAY;
    }
}

#define VLEN 16
static void *receiver(void *arg) {
    int epfd = *(int *)arg;
    struct epoll_event evs[256];
    struct mmsghdr msgs[VLEN];
    struct iovec iov[VLEN];
    static uint8_t bufs[VLEN][2048];
    static char ctl[VLEN][64];
    struct sockaddr_in from[VLEN];
    while (!recv_stop) {
        int n = epoll_wait(epfd, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            uint32_t tag = evs[i].data.u32;
            st_t *s = &st[tag >> 2];
            int kind = tag & 3; /* 0 rtp, 1 rtcp, 2 B */
            int fd = kind == 0 ? s->fd : kind == 1 ? s->fd_rtcp : s->fd_b;
            for (int k = 0; k < VLEN; k++) {
                iov[k].iov_base = bufs[k];
                iov[k].iov_len = sizeof bufs[k];
                memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
                msgs[k].msg_hdr.msg_iov = &iov[k];
                msgs[k].msg_hdr.msg_iovlen = 1;
                msgs[k].msg_hdr.msg_control = ctl[k];
                msgs[k].msg_hdr.msg_controllen = sizeof ctl[k];
                msgs[k].msg_hdr.msg_name = &from[k];
                msgs[k].msg_hdr.msg_namelen = sizeof from[k];
            }
            int m = recvmmsg(fd, msgs, VLEN, MSG_DONTWAIT, NULL);
            if (m <= 0) continue;
            if (kind == 1) { s->rtcp += m; continue; }
            if (kind == 2) { s->bpk += m; continue; }
            int64_t fallback = now_ns(CLOCK_REALTIME);
            for (int k = 0; k < m; k++) {
                int64_t arr = fallback;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[k].msg_hdr); c;
                     c = CMSG_NXTHDR(&msgs[k].msg_hdr, c))
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                        struct timespec t;
                        memcpy(&t, CMSG_DATA(c), sizeof t);
                        arr = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
                    }
                int first = !s->have_first;
                on_rtp(s, bufs[k], (int)msgs[k].msg_len, arr);
                if (first && reply_first) {
                    /* A phone sends RTP too: one packet back to where the stream comes from
                       (PCMU silence), which is what lets a latching player lock on. */
                    uint8_t hello[PKT_LEN];
                    memset(hello, 0xFF, sizeof hello);
                    hello[0] = 0x80, hello[1] = 0x80;
                    memset(hello + 2, 0, 10);
                    hello[11] = (uint8_t)(tag >> 2);
                    sendto(fd, hello, sizeof hello, 0, (struct sockaddr *)&from[k], sizeof from[k]);
                }
            }
        }
    }
    return NULL;
}

/* ---------- ng protocol (bencode over UDP) ---------- */
static int ngfd;
static struct sockaddr_in ngaddr;
static unsigned ngcookie;

static int bstr(char *o, const char *s) {
    size_t n = strlen(s);
    int k = sprintf(o, "%zu:", n);
    memcpy(o + k, s, n);
    return k + (int)n;
}

/* kv: NULL-terminated list of key, value pairs, keys in sorted order; a value
 * starting with '#' is sent as an integer.  Returns the reply body or NULL. */
static char *ng_call(const char **kv, int *rlen) {
    static char out[8192], in[65536];
    char ck[32];
    snprintf(ck, sizeof ck, "%u_%u", (unsigned)getpid(), ++ngcookie);
    int n = sprintf(out, "%s d", ck);
    for (int i = 0; kv[i]; i += 2) {
        n += bstr(out + n, kv[i]);
        if (kv[i + 1][0] == '#') n += sprintf(out + n, "i%se", kv[i + 1] + 1);
        else n += bstr(out + n, kv[i + 1]);
    }
    out[n++] = 'e';
    for (int tries = 0; tries < 5; tries++) {
        if (sendto(ngfd, out, n, 0, (struct sockaddr *)&ngaddr, sizeof ngaddr) < 0) {
            perror("ng sendto");
            return NULL;
        }
        for (;;) {
            ssize_t r = recv(ngfd, in, sizeof in - 1, 0);
            if (r < 0) break;
            in[r] = 0;
            size_t cl = strlen(ck);
            if ((size_t)r > cl + 1 && !memcmp(in, ck, cl) && in[cl] == ' ') {
                *rlen = (int)(r - cl - 1);
                return in + cl + 1;
            }
        }
    }
    fprintf(stderr, "ng %s: no reply\n", kv[3]);
    return NULL;
}
static int ng_ok(const char *body, int len, const char *what) {
    if (body && strstr(body, "6:result2:ok")) return 1;
    fprintf(stderr, "ng %s failed: %.*s\n", what, body ? len : 0, body ? body : "");
    return 0;
}
static void mk_sdp(char *o, int port, unsigned sessid) {
    sprintf(o,
            "v=0\r\no=- %u 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n",
            sessid, port);
}

/* ---------- CPU accounting ---------- */
static int64_t stat_ticks(const char *path, char *comm, size_t cl) {
    char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t r = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[r] = 0;
    char *o = strchr(buf, '('), *p = strrchr(buf, ')');
    if (!o || !p) return -1;
    if (comm) {
        size_t k = (size_t)(p - o - 1);
        if (k >= cl) k = cl - 1;
        memcpy(comm, o + 1, k);
        comm[k] = 0;
        for (char *c = comm; *c; c++)
            if (*c == ' ' || *c == ',' || *c == ':' || *c == '=') *c = '_';
    }
    long long ut = 0, sti = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &sti) != 2)
        return -1;
    return ut + sti;
}
static int64_t proc_ticks(int pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    return stat_ticks(path, NULL, 0);
}
#define MAXT 64
typedef struct { char comm[32]; int64_t t; } thr_t;
static int thread_ticks(int pid, thr_t *out) { /* summed per thread name */
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p2[300], comm[32];
        snprintf(p2, sizeof p2, "/proc/%d/task/%s/stat", pid, e->d_name);
        int64_t t = stat_ticks(p2, comm, sizeof comm);
        if (t < 0) continue;
        int j;
        for (j = 0; j < n; j++)
            if (!strcmp(out[j].comm, comm)) break;
        if (j == n) {
            if (n == MAXT) continue;
            strcpy(out[n].comm, comm);
            out[n++].t = 0;
        }
        out[j].t += t;
    }
    closedir(d);
    return n;
}
static double rusage_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}
static long proc_rss_kb(int pid) {
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* ---------- tone check ---------- */
static void tone_check(const uint8_t *cap, uint32_t n, double f, char *out, size_t ol) {
    if (n < 8000) { snprintf(out, ol, "short(%u)", n); return; }
    double coeff = 2 * cos(2 * M_PI * f / 8000.0), minratio = 1e9, e_all = 0;
    uint32_t zc = 0;
    int prev = ulaw2lin(cap[0]);
    for (uint32_t b = 0; b + 8000 <= n; b += 8000) {
        double s1 = 0, s2 = 0, e = 0;
        for (uint32_t i = b; i < b + 8000; i++) {
            double x = ulaw2lin(cap[i]) / 32768.0;
            double s0 = x + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
            e += x * x;
        }
        double pw = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        double ratio = e > 0 ? 2 * pw / (8000.0 * e) : 0;
        if (ratio < minratio) minratio = ratio;
        e_all += e;
    }
    for (uint32_t i = 1; i < n; i++) {
        int x = ulaw2lin(cap[i]);
        if ((prev < 0) != (x < 0)) zc++;
        prev = x;
    }
    uint32_t nb = n / 8000 * 8000;
    snprintf(out, ol, "%.2fHz/%.4f/%.1fdBFS", zc / 2.0 / (n / 8000.0), minratio,
             10 * log10(e_all / nb * 1.0 + 1e-20));
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void) {
    fprintf(stderr,
            "usage: playload -m ng|exec|pid [-n N] [-d secs] [-f prompt.wav] [-g ngip:port] [-P pid]\n"
            "                [-b base_port] [-r repeat_times] [-s settle_s] [-t tone_hz] [-l label]\n"
            "                [-w start_wait_s] [-E round|g711 (reference encoder)] [-k linger_s]\n"
            "                [-a (answer each stream's first packet with one RTP packet)]\n"
            "                [-- player command (exec mode)]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *mode = "ng", *ng = "127.0.0.1:12223", *wav = "prompt.wav", *label = "";
    const char *encoder = "round"; /* the reference payload: lin2ulaw (round) or lin2ulaw_trunc (g711) */
    int base = 20000, pid = 0, repeat = 0, opt;
    double settle = 1.0, tone = 440;
    while ((opt = getopt(argc, argv, "m:n:d:f:g:P:b:r:s:t:l:w:E:k:a")) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'n': N = atoi(optarg); break;
        case 'd': D = atoi(optarg); break;
        case 'f': wav = optarg; break;
        case 'g': ng = optarg; break;
        case 'P': pid = atoi(optarg); break;
        case 'b': base = atoi(optarg); break;
        case 'r': repeat = atoi(optarg); break;
        case 's': settle = atof(optarg); break;
        case 't': tone = atof(optarg); break;
        case 'l': label = optarg; break;
        case 'w': start_wait = atof(optarg); break;
        case 'E': encoder = optarg; break;
        case 'k': linger = atof(optarg); break;
        case 'a': reply_first = 1; break;
        default: usage();
        }
    }
    int is_ng = !strcmp(mode, "ng"), is_exec = !strcmp(mode, "exec"), is_pid = !strcmp(mode, "pid");
    if (N < 1 || D < 1 || (!is_ng && !is_exec && !is_pid) || (is_exec && optind >= argc)) usage();
    if ((is_ng || is_pid) && !pid) usage();
    if (start_wait <= 0 || (strcmp(encoder, "round") && strcmp(encoder, "g711"))) usage();

    g711_init();
    size_t ns;
    ref = wav_read(wav, &ns);
    if (!ref) return 1;
    plen = ns / PAY * PAY;
    enc = malloc(plen);
    int trunc = !strcmp(encoder, "g711");
    for (size_t i = 0; i < plen; i++) enc[i] = trunc ? lin2ulaw_trunc(ref[i]) : lin2ulaw(ref[i]);
    char wav_abs[4096];
    if (!realpath(wav, wav_abs)) { perror("realpath"); return 1; }

    st = calloc(N, sizeof *st);
    h_ivl = calloc(HIST_US, 4);
    struct rlimit rl = {4 * N + 256, 4 * N + 256};
    setrlimit(RLIMIT_NOFILE, &rl);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < N; i++) {
        st_t *s = &st[i];
        s->sh = calloc(SHB, sizeof(uint16_t));
        s->fd_rtcp = s->fd_b = -1;
        for (int kind = 0; kind < (is_ng ? 3 : 1); kind++) {
            int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) { perror("socket"); return 1; }
            int one = 1;
            if (kind == 0) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
            int port = base + 4 * i + (kind == 0 ? 0 : kind == 1 ? 1 : 2);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
                fprintf(stderr, "bind %d: %s\n", port, strerror(errno));
                return 1;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i << 2 | kind};
            epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
            if (kind == 0) s->fd = fd;
            else if (kind == 1) s->fd_rtcp = fd;
            else s->fd_b = fd;
        }
    }
    int spot[NSPOT] = {0, N / 2, N - 1};
    for (int k = 0; k < NSPOT; k++) {
        st_t *s = &st[spot[k]];
        if (!s->cap) {
            s->capmax = (uint32_t)(D + 2) * 8000;
            s->cap = malloc(s->capmax);
        }
    }
    pthread_t tr;
    pthread_create(&tr, NULL, receiver, &epfd);
    fprintf(stderr, "playload: ready (%d streams bound from port %d)\n", N, base);

    double setup_s = 0, play_s = 0, setup_cpu = -1, play_cpu = -1;
    long dur_ms = -1;
    int errfd = -1;
    int64_t c_s0 = 0;
    if (is_ng) {
        char ip[64];
        int port;
        if (sscanf(ng, "%63[^:]:%d", ip, &port) != 2) usage();
        ngfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {1, 0};
        setsockopt(ngfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ngaddr.sin_family = AF_INET;
        ngaddr.sin_port = htons(port);
        inet_pton(AF_INET, ip, &ngaddr.sin_addr);
        c_s0 = proc_ticks(pid);
        int64_t t = now_ns(CLOCK_MONOTONIC);
        char sdp[1024], cid[64], ft[32], tt[32], rep[32];
        unsigned sess = (unsigned)getpid();
        int rlen;
        for (int c = 0; c < N; c++) {
            snprintf(cid, sizeof cid, "pl-%u-%d", sess, c);
            snprintf(ft, sizeof ft, "fa%d", c);
            snprintf(tt, sizeof tt, "tb%d", c);
            mk_sdp(sdp, base + 4 * c, sess + c);
            const char *o[] = {"call-id", cid, "command", "offer", "from-tag", ft, "sdp", sdp, NULL};
            char *r = ng_call(o, &rlen);
            if (!ng_ok(r, rlen, "offer")) return 1;
            mk_sdp(sdp, base + 4 * c + 2, sess + c + 7);
            const char *a[] = {"call-id", cid, "command", "answer", "from-tag", ft,
                               "sdp", sdp, "to-tag", tt, NULL};
            r = ng_call(a, &rlen);
            if (!ng_ok(r, rlen, "answer")) return 1;
        }
        int64_t t2 = now_ns(CLOCK_MONOTONIC);
        int64_t c_s1 = proc_ticks(pid);
        setup_cpu = (c_s1 - c_s0) / (double)sysconf(_SC_CLK_TCK);
        setup_s = (t2 - t) / 1e9;
        snprintf(rep, sizeof rep, "#%d", repeat);
        for (int c = 0; c < N; c++) {
            snprintf(cid, sizeof cid, "pl-%u-%d", sess, c);
            snprintf(ft, sizeof ft, "fa%d", c);
            const char *p[] = {"call-id", cid, "command", "play media", "file", wav_abs,
                               "from-tag", ft, repeat > 0 ? "repeat-times" : NULL, rep, NULL};
            char *r = ng_call(p, &rlen);
            if (!ng_ok(r, rlen, "play media")) return 1;
            char *d = strstr(r, "8:durationi");
            if (d && c == 0) dur_ms = atol(d + 11);
        }
        play_s = (now_ns(CLOCK_MONOTONIC) - t2) / 1e9;
        play_cpu = (proc_ticks(pid) - c_s1) / (double)sysconf(_SC_CLK_TCK);
    } else if (is_exec) {
        int pfd[2];
        if (pipe(pfd) < 0) { perror("pipe"); return 1; }
        pid = fork();
        if (pid == 0) {
            dup2(pfd[1], 2);
            close(pfd[0]);
            execvp(argv[optind], argv + optind);
            perror("execvp");
            _exit(127);
        }
        close(pfd[1]);
        errfd = pfd[0];
    }
    /* wait for every stream to start, then settle */
    int64_t wt = now_ns(CLOCK_MONOTONIC);
    while (__atomic_load_n(&started, __ATOMIC_RELAXED) < N &&
           now_ns(CLOCK_MONOTONIC) - wt < (int64_t)(start_wait * 1e9))
        usleep(10000);
    double start_wait_s = (now_ns(CLOCK_MONOTONIC) - wt) / 1e9;
    int nstarted = __atomic_load_n(&started, __ATOMIC_RELAXED);
    fprintf(stderr, "playload: started %d/%d after %.2f s\n", nstarted, N, start_wait_s);
    usleep((useconds_t)(settle * 1e6));

    /* measurement window */
    thr_t th0[MAXT], th1[MAXT];
    int nth0 = thread_ticks(pid, th0);
    int64_t r0 = proc_ticks(pid);
    double u0 = rusage_s();
    int64_t m0 = now_ns(CLOCK_MONOTONIC);
    w0_rt = now_ns(CLOCK_REALTIME);
    fprintf(stderr, "playload: window start\n");
    int64_t mend = m0 + (int64_t)D * 1000000000LL;
    struct timespec te = {mend / 1000000000LL, mend % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &te, NULL) == EINTR) {}
    w1_rt = now_ns(CLOCK_REALTIME);
    int64_t r1 = proc_ticks(pid);
    double u1 = rusage_s();
    int64_t m1 = now_ns(CLOCK_MONOTONIC);
    int nth1 = thread_ticks(pid, th1);
    long rss = proc_rss_kb(pid);
    fprintf(stderr, "playload: window end\n");
    int alive = r0 >= 0 && r1 >= 0; /* the player's /proc entry was there at both ends */
    usleep(300000);
    recv_stop = 1;
    pthread_join(tr, NULL);

    char pinfo[2048] = "";
    if (is_exec) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        ssize_t k = read(errfd, pinfo, sizeof pinfo - 1);
        pinfo[k > 0 ? k : 0] = 0;
        for (char *c = pinfo; *c; c++)
            if (*c == '\n') *c = ' ';
    }

    /* ---------- aggregate ---------- */
    uint64_t recv = 0, exp_seq = 0, gaps = 0, dup = 0, tsj = 0, ssrcc = 0, ptb = 0, lenb = 0;
    uint64_t pex = 0, pnear = 0, pbad = 0, punal = 0, rtcp = 0, bpk = 0;
    int nowin = 0, nomark = 0;
    double *sp99 = calloc(N, sizeof(double)), *spread = calloc(N, sizeof(double));
    int nsp = 0;
    uint64_t ivl_long = 0;
    int s_long = 0, s_p99_out = 0;
    for (int i = 0; i < N; i++) {
        st_t *s = &st[i];
        rtcp += s->rtcp;
        bpk += s->bpk;
        if (s->have_first && !s->marker0) nomark++;
        if (!s->win) { nowin++; continue; }
        recv += s->nrecv;
        exp_seq += (uint16_t)(s->prev_rel - s->w_first_rel) + 1u;
        gaps += s->lost_gaps; dup += s->dup_reord; tsj += s->ts_jumps; ssrcc += s->ssrc_chg;
        ptb += s->pt_bad; lenb += s->len_bad;
        pex += s->pay_exact; pnear += s->pay_near; pbad += s->pay_bad; punal += s->pay_unaligned;
        sp99[nsp] = sh_pct(s->sh, 0.99);
        /* per stream: interval p1 or p99 outside 20 ms +- 2 ms (100 us bins, bin centres) */
        if (sp99[nsp] > 22000 || sh_pct(s->sh, 0.01) < 18000) s_p99_out++;
        ivl_long += s->ivl_long;
        if (s->ivl_long) s_long++;
        spread[nsp++] = (s->dev_max - s->dev_min) / 1e6;
    }
    qsort(sp99, nsp, sizeof(double), cmpd);
    qsort(spread, nsp, sizeof(double), cmpd);
    double wall = (m1 - m0) / 1e9, hz = (double)sysconf(_SC_CLK_TCK);
    double pcpu = (r1 - r0) / hz, tcpu = u1 - u0;
    double nominal = (double)N * 50.0 * wall;
    double streams_s = recv / 50.0;
    uint64_t lost = exp_seq > recv - dup ? exp_seq - (recv - dup) : 0;

    char tones[512] = "";
    for (int k = 0; k < NSPOT; k++) {
        if (k && spot[k] == spot[k - 1]) continue;
        char t[128];
        tone_check(st[spot[k]].cap, st[spot[k]].caplen, tone, t, sizeof t);
        size_t l = strlen(tones);
        snprintf(tones + l, sizeof tones - l, "%s%d:%s", l ? "," : "", spot[k], t);
    }
    char thr[2048] = "";
    for (int j = 0; j < nth1; j++) {
        int64_t before = 0;
        for (int q = 0; q < nth0; q++)
            if (!strcmp(th0[q].comm, th1[j].comm)) before = th0[q].t;
        double sec = (th1[j].t - before) / hz;
        if (sec < 0.005) continue;
        size_t l = strlen(thr);
        snprintf(thr + l, sizeof thr - l, "%s%.31s:%.2f", l ? "," : "", th1[j].comm, sec);
    }
    /* kept up: delivered >= 98% of the nominal packet rate (a player that sends in
     * bursts makes the count at the window edges uncertain by one burst) and no loss */
    int held = recv >= 0.98 * nominal && lost == 0 && nowin == 0;
    printf("RESULT label=%s mode=%s encoder=%s n=%d d=%d wall_s=%.3f setup_s=%.2f play_cmds_s=%.2f "
           "setup_cpu_s=%.2f play_cpu_s=%.2f play_cpu_ms_per_call=%.2f file_ms=%ld started=%d start_wait_s=%.2f no_marker=%d no_window=%d "
           "recv=%llu nominal=%.0f rate=%.4f expected_seq=%llu lost=%llu loss_pct=%.4f "
           "dup_reord=%llu ts_jumps=%llu ssrc_chg=%llu pt_bad=%llu len_bad=%llu "
           "pay_exact=%llu pay_near=%llu pay_bad=%llu pay_unaligned=%llu rtcp=%llu b_pkts=%llu "
           "ivl_p1_us=%.0f ivl_p50_us=%.0f ivl_p99_us=%.0f ivl_max_us=%.0f s_ivl_p99_med_us=%.0f "
           "s_ivl_p99_max_us=%.0f s_ivl_out_20pm2=%d ivl_over30=%llu s_ivl_over30=%d dev_pp_med_ms=%.2f dev_pp_max_ms=%.2f "
           "player_cpu_s=%.2f player_us_per_stream_s=%.1f player_pct_core=%.1f player_rss_kb=%ld "
           "tool_cpu_s=%.2f tool_us_per_stream_s=%.1f held=%s player_alive=%s tone=%s threads=%s %s\n",
           label, mode, encoder, N, D, wall, setup_s, play_s, setup_cpu, play_cpu,
           play_cpu >= 0 ? play_cpu * 1000 / N : -1, dur_ms, nstarted, start_wait_s,
           nomark, nowin, (unsigned long long)recv, nominal, recv / nominal,
           (unsigned long long)exp_seq, (unsigned long long)lost,
           exp_seq ? 100.0 * lost / exp_seq : 0, (unsigned long long)dup, (unsigned long long)tsj,
           (unsigned long long)ssrcc, (unsigned long long)ptb, (unsigned long long)lenb,
           (unsigned long long)pex, (unsigned long long)pnear, (unsigned long long)pbad,
           (unsigned long long)punal, (unsigned long long)rtcp, (unsigned long long)bpk,
           hist_pct(h_ivl, HIST_US, 0.01), hist_pct(h_ivl, HIST_US, 0.5), hist_pct(h_ivl, HIST_US, 0.99), max_ivl / 1000.0,
           nsp ? sp99[nsp / 2] : -1, nsp ? sp99[nsp - 1] : -1, s_p99_out, (unsigned long long)ivl_long, s_long,
           nsp ? spread[nsp / 2] : -1,
           nsp ? spread[nsp - 1] : -1, pcpu, streams_s > 0 ? pcpu * 1e6 / streams_s : -1,
           100.0 * pcpu / wall, rss, tcpu, streams_s > 0 ? tcpu * 1e6 / streams_s : -1,
           held ? "yes" : "NO", alive ? "yes" : "NO", tones, thr[0] ? thr : "-", pinfo);
    if (linger > 0 && !is_exec) {
        /* The ports stay open (packets read and dropped, outside the window) so that a
         * profiler attached to the player now sees it send, not answer ICMP errors. */
        fflush(stdout);
        recv_stop = 0;
        pthread_create(&tr, NULL, receiver, &epfd);
        usleep((useconds_t)(linger * 1e6));
        recv_stop = 1;
        pthread_join(tr, NULL);
    }
    return 0;
}
