/*
 * fanout_latency: how fast one producer's entries reach many readers blocked in XREAD BLOCK.
 *
 *   fanout_latency host port stream readers messages
 *
 * Opens `readers` connections, each parked in XREAD BLOCK 0 STREAMS stream <last id>, and one producer connection.
 * The producer XADDs `messages` entries, one at a time, each carrying its send time (CLOCK_MONOTONIC, ns) in the
 * field `sent`; after each XADD it waits until every reader received the entry before sending the next, so the
 * latency measured is the server's wake-up and delivery path, not a queue built up by the benchmark. Readers re-block
 * on the id of the last entry they saw (not `$`), so an entry added before a reader re-blocked is still delivered.
 *
 * All connections are served by one thread polling their sockets, so the readers do not compete with each other for
 * the 2 cores the way 50 threads would; a receive time is taken when the reader's reply has been parsed.
 *
 * Build: gcc -O2 -o fanout_latency fanout_latency.c $(pkg-config --cflags --libs hiredis)
 *
 * Output, one line on stdout:
 *   deliveries=<readers x messages> elapsed=<s> rate=<deliveries/s> p50_ms=<ms> p99_ms=<ms> max_ms=<ms>
 * Exit status: 0 when every reader got every entry, 1 on a server error, lost connection or lost entry, 2 on bad
 * arguments.
 */
#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A reader that receives nothing for this long means the server lost a wake-up. */
#define STALL_TIMEOUT_MS 10000

struct reader {
    redisContext *context;
    char last_id[64];
    long long received; /* entries received so far */
};

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long parse_number(const char *text, const char *what) {
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1) {
        fprintf(stderr, "fanout_latency: %s must be a positive integer, got '%s'\n", what, text);
        exit(2);
    }
    return value;
}

static redisContext *connect_or_exit(const char *host, int port) {
    redisContext *context = redisConnect(host, port);
    if (context == NULL || context->err) {
        fprintf(stderr, "fanout_latency: cannot connect to %s:%d: %s\n", host, port,
                context ? context->errstr : "out of memory");
        exit(1);
    }
    return context;
}

/* Queues XREAD BLOCK 0 from the reader's last id and writes it out without waiting for the reply. */
static void block_reader(struct reader *reader, const char *stream) {
    redisAppendCommand(reader->context, "XREAD BLOCK 0 STREAMS %s %s", stream, reader->last_id);
    int done = 0;
    while (!done) {
        if (redisBufferWrite(reader->context, &done) != REDIS_OK) {
            fprintf(stderr, "fanout_latency: write: %s\n", reader->context->errstr);
            exit(1);
        }
    }
}

static int compare_long_long(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Records the latency of every entry in an XREAD reply ([[stream, [[id, [field, value, ...]], ...]]]) and moves
 * the reader's last id forward. */
static void record_entries(struct reader *reader, const redisReply *reply, long long received_at, long long *latencies,
                           long long *latency_count, long long latency_capacity) {
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        fprintf(stderr, "fanout_latency: unexpected XREAD reply type %d\n", reply->type);
        exit(1);
    }
    const redisReply *entries = reply->element[0]->element[1];
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *entry = entries->element[i];
        const redisReply *id = entry->element[0], *fields = entry->element[1];
        if (id->len >= sizeof reader->last_id) exit(1);
        memcpy(reader->last_id, id->str, id->len);
        reader->last_id[id->len] = '\0';
        long long sent = -1;
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
            if (strcmp(fields->element[f]->str, "sent") == 0) sent = atoll(fields->element[f + 1]->str);
        }
        if (sent < 0) {
            fprintf(stderr, "fanout_latency: entry %s has no 'sent' field\n", reader->last_id);
            exit(1);
        }
        if (*latency_count >= latency_capacity) {
            fprintf(stderr, "fanout_latency: entry %s delivered twice\n", reader->last_id);
            exit(1);
        }
        latencies[(*latency_count)++] = received_at - sent;
        reader->received++;
    }
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s host port stream readers messages\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *stream = argv[3];
    int port = (int)parse_number(argv[2], "port");
    long long reader_count = parse_number(argv[4], "readers"), messages = parse_number(argv[5], "messages");

    redisContext *producer = connect_or_exit(host, port);
    /* Start after whatever the stream already holds, so earlier runs do not count. */
    redisReply *top = redisCommand(producer, "XREVRANGE %s + - COUNT 1", stream);
    char start_id[64] = "0-0";
    if (top != NULL && top->type == REDIS_REPLY_ARRAY && top->elements == 1) {
        const redisReply *id = top->element[0]->element[0];
        snprintf(start_id, sizeof start_id, "%.*s", (int)id->len, id->str);
    }
    if (top != NULL) freeReplyObject(top);

    struct reader *readers = calloc((size_t)reader_count, sizeof *readers);
    struct pollfd *fds = calloc((size_t)reader_count, sizeof *fds);
    long long *latencies = malloc((size_t)(reader_count * messages) * sizeof *latencies);
    if (readers == NULL || fds == NULL || latencies == NULL) {
        fprintf(stderr, "fanout_latency: out of memory\n");
        return 1;
    }
    for (long long r = 0; r < reader_count; r++) {
        readers[r].context = connect_or_exit(host, port);
        strcpy(readers[r].last_id, start_id);
        block_reader(&readers[r], stream);
        fds[r].fd = readers[r].context->fd;
        fds[r].events = POLLIN;
    }
    /* Let the server park every reader before the first entry, so the first wake-up is measured like the rest. */
    struct timespec settle = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
    nanosleep(&settle, NULL);

    long long latency_count = 0;
    long long started = now_ns();
    for (long long m = 1; m <= messages; m++) {
        char sent[32];
        snprintf(sent, sizeof sent, "%lld", now_ns());
        redisReply *added = redisCommand(producer, "XADD %s * sent %s", stream, sent);
        if (added == NULL || added->type != REDIS_REPLY_STRING) {
            fprintf(stderr, "fanout_latency: XADD failed: %s\n", added ? added->str : producer->errstr);
            return 1;
        }
        freeReplyObject(added);
        long long waiting = reader_count;
        for (long long r = 0; r < reader_count; r++) {
            if (readers[r].received >= m) waiting--;
        }
        while (waiting > 0) {
            int ready = poll(fds, (nfds_t)reader_count, STALL_TIMEOUT_MS);
            if (ready == 0) {
                fprintf(stderr, "fanout_latency: %lld readers did not receive entry %lld\n", waiting, m);
                return 1;
            }
            if (ready < 0 && errno != EINTR) {
                perror("fanout_latency: poll");
                return 1;
            }
            for (long long r = 0; r < reader_count && ready > 0; r++) {
                if (!(fds[r].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                ready--;
                if (redisBufferRead(readers[r].context) != REDIS_OK) {
                    fprintf(stderr, "fanout_latency: reader %lld: %s\n", r, readers[r].context->errstr);
                    return 1;
                }
                void *reply = NULL;
                while (redisGetReplyFromReader(readers[r].context, &reply) == REDIS_OK && reply != NULL) {
                    long long before = readers[r].received;
                    record_entries(&readers[r], reply, now_ns(), latencies, &latency_count, reader_count * messages);
                    freeReplyObject(reply);
                    reply = NULL;
                    if (before < m && readers[r].received >= m) waiting--;
                    block_reader(&readers[r], stream);
                }
            }
        }
    }
    double elapsed = (double)(now_ns() - started) / 1e9;

    qsort(latencies, (size_t)latency_count, sizeof *latencies, compare_long_long);
    long long p50 = latencies[latency_count / 2];
    long long p99 = latencies[(latency_count * 99) / 100 < latency_count ? (latency_count * 99) / 100 : latency_count - 1];
    long long max = latencies[latency_count - 1];
    printf("deliveries=%lld elapsed=%.6f rate=%.0f p50_ms=%.4f p99_ms=%.4f max_ms=%.4f\n", latency_count, elapsed,
           (double)latency_count / elapsed, p50 / 1e6, p99 / 1e6, max / 1e6);
    for (long long r = 0; r < reader_count; r++) redisFree(readers[r].context);
    redisFree(producer);
    free(readers);
    free(fds);
    free(latencies);
    return latency_count == reader_count * messages ? 0 : 1;
}
