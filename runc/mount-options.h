/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mounts[].options as the runtime-spec and runc read them: flags for mount(2), propagation,
 * the recursive ("r"-prefixed) attributes for mount_setattr(2), and the rest joined as the
 * filesystem's data string.
 */
#pragma once

#include "lib/common.h"

struct mount_flags {
        unsigned long flags;       /* MS_* to set (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, …) */
        unsigned long clear_flags; /* MS_* explicitly cleared ("rw", "suid", "dev", …) */
        unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE, maybe |MS_REC */
        uint64_t rec_attr_set;     /* MOUNT_ATTR_* from "rro", "rnosuid", … */
        uint64_t rec_attr_clr;     /* MOUNT_ATTR_* from "rrw", "rsuid", … */
        char *data;                /* filesystem options joined by ','; NULL if none; owned */
        bool tmpcopyup;
};

/* Parses options (NULL-terminated, may be NULL) into a zeroed *ret. Never fails. */
void mount_flags_parse(char *const *options, struct mount_flags *ret);
void mount_flags_release(struct mount_flags *m);
/* Is name one of the option words this parser knows (for "features")? */
bool mount_option_is_known(const char *name);
/* All known option words, NULL-terminated, sorted (for "features"). */
const char *const *mount_option_names(void);
