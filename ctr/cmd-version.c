/* SPDX-License-Identifier: Apache-2.0 */
/* berth-ctr version: the client's and the server's versions, as ctr prints them. */
#include "config.h"
#include "containerd/services/introspection/v1/introspection.pb-c.h"
#include "containerd/services/version/v1/version.pb-c.h"
#include "ctr/commands.h"
#include "google/protobuf/empty.pb-c.h"

int cmd_version(struct ctr *c, int argc, char **argv, struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Version__V1__VersionResponse *v = NULL;
        _cleanup_pb_ Containerd__Services__Introspection__V1__ServerResponse *s = NULL;
        Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
        int r, index;

        r = ctr_flags_parse((const struct ctr_flag[]){{NULL}}, argc, argv, &index, err);
        if (r < 0)
                return r;
        printf("Client:\n  Version:  %s\n  Revision: %s\n\n", BERTH_VERSION, BERTH_COMMIT);
        fflush(stdout);
        r = ctr_call(c, "/containerd.services.version.v1.Version/Version", &empty.base,
                     &containerd__services__version__v1__version_response__descriptor, &v, err);
        if (r < 0)
                return r;
        printf("Server:\n  Version:  %s\n  Revision: %s\n", v->version, v->revision);
        r = ctr_call(c, "/containerd.services.introspection.v1.Introspection/Server", &empty.base,
                     &containerd__services__introspection__v1__server_response__descriptor, &s,
                     err);
        if (r < 0)
                return r;
        printf("  UUID: %s\n", s->uuid);
        return 0;
}
