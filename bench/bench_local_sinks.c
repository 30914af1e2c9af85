/* bench_local_sinks.c -- every local sink at once: wall time and memory.
 *
 * One run through local-json + jsonl + markdown-table + tensorboard-events:
 * run_start, a task_config for each of 8 tasks, N events in all (samples
 * spread over the tasks, a scalar every 1000 events, each task's results
 * at the end), run_end, close. Prints events/s, the peak RSS of the
 * process (getrusage) and the RSS at each tenth of the run, which shows
 * whether memory stays flat as events pass. Usage:
 *   bench_local_sinks [N]                      (default 10000000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "evtrack/evtrack.h"

#define N_TASKS 8

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size now, in MiB (/proc/self/statm). */
static double rss_mib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

static void check(int rc, const char *what)
{
    if (rc != EVT_OK) {
        fprintf(stderr, "%s failed (%d)\n", what, rc);
        exit(1);
    }
}

static const char prompt[] =
    "The following are multiple choice questions (with answers) about "
    "abstract algebra.\n\nFind all c in Z_3 such that Z_3[x]/(x^2 + c) is "
    "a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer:";

static void task_name(int k, char *out, size_t n)
{
    snprintf(out, n, "bench_task_%d", k);
}

static void log_sample(evt_tracker *t, const char *task, int64_t i)
{
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", task);
    evt_int(e, "doc_id", i);
    evt_str(e, "target", "B");
    evt_array_begin(e, "arguments");
    evt_str(e, NULL, prompt);
    evt_str(e, NULL, " B");
    evt_array_end(e);
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, "-0.6931471805599453");
    evt_str(e, NULL, "False");
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, "-0.6931471805599453");
    evt_array_end(e);
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", (double)(i % 2));
    evt_map_end(e);
    check(evt_commit(e), "sample");
}

static void log_task_config(evt_tracker *t, const char *task)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"task\": \"%.40s\", \"version\": 1, \"n-shot\": 0, "
             "\"config\": {\"task\": \"%.40s\", \"num_fewshot\": 0}}",
             task, task);
    check(evt_log_json(t, EVT_EV_TASK_CONFIG, json), "task_config");
}

static void log_result(evt_tracker *t, const char *task)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"task\": \"%.40s\", \"metric\": \"acc\", "
             "\"filter\": \"none\", \"value\": 0.5, \"stderr\": 0.01}",
             task);
    check(evt_log_json(t, EVT_EV_RESULT, json), "result");
}

static const char *config_json(const char *dir, char *buf, size_t n)
{
    snprintf(buf, n,
             "{\"output_dir\": \"%s\", \"run_id\": \"bench\", \"sinks\": ["
             "{\"plugin\": \"local-json\"},"
             "{\"plugin\": \"jsonl\", \"config\": {\"fsync\": \"none\"}},"
             "{\"plugin\": \"markdown-table\", \"config\": "
             "{\"stdout\": false}},"
             "{\"plugin\": \"tensorboard-events\"}]}", dir);
    return buf;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000000;
    char dir[] = "/tmp/evt-bench-local-XXXXXX", json[1024];
    char err[EVT_ERRMSG_SIZE], task[N_TASKS][32];
    if (!mkdtemp(dir) || n < 100)
        return 1;
    evt_tracker *t;
    if (evt_open_json(config_json(dir, json, sizeof json), NULL, &t, err,
                      sizeof err) != EVT_OK) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    double rss0 = rss_mib(), t0 = now_s(), tenth[10];
    check(evt_log_json(t, EVT_EV_RUN_START,
                       "{\"model_name\": \"bench/model\", "
                       "\"model_source\": \"hf\"}"), "run_start");
    for (int k = 0; k < N_TASKS; k++) {
        task_name(k, task[k], sizeof task[k]);
        log_task_config(t, task[k]);
    }
    long body = n - 2 - 2 * N_TASKS; /* samples and scalars */
    for (long i = 0; i < body; i++) {
        if (i % 1000 == 999)
            check(evt_log_scalar(t, "train/loss", 1.0 / (double)(i + 1), i),
                  "scalar");
        else
            log_sample(t, task[i % N_TASKS], i / N_TASKS);
        if ((i + 1) % (body / 10) == 0 && (i + 1) / (body / 10) <= 10)
            tenth[(i + 1) / (body / 10) - 1] = rss_mib();
    }
    for (int k = 0; k < N_TASKS; k++)
        log_result(t, task[k]);
    check(evt_log_json(t, EVT_EV_RUN_END, "{}"), "run_end");
    int rc = evt_close(t, -1);
    double dt = now_s() - t0;
    printf("local-json + jsonl + markdown-table + tensorboard-events, "
           "%ld events (close: %d)\n", n, rc);
    printf("wall %.2f s, %.0f events/s, %.3f us/event\n", dt,
           (double)n / dt, dt * 1e6 / (double)n);
    printf("RSS MiB: at open %.1f; at each tenth:", rss0);
    for (int k = 0; k < 10; k++)
        printf(" %.1f", tenth[k]);
    printf("\npeak RSS %.1f MiB\n", peak_rss_mib());
    printf("RESULT local_sinks_events %ld\n", n);
    printf("RESULT local_sinks_wall_s %.2f\n", dt);
    printf("RESULT local_sinks_peak_rss_mib %.1f\n", peak_rss_mib());
    printf("RESULT local_sinks_rss_growth_mib %.1f\n", tenth[9] - tenth[0]);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 && rc == EVT_OK ? 0 : 1;
}
