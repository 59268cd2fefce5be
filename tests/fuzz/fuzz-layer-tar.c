/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applies fuzzer bytes as a layer (plain, gzip or zstd), in both whiteout modes, each into a
 * fresh "root" inside a fresh temporary directory, then removes it all. Anything appearing
 * next to "root" means an entry escaped: that aborts, so libFuzzer reports it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "containerd/layer.h"
#include "lib/fs.h"

#define FUZZ_MAX_ENTRIES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_input {
        const uint8_t *data;
        size_t size, pos;
};

static ssize_t fuzz_read(void *userdata, void *buf, size_t size)
{
        struct fuzz_input *in = userdata;
        size_t n = MIN(size, in->size - in->pos);

        memcpy(buf, in->data + in->pos, n);
        in->pos += n;
        return (ssize_t) n;
}

/* Aborts unless base holds exactly the entry "root". */
static void check_nothing_escaped(int base)
{
        _cleanup_(closedirp) DIR *d =
                fdopendir(openat(base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        struct dirent *de;

        if (!d)
                abort();
        while ((de = readdir(d)))
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, "..") &&
                    !STREQ(de->d_name, "root"))
                        abort();
}

static void apply_once(const uint8_t *data, size_t size, enum layer_whiteouts w)
{
        struct layer_apply_opts o = {.whiteouts = w, .max_entries = FUZZ_MAX_ENTRIES};
        struct fuzz_input in = {.data = data, .size = size};
        char path[] = "/tmp/berth-fuzz-layer-XXXXXX";
        _cleanup_close_ int base = -EBADF, root = -EBADF;
        struct layer_apply_result res;
        struct errmsg err = {0};

        if (!mkdtemp(path))
                abort();
        base = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base < 0 || mkdirat(base, "root", 0755) < 0)
                abort();
        root = openat(base, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                abort();
        (void) layer_apply_from(root, fuzz_read, &in, &o, &res, &err);
        check_nothing_escaped(base);
        root = safe_close(root);
        (void) rm_rf_at(AT_FDCWD, path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        apply_once(data, size, LAYER_WHITEOUTS_OVERLAY);
        apply_once(data, size, LAYER_WHITEOUTS_APPLY);
        return 0;
}
