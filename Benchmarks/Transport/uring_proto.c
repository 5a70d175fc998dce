/*
 * A PING/XADD-shaped server on an io_uring loop (liburing), the counterpart of Sources/nio-proto: same requests,
 * same replies, no keyspace. Written in C rather than Swift over a C shim, for time: Swift glue means a module map,
 * C wrappers for liburing's function-like macros (io_uring_for_each_cqe) and unsafe-pointer code for completions and
 * ring buffers, while C measures the same kernel path; the Swift version is what building it into rill-server means.
 *
 * One thread. Per loop tick: one io_uring_submit_and_wait (a single io_uring_enter) submits every reply gathered in
 * the previous tick and waits for completions. The listener has one multishot accept; each connection has one
 * multishot receive that takes its buffers from a provided buffer ring, so no receive is re-armed per request.
 * Replies are gathered per connection while the completions of a tick are handled and sent with one send each.
 *
 *     uring_proto PORT
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

enum { RING_ENTRIES = 4096, BUFFER_COUNT = 1024, BUFFER_SIZE = 16384, BUFFER_GROUP = 0, MAX_FDS = 65536 };
enum operation { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };

static const char PONG[] = "+PONG\r\n";
/* The id every XADD is answered with: the reply has the size and shape of a real one. */
static const char XADD_REPLY[] = "$15\r\n1700000000000-0\r\n";
static const char UNKNOWN[] = "-ERR unknown command\r\n";

/* A growable byte array. */
struct bytes {
    char *data;
    size_t length, capacity;
};

static void bytes_append(struct bytes *b, const char *data, size_t length) {
    if (b->length + length > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 1024;
        while (capacity < b->length + length) capacity *= 2;
        b->data = realloc(b->data, capacity);
        if (!b->data) { perror("realloc"); exit(1); }
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, data, length);
    b->length += length;
}

struct connection {
    int open;
    int receiving;           /* the multishot receive is armed */
    int sending;             /* a send of `in_flight` is in the kernel */
    int queued;              /* listed in `dirty` for this tick */
    struct bytes input;      /* the unparsed tail of what was received (a partial request) */
    struct bytes replies;    /* replies gathered since the last send */
    struct bytes in_flight;  /* the bytes the kernel is sending; untouched until the send completes */
    size_t in_flight_sent;   /* of in_flight, bytes already sent (short sends) */
};

static struct io_uring ring;
static struct io_uring_buf_ring *buffer_ring;
static char *buffer_memory;
static unsigned buffers_to_return;
static struct connection connections[MAX_FDS];
static int dirty[MAX_FDS];
static int dirty_count;

static uint64_t user_data(enum operation op, int fd) { return ((uint64_t)op << 32) | (uint32_t)fd; }

static struct io_uring_sqe *next_sqe(void) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) {  /* submission queue full: hand what is there to the kernel and take a fresh entry */
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void arm_receive(int fd) {
    struct io_uring_sqe *sqe = next_sqe();
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUFFER_GROUP;
    io_uring_sqe_set_data64(sqe, user_data(OP_RECV, fd));
    connections[fd].receiving = 1;
}

static void arm_accept(int listener) {
    struct io_uring_sqe *sqe = next_sqe();
    io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, user_data(OP_ACCEPT, listener));
}

static void start_send(int fd) {
    struct connection *c = &connections[fd];
    struct bytes swap = c->in_flight;
    c->in_flight = c->replies;
    c->replies = swap;
    c->replies.length = 0;
    c->in_flight_sent = 0;
    c->sending = 1;
    struct io_uring_sqe *sqe = next_sqe();
    io_uring_prep_send(sqe, fd, c->in_flight.data, c->in_flight.length, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, user_data(OP_SEND, fd));
}

static void release(int fd) {
    struct connection *c = &connections[fd];
    if (c->receiving || c->sending) return;  /* freed when the last operation completes */
    close(fd);
    free(c->input.data);
    free(c->replies.data);
    free(c->in_flight.data);
    memset(c, 0, sizeof *c);
}

/* Parses a decimal number from p up to CR; returns -1 when there is no CR LF before end. */
static long line_number(const char *p, const char *end, const char **after) {
    long value = 0;
    while (p < end && *p != '\r') {
        if (*p >= '0' && *p <= '9') value = value * 10 + (*p - '0');
        p++;
    }
    if (end - p < 2) return -1;
    *after = p + 2;
    return value;
}

static int name_is(const char *name, size_t length, const char *upper) {
    size_t n = strlen(upper);
    if (length != n) return 0;
    for (size_t i = 0; i < n; i++)
        if ((name[i] & 0xDF) != upper[i]) return 0;
    return 1;
}

static void reply_to(struct connection *c, const char *name, size_t length) {
    if (name_is(name, length, "PING")) bytes_append(&c->replies, PONG, sizeof PONG - 1);
    else if (name_is(name, length, "XADD")) bytes_append(&c->replies, XADD_REPLY, sizeof XADD_REPLY - 1);
    else bytes_append(&c->replies, UNKNOWN, sizeof UNKNOWN - 1);
}

/* Answers every complete request in [data, data+length); returns how many bytes they took. */
static size_t answer_requests(struct connection *c, const char *data, size_t length) {
    const char *p = data, *end = data + length;
    while (p < end) {
        const char *q = p;
        if (*q == '*') {
            long count = line_number(q + 1, end, &q);
            if (count < 0) break;
            const char *name = NULL;
            size_t name_length = 0;
            long argument;
            for (argument = 0; argument < count; argument++) {
                if (q >= end || *q != '$') break;
                long size = line_number(q + 1, end, &q);
                if (size < 0 || end - q < size + 2) break;
                if (argument == 0) { name = q; name_length = (size_t)size; }
                q += size + 2;
            }
            if (argument < count) break;  /* incomplete */
            reply_to(c, name ? name : "", name_length);
        } else {
            const char *lf = memchr(q, '\n', (size_t)(end - q));
            if (!lf) break;
            const char *word_end = q;
            while (word_end < lf && *word_end != ' ' && *word_end != '\r') word_end++;
            reply_to(c, q, (size_t)(word_end - q));
            q = lf + 1;
        }
        p = q;
    }
    return (size_t)(p - data);
}

static void received(int fd, const char *data, size_t length) {
    struct connection *c = &connections[fd];
    if (c->input.length) {
        bytes_append(&c->input, data, length);
        size_t used = answer_requests(c, c->input.data, c->input.length);
        memmove(c->input.data, c->input.data + used, c->input.length - used);
        c->input.length -= used;
    } else {
        size_t used = answer_requests(c, data, length);
        if (used < length) bytes_append(&c->input, data + used, length - used);
    }
    if (c->replies.length && !c->queued) {
        c->queued = 1;
        dirty[dirty_count++] = fd;
    }
}

static void handle(struct io_uring_cqe *cqe) {
    enum operation op = (enum operation)(cqe->user_data >> 32);
    int fd = (int)(uint32_t)cqe->user_data;
    struct connection *c = &connections[fd];
    switch (op) {
    case OP_ACCEPT:
        if (cqe->res >= 0 && cqe->res < MAX_FDS) {
            int one = 1;
            setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            connections[cqe->res].open = 1;
            arm_receive(cqe->res);
        } else if (cqe->res >= 0) {
            close(cqe->res);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept(fd);
        break;
    case OP_RECV:
        if (cqe->flags & IORING_CQE_F_BUFFER) {
            unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            char *buffer = buffer_memory + (size_t)id * BUFFER_SIZE;
            if (cqe->res > 0) received(fd, buffer, (size_t)cqe->res);
            io_uring_buf_ring_add(buffer_ring, buffer, BUFFER_SIZE, (unsigned short)id,
                                  io_uring_buf_ring_mask(BUFFER_COUNT), (int)buffers_to_return++);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            c->receiving = 0;
            if (cqe->res == -ENOBUFS && c->open) arm_receive(fd);  /* the ring ran dry: rearm, data is waiting */
            else { c->open = 0; release(fd); }
        }
        break;
    case OP_SEND:
        if (cqe->res < 0) {
            c->sending = 0;
            c->open = 0;
            release(fd);
        } else if (c->in_flight_sent + (size_t)cqe->res < c->in_flight.length) {
            c->in_flight_sent += (size_t)cqe->res;  /* short send: the rest goes now */
            struct io_uring_sqe *sqe = next_sqe();
            io_uring_prep_send(sqe, fd, c->in_flight.data + c->in_flight_sent,
                               c->in_flight.length - c->in_flight_sent, MSG_NOSIGNAL);
            io_uring_sqe_set_data64(sqe, user_data(OP_SEND, fd));
        } else {
            c->sending = 0;
            if (!c->open) release(fd);
            else if (c->replies.length && !c->queued) { c->queued = 1; dirty[dirty_count++] = fd; }
        }
        break;
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 6379;
    signal(SIGPIPE, SIG_IGN);
    struct io_uring_params params = {0};
    /* One thread submits; completions run only when it waits (no task-work interrupts mid-tick). */
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int ret = io_uring_queue_init_params(RING_ENTRIES, &ring, &params);
    if (ret < 0) { fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret)); return 1; }

    buffer_memory = aligned_alloc(4096, (size_t)BUFFER_COUNT * BUFFER_SIZE);
    /* liburing 2.3 (Debian 12) has no io_uring_setup_buf_ring: map the ring ourselves and register it. */
    size_t ring_bytes = BUFFER_COUNT * sizeof(struct io_uring_buf);
    buffer_ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (buffer_ring == MAP_FAILED || !buffer_memory) { perror("buffer ring memory"); return 1; }
    io_uring_buf_ring_init(buffer_ring);
    struct io_uring_buf_reg registration = {.ring_addr = (uint64_t)(uintptr_t)buffer_ring,
                                            .ring_entries = BUFFER_COUNT, .bgid = BUFFER_GROUP};
    ret = io_uring_register_buf_ring(&ring, &registration, 0);
    if (ret < 0) { fprintf(stderr, "io_uring_register_buf_ring: %s\n", strerror(-ret)); return 1; }
    for (unsigned i = 0; i < BUFFER_COUNT; i++)
        io_uring_buf_ring_add(buffer_ring, buffer_memory + (size_t)i * BUFFER_SIZE, BUFFER_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(BUFFER_COUNT), (int)i);
    io_uring_buf_ring_advance(buffer_ring, BUFFER_COUNT);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 511) < 0) {
        perror("bind/listen");
        return 1;
    }
    arm_accept(listener);
    printf("uring-proto listening on %d\n", port);
    fflush(stdout);

    for (;;) {
        ret = io_uring_submit_and_wait(&ring, 1);
        if (ret < 0 && ret != -EINTR) { fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-ret)); return 1; }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            handle(cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
        if (buffers_to_return) {
            io_uring_buf_ring_advance(buffer_ring, (int)buffers_to_return);
            buffers_to_return = 0;
        }
        /* The replies of this tick: one send per connection, submitted together at the top of the loop. */
        for (int i = 0; i < dirty_count; i++) {
            struct connection *c = &connections[dirty[i]];
            c->queued = 0;
            if (c->open && !c->sending && c->replies.length) start_send(dirty[i]);
        }
        dirty_count = 0;
    }
}
