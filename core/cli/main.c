/* evtrack -- the command line front end of the embedding API.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. */
#include <stdio.h>
#include <string.h>

#include "evtrack/evtrack.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static const char usage_main[] =
    "usage: evtrack <command> [options]\n"
    "\n"
    "Record ML evaluation results and fan them out to sinks.\n"
    "\n"
    "commands:\n"
    "  plugins [-c CONFIG]     list the sink plugins found (name, version,\n"
    "                          ABI, path)\n"
    "  check-config CONFIG     validate a config file and its sinks' keys\n"
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
    fprintf(stderr, "evtrack: unknown command \"%s\"\n\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
