/* bench_handoff.c -- what one cache line moving between two cores costs.
 *
 * Two threads take turns writing one shared word: each turn moves its
 * cache line to the other core. The caller-cost analysis in
 * docs/PERFORMANCE.md uses this figure: every line that a producer and a
 * sink worker (or two producers) both write costs about this much per
 * event. Prints the median of 5 runs of N round trips. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) atomic_int turn;
static long rounds;

static void *partner(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != 1)
            ;
        atomic_store_explicit(&turn, 0, memory_order_release);
    }
    return NULL;
}

static double one_run(void)
{
    pthread_t t;
    atomic_store(&turn, 0);
    if (pthread_create(&t, NULL, partner, NULL) != 0) {
        fprintf(stderr, "bench_handoff: cannot start a thread\n");
        exit(1);
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < rounds; i++) {
        atomic_store_explicit(&turn, 1, memory_order_release);
        while (atomic_load_explicit(&turn, memory_order_acquire) != 0)
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    return ns / (double)rounds / 2; /* two transfers per round trip */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* bench_handoff [ROUND_TRIPS] (default 2 000 000; needs 2 CPUs) */
int main(int argc, char **argv)
{
    rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
    if (rounds < 1)
        rounds = 1;
    double r[5];
    for (int i = 0; i < 5; i++)
        r[i] = one_run();
    qsort(r, 5, sizeof *r, cmp_double);
    printf("one cache line handed to the other core: %.1f ns (median of 5 "
           "runs, %ld round trips each)\n", r[2], rounds);
    printf("RESULT handoff_ns %.1f\n", r[2]);
    return 0;
}
