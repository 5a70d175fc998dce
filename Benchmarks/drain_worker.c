/*
 * drain_worker: a consumer-group worker written against hiredis, the way a C service would drain a Redis stream.
 *
 *   drain_worker host port stream group consumer count
 *                [--max-entries N] [--ack-delay-ms D] [--claim-idle-ms M] [--leave-pending] [--report FILE]
 *
 * Each round: (with --claim-idle-ms) XAUTOCLAIM entries other consumers left pending longer than M ms, then
 * XREADGROUP GROUP group consumer COUNT count BLOCK 100 STREAMS stream >, "process" the batch (sleep D ms, append
 * the ids to FILE), then acknowledge the whole batch with one XACK. The worker stops after N entries, or once two
 * rounds in a row found nothing new; with --claim-idle-ms it also waits until the group has no pending entries left,
 * so that the entries of crashed workers are recovered before it exits. --leave-pending skips the XACK (to measure
 * the memory of a pending-entry list).
 *
 * Build: gcc -O2 -o drain_worker drain_worker.c $(pkg-config --cflags --libs hiredis)
 *
 * Output, one line on stdout:
 *   processed=<entries> claimed=<of which reclaimed> elapsed=<s> start=<epoch s> end=<epoch s> rate=<entries/s>
 * where start is taken just before the first read and end just after the last acknowledgement, so the idle rounds
 * that detect the end are not counted (compare.py combines start/end across parallel workers).
 * Exit status: 0 when done, 1 on a server error or lost connection, 2 on bad arguments.
 */
#include <errno.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rounds without new or reclaimed entries after which the stream counts as drained. */
#define EMPTY_ROUNDS_TO_STOP 2
/* How long one XREADGROUP waits for new entries, in milliseconds. */
#define BLOCK_MS "100"

struct options {
    const char *host;
    int port;
    const char *stream;
    const char *group;
    const char *consumer;
    long long count;          /* COUNT of each XREADGROUP and XAUTOCLAIM, >= 1 */
    long long max_entries;    /* stop after this many processed entries; 0 = no limit */
    long long ack_delay_ms;   /* simulated work per batch before the XACK; 0 = none */
    long long claim_idle_ms;  /* XAUTOCLAIM min-idle-time; -1 = never claim */
    int leave_pending;        /* 1 = never XACK */
    const char *report_path;  /* file receiving one processed id per line; NULL = none */
};

/* Ids of the batch being processed; they point into the hiredis reply that owns them. */
struct batch {
    const char **ids;
    size_t *lengths;
    size_t size;
    size_t capacity;
};

static void usage(const char *program) {
    fprintf(stderr,
            "usage: %s host port stream group consumer count [--max-entries N] [--ack-delay-ms D]\n"
            "       [--claim-idle-ms M] [--leave-pending] [--report FILE]\n",
            program);
    exit(2);
}

static long long parse_number(const char *text, const char *what, long long minimum) {
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum) {
        fprintf(stderr, "drain_worker: %s must be an integer >= %lld, got '%s'\n", what, minimum, text);
        exit(2);
    }
    return value;
}

static void parse_options(int argc, char **argv, struct options *options) {
    if (argc < 7) usage(argv[0]);
    options->host = argv[1];
    options->port = (int)parse_number(argv[2], "port", 1);
    options->stream = argv[3];
    options->group = argv[4];
    options->consumer = argv[5];
    options->count = parse_number(argv[6], "count", 1);
    options->max_entries = 0;
    options->ack_delay_ms = 0;
    options->claim_idle_ms = -1;
    options->leave_pending = 0;
    options->report_path = NULL;
    for (int i = 7; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--leave-pending") == 0) {
            options->leave_pending = 1;
            continue;
        }
        if (i + 1 >= argc) usage(argv[0]);
        const char *value = argv[++i];
        if (strcmp(flag, "--max-entries") == 0) {
            options->max_entries = parse_number(value, "--max-entries", 1);
        } else if (strcmp(flag, "--ack-delay-ms") == 0) {
            options->ack_delay_ms = parse_number(value, "--ack-delay-ms", 0);
        } else if (strcmp(flag, "--claim-idle-ms") == 0) {
            options->claim_idle_ms = parse_number(value, "--claim-idle-ms", 0);
        } else if (strcmp(flag, "--report") == 0) {
            options->report_path = value;
        } else {
            usage(argv[0]);
        }
    }
}

static double now_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long long milliseconds) {
    struct timespec ts = {.tv_sec = milliseconds / 1000, .tv_nsec = (milliseconds % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Exits on a lost connection or an error reply: a worker that cannot talk to its server has nothing to do. */
static redisReply *checked(redisContext *context, redisReply *reply, const char *command) {
    if (reply == NULL) {
        fprintf(stderr, "drain_worker: %s: connection error: %s\n", command, context->errstr);
        exit(1);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "drain_worker: %s: %s\n", command, reply->str);
        exit(1);
    }
    return reply;
}

static void batch_push(struct batch *batch, const char *id, size_t length) {
    if (batch->size == batch->capacity) {
        batch->capacity = batch->capacity ? batch->capacity * 2 : 128;
        batch->ids = realloc(batch->ids, batch->capacity * sizeof *batch->ids);
        batch->lengths = realloc(batch->lengths, batch->capacity * sizeof *batch->lengths);
        if (batch->ids == NULL || batch->lengths == NULL) {
            fprintf(stderr, "drain_worker: out of memory\n");
            exit(1);
        }
    }
    batch->ids[batch->size] = id;
    batch->lengths[batch->size] = length;
    batch->size++;
}

/* Adds the ids of an entry array ([[id, [field, value, ...]], ...]) to the batch. */
static void collect_entry_ids(const redisReply *entries, struct batch *batch) {
    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *entry = entries->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 1) continue;
        const redisReply *id = entry->element[0];
        if (id->type == REDIS_REPLY_STRING) batch_push(batch, id->str, id->len);
    }
}

/* Appends the batch's ids to the report, flushed before the XACK so a killed worker's file is complete up to the
 * batch it was holding. */
static void report_batch(FILE *report, const struct batch *batch) {
    if (report == NULL) return;
    for (size_t i = 0; i < batch->size; i++) {
        fwrite(batch->ids[i], 1, batch->lengths[i], report);
        fputc('\n', report);
    }
    if (fflush(report) != 0) {
        perror("drain_worker: report");
        exit(1);
    }
}

static void acknowledge(redisContext *context, const struct options *options, const struct batch *batch) {
    size_t argc = 3 + batch->size;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lengths = malloc(argc * sizeof *lengths);
    if (argv == NULL || lengths == NULL) {
        fprintf(stderr, "drain_worker: out of memory\n");
        exit(1);
    }
    argv[0] = "XACK";
    argv[1] = options->stream;
    argv[2] = options->group;
    for (size_t i = 0; i < 3; i++) lengths[i] = strlen(argv[i]);
    memcpy(argv + 3, batch->ids, batch->size * sizeof *argv);
    memcpy(lengths + 3, batch->lengths, batch->size * sizeof *lengths);
    redisReply *reply = checked(context, redisCommandArgv(context, (int)argc, argv, lengths), "XACK");
    freeReplyObject(reply);
    free(argv);
    free(lengths);
}

/* Processes one batch: simulated work, report, acknowledgement. */
static void process(redisContext *context, const struct options *options, FILE *report, const struct batch *batch) {
    if (batch->size == 0) return;
    if (options->ack_delay_ms > 0) sleep_ms(options->ack_delay_ms);
    report_batch(report, batch);
    if (!options->leave_pending) acknowledge(context, options, batch);
}

static long long group_pending_count(redisContext *context, const struct options *options) {
    redisReply *reply = checked(context, redisCommand(context, "XPENDING %s %s", options->stream, options->group),
                                "XPENDING");
    long long pending = 0;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 && reply->element[0]->type == REDIS_REPLY_INTEGER)
        pending = reply->element[0]->integer;
    freeReplyObject(reply);
    return pending;
}

int main(int argc, char **argv) {
    struct options options;
    parse_options(argc, argv, &options);

    FILE *report = NULL;
    if (options.report_path != NULL) {
        report = fopen(options.report_path, "a");
        if (report == NULL) {
            perror(options.report_path);
            return 1;
        }
    }
    redisContext *context = redisConnect(options.host, options.port);
    if (context == NULL || context->err) {
        fprintf(stderr, "drain_worker: cannot connect to %s:%d: %s\n", options.host, options.port,
                context ? context->errstr : "out of memory");
        return 1;
    }

    char claim_idle[32];
    snprintf(claim_idle, sizeof claim_idle, "%lld", options.claim_idle_ms);
    /* XAUTOCLAIM resumes where the previous call stopped; the server answers 0-0 when the scan wrapped around. */
    char claim_cursor[64] = "0-0";
    struct batch batch = {0};
    long long processed = 0, claimed = 0;
    int empty_rounds = 0;
    double start_wall = now_seconds(CLOCK_REALTIME), start = now_seconds(CLOCK_MONOTONIC);
    double end_wall = start_wall, end = start;

    while (options.max_entries == 0 || processed < options.max_entries) {
        long long wanted = options.count;
        if (options.max_entries > 0 && options.max_entries - processed < wanted)
            wanted = options.max_entries - processed;
        char count[32];
        snprintf(count, sizeof count, "%lld", wanted);
        size_t round_entries = 0;

        if (options.claim_idle_ms >= 0) {
            redisReply *reply = checked(
                context,
                redisCommand(context, "XAUTOCLAIM %s %s %s %s %s COUNT %s", options.stream, options.group,
                             options.consumer, claim_idle, claim_cursor, count),
                "XAUTOCLAIM");
            if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
                const redisReply *cursor = reply->element[0];
                if (cursor->type == REDIS_REPLY_STRING && cursor->len < sizeof claim_cursor) {
                    memcpy(claim_cursor, cursor->str, cursor->len);
                    claim_cursor[cursor->len] = '\0';
                }
                batch.size = 0;
                collect_entry_ids(reply->element[1], &batch);
                process(context, &options, report, &batch);
                claimed += (long long)batch.size;
                processed += (long long)batch.size;
                round_entries += batch.size;
            }
            freeReplyObject(reply);
            if (options.max_entries > 0 && processed >= options.max_entries) break;
            if (options.max_entries > 0 && options.max_entries - processed < wanted) {
                wanted = options.max_entries - processed;
                snprintf(count, sizeof count, "%lld", wanted);
            }
        }

        redisReply *reply = checked(
            context,
            redisCommand(context, "XREADGROUP GROUP %s %s COUNT %s BLOCK " BLOCK_MS " STREAMS %s >", options.group,
                         options.consumer, count, options.stream),
            "XREADGROUP");
        batch.size = 0;
        /* RESP2 reply: [[stream, [[id, fields], ...]]], or nil when the block timed out. */
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1) {
            const redisReply *stream = reply->element[0];
            if (stream->type == REDIS_REPLY_ARRAY && stream->elements >= 2)
                collect_entry_ids(stream->element[1], &batch);
        }
        process(context, &options, report, &batch);
        processed += (long long)batch.size;
        round_entries += batch.size;
        freeReplyObject(reply);

        if (round_entries > 0) {
            empty_rounds = 0;
            end_wall = now_seconds(CLOCK_REALTIME);
            end = now_seconds(CLOCK_MONOTONIC);
            continue;
        }
        empty_rounds++;
        if (empty_rounds < EMPTY_ROUNDS_TO_STOP) continue;
        /* A claiming worker stays until the entries of every consumer are acknowledged, dead ones included. */
        if (options.claim_idle_ms >= 0 && !options.leave_pending && group_pending_count(context, &options) > 0)
            continue;
        break;
    }

    double elapsed = end - start;
    printf("processed=%lld claimed=%lld elapsed=%.6f start=%.6f end=%.6f rate=%.0f\n", processed, claimed, elapsed,
           start_wall, end_wall, elapsed > 0 ? (double)processed / elapsed : 0.0);
    if (report != NULL) fclose(report);
    free(batch.ids);
    free(batch.lengths);
    redisFree(context);
    return 0;
}
