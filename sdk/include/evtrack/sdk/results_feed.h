/* evtrack/sdk/results_feed.h -- the feeding side of an aggregating sink:
 * a results aggregator (evtrack/sdk/results.h) with its rendering options
 * set up for the sink's host, and the one-event step that decodes an
 * event and adds it.
 *
 * Sinks that rebuild the results dict from a run's events (local-json,
 * markdown-table; third-party aggregating sinks can use it too) keep one
 * in their state, set the layout, NaN and redact options from their
 * config, and render from agg and opts. Not thread-safe: it belongs to the
 * sink's worker thread, except for evt_results_feed_init, which must run
 * on the thread that creates the sink (it reads the environment). */
#ifndef EVTRACK_SDK_RESULTS_FEED_H
#define EVTRACK_SDK_RESULTS_FEED_H

#include "evtrack/sink.h"
#include "evtrack/sdk/results.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evt_results_feed {
    evt_host *h;
    const struct evt_host_api *api;
    struct evt_results *agg;
    /* run_stamp is api->run_stamp (a copy) and secrets the values of
     * the token variables (evt_results_load_secrets); the layout, nan
     * and redact members are left zero for the sink to set. */
    struct evt_results_opts opts;
    char *secrets[EVT_RESULTS_MAX_SECRETS]; /* copies of env values */
    char *stamp;                            /* api->run_stamp */
};

/* Set up f for the sink of host h: a new aggregator, the run stamp and
 * the secrets. 0, or -1 after logging "out of memory" on h (f then holds
 * nothing to free; evt_results_feed_free is still allowed). */
int evt_results_feed_init(struct evt_results_feed *f, evt_host *h,
                          const struct evt_host_api *api);

/* Free what f holds and zero its pointers; f itself is not freed. Safe on
 * a zeroed or already freed feed. */
void evt_results_feed_free(struct evt_results_feed *f);

/* Take one event: evt_results_add's result, i.e. 1 taken, 0 a repeat or
 * a kind that adds nothing, -1 not usable (logged as a warning "event seq
 * <seq> skipped: <why>"), -2 out of memory (nothing changed: give the
 * same event again later). */
int evt_results_feed_take(struct evt_results_feed *f, const evt_event *e);

#ifdef __cplusplus
}
#endif
#endif /* EVTRACK_SDK_RESULTS_FEED_H */
