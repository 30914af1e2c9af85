/* embed.c -- a tiny program that embeds an INSTALLED evtrack, built by
 * tests/install/test_install.sh with only
 *   cc embed.c $(pkg-config --cflags --libs evtrack)
 * It opens the config given as argv[1], logs one event of every kind
 * (results and scalars with and without step, filter and stderr, text that
 * needs CSV quoting, a value with no CSV form), closes the tracker, and
 * prints each sink's counters as "<name> written=W dead=D enabled=E".
 * Exit 0 when every call returned EVT_OK, 1 otherwise. */
#include <math.h>
#include <stdio.h>

#include <evtrack/evtrack.h>

static int failed;

static void check(int rc, const char *what)
{
    if (rc != EVT_OK) {
        fprintf(stderr, "embed: %s returned %d\n", what, rc);
        failed = 1;
    }
}

static void log_events(evt_tracker *t)
{
    check(evt_log_json(t, EVT_EV_RUN_START,
                       "{\"model_name\": \"org/tiny\", \"world_size\": 1}"),
          "run_start");
    check(evt_log_json(t, EVT_EV_TASK_CONFIG,
                       "{\"task\": \"mme\", \"version\": \"Yaml\"}"),
          "task_config");
    check(evt_log_json(t, EVT_EV_SAMPLE,
                       "{\"task\": \"mme\", \"doc_id\": 0, \"filter\": "
                       "\"none\", \"metrics\": {\"acc\": 1.0}}"),
          "sample");
    check(evt_log_result(t, "mme", "mme_cognition_score", NULL, 312.5, NAN,
                         -1),
          "result 1");
    check(evt_log_result(t, "gsm8k", "exact_match", "strict-match", 0.7532,
                         0.0077, 3000),
          "result 2");
    check(evt_log_json(t, EVT_EV_RESULT,
                       "{\"task\": \"odd, \\\"quoted\\\"\", \"metric\": "
                       "\"acc\", \"filter\": \"line\\nbreak\", \"value\": 1, "
                       "\"stderr\": null}"),
          "result 3");
    check(evt_log_json(t, EVT_EV_RESULT,
                       "{\"task\": \"bad\", \"metric\": \"acc\", \"value\": "
                       "{\"not\": \"a number\"}}"),
          "result 4");
    check(evt_log_result(t, "nanny", "acc", "none", NAN, 0.0, 0), "result 5");
    check(evt_log_scalar(t, "train/loss", 1.25, 100), "scalar 1");
    check(evt_log_scalar(t, "train/lr", 0.0003, 100), "scalar 2");
    check(evt_log_json(t, EVT_EV_SCALAR,
                       "{\"tag\": \"eval/ok\", \"value\": true}"),
          "scalar 3");
    check(evt_log_run_end(t), "run_end");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: embed CONFIG\n", stderr);
        return 2;
    }
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t;
    if (evt_open_file(argv[1], &t, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "embed: %s\n", err);
        return 1;
    }
    log_events(t);
    check(evt_flush(t, 10000), "evt_flush");
    struct evt_sink_stats st[8];
    size_t n = evt_stats(t, st, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        printf("%s written=%llu dead=%llu enabled=%d\n", st[i].name,
               (unsigned long long)st[i].written,
               (unsigned long long)st[i].dead_lettered, st[i].enabled);
    check(evt_close(t, 10000), "evt_close");
    return failed;
}
