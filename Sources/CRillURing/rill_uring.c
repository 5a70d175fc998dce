#include "rill_uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__) && __has_include(<liburing.h>)
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

enum { BUFFER_GROUP = 0 };

struct rill_uring {
    struct io_uring ring;
    struct io_uring_buf_ring *buffer_ring;
    size_t buffer_ring_bytes;
    char *buffer_memory;
    unsigned buffer_count, buffer_size;
    int buffers_to_return;
    int eventfd;
};

int rill_uring_open(struct rill_uring **out, unsigned entries, unsigned buffer_count, unsigned buffer_size,
                    int simulate_unavailable, int *eventfd_out) {
    if (simulate_unavailable) return -ENOSYS;
    /* Multishot receive into a provided buffer ring needs Linux 6.0; older kernels create the ring but fail the
     * receive, so they are refused here and the server falls back to SwiftNIO. */
    struct utsname name;
    int major = 0, minor = 0;
    if (uname(&name) != 0 || sscanf(name.release, "%d.%d", &major, &minor) != 2 || major < 6) return -ENOSYS;
    struct rill_uring *r = calloc(1, sizeof *r);
    if (!r) return -ENOMEM;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    /* Not DEFER_TASKRUN: with it the completions' wake-up through the eventfd came late (a request waited ~15 ms
     * for an unrelated wake-up of the event loop, Linux 6.18), since the kernel signals the eventfd only when its
     * list of deferred work was empty. Plain task work posts completions, and signals the eventfd, as they happen. */
    params.flags = IORING_SETUP_SINGLE_ISSUER;
    int ret = io_uring_queue_init_params(entries, &r->ring, &params);
    if (ret < 0) { free(r); return ret; }
    r->buffer_count = buffer_count;
    r->buffer_size = buffer_size;
    r->buffer_memory = aligned_alloc(4096, (size_t)buffer_count * buffer_size);
    /* liburing 2.3 (Debian 12) has no io_uring_setup_buf_ring: the ring is mapped and registered here. */
    r->buffer_ring_bytes = buffer_count * sizeof(struct io_uring_buf);
    r->buffer_ring = mmap(NULL, r->buffer_ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (r->buffer_ring == MAP_FAILED || !r->buffer_memory) {
        ret = -ENOMEM;
        goto fail;
    }
    io_uring_buf_ring_init(r->buffer_ring);
    struct io_uring_buf_reg registration;
    memset(&registration, 0, sizeof registration);
    registration.ring_addr = (uint64_t)(uintptr_t)r->buffer_ring;
    registration.ring_entries = buffer_count;
    registration.bgid = BUFFER_GROUP;
    ret = io_uring_register_buf_ring(&r->ring, &registration, 0);
    if (ret < 0) goto fail;
    for (unsigned i = 0; i < buffer_count; i++)
        io_uring_buf_ring_add(r->buffer_ring, r->buffer_memory + (size_t)i * buffer_size, buffer_size,
                              (unsigned short)i, io_uring_buf_ring_mask(buffer_count), (int)i);
    io_uring_buf_ring_advance(r->buffer_ring, (int)buffer_count);
    r->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->eventfd < 0) { ret = -errno; goto fail; }
    ret = io_uring_register_eventfd(&r->ring, r->eventfd);
    if (ret < 0) { close(r->eventfd); goto fail; }
    *out = r;
    *eventfd_out = r->eventfd;
    return 0;
fail:
    io_uring_queue_exit(&r->ring);
    if (r->buffer_ring && r->buffer_ring != MAP_FAILED) munmap(r->buffer_ring, r->buffer_ring_bytes);
    free(r->buffer_memory);
    free(r);
    return ret;
}

void rill_uring_free(struct rill_uring *r) {
    if (!r) return;
    io_uring_queue_exit(&r->ring);
    munmap(r->buffer_ring, r->buffer_ring_bytes);
    free(r->buffer_memory);
    free(r);
}

int rill_uring_listen(const char *host, int port, int backlog) {
    struct addrinfo hints, *result = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int ret = getaddrinfo(host, service, &hints, &result);
    if (ret != 0 || !result) return -EADDRNOTAVAIL;
    int fd = socket(result->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { ret = -errno; freeaddrinfo(result); return ret; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (result->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, result->ai_addr, result->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
        ret = -errno;
        close(fd);
        freeaddrinfo(result);
        return ret;
    }
    freeaddrinfo(result);
    return fd;
}

int rill_uring_local_port(int fd) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) < 0) return -1;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return -1;
}

void rill_uring_describe(int fd, int peer, char *out, size_t size) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    int ret = peer ? getpeername(fd, (struct sockaddr *)&address, &length)
                   : getsockname(fd, (struct sockaddr *)&address, &length);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ret == 0 && address.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&address)->sin_addr, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&address)->sin_port);
    } else if (ret == 0 && address.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&address)->sin6_addr, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    }
    snprintf(out, size, "%s:%d", ip, port);
}

void rill_uring_set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct io_uring_sqe *next_sqe(struct rill_uring *r) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {  /* submission queue full: hand what is there to the kernel and take a fresh entry */
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

int rill_uring_accept(struct rill_uring *r, int listener, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_multishot_accept(sqe, listener, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int rill_uring_receive(struct rill_uring *r, int fd, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUFFER_GROUP;
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int rill_uring_send(struct rill_uring *r, int fd, const void *data, size_t length, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_send(sqe, fd, data, length, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int rill_uring_cancel(struct rill_uring *r, uint64_t target, uint64_t user_data) {
    struct io_uring_sqe *sqe = next_sqe(r);
    if (!sqe) return -EBUSY;
    io_uring_prep_cancel64(sqe, target, 0);
    io_uring_sqe_set_data64(sqe, user_data);
    return 0;
}

int rill_uring_submit(struct rill_uring *r) { return io_uring_submit(&r->ring); }

int rill_uring_get_events(struct rill_uring *r) { return io_uring_submit_and_get_events(&r->ring); }

unsigned rill_uring_completions(struct rill_uring *r, struct rill_uring_completion *out, unsigned max) {
    struct io_uring_cqe *cqe;
    unsigned head, count = 0;
    io_uring_for_each_cqe(&r->ring, head, cqe) {
        if (count == max) break;
        struct rill_uring_completion *c = &out[count++];
        c->user_data = cqe->user_data;
        c->result = cqe->res;
        c->flags = cqe->flags;
        c->more = (cqe->flags & IORING_CQE_F_MORE) != 0;
        c->has_buffer = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
        c->buffer_id = c->has_buffer ? (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) : 0;
        c->buffer = c->has_buffer ? r->buffer_memory + (size_t)c->buffer_id * r->buffer_size : NULL;
    }
    io_uring_cq_advance(&r->ring, count);
    return count;
}

void rill_uring_recycle_buffer(struct rill_uring *r, uint16_t id) {
    io_uring_buf_ring_add(r->buffer_ring, r->buffer_memory + (size_t)id * r->buffer_size, r->buffer_size, id,
                          io_uring_buf_ring_mask(r->buffer_count), r->buffers_to_return++);
}

void rill_uring_return_buffers(struct rill_uring *r) {
    if (!r->buffers_to_return) return;
    io_uring_buf_ring_advance(r->buffer_ring, r->buffers_to_return);
    r->buffers_to_return = 0;
}

void rill_uring_wake(struct rill_uring *r) { eventfd_write(r->eventfd, 1); }


#else

int rill_uring_open(struct rill_uring **out, unsigned entries, unsigned buffer_count, unsigned buffer_size,
                    int simulate_unavailable, int *eventfd_out) {
    (void)out; (void)entries; (void)buffer_count; (void)buffer_size; (void)simulate_unavailable; (void)eventfd_out;
    return -ENOSYS;
}
void rill_uring_free(struct rill_uring *ring) { (void)ring; }
int rill_uring_listen(const char *host, int port, int backlog) { (void)host; (void)port; (void)backlog; return -ENOSYS; }
int rill_uring_local_port(int fd) { (void)fd; return -1; }
void rill_uring_describe(int fd, int peer, char *out, size_t size) { (void)fd; (void)peer; if (size) out[0] = 0; }
void rill_uring_set_nodelay(int fd) { (void)fd; }
int rill_uring_accept(struct rill_uring *r, int l, uint64_t u) { (void)r; (void)l; (void)u; return -ENOSYS; }
int rill_uring_receive(struct rill_uring *r, int fd, uint64_t u) { (void)r; (void)fd; (void)u; return -ENOSYS; }
int rill_uring_send(struct rill_uring *r, int fd, const void *d, size_t n, uint64_t u) {
    (void)r; (void)fd; (void)d; (void)n; (void)u; return -ENOSYS;
}
int rill_uring_cancel(struct rill_uring *r, uint64_t t, uint64_t u) { (void)r; (void)t; (void)u; return -ENOSYS; }
int rill_uring_submit(struct rill_uring *r) { (void)r; return -ENOSYS; }
int rill_uring_get_events(struct rill_uring *r) { (void)r; return -ENOSYS; }
unsigned rill_uring_completions(struct rill_uring *r, struct rill_uring_completion *o, unsigned m) {
    (void)r; (void)o; (void)m; return 0;
}
void rill_uring_recycle_buffer(struct rill_uring *r, uint16_t id) { (void)r; (void)id; }
void rill_uring_return_buffers(struct rill_uring *r) { (void)r; }
void rill_uring_wake(struct rill_uring *r) { (void)r; }

#endif
