/* conformance.c -- `evtrack conformance PATH.so [--config FILE]`: the
 * arguments and the report of the conformance kit (core/conformance*.c
 * does the work; docs/CONFORMANCE.md lists the checks). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evtrack/evtrack.h"

#include "../conformance.h"
#include "conformance.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define MAX_CONFIG_BYTES (16 << 20)

static const char usage_conformance[] =
    "usage: evtrack conformance PATH.so [--config FILE] [--timeout SECS]\n"
    "                           [--keep]\n"
    "\n"
    "Load the sink plugin PATH.so through the host's own loader and run the\n"
    "sink ABI contract against it: entry symbol, versions and struct sizes,\n"
    "config key schema, create/write/flush/close in every allowed order,\n"
    "every event kind and hostile events, a batch written again after\n"
    "EVT_RETRY, destroy() exactly once, no thread left behind. Each check\n"
    "runs in its own process, in a temporary folder that holds output_dir\n"
    "and state_dir; a check that crashes or hangs fails alone. One line per\n"
    "check: PASS, FAIL or SKIP, its name and why (see docs/CONFORMANCE.md).\n"
    "\n"
    "options:\n"
    "  -c, --config FILE       a JSON object: the sink's \"config\" (default\n"
    "                          {}). ${EVTRACK_CONFORMANCE_DIR} in a string is\n"
    "                          the check's sandbox, for paths the sink needs\n"
    "  --timeout SECS          seconds one check may take (default 60)\n"
    "  --keep                  keep the temporary folder and print its path\n"
    "  -h, --help              show this help\n"
    "\n"
    "exit codes: 0 every check passed or was skipped, 1 a check failed,\n"
    "2 usage error (no such plugin or config file, config not an object)\n";

struct opts {
    const char *plugin;
    const char *config;
    int timeout_s;
    int keep;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (++i >= argc || o->config)
                return -1;
            o->config = argv[i];
        } else if (strcmp(a, "--timeout") == 0) {
            char *end;
            if (++i >= argc)
                return -1;
            errno = 0;
            long v = strtol(argv[i], &end, 10);
            if (errno || *end || v < 1 || v > 86400)
                return -1;
            o->timeout_s = (int)v;
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return -1;
        } else if (o->plugin) {
            return -1;
        } else {
            o->plugin = a;
        }
    }
    return o->plugin ? 0 : -1;
}

/* The whole config file, or NULL with a message printed. */
static char *read_config(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "evtrack: %s: cannot read: %s\n", path,
                strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_CONFIG_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_CONFIG_BYTES + 1, f) : 0;
    int bad = !buf || ferror(f) || n > MAX_CONFIG_BYTES;
    fclose(f);
    if (bad) {
        fprintf(stderr, "evtrack: %s: cannot read (or over 16 MiB)\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

struct tally {
    unsigned pass, fail, skip;
};

static void print_line(void *ud, enum evt_conf_verdict v, const char *name,
                       const char *reason)
{
    struct tally *t = ud;
    const char *word = v == EVT_CONF_PASS ? "PASS"
                       : v == EVT_CONF_FAIL ? "FAIL" : "SKIP";
    t->pass += v == EVT_CONF_PASS;
    t->fail += v == EVT_CONF_FAIL;
    t->skip += v == EVT_CONF_SKIP;
    printf("%s %s \xe2\x80\x94 %s\n", word, name, reason);
    fflush(stdout);
}

int evt_cli_conformance(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_conformance, stdout);
            return 0;
        }
    struct opts o = {0};
    if (parse_args(argc, argv, &o) != 0) {
        fputs(usage_conformance, stderr);
        return EXIT_USAGE;
    }
    struct stat st;
    if (stat(o.plugin, &st) != 0) {
        fprintf(stderr, "evtrack: %s: %s\n", o.plugin, strerror(errno));
        return EXIT_USAGE;
    }
    char *config = o.config ? read_config(o.config) : NULL;
    if (o.config && !config)
        return EXIT_USAGE;
    struct evt_conf_opts co = {config, o.timeout_s, o.keep};
    struct tally t = {0, 0, 0};
    char err[EVT_ERRMSG_SIZE], *kept = NULL;
    printf("evtrack conformance: %s\n", o.plugin);
    fflush(stdout);
    int rc = evt_conformance_run(o.plugin, &co, print_line, &t, &kept, err,
                                 sizeof err);
    free(config);
    if (rc < 0) {
        fprintf(stderr, "evtrack: %s%s%s\n", o.config ? o.config : "",
                o.config ? ": " : "", err);
        return rc == EVT_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    }
    printf("%u checks: %u passed, %u failed, %u skipped\n",
           t.pass + t.fail + t.skip, t.pass, t.fail, t.skip);
    if (kept)
        printf("kept: %s\n", kept);
    free(kept);
    return t.fail ? EXIT_RUNTIME : 0;
}
