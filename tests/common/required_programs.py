#!/usr/bin/env python3
"""Every external program the tests run is installed, and installed by `./aigw`.

A test that shells out to a program passes on a machine where someone installed that
program by hand and fails on a fresh one. This check fails instead, naming the program:
each program below must be on PATH, and the Debian package that owns it must be in the
`packages=(...)` list of ./aigw, be essential, or be a dependency of one of those.
It also scans the test sources for commands run through tests/common/shell_command.h
whose program is missing from the list below, so the list cannot fall behind.

usage: required_programs.py <source root>
"""
import os
import re
import shutil
import subprocess
import sys

# program -> what the tests use it for
PROGRAMS = {
    "ip": "network namespaces and veth pairs (DPDK af_packet tests, hostile and fault suites)",
    "ethtool": "turning veth checksum offload off, so frames carry real UDP checksums",
    "sysctl": "ping_group_range inside a test namespace (ICMP echo test)",
    "nft": "random loss inside a test namespace",
    "pkg-config": "building the examples against the installed SDKs (package_test, python_user_install)",
    "cc": "compiling the C examples against the installed SDKs (package_test, python_user_install)",
    "ldd": "checking what the example links (package_test)",
    "nm": "checking the shared library's exported symbols (package_test)",
    "meson": "installing the SDKs into a DESTDIR (package_test, python_user_install)",
    "bash": "the aigwctl completion script (daemon_test)",
    # The system interpreter, not whatever python3 comes first on PATH: Debian's
    # python3-* packages (numpy, torch) are installed for it alone.
    "/usr/bin/python3": "this check and the Python tests",
}

# Commands the tests run start with the program: setup_step("ip ...") / run_command("ethtool ...").
COMMAND_CALL = re.compile(r'\b(?:setup_step|run_command|chain\.step|\.step)\(\s*"([A-Za-z0-9_.+-]+)[ "]')


def listed_packages(root):
    text = open(os.path.join(root, "aigw"), encoding="utf-8").read()
    m = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    if not m:
        sys.exit("required_programs: no packages=(...) list in ./aigw")
    body = re.sub(r"#.*", "", m.group(1))
    return set(body.split())


def installed_package_graph():
    """(essential packages, package -> the packages it depends on) of this machine."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\t${Essential}\t${Pre-Depends}, ${Depends}\t${Provides}\n"],
        check=True, capture_output=True, text=True).stdout
    essential, deps, provided_by = set(), {}, {}
    for line in out.splitlines():
        name, ess, depends, provides = (line.split("\t") + ["", "", ""])[:4]
        if ess == "yes":
            essential.add(name)
        alternatives = []
        for clause in depends.split(","):
            names = [re.split(r"[ :(]", a.strip())[0] for a in clause.split("|") if a.strip()]
            if names:
                alternatives.append(names)
        deps[name] = alternatives
        for p in provides.split(","):
            p = re.split(r"[ :(]", p.strip())[0]
            if p:
                provided_by.setdefault(p, set()).add(name)
    return essential, deps, provided_by


def closure(start, deps, provided_by):
    seen, todo = set(), list(start)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alternatives in deps.get(p, []):
            for a in alternatives:  # any installed alternative satisfies the clause
                for real in {a} | provided_by.get(a, set()):
                    if real in deps and real not in seen:
                        todo.append(real)
    return seen


def owning_package(path):
    candidates = {path, os.path.realpath(path)}
    for c in list(candidates):
        if c.startswith("/usr/"):
            candidates.add(c[len("/usr"):])
        else:
            candidates.add("/usr" + c)
    for c in sorted(candidates):
        r = subprocess.run(["dpkg-query", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    # A program reached through the alternatives system (cc -> gcc) belongs to its target.
    return None


# Shell builtins need no package; shell_command_test runs made-up programs on purpose.
SHELL_BUILTINS = {"echo", "true", "false", "exit", "test", "cd", "printf", "sleep", "kill", "read"}
NOT_SCANNED = {os.path.join("tests", "common", "shell_command_test.cpp")}


def scanned_programs(root):
    found = {}
    for base in ("tests",):
        for dirpath, _, files in os.walk(os.path.join(root, base)):
            for f in files:
                if not f.endswith((".cpp", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                if os.path.relpath(path, root) in NOT_SCANNED:
                    continue
                for m in COMMAND_CALL.finditer(open(path, encoding="utf-8").read()):
                    if m.group(1) not in SHELL_BUILTINS:
                        found.setdefault(m.group(1), os.path.relpath(path, root))
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    problems = []
    for program, where in scanned_programs(root).items():
        if program not in PROGRAMS:
            problems.append(f"{where} runs `{program}`, which is not in {__file__}'s PROGRAMS list")
    listed = listed_packages(root)
    essential, deps, provided_by = installed_package_graph()
    reachable = closure(listed | essential, deps, provided_by)
    for program, why in sorted(PROGRAMS.items()):
        path = program if os.path.isabs(program) and os.access(program, os.X_OK) else shutil.which(program)
        if path is None:
            problems.append(f"`{program}` is not installed ({why})")
            continue
        package = owning_package(path)
        if package is None:
            problems.append(f"`{program}` ({path}) belongs to no Debian package: ./aigw cannot install it")
        elif package not in reachable:
            problems.append(f"`{program}` comes from package {package}, which ./aigw does not install "
                            f"(add it to packages=(...)); the tests use it for {why}")
        else:
            print(f"ok  {program:<12} {package:<22} {why}")
    for p in problems:
        print("FAIL", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
