#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Runs protoc-c for one .proto file and lays the result out for meson. protoc-c writes
# <outdir>/<dir>/<name>.pb-c.{c,h}, keeping the proto's directory, so that generated code
# can #include "containerd/task/v2/shim.pb-c.h". A meson custom_target cannot declare
# outputs in subdirectories, so it declares flat names (<dir_with_underscores>_<name>) and
# this script copies the two files there; the nested tree stays the include tree. The
# depfile protoc writes names the nested files; it is rewritten to name the declared output.
import argparse
import os
import shutil
import subprocess
import sys


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('--protoc-c', required=True)
    p.add_argument('--proto-path', action='append', required=True)
    p.add_argument('--outdir', required=True)
    p.add_argument('--depfile', required=True)
    p.add_argument('proto', help='the .proto file, under one of the --proto-path dirs')
    p.add_argument('out_c', help='declared .pb-c.c output')
    p.add_argument('out_h', help='declared .pb-c.h output')
    return p.parse_args()


def virtual_name(proto, proto_paths):
    proto = os.path.abspath(proto)
    for d in proto_paths:
        d = os.path.abspath(d)
        if proto.startswith(d + os.sep):
            return proto[len(d) + 1:], d
    sys.exit('%s: not under any --proto-path' % proto)


def copy_if_other(src, dst):
    if os.path.abspath(src) != os.path.abspath(dst):
        shutil.copyfile(src, dst)


def rewrite_depfile(path, target):
    with open(path) as f:
        text = f.read().replace('\\\n', ' ')
    _, _, deps = text.partition(':')
    with open(path, 'w') as f:
        f.write('%s: %s\n' % (target.replace(' ', '\\ '), ' '.join(deps.split())))


def main():
    a = parse_args()
    name, root = virtual_name(a.proto, a.proto_path)
    # protoc compares the file's path with each --proto_path textually: keep both absolute
    cmd = [a.protoc_c] + ['--proto_path=' + os.path.abspath(d) for d in a.proto_path]
    cmd += ['--c_out=' + a.outdir, '--dependency_out=' + a.depfile,
            os.path.join(root, name)]
    subprocess.run(cmd, check=True)
    stem = os.path.join(a.outdir, name[:-len('.proto')])
    copy_if_other(stem + '.pb-c.c', a.out_c)
    copy_if_other(stem + '.pb-c.h', a.out_h)
    rewrite_depfile(a.depfile, a.out_c)


if __name__ == '__main__':
    main()
