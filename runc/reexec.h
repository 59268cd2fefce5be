/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protection of the runtime binary against containers (the CVE-2019-5736 class): a
 * container process can reach the runtime's executable through /proc/<pid>/exe (for
 * example with "#!/proc/self/exe" as its interpreter) and, once the runtime has exited,
 * reopen it for writing. We make every process that enters a container run from a
 * read-only, detached bind mount of our own binary: no copy of the binary is made, the
 * host sees no mount, and a write through /proc/<pid>/exe fails with EROFS.
 */
#pragma once

#include "lib/errmsg.h"

/*
 * If /proc/self/exe is on a writable mount, re-executes the current program with the same
 * argv and environment from a read-only detached bind mount of itself (open_tree +
 * mount_setattr + execveat). Returns 0 when already protected; returns only on failure.
 */
int runtime_binary_protect(char **argv, struct errmsg *err);
