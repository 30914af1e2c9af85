/* fake_wandb.h -- run tests/fake/wandb_server.py from a cmocka test and
 * read back what it received (header-only; needs test_util.h).
 *
 * The server listens on 127.0.0.1 only. It writes its port to
 * DIR/wandb.port once it listens, every request as one JSON line to
 * DIR/wandb.log, its resulting state to DIR/wandb.state, and its own
 * output to DIR/wandb.err. A test that dies takes the server with it
 * (PR_SET_PDEATHSIG). */
#ifndef EVT_TEST_FAKE_WANDB_H
#define EVT_TEST_FAKE_WANDB_H

#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <cjson/cJSON.h>

/* Unset every WANDB_* variable the sink reads, so that the caller's
 * environment cannot change a test. */
static inline void fake_wandb_clear_env(void)
{
    static const char *const vars[] = {
        "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_PROJECT", "WANDB_ENTITY",
        "WANDB_MODE",    "WANDB_RUN_ID",   "WANDB_NAME",    "WANDB_RUN_GROUP",
        "WANDB_JOB_TYPE", "WANDB_NOTES",   "WANDB_TAGS",    "WANDB_DIR",
        NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
}

struct fake_wandb {
    pid_t pid;
    int port;
    char *log, *state, *portf, *url; /* url: http://127.0.0.1:PORT */
};

static inline void fake_wandb_nap(void)
{
    nanosleep(&(struct timespec){0, 10000000L}, NULL); /* 10 ms */
}

/* Start the server with the fault rules faults (JSON; NULL: none) on
 * port (0: one the system picks); fails the test when it does not
 * listen within 15 s. */
static inline void fake_wandb_start(struct fake_wandb *s, const char *dir,
                                    const char *faults, int port)
{
    const char *src = getenv("EVT_TEST_SOURCE_DIR");
    assert_non_null(src);
    char *script = tu_fmt("%s/tests/fake/wandb_server.py", src);
    char *errf = tu_fmt("%s/wandb.err", dir);
    char pa[16];
    snprintf(pa, sizeof pa, "%d", port);
    memset(s, 0, sizeof *s);
    s->log = tu_fmt("%s/wandb.log", dir);
    s->state = tu_fmt("%s/wandb.state", dir);
    s->portf = tu_fmt("%s/wandb.port", dir);
    unlink(s->portf); /* a server started before in dir */
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        /* a failed test skips fake_wandb_stop: the server goes with it */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("python3", "python3", script, "--port-file", s->portf,
               "--log", s->log, "--state", s->state, "--faults",
               faults ? faults : "[]", "--port", pa, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1500 && !s->port; i++) {
        char *p = tu_read_file(s->portf, NULL);
        s->port = p ? (int)strtol(p, NULL, 10) : 0;
        free(p);
        if (!s->port)
            fake_wandb_nap();
    }
    if (!s->port)
        fail_msg("the fake W&B server did not start (see %s)", errf);
    s->url = tu_fmt("http://127.0.0.1:%d", s->port);
    free(script);
    free(errf);
}

/* SIGTERM, then SIGKILL after 3 s; frees the paths. */
static inline void fake_wandb_stop(struct fake_wandb *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 300 && s->pid; i++) {
            if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
                s->pid = 0;
            else
                fake_wandb_nap();
        }
        if (s->pid) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
    }
    free(s->log);
    free(s->state);
    free(s->portf);
    free(s->url);
    memset(s, 0, sizeof *s);
}

/* Every logged request, as a cJSON array (each line must parse). */
static inline cJSON *fake_wandb_requests(const struct fake_wandb *s)
{
    cJSON *arr = cJSON_CreateArray();
    char *text = tu_read_file(s->log, NULL);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line) {
            cJSON *e = cJSON_Parse(line);
            assert_non_null(e);
            cJSON_AddItemToArray(arr, e);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return arr;
}

/* The server's state (runs, uploads, buckets); it must exist and parse. */
static inline cJSON *fake_wandb_state(const struct fake_wandb *s)
{
    char *text = tu_read_file(s->state, NULL);
    assert_non_null(text);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    free(text);
    return o;
}

/* A tracker config with one sink named "wandb" whose members (plugin,
 * retry, config with the server's base_url...) are sink. */
static inline char *fake_wandb_config(const char *dir, const char *run_id,
                                      const char *sink)
{
    return tu_fmt("{\"version\": 1, \"output_dir\": \"%s/out\","
                  " \"state_dir\": \"%s/state\", \"run_id\": \"%s\","
                  " \"sinks\": [{\"name\": \"wandb\", %s}]}",
                  dir, dir, run_id, sink);
}

#endif
