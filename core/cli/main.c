/* evtrack -- the command line front end of the embedding API.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"
#include "evtrack/sdk/make_table.h"

#include "conformance.h"
#include "demo.h"
#include "ingest.h"
#include "replay.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static const char usage_main[] =
    "usage: evtrack <command> [options]\n"
    "\n"
    "Record ML evaluation results and fan them out to sinks.\n"
    "\n"
    "commands:\n"
    "  demo [-c CONFIG] [-o DIR] [--samples N] [--seed S]\n"
    "                          run a small simulated evaluation through the\n"
    "                          sinks and show where the files went\n"
    "  plugins [-c CONFIG]     list the sink plugins found (name, version,\n"
    "                          ABI, path)\n"
    "  check-config CONFIG     validate a config file and its sinks' keys\n"
    "  table [--style S] [--column C] RESULTS.json\n"
    "                          print the Markdown results table of a results\n"
    "                          file as lmms-eval, lm-eval or lighteval does\n"
    "  ingest -c CONFIG PATH...\n"
    "                          replay results files (and their samples) of\n"
    "                          lmms-eval, lm-eval or lighteval through the\n"
    "                          sinks of CONFIG\n"
    "  replay [-c CONFIG] [--sink NAME]... [--dry-run]\n"
    "                          send the events that sinks dead-lettered\n"
    "                          again, through those sinks only\n"
    "  conformance PATH.so [--config FILE]\n"
    "                          run the sink ABI contract against a plugin\n"
    "                          file: one PASS/FAIL/SKIP line per check\n"
    "\n"
    "options:\n"
    "  -h, --help              show this help (also after a command)\n"
    "  --version               print the version\n"
    "\n"
    "exit codes: 0 ok, 1 runtime failure, 2 usage or config error\n";

static const char usage_plugins[] =
    "usage: evtrack plugins [-c CONFIG]\n"
    "\n"
    "List every evtrack-sink-*.so in the plugin folders: the config's\n"
    "plugin_dirs (with -c), $EVTRACK_PLUGIN_PATH, and the folders next to\n"
    "the evtrack library. Refused files are listed with the reason.\n";

static const char usage_check[] =
    "usage: evtrack check-config CONFIG\n"
    "\n"
    "Parse CONFIG, load every sink plugin and check its config keys.\n"
    "Prints \"ok\" and exits 0, or prints the error and exits 2.\n";

static const char usage_table[] =
    "usage: evtrack table [--style lmms-eval|lm-eval|lighteval]\n"
    "                     [--column results|groups] RESULTS.json\n"
    "\n"
    "Print the Markdown table that the tool's make_table() returns for an\n"
    "aggregated results file, byte for byte (see docs/TABLE.md). Defaults:\n"
    "--style lmms-eval --column results. lighteval has no groups table.\n";

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

#define MAX_PLUGINS 256

static int cmd_plugins(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_plugins, stdout);
        return 0;
    }
    const char *config = NULL;
    if (argc == 2 && strcmp(argv[0], "-c") == 0)
        config = argv[1];
    else if (argc != 0) {
        fputs(usage_plugins, stderr);
        return EXIT_USAGE;
    }
    static struct evt_plugin_info info[MAX_PLUGINS];
    char err[EVT_ERRMSG_SIZE];
    int n = evt_list_plugins(config, info, MAX_PLUGINS, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "evtrack: %s\n", err);
        return EXIT_USAGE;
    }
    printf("%-20s %-10s %-6s %s\n", "NAME", "VERSION", "ABI", "PATH");
    int refused = 0;
    for (int i = 0; i < n && i < MAX_PLUGINS; i++) {
        if (info[i].error[0]) {
            printf("%-20s %-10s %-6s %s\n  refused: %s\n", "-", "-", "-",
                   info[i].path, info[i].error);
            refused++;
            continue;
        }
        printf("%-20s %-10s %u.%-4u %s\n", info[i].name, info[i].version,
               EVT_ABI_MAJOR_OF(info[i].abi_version),
               EVT_ABI_MINOR_OF(info[i].abi_version), info[i].path);
    }
    if (n == 0)
        printf("(no plugins found)\n");
    return refused ? EXIT_RUNTIME : 0;
}

static int cmd_check_config(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_check, stdout);
        return 0;
    }
    if (argc != 1) {
        fputs(usage_check, stderr);
        return EXIT_USAGE;
    }
    char err[EVT_ERRMSG_SIZE];
    int rc = evt_check_config(argv[0], err, sizeof err);
    if (rc != EVT_OK) {
        fprintf(stderr, "evtrack: %s\n", err);
        return EXIT_USAGE;
    }
    printf("ok\n");
    return 0;
}

/* The whole file as a NUL-terminated heap string, or NULL (errno set). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* --style / --column / the file; 0, or -1 on bad usage. */
static int table_args(int argc, char **argv, const char **style,
                      const char **column, const char **file)
{
    for (int i = 0; i < argc; i++) {
        int opt_style = strcmp(argv[i], "--style") == 0;
        if (opt_style || strcmp(argv[i], "--column") == 0) {
            if (i + 1 >= argc)
                return -1;
            *(opt_style ? style : column) = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return -1;
        } else if (*file) {
            return -1;
        } else {
            *file = argv[i];
        }
    }
    return *file ? 0 : -1;
}

/* Parse the file and print its table; the exit code. */
static int print_table(const char *file, enum evt_table_style style,
                       const char *column)
{
    size_t len = 0;
    char *text = read_file(file, &len);
    if (!text) {
        fprintf(stderr, "evtrack: %s: cannot read: %s\n", file,
                strerror(errno));
        return EXIT_USAGE;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!cJSON_IsObject(root)) {
        fprintf(stderr, "evtrack: %s: %s\n", file,
                root ? "not a JSON object" : "invalid JSON");
        cJSON_Delete(root);
        free(text);
        return EXIT_USAGE;
    }
    char err[256];
    char *table = evt_make_table(root, style, column, err, sizeof err);
    cJSON_Delete(root);
    free(text);
    if (!table) {
        fprintf(stderr, "evtrack: %s: %s\n", file, err);
        return EXIT_RUNTIME;
    }
    int bad = fputs(table, stdout) == EOF || fflush(stdout) != 0;
    free(table);
    if (bad)
        fprintf(stderr, "evtrack: cannot write the table\n");
    return bad ? EXIT_RUNTIME : 0;
}

static int cmd_table(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_table, stdout);
        return 0;
    }
    const char *style_name = "lmms-eval", *column = "results", *file = NULL;
    enum evt_table_style style = EVT_TABLE_LMMS_EVAL;
    if (table_args(argc, argv, &style_name, &column, &file) != 0) {
        fputs(usage_table, stderr);
        return EXIT_USAGE;
    }
    if (evt_table_style_from_name(style_name, &style) != 0 ||
        (strcmp(column, "results") != 0 && strcmp(column, "groups") != 0) ||
        (style == EVT_TABLE_LIGHTEVAL && strcmp(column, "groups") == 0)) {
        fprintf(stderr, "evtrack: bad --style \"%s\" or --column \"%s\"\n\n%s",
                style_name, column, usage_table);
        return EXIT_USAGE;
    }
    return print_table(file, style, column);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("evtrack %s (sink ABI %u.%u)\n", EVT_VERSION_STRING,
               EVT_SINK_ABI_MAJOR, EVT_SINK_ABI_MINOR);
        return 0;
    }
    if (strcmp(cmd, "plugins") == 0)
        return cmd_plugins(argc - 2, argv + 2);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check_config(argc - 2, argv + 2);
    if (strcmp(cmd, "table") == 0)
        return cmd_table(argc - 2, argv + 2);
    if (strcmp(cmd, "demo") == 0)
        return evt_cli_demo(argc - 2, argv + 2);
    if (strcmp(cmd, "ingest") == 0)
        return evt_cli_ingest(argc - 2, argv + 2);
    if (strcmp(cmd, "replay") == 0)
        return evt_cli_replay(argc - 2, argv + 2);
    if (strcmp(cmd, "conformance") == 0)
        return evt_cli_conformance(argc - 2, argv + 2);
    fprintf(stderr, "evtrack: unknown command \"%s\"\n\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
