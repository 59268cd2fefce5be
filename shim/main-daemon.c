/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-containerd-shim-daemon: the long-lived shim alone, which "start" spawns with the
 * listening socket as fd 3. Built statically where possible: one shim per container stays
 * resident, so it carries no shared libc and no libcrypto (start's address hash).
 */
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "lib/log.h"
#include "shim/shim.h"

#ifdef SHIM_DAEMON_STATIC
extern const ElfW(Ehdr) __ehdr_start;

/*
 * A static-pie relocates itself at startup from its first, read-only segment (ELF headers and
 * about 60 KiB of relocations), and never reads it again. Handing those pages back keeps them
 * out of every resident shim; should anything read them later they are faulted in again from
 * the file, unchanged.
 */
static void drop_startup_pages(void)
{
        const ElfW(Phdr) *ph = (const ElfW(Phdr) *) getauxval(AT_PHDR);
        size_t n = getauxval(AT_PHNUM), page = (size_t) sysconf(_SC_PAGESIZE);
        uintptr_t base = (uintptr_t) &__ehdr_start;

        for (size_t i = 0; ph && i < n; i++) {
                if (ph[i].p_type != PT_LOAD || ph[i].p_offset != 0 || ph[i].p_flags != PF_R)
                        continue;
                if (madvise((void *) (base + ph[i].p_vaddr),
                            (ph[i].p_memsz + page - 1) & ~(page - 1), MADV_DONTNEED) < 0)
                        log_debug_errno(-errno, "madvise startup pages, ignoring");
                return;
        }
}
#endif

int main(int argc, char **argv)
{
        struct errmsg err = {0};
        struct shim_opts o;
        int r;

        if (shim_main_setup(argc, argv, &o) < 0)
                return 2;
        if (o.action) {
                log_error("%s serves only; \"%s\" is the shim's (berth-containerd-shim)",
                          SHIM_DAEMON_NAME, o.action);
                return 2;
        }
#ifdef SHIM_DAEMON_STATIC
        drop_startup_pages();
#endif
        r = shim_serve_main(&o, &err);
        if (r < 0) {
                log_error("%s", err.msg[0] ? err.msg : strerror(-r));
                return 1;
        }
        return 0;
}

#ifdef SHIM_DAEMON_STATIC
/*
 * Replaces glibc's in this static binary only (the linker takes ours and never pulls the
 * archive member): glibc's prints through wide stdio (__fxprintf), which brings wide printf
 * and iconv tables, about 35 KiB of text that every resident shim would carry. Same message,
 * untranslated (the shim runs in the C locale), written with one write(2).
 */
_noreturn_ void __assert_fail(const char *expr, const char *file, unsigned line, const char *func)
{
        char msg[512];
        int n = snprintf(msg, sizeof(msg), "%s: %s:%u: %s: Assertion `%s' failed.\n",
                         SHIM_DAEMON_NAME, file, line, func, expr);

        if (n > 0)
                (void) !write(STDERR_FILENO, msg, MIN((size_t) n, sizeof(msg) - 1));
        abort();
}
#endif
