/* bench_network.c -- how many requests the network sinks make.
 *
 * Against the fake servers of tests/fake/ (127.0.0.1 only):
 *  - wandb: one run logs M metrics (scalar events, one step each) spread
 *    over S seconds, then three tasks' results and run_end. Prints the
 *    requests the server received by kind, requests per 10 000 metrics,
 *    and file_stream requests per 2 s of run time (target: <= 1).
 *  - hf-hub: one run (3 tasks x K samples) pushed at run_end, and one
 *    that also pushes every second while it logs for about 5 s. Prints
 *    pushes (preupload calls), commits and commits per push (target: 1).
 * Usage: bench_network [M] [S] [K]      (default 10000 20 1000)
 * Needs python3. Ends with RESULT lines for bench/run_all.sh. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"
#include "fake_server.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_network: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    exit(1);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    size_t n;
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *g = realloc(s, cap *= 2);
            if (!g) {
                free(s);
                s = NULL;
            }
            s = g;
        }
    }
    fclose(f);
    if (s)
        s[len] = '\0';
    return s;
}

static evt_tracker *open_or_die(const char *json)
{
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t = NULL;
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK)
        die("open", err);
    return t;
}

static void log_or_die(evt_tracker *t, enum evt_event_kind k, const char *j)
{
    if (evt_log_json(t, k, j) != EVT_OK) {
        char err[EVT_ERRMSG_SIZE];
        evt_last_error(t, err, sizeof err);
        die("log", err);
    }
}

static const char *const tasks[] = {"mme", "gsm8k", "mmlu"};

static void log_results(evt_tracker *t)
{
    for (int i = 0; i < 3; i++) {
        char j[256];
        snprintf(j, sizeof j, "{\"task\": \"%s\", \"version\": 1, "
                              "\"n_shot\": 0}", tasks[i]);
        log_or_die(t, EVT_EV_TASK_CONFIG, j);
        if (evt_log_result(t, tasks[i], "acc", "none", 0.5 + i * 0.1, 0.01,
                           -1) != EVT_OK)
            die("result", NULL);
    }
}

/* ---- wandb ------------------------------------------------------------- */

struct wb_server {
    pid_t pid;
    char log[512], portf[512];
    int port;
};

static void wb_start(struct wb_server *s, const char *dir, const char *src)
{
    snprintf(s->log, sizeof s->log, "%s/wandb.log", dir);
    snprintf(s->portf, sizeof s->portf, "%s/wandb.port", dir);
    char script[4096], state[600];
    snprintf(script, sizeof script, "%s/tests/fake/wandb_server.py", src);
    snprintf(state, sizeof state, "%s/wandb.state", dir);
    s->pid = fork();
    if (s->pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("python3", "python3", script, "--port-file", s->portf, "--log",
               s->log, "--state", state, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000 && !s->port; i++) {
        char *p = read_all(s->portf);
        s->port = p ? (int)strtol(p, NULL, 10) : 0;
        free(p);
        if (!s->port)
            sleep_s(0.01);
    }
    if (!s->port)
        die("the fake W&B server did not start", NULL);
}

static void wb_stop(struct wb_server *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
}

struct wb_counts {
    int total, graphql, file_stream, heartbeat, upload;
    double min_gap; /* between file_stream requests, the last one aside */
};

static struct wb_counts wb_count(const char *log)
{
    struct wb_counts c = {.min_gap = 1e9};
    double prev = -1, gap_before_last = 1e9;
    char *text = read_all(log);
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n')) != NULL)
            *nl = '\0';
        if (!*line)
            continue;
        cJSON *e = cJSON_Parse(line);
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
        const char *body = cJSON_GetStringValue(cJSON_GetObjectItem(e, "body"));
        c.total++;
        if (path && strstr(path, "/graphql"))
            c.graphql++;
        else if (path && strstr(path, "file_stream")) {
            c.file_stream++;
            c.heartbeat += body && strcmp(body, "{}") == 0;
            double t = cJSON_GetNumberValue(cJSON_GetObjectItem(e, "t"));
            if (prev >= 0) {
                if (gap_before_last < c.min_gap)
                    c.min_gap = gap_before_last;
                gap_before_last = t - prev;
            }
            prev = t;
        } else if (path && strstr(path, "/upload/"))
            c.upload++;
        cJSON_Delete(e);
    }
    free(text);
    return c;
}

static void bench_wandb(const char *src, long metrics, double secs)
{
    char dir[] = "/tmp/evt-bench-net-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    struct wb_server s = {0};
    wb_start(&s, dir, src);
    setenv("WANDB_API_KEY", "bench-key-0123456789abcdef0123456789abcdef", 1);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"output_dir\": \"%s/out\", \"state_dir\": \"%s/state\", "
             "\"run_id\": \"bench\", \"sinks\": [{\"plugin\": \"wandb\", "
             "\"config\": {\"mode\": \"online\", \"project\": \"bench\", "
             "\"base_url\": \"http://127.0.0.1:%d\"}}]}",
             dir, dir, s.port);
    double t0 = now_s();
    evt_tracker *t = open_or_die(cfg);
    log_or_die(t, EVT_EV_RUN_START, "{\"model_name\": \"org/bench\"}");
    double gap = secs / (double)metrics, next = now_s();
    for (long i = 0; i < metrics; i++) {
        if (evt_log_scalar(t, "train/loss", 1.0 / (double)(i + 1), i) !=
            EVT_OK)
            die("scalar", NULL);
        next += gap;
        double wait = next - now_s();
        if (wait > 0.0005)
            sleep_s(wait);
    }
    log_results(t);
    log_or_die(t, EVT_EV_RUN_END, "{}");
    if (evt_close(t, 60000) != EVT_OK)
        die("close timed out", NULL);
    double run = now_s() - t0;
    wb_stop(&s);
    struct wb_counts c = wb_count(s.log);
    printf("wandb: %ld metrics over %.1f s of run time (open to close)\n",
           metrics, run);
    printf("  requests: %d (graphql %d, file_stream %d of which heartbeats "
           "%d, uploads %d)\n",
           c.total, c.graphql, c.file_stream, c.heartbeat, c.upload);
    double per10k = (double)c.total * 10000.0 / (double)metrics;
    double fs_per_2s = (double)c.file_stream / (run / 2.0);
    printf("  requests per 10 000 metrics: %.1f; file_stream per 2 s of run: "
           "%.2f (target <= 1); shortest gap between file_stream requests "
           "(the final one at close aside): %.2f s\n",
           per10k, fs_per_2s, c.min_gap);
    printf("RESULT wandb_requests_per_10k_metrics %.1f\n", per10k);
    printf("RESULT wandb_file_stream_per_2s %.2f\n", fs_per_2s);
    printf("RESULT wandb_min_file_stream_gap_s %.2f\n", c.min_gap);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_network: could not remove %s\n", dir);
}

/* ---- hf-hub ------------------------------------------------------------ */

static int count_path(const cJSON *log, const char *part)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, log) {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
        n += p && strstr(p, part) != NULL;
    }
    return n;
}

static void log_samples(evt_tracker *t, int per_task, double spread_s)
{
    double gap = spread_s / (3.0 * per_task), next = now_s();
    for (int i = 0; i < per_task; i++) {
        for (int k = 0; k < 3; k++) {
            char j[512];
            snprintf(j, sizeof j,
                     "{\"task\": \"%s\", \"doc_id\": %d, \"target\": \"B\", "
                     "\"arguments\": [[\"Question %d?\", \" B\"]], "
                     "\"resps\": [[\"B\"]], \"filtered_resps\": [\"B\"], "
                     "\"filter\": \"none\", \"metrics\": [\"acc\"], "
                     "\"acc\": 1.0}", tasks[k], i, i);
            log_or_die(t, EVT_EV_SAMPLE, j);
            next += gap;
            double wait = next - now_s();
            if (spread_s > 0 && wait > 0.0005)
                sleep_s(wait);
        }
    }
}

static void hub_run(const struct fake_server *srv, const char *dir,
                    const char *repo, int per_task, int interval,
                    double spread_s, const char *logpath, const char *label,
                    const char *key)
{
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"output_dir\": \"%s/out\", \"state_dir\": \"%s/state\", "
             "\"sinks\": [{\"plugin\": \"hf-hub\", \"config\": {\"org\": "
             "\"bench\", \"results_repo\": \"%s\", \"endpoint\": \"%s\", "
             "\"push_interval_secs\": %d}}]}",
             dir, dir, repo, srv->url, interval);
    evt_tracker *t = open_or_die(cfg);
    log_or_die(t, EVT_EV_RUN_START, "{\"model_name\": \"org/bench\"}");
    log_samples(t, per_task, spread_s);
    log_results(t);
    log_or_die(t, EVT_EV_RUN_END, "{}");
    if (evt_close(t, 120000) != EVT_OK)
        die("close timed out", NULL);
    char *text = read_all(logpath);
    cJSON *log = cJSON_Parse(text ? text : "[]");
    char pre[256], com[256];
    snprintf(pre, sizeof pre, "/api/datasets/bench/%s/preupload", repo);
    snprintf(com, sizeof com, "/api/datasets/bench/%s/commit", repo);
    int pushes = count_path(log, pre), commits = count_path(log, com);
    printf("hf-hub %s: %d samples, %d push(es), %d commit(s), %.2f commits "
           "per push (target 1), %d requests in all\n",
           label, 3 * per_task, pushes, commits,
           pushes ? (double)commits / pushes : 0.0, cJSON_GetArraySize(log));
    printf("RESULT %s %.2f\n", key,
           pushes ? (double)commits / pushes : -1.0);
    cJSON_Delete(log);
    free(text);
}

static void bench_hub(const char *src, int per_task)
{
    char dir[] = "/tmp/evt-bench-hub-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    const char *token = "hf_BENCHtoken0123456789ABCDEFGHIJ";
    setenv("HF_TOKEN", token, 1);
    char logpath[600];
    snprintf(logpath, sizeof logpath, "%s/hub.log", dir);
    setenv("EVT_TEST_SOURCE_DIR", src, 1);
    struct fake_server srv = {0};
    const char *args[] = {"--log", logpath, "--token", token, NULL};
    if (fake_server_start(&srv, "hf_hub_server.py", args) != 0)
        die("the fake Hub did not start", NULL);
    hub_run(&srv, dir, "at-end", per_task, 0, 0, logpath, "push at run_end",
            "hub_commits_per_push_run_end");
    hub_run(&srv, dir, "every-1s", per_task, 1, 5.0, logpath,
            "push every 1 s over ~5 s", "hub_commits_per_push_incremental");
    fake_server_stop(&srv);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_network: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: bench_network [METRICS] [SECONDS] [SAMPLES_PER_TASK]\n"
               "  requests the wandb and hf-hub sinks make against the fake\n"
               "  servers of tests/fake/ on 127.0.0.1 (needs python3)\n");
        return 0;
    }
    long metrics = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    double secs = argc > 2 ? strtod(argv[2], NULL) : 20.0;
    int per_task = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1000;
    if (metrics <= 0 || secs <= 0 || per_task <= 0)
        die("arguments must be positive", NULL);
    bench_wandb(BENCH_SOURCE_ROOT, metrics, secs);
    bench_hub(BENCH_SOURCE_ROOT, per_task);
    return 0;
}
