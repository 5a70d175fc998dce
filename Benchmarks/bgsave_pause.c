/*
 * bgsave_pause: the longest stall a client sees while the server takes a background snapshot.
 *
 *   bgsave_pause host port
 *
 * One connection sends PING in a tight loop (one in flight at a time) and times each round trip; a second connection
 * sends BGSAVE without waiting, then polls INFO persistence until rdb_bgsave_in_progress is 0 again. A PING that
 * arrives while the event loop is paused (redis-server forking, rill-server copying its keyspace) waits for the pause
 * to end, so the longest round trip during the save bounds the pause from the client's side. The same loop runs for
 * half a second before BGSAVE to show what an idle round trip costs on this machine.
 *
 * Build: gcc -O2 -o bgsave_pause bgsave_pause.c $(pkg-config --cflags --libs hiredis)
 *
 * Output, one line on stdout:
 *   baseline_max_ms=<ms> max_ms=<ms during the save> pings=<during the save> save_ms=<BGSAVE sent to not in progress>
 * Exit status: 0 when the save finished, 1 on an error reply, lost connection or a save that never ends, 2 on bad
 * arguments.
 */
#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASELINE_NS (500LL * 1000000LL)
#define INFO_INTERVAL_NS (5LL * 1000000LL)
#define SAVE_TIMEOUT_NS (120LL * 1000000000LL)

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static redisContext *connect_or_exit(const char *host, int port) {
    redisContext *context = redisConnect(host, port);
    if (context == NULL || context->err) {
        fprintf(stderr, "bgsave_pause: cannot connect to %s:%d: %s\n", host, port,
                context ? context->errstr : "out of memory");
        exit(1);
    }
    return context;
}

/* One PING round trip, in ns. */
static long long ping(redisContext *context) {
    long long start = now_ns();
    redisReply *reply = redisCommand(context, "PING");
    long long elapsed = now_ns() - start;
    if (reply == NULL || reply->type != REDIS_REPLY_STATUS) {
        fprintf(stderr, "bgsave_pause: PING failed: %s\n", reply ? reply->str : context->errstr);
        exit(1);
    }
    freeReplyObject(reply);
    return elapsed;
}

/* Sends a command on the control connection without waiting for its reply. */
static void send_without_waiting(redisContext *context, const char *command) {
    redisAppendCommand(context, command);
    int done = 0;
    while (!done) {
        if (redisBufferWrite(context, &done) != REDIS_OK) {
            fprintf(stderr, "bgsave_pause: write: %s\n", context->errstr);
            exit(1);
        }
    }
}

/* The control connection's reply if one has fully arrived, else NULL; never blocks. */
static redisReply *reply_if_ready(redisContext *context) {
    void *reply = NULL;
    if (redisGetReplyFromReader(context, &reply) == REDIS_OK && reply != NULL) return reply;
    struct pollfd fd = {.fd = context->fd, .events = POLLIN};
    if (poll(&fd, 1, 0) <= 0) return NULL;
    if (redisBufferRead(context) != REDIS_OK || redisGetReplyFromReader(context, &reply) != REDIS_OK) {
        fprintf(stderr, "bgsave_pause: control connection: %s\n", context->errstr);
        exit(1);
    }
    return reply;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s host port\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[2]);
    if (port <= 0) {
        fprintf(stderr, "bgsave_pause: bad port '%s'\n", argv[2]);
        return 2;
    }
    redisContext *pinger = connect_or_exit(argv[1], port), *control = connect_or_exit(argv[1], port);

    long long baseline_max = 0, started = now_ns();
    while (now_ns() - started < BASELINE_NS) {
        long long rtt = ping(pinger);
        if (rtt > baseline_max) baseline_max = rtt;
    }

    long long save_started = now_ns(), save_max = 0, pings = 0, next_info = 0;
    send_without_waiting(control, "BGSAVE");
    int accepted = 0, waiting_for_info = 0;
    for (;;) {
        long long rtt = ping(pinger);
        pings++;
        if (rtt > save_max) save_max = rtt;
        long long now = now_ns();
        if (now - save_started > SAVE_TIMEOUT_NS) {
            fprintf(stderr, "bgsave_pause: the save did not finish in time\n");
            return 1;
        }
        redisReply *reply = reply_if_ready(control);
        if (reply != NULL) {
            if (reply->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "bgsave_pause: %s\n", reply->str);
                return 1;
            }
            int finished = accepted && reply->type == REDIS_REPLY_STRING &&
                           strstr(reply->str, "rdb_bgsave_in_progress:0") != NULL;
            accepted = 1;
            waiting_for_info = 0;
            freeReplyObject(reply);
            if (finished) break;
        }
        if (accepted && !waiting_for_info && now >= next_info) {
            send_without_waiting(control, "INFO persistence");
            waiting_for_info = 1;
            next_info = now + INFO_INTERVAL_NS;
        }
    }
    printf("baseline_max_ms=%.3f max_ms=%.3f pings=%lld save_ms=%.1f\n", baseline_max / 1e6, save_max / 1e6, pings,
           (now_ns() - save_started) / 1e6);
    redisFree(pinger);
    redisFree(control);
    return 0;
}
