/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.version.v1.Version and containerd.services.introspection.v1
 * .Introspection: what the daemon is (ctr version calls both) and which "plugins" it has,
 * named as containerd names the equivalent pieces. grpc.health.v1.Health/Check: whether it
 * serves (containerd's client IsServing(), which dockerd polls after losing containerd).
 */
#include "config.h"
#include "containerd/services/introspection/v1/introspection.pb-c.h"
#include "containerd/services/version/v1/version.pb-c.h"
#include "containerd/svc.h"
#include "grpc/health/v1/health.pb-c.h"

static int version_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        Containerd__Services__Version__V1__VersionResponse out =
                CONTAINERD__SERVICES__VERSION__V1__VERSION_RESPONSE__INIT;

        (void) msg;
        (void) len;
        (void) userdata;
        (void) err;
        out.version = (char *) DAEMON_CONTAINERD_VERSION;
        out.revision = (char *) "berth-" BERTH_VERSION "-" BERTH_COMMIT;
        return svc_reply(call, &out.base);
}

const struct grpc_method svc_version_methods[] = {
        {"/containerd.services.version.v1.Version/Version", GRPC_UNARY, version_fn},
        {NULL},
};

/* The pieces of berth-containerd, as containerd's plugin types and ids. */
static const struct {
        const char *type;
        const char *id;
} plugins[] = {
        {"io.containerd.content.v1", "content"},       {"io.containerd.snapshotter.v1", "native"},
        {"io.containerd.snapshotter.v1", "overlayfs"}, {"io.containerd.metadata.v1", "sqlite"},
        {"io.containerd.grpc.v1", "version"},          {"io.containerd.grpc.v1", "introspection"},
        {"io.containerd.grpc.v1", "namespaces"},       {"io.containerd.grpc.v1", "containers"},
        {"io.containerd.grpc.v1", "healthcheck"},
};

static const char *plugin_field(const char *field, void *object)
{
        const size_t *i = object;

        if (STREQ(field, "type"))
                return plugins[*i].type;
        if (STREQ(field, "id"))
                return plugins[*i].id;
        return NULL;
}

static int plugins_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                      struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Introspection__V1__PluginsRequest *in = NULL;
        Containerd__Services__Introspection__V1__PluginsResponse out =
                CONTAINERD__SERVICES__INTROSPECTION__V1__PLUGINS_RESPONSE__INIT;
        Containerd__Services__Introspection__V1__Plugin p[ELEMENTSOF(plugins)];
        Containerd__Services__Introspection__V1__Plugin *v[ELEMENTSOF(plugins)];
        int r;

        (void) userdata;
        r = svc_unpack(&containerd__services__introspection__v1__plugins_request__descriptor, msg,
                       len, &in, err);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(plugins); i++) {
                bool is_selected;

                r = svc_filters_match(in->filters, in->n_filters, plugin_field, &i, &is_selected,
                                      err);
                if (r < 0 || !is_selected)
                        continue;
                p[out.n_plugins] = (Containerd__Services__Introspection__V1__Plugin)
                        CONTAINERD__SERVICES__INTROSPECTION__V1__PLUGIN__INIT;
                p[out.n_plugins].type = (char *) plugins[i].type;
                p[out.n_plugins].id = (char *) plugins[i].id;
                v[out.n_plugins] = &p[out.n_plugins];
                out.n_plugins++;
        }
        if (r < 0)
                return r;
        out.plugins = v;
        return svc_reply(call, &out.base);
}

static int server_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        Containerd__Services__Introspection__V1__ServerResponse out =
                CONTAINERD__SERVICES__INTROSPECTION__V1__SERVER_RESPONSE__INIT;
        struct daemon *d = userdata;

        (void) msg;
        (void) len;
        (void) err;
        out.uuid = d->uuid;
        return svc_reply(call, &out.base);
}

const struct grpc_method svc_introspection_methods[] = {
        {"/containerd.services.introspection.v1.Introspection/Plugins", GRPC_UNARY, plugins_fn},
        {"/containerd.services.introspection.v1.Introspection/Server", GRPC_UNARY, server_fn},
        {NULL},
};

/* grpc-go's health server as containerd registers it: only the server as a whole (service
 * "") is known, and it is serving; any other name is NOT_FOUND "unknown service". */
static int health_check_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                           struct errmsg *err)
{
        _cleanup_pb_ Grpc__Health__V1__HealthCheckRequest *in = NULL;
        Grpc__Health__V1__HealthCheckResponse out = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
        int r;

        (void) userdata;
        r = svc_unpack(&grpc__health__v1__health_check_request__descriptor, msg, len, &in, err);
        if (r < 0)
                return r;
        if (in->service && in->service[0])
                return errmsg_set(err, -ENOENT, "unknown service");
        out.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        return svc_reply(call, &out.base);
}

const struct grpc_method svc_health_methods[] = {
        {"/grpc.health.v1.Health/Check", GRPC_UNARY, health_check_fn},
        {NULL},
};
