/* bench_startup.c -- open a config with all six plugins, then close.
 *
 * local-json, jsonl, markdown-table, tensorboard-events, hf-hub and wandb
 * (the network sinks pointed at 127.0.0.1 port 9, where nothing listens,
 * with dummy tokens), no events. Each of R fresh processes (this program
 * re-executed with --child) times its one evt_open_json + evt_close, so
 * every figure includes loading the six plugins; the parent also times
 * each process from spawn to exit. Prints median and worst. Usage:
 *   bench_startup [R]                        (default 30) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "evtrack/evtrack.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void config_json(const char *dir, char *buf, size_t n)
{
    snprintf(buf, n,
             "{\"output_dir\": \"%s\", \"sinks\": ["
             "{\"plugin\": \"local-json\"},"
             "{\"plugin\": \"jsonl\"},"
             "{\"plugin\": \"markdown-table\", \"config\": "
             "{\"stdout\": false}},"
             "{\"plugin\": \"tensorboard-events\"},"
             "{\"plugin\": \"hf-hub\", \"config\": {\"org\": \"bench\", "
             "\"endpoint\": \"http://127.0.0.1:9\"}},"
             "{\"plugin\": \"wandb\", \"config\": {\"mode\": \"online\", "
             "\"project\": \"bench\", \"entity\": \"bench\", "
             "\"base_url\": \"http://127.0.0.1:9\"}}]}", dir);
}

/* One open + close; its ms, or -1 (the error printed). */
static double open_close(const char *json)
{
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t;
    double t0 = now_ms();
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    evt_close(t, -1);
    return now_ms() - t0;
}

static int child(void)
{
    char dir[] = "/tmp/evt-bench-start-XXXXXX", json[2048], cmd[1100];
    if (!mkdtemp(dir))
        return 1;
    setenv("HF_TOKEN", "hf_benchdummytoken", 1);
    setenv("WANDB_API_KEY", "benchdummykey0000000000000000000000000000", 1);
    config_json(dir, json, sizeof json);
    double ms = open_close(json);
    printf("%.3f\n", ms);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return ms >= 0 && system(cmd) == 0 ? 0 : 1;
}

extern char **environ;

/* Spawn one child; its open+close ms into *in, its life into *whole. */
static int spawn_child(const char *self, double *in, double *whole)
{
    int fd[2];
    posix_spawn_file_actions_t fa;
    char *argv[] = {(char *)self, "--child", NULL};
    pid_t pid;
    if (pipe(fd) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    double t0 = now_ms();
    int rc = posix_spawn(&pid, self, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    int got = f && fscanf(f, "%lf", in) == 1;
    if (f)
        fclose(f);
    int status = 0;
    if (rc == 0)
        waitpid(pid, &status, 0);
    *whole = now_ms() - t0;
    return rc == 0 && got && WIFEXITED(status) && !WEXITSTATUS(status)
               ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child();
    long r = argc > 1 ? strtol(argv[1], NULL, 10) : 30;
    if (r < 1 || r > 10000)
        return 1;
    double *in = calloc((size_t)r, sizeof *in);
    double *whole = calloc((size_t)r, sizeof *whole);
    int rc = in && whole ? 0 : 1;
    for (long i = 0; rc == 0 && i < r; i++)
        if (spawn_child("/proc/self/exe", &in[i], &whole[i]) != 0) {
            fprintf(stderr, "child %ld failed\n", i);
            rc = 1;
        }
    if (rc == 0) {
        qsort(in, (size_t)r, sizeof *in, cmp_double);
        qsort(whole, (size_t)r, sizeof *whole, cmp_double);
        printf("open + close, six plugins, no events, %ld fresh processes\n",
               r);
        printf("open+close  median %.2f ms, worst %.2f ms\n", in[r / 2],
               in[r - 1]);
        printf("process     median %.2f ms, worst %.2f ms\n", whole[r / 2],
               whole[r - 1]);
        printf("RESULT startup_open_close_median_ms %.2f\n", in[r / 2]);
        printf("RESULT startup_open_close_worst_ms %.2f\n", in[r - 1]);
        printf("RESULT startup_process_median_ms %.2f\n", whole[r / 2]);
    }
    free(in);
    free(whole);
    return rc;
}
