#ifndef RILL_URING_H
#define RILL_URING_H
/*
 * rill-server's io_uring ring (liburing behind a plain C interface): liburing's helpers are static inline functions
 * and macros over the ring's shared memory, awkward from Swift; these wrappers keep the unsafe parts in C.
 *
 * One ring per event loop, created and driven on that loop's thread (SINGLE_ISSUER). An eventfd registered with the ring tells the event loop's poller
 * that completions wait. Receives take their buffers from a provided buffer ring.
 */
#include <stddef.h>
#include <stdint.h>

struct rill_uring;

/* One completion, copied out of the completion queue. `buffer` is set when a receive filled a provided buffer. */
struct rill_uring_completion {
    uint64_t user_data;
    int32_t result;
    uint32_t flags;
    int has_buffer;
    int more;             /* a multishot operation stays armed */
    uint16_t buffer_id;
    const char *buffer;
};

/* Creates the ring, its buffer ring (buffer_count buffers of buffer_size bytes, buffer_count a power of two) and a
 * non-blocking eventfd signalled when completions wait. Returns 0, or -errno (-ENOSYS when built without liburing or
 * when `simulate_unavailable` is set: the test suite's stand-in for a kernel or seccomp policy without io_uring). */
int rill_uring_open(struct rill_uring **out, unsigned entries, unsigned buffer_count, unsigned buffer_size,
                    int simulate_unavailable, int *eventfd_out);
void rill_uring_free(struct rill_uring *ring);

/* A listening TCP socket on host:port (numeric address), non-blocking, SO_REUSEADDR. Returns the fd or -errno. */
int rill_uring_listen(const char *host, int port, int backlog);
/* The port a socket is bound to, or -1. */
int rill_uring_local_port(int fd);
/* "ip:port" of the socket's peer (peer != 0) or its own address, into out. */
void rill_uring_describe(int fd, int peer, char *out, size_t size);
void rill_uring_set_nodelay(int fd);

/* Queue submissions; they reach the kernel with the next rill_uring_submit or rill_uring_get_events. Return 0 or
 * -EBUSY when the submission queue is full even after submitting what it held. */
int rill_uring_accept(struct rill_uring *ring, int listener, uint64_t user_data);
int rill_uring_receive(struct rill_uring *ring, int fd, uint64_t user_data);
int rill_uring_send(struct rill_uring *ring, int fd, const void *data, size_t length, uint64_t user_data);
int rill_uring_cancel(struct rill_uring *ring, uint64_t target, uint64_t user_data);

/* Submits what is queued. Returns the count submitted or -errno. */
int rill_uring_submit(struct rill_uring *ring);
/* Submits what is queued and runs the kernel's pending work so its completions are in the queue. */
int rill_uring_get_events(struct rill_uring *ring);
/* Copies up to max completions out and consumes them; returns how many. */
unsigned rill_uring_completions(struct rill_uring *ring, struct rill_uring_completion *out, unsigned max);
/* Hands a receive buffer back; rill_uring_return_buffers publishes those handed back since the last call. */
void rill_uring_recycle_buffer(struct rill_uring *ring, uint16_t buffer_id);
void rill_uring_return_buffers(struct rill_uring *ring);
/* Signals the eventfd as a completion would: the loop drains again after its current tick. */
void rill_uring_wake(struct rill_uring *ring);

#endif
