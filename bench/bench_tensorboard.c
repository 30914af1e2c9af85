/* bench_tensorboard.c -- scalar events through the tensorboard-events sink,
 * end to end.
 *
 * Logs N scalar events (evt_log_scalar: tag "train/loss", a value, step i)
 * through the tensorboard-events sink and closes the tracker; prints
 * events/s and MB/s of event file written, then the same bytes copied by
 * `cat` into the same folder, timed in this one run. Usage:
 *   bench_tensorboard [N] [simple|tensor]        (default 1000000 simple) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "evtrack/evtrack.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "failed: %s\n", cmd);
    return rc;
}

/* The one events file in dir, into path. 0 or -1. */
static int find_events_file(const char *dir, char *path, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = -1;
    while (d && (de = readdir(d)))
        if (strncmp(de->d_name, "events.out.tfevents.", 20) == 0) {
            snprintf(path, n, "%s/%s", dir, de->d_name);
            found = 0;
        }
    if (d)
        closedir(d);
    return found;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    const char *form = argc > 2 ? argv[2] : "simple";
    char dir[] = "/tmp/evt-bench-tb-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char json[1024], err[EVT_ERRMSG_SIZE];
    snprintf(json, sizeof json,
             "{\"output_dir\": \"%s\", \"run_id\": \"bench\", \"sinks\": "
             "[{\"plugin\": \"tensorboard-events\", \"config\": "
             "{\"scalar_form\": \"%s\", \"hparams\": false, "
             "\"table_tag\": \"\"}}]}",
             dir, form);
    evt_tracker *t;
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        if (evt_log_scalar(t, "train/loss", 2.5 / (double)(i + 1), i) !=
            EVT_OK) {
            fprintf(stderr, "log failed at %ld\n", i);
            return 1;
        }
    evt_close(t, -1);
    double dt = now_s() - t0;
    char sub[600], path[1200];
    snprintf(sub, sizeof sub, "%s/tb/bench", dir);
    struct stat st;
    if (find_events_file(sub, path, sizeof path) != 0 ||
        stat(path, &st) != 0) {
        fprintf(stderr, "no events file in %s\n", sub);
        return 1;
    }
    double mb = (double)st.st_size / 1e6;
    printf("tensorboard-events sink (%s), %ld scalars, %.1f MB (%.1f B/rec)\n",
           form, n, mb, (double)st.st_size / (double)n);
    printf("%-30s %12s %10s %10s\n", "path", "events/s", "MB/s", "us/event");
    printf("%-30s %12.0f %10.1f %10.3f\n", "evtrack (log->close)",
           (double)n / dt, mb / dt, dt * 1e6 / (double)n);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "cat '%s' > '%s/cat-copy'", path, dir);
    double c0 = now_s();
    if (run(cmd) != 0)
        return 1;
    double cdt = now_s() - c0;
    printf("%-30s %12.0f %10.1f %10.3f\n", "cat of the same bytes",
           (double)n / cdt, mb / cdt, cdt * 1e6 / (double)n);
    printf("ratio: evtrack at %.0f%% of cat's speed\n", 100.0 * cdt / dt);
    printf("RESULT tensorboard_events_per_s %.0f\n", (double)n / dt);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    run(cmd);
    return 0;
}
