/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replays a libFuzzer corpus without libFuzzer: every file named on the command line, or
 * every file in a directory named there, goes through LLVMFuzzerTestOneInput once. Lets
 * gcc builds and the sanitizer builds run the seed corpora as ordinary tests.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(int dirfd, const char *name)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = read_file_at(dirfd, name, 16u << 20, &text, &len);
        if (r < 0) {
                fprintf(stderr, "read %s: %s\n", name, strerror(-r));
                return r;
        }
        (void) LLVMFuzzerTestOneInput((const uint8_t *) text, len);
        return 0;
}

static int replay_dir(const char *path, size_t *n)
{
        _cleanup_(closedirp) DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (replay_file(dirfd(d), de->d_name) < 0)
                        return -EIO;
                (*n)++;
        }
        return 0;
}

int main(int argc, char **argv)
{
        size_t n = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                r = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &n) : replay_file(AT_FDCWD, argv[i]);
                if (!S_ISDIR(st.st_mode))
                        n++;
                if (r < 0)
                        return 1;
        }
        printf("replayed %zu inputs\n", n);
        return 0;
}
