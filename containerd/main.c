/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd: containerd's flags (--config/-c, --address/-a, --root, --state,
 * --log-level/-l) and a JSON configuration file with the same keys as containerd's TOML
 * ({"root": ..., "state": ..., "grpc": {"address": ...}, "debug": {"level": ...}}); flags win.
 * "runtimes": {"io.containerd.runc.v2": {"shim": "containerd-shim-runc-v2"}, ...} names the
 * shim (a path, or a name looked up next to berth-containerd and on PATH) for a runtime; by
 * default io.containerd.runc.v2 runs berth-containerd-shim.
 */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>

#include "config.h"
#include "containerd/daemon.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"

#define CONFIG_MAX_SIZE (1u << 20)

struct main_opts {
        struct daemon_opts d;
        const char *config;
        const char *level;
        json_t *json;    /* keeps the config's strings alive */
        char **runtimes; /* strv: runtime name, shim */
};

static const char *json_path_string(json_t *root, const char *a, const char *b)
{
        json_t *v = json_object_get(root, a);

        return json_string_value(b ? json_object_get(v, b) : v);
}

static int load_runtimes(struct main_opts *m, struct errmsg *err)
{
        json_t *runtimes = json_object_get(m->json, "runtimes"), *v;
        const char *name;

        if (runtimes && !json_is_object(runtimes))
                return errmsg_set(err, -EINVAL, "config %s: runtimes: not an object", m->config);
        json_object_foreach (runtimes, name, v) {
                const char *shim = json_string_value(json_object_get(v, "shim"));

                if (!shim || !*shim)
                        return errmsg_set(err, -EINVAL,
                                          "config %s: runtimes.%s.shim: not a non-empty string",
                                          m->config, name);
                strv_push(&m->runtimes, name);
                strv_push(&m->runtimes, shim);
        }
        m->d.runtimes = m->runtimes;
        return 0;
}

static int load_config(struct main_opts *m, struct errmsg *err)
{
        json_error_t e;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = read_file_at(AT_FDCWD, m->config, CONFIG_MAX_SIZE, &text, &len);
        if (r < 0)
                return errmsg_set(err, r, "config %s: %s", m->config, strerror(-r));
        m->json = json_loadb(text, len, 0, &e);
        if (!json_is_object(m->json))
                return errmsg_set(err, -EINVAL, "config %s: line %d column %d: %s", m->config,
                                  e.line, e.column, m->json ? "not an object" : e.text);
        if (!m->d.root)
                m->d.root = json_path_string(m->json, "root", NULL);
        if (!m->d.state)
                m->d.state = json_path_string(m->json, "state", NULL);
        if (!m->d.address)
                m->d.address = json_path_string(m->json, "grpc", "address");
        if (!m->level)
                m->level = json_path_string(m->json, "debug", "level");
        return load_runtimes(m, err);
}

static int parse_args(int argc, char **argv, struct main_opts *m, struct errmsg *err)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"address", required_argument, NULL, 'a'},
                {"root", required_argument, NULL, 'r'},
                {"state", required_argument, NULL, 's'},
                {"log-level", required_argument, NULL, 'l'},
                {"version", no_argument, NULL, 'v'},
                {0},
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:a:l:v", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        m->config = optarg;
                        break;
                case 'a':
                        m->d.address = optarg;
                        break;
                case 'r':
                        m->d.root = optarg;
                        break;
                case 's':
                        m->d.state = optarg;
                        break;
                case 'l':
                        m->level = optarg;
                        break;
                case 'v':
                        printf("berth-containerd %s %s (containerd API %s)\n", BERTH_VERSION,
                               BERTH_COMMIT, DAEMON_CONTAINERD_VERSION);
                        exit(0);
                default:
                        return errmsg_set(err, -EINVAL, "usage: %s [OPTIONS]", argv[0]);
                }
        }
        if (optind < argc)
                return errmsg_set(err, -EINVAL, "unexpected argument \"%s\"", argv[optind]);
        return m->config ? load_config(m, err) : 0;
}

static int set_level(const char *level, struct errmsg *err)
{
        static const char *const names[] = {"error", "warn", "info", "debug"};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (STREQ(level, names[i]) || (i == 1 && STREQ(level, "warning"))) {
                        log_set_level((enum log_level) i);
                        return 0;
                }
        if (STREQ(level, "trace")) {
                log_set_level(LOG_LEVEL_DEBUG);
                return 0;
        }
        return errmsg_set(err, -EINVAL, "log level \"%s\": error, warn, info, debug or trace",
                          level);
}

int main(int argc, char **argv)
{
        struct main_opts m = {0};
        struct errmsg err = {0};
        int r;

        log_set_format(LOG_FORMAT_TEXT);
        r = parse_args(argc, argv, &m, &err);
        if (r >= 0)
                r = set_level(m.level ? m.level : "info", &err);
        if (r < 0) {
                log_error("%s", err.msg);
                json_decref(m.json);
                strv_free(m.runtimes);
                return 2;
        }
        m.d.address = m.d.address ? m.d.address : DAEMON_DEFAULT_ADDRESS;
        m.d.root = m.d.root ? m.d.root : DAEMON_DEFAULT_ROOT;
        m.d.state = m.d.state ? m.d.state : DAEMON_DEFAULT_STATE;
        m.d.default_snapshotter = "overlayfs";
        r = daemon_run(&m.d, &err);
        json_decref(m.json);
        strv_free(m.runtimes);
        if (r < 0) {
                log_error("%s", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return 0;
}
