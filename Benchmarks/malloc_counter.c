// An LD_PRELOAD library counting the allocation calls of a process (every thread), for alloc_per_command.py.
//
//     gcc -O2 -shared -fPIC -o malloc_counter.so malloc_counter.c -ldl
//     MALLOC_COUNTER_FILE=/tmp/counts LD_PRELOAD=./malloc_counter.so rill-server ...
//
// The counts live in MALLOC_COUNTER_FILE, mapped shared, so a reader sees them without asking the process: eight
// little-endian 64-bit counters, malloc, calloc, realloc, posix_memalign + aligned_alloc + memalign, free. Each call
// forwards to the next definition (jemalloc, which the server links, or glibc's).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { MALLOC_CALLS, CALLOC_CALLS, REALLOC_CALLS, ALIGNED_CALLS, FREE_CALLS, COUNTER_SLOTS = 8 };

static uint64_t startup_counters[COUNTER_SLOTS];  // used until the file is mapped
static uint64_t *counters = startup_counters;
static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static void (*next_free)(void *);

// dlsym may itself call calloc before next_calloc is known: those few bytes come from here.
static char bootstrap_arena[4096];
static size_t bootstrap_used;
static int resolving;

static void *bootstrap_alloc(size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (bootstrap_used + size > sizeof bootstrap_arena) return NULL;
    void *p = bootstrap_arena + bootstrap_used;
    bootstrap_used += size;
    return p;
}

static int from_bootstrap(void *p) {
    return (char *)p >= bootstrap_arena && (char *)p < bootstrap_arena + sizeof bootstrap_arena;
}

static void resolve(void) {
    if (next_malloc || resolving) return;
    resolving = 1;
    next_calloc = dlsym(RTLD_NEXT, "calloc");
    next_malloc = dlsym(RTLD_NEXT, "malloc");
    next_realloc = dlsym(RTLD_NEXT, "realloc");
    next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    next_memalign = dlsym(RTLD_NEXT, "memalign");
    next_free = dlsym(RTLD_NEXT, "free");
    resolving = 0;
}

__attribute__((constructor)) static void map_counter_file(void) {
    resolve();
    const char *path = getenv("MALLOC_COUNTER_FILE");
    if (!path) return;
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return;
    if (ftruncate(fd, sizeof startup_counters) == 0) {
        void *mapped = mmap(NULL, sizeof startup_counters, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mapped != MAP_FAILED) {
            memcpy(mapped, startup_counters, sizeof startup_counters);
            counters = mapped;
        }
    }
    close(fd);
}

#define COUNT(slot) __atomic_fetch_add(&counters[slot], 1, __ATOMIC_RELAXED)

void *malloc(size_t size) {
    resolve();
    if (!next_malloc) return bootstrap_alloc(size);
    COUNT(MALLOC_CALLS);
    return next_malloc(size);
}

void *calloc(size_t count, size_t size) {
    resolve();
    if (!next_calloc) return bootstrap_alloc(count * size);  // static storage is zeroed
    COUNT(CALLOC_CALLS);
    return next_calloc(count, size);
}

void *realloc(void *p, size_t size) {
    resolve();
    COUNT(REALLOC_CALLS);
    if (from_bootstrap(p)) {
        void *moved = next_malloc(size);
        size_t available = (size_t)(bootstrap_arena + sizeof bootstrap_arena - (char *)p);
        if (moved) memcpy(moved, p, size < available ? size : available);
        return moved;
    }
    return next_realloc(p, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    resolve();
    COUNT(ALIGNED_CALLS);
    return next_posix_memalign(out, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    resolve();
    COUNT(ALIGNED_CALLS);
    return next_aligned_alloc(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    resolve();
    COUNT(ALIGNED_CALLS);
    return next_memalign(alignment, size);
}

void free(void *p) {
    if (!p || from_bootstrap(p)) return;
    resolve();
    COUNT(FREE_CALLS);
    next_free(p);
}
