/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim's ttrpc address. containerd 1.6 never stores it centrally: the start command
 * computes it from (containerd address, namespace, id) with Go's filepath.Join and sha256,
 * and writes it to the bundle's "address" file, where containerd finds it again after a
 * restart. Both computations here must stay byte-for-byte equal to containerd's.
 *
 * The sha256 of this one short string is libmd's (Debian's libmd0, BSD's message digest
 * functions): containerd runs "start" once per container, and loading libcrypto there cost more
 * than all the rest of "start" (docs/architecture.md). The long-lived shim hashes nothing.
 */
#include <sha2.h>

#include "lib/xalloc.h"
#include "shim/shim.h"

/* Go's path.Clean (the same algorithm, on a path that is not empty). */
static char *path_clean(const char *p)
{
        size_t n = strlen(p), r = 0, w = 0, dotdot = 0;
        bool rooted = p[0] == '/';
        char *out = xmalloc(n + 2);

        if (rooted) {
                out[w++] = '/';
                r = dotdot = 1;
        }
        while (r < n) {
                if (p[r] == '/') {
                        r++;
                } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
                        r++;
                } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
                        r += 2;
                        if (w > dotdot) {
                                /* back up over the last element */
                                w--;
                                while (w > dotdot && out[w] != '/')
                                        w--;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if ((rooted && w != 1) || (!rooted && w != 0))
                                out[w++] = '/';
                        while (r < n && p[r] != '/')
                                out[w++] = p[r++];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = '\0';
        return out;
}

char *shim_path_join(const char *const *elems, size_t n_elems)
{
        _cleanup_free_ char *joined = NULL;
        size_t size = 1, len = 0;

        for (size_t i = 0; i < n_elems; i++)
                size += strlen(elems[i]) + 1;
        joined = xmalloc(size);
        for (size_t i = 0; i < n_elems; i++) {
                size_t l = strlen(elems[i]);

                if (l == 0)
                        continue;
                if (len > 0)
                        joined[len++] = '/';
                memcpy(joined + len, elems[i], l);
                len += l;
        }
        joined[len] = '\0';
        if (len == 0)
                return xstrdup("");
        return path_clean(joined);
}

int shim_socket_address(const char *containerd_address, const char *namespace, const char *id,
                        char **ret)
{
        const char *elems[] = {containerd_address, namespace, id};
        _cleanup_free_ char *joined = shim_path_join(elems, ELEMENTSOF(elems));
        char hex[SHA256_DIGEST_STRING_LENGTH];

        if (!SHA256Data((const uint8_t *) joined, strlen(joined), hex))
                return -EIO;
        *ret = xasprintf("unix://%s/%s", SHIM_SOCKET_DIR, hex);
        return 0;
}
