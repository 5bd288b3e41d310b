#!/usr/bin/env python3
"""The packaging test (suite 'packaging'): what `meson install` puts where, and whether it works.

Runs `meson install --destdir TMP` for the build under test, then checks in TMP:
  - the service binaries in sbindir, fedgwctl in bindir, one systemd unit per service in the
    unit directory,
    fedgw.conf in sysusers.d and tmpfiles.d, the example configuration, the Kamailio routing
    fragment and the schema;
  - each unit: ExecStart is the installed binary with --config <sysconfdir>/fedgw/fedgw.toml,
    Type=exec, User/Group fedgw, RuntimeDirectory and StateDirectory fedgw, reload with SIGHUP,
    stop with SIGTERM within 30 s, restart on failure but not on a usage error, the README's
    hardening keys, no @PLACEHOLDER@;
  - the example configuration's control sockets lie in the units' RuntimeDirectory (/run/fedgw)
    and its registry in their StateDirectory (/var/lib/fedgw);
  - `systemd-sysusers --root=TMP` creates the fedgw user from the installed sysusers.d file, and
    `systemd-tmpfiles --root=TMP --create` then makes /etc/fedgw/tls 0750 root:fedgw,
    /var/lib/fedgw 0700 fedgw:fedgw and /run/fedgw 0750 fedgw:fedgw;
  - `systemd-analyze verify` accepts every unit with no warning at all, and
    `systemd-analyze security --offline=yes` rates each one at most 2.0 ("OK").
Nothing is started. Any failed check fails the test; the systemd tools are required (package
systemd), and their absence is a failure, never a skip.
"""
import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def ok(msg):
    print(f"ok: {msg}")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def parse_unit(path):
    """systemd unit file -> {section: [(key, value), ...]} (keys may repeat)."""
    sections, cur = {}, None
    with open(path, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = sections.setdefault(line[1:-1], [])
                continue
            if cur is None or "=" not in line:
                fail(f"{path}:{n}: not a key=value line inside a section: {line!r}")
                continue
            k, v = line.split("=", 1)
            cur.append((k.strip(), v.strip()))
    return sections


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def check_file(path, what, mode=None, executable=False):
    if not os.path.isfile(path):
        fail(f"{what} not installed: {path}")
        return False
    st = os.stat(path)
    if executable and not st.st_mode & stat.S_IXUSR:
        fail(f"{what} not executable: {path}")
        return False
    if mode is not None and stat.S_IMODE(st.st_mode) != mode:
        fail(f"{what} has mode {stat.S_IMODE(st.st_mode):o}, expected {mode:o}: {path}")
        return False
    ok(f"{what}: {path}")
    return True


def check_unit(dest, a, service, unit_path):
    unit = parse_unit(unit_path)
    for section in ("Unit", "Service", "Install"):
        if section not in unit:
            fail(f"{service}.service has no [{section}] section")
    left = re.findall(r"@[A-Z_]+@", open(unit_path, encoding="utf-8").read())
    if left:
        fail(f"{service}.service still holds placeholders: {left}")
    expect = {
        "ExecStart": f"{a.sbindir}/{service} --config {a.confdir}/fedgw.toml",
        "Type": "exec",
        "User": "fedgw",
        "Group": "fedgw",
        "RuntimeDirectory": "fedgw",
        "RuntimeDirectoryMode": "0750",
        "RuntimeDirectoryPreserve": "yes",
        "StateDirectory": "fedgw",
        "StateDirectoryMode": "0700",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
        # README "Running": 30 s to stop before SIGKILL, retried after 5 s on failure, never
        # on a usage error (exit 2).
        "TimeoutStopSec": "30s",
        "Restart": "on-failure",
        "RestartSec": "5s",
        "RestartPreventExitStatus": "2",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
    }
    for key, want in expect.items():
        got = values(unit, "Service", key)
        if got != [want]:
            fail(f"{service}.service: {key}={got}, expected [{want!r}]")
    if values(unit, "Install", "WantedBy") != ["multi-user.target"]:
        fail(f"{service}.service: WantedBy is not multi-user.target")
    binary = dest + a.sbindir + "/" + service
    if not os.access(binary, os.X_OK):
        fail(f"{service}.service: ExecStart binary {a.sbindir}/{service} is not installed")
    ok(f"{service}.service: ExecStart, user, directories and hardening as expected")
    return unit


def check_config_paths(dest, a):
    path = dest + a.confdir + "/fedgw.toml.example"
    try:
        with open(path, "rb") as fh:
            conf = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"example configuration unreadable: {e}")
        return
    sockets = [conf.get("proxy", {}).get("control_socket"),
               conf.get("gateway", {}).get("control_socket")]
    for s in sockets:
        if not s or os.path.dirname(s) != "/run/fedgw":
            fail(f"example control_socket {s!r} is not in the units' RuntimeDirectory /run/fedgw")
    reg = conf.get("registry", {}).get("path", "")
    if os.path.dirname(reg) != "/var/lib/fedgw":
        fail(f"example registry path {reg!r} is not in the units' StateDirectory /var/lib/fedgw")
    ok("example configuration's sockets and registry lie in the units' directories")


def check_users_and_dirs(dest, a):
    for tool in ("systemd-sysusers", "systemd-tmpfiles"):
        if not shutil.which(tool):
            fail(f"{tool} not found (install the Debian package systemd)")
            return
    etc = os.path.join(dest, "etc")
    os.makedirs(etc, exist_ok=True)
    for f in ("passwd", "group", "shadow", "gshadow"):
        open(os.path.join(etc, f), "a").close()
    r = run(["systemd-sysusers", f"--root={dest}", "fedgw.conf"])
    if r.returncode != 0:
        fail(f"systemd-sysusers --root: {r.stderr.strip()}")
        return
    uid = gid = None
    for line in open(os.path.join(etc, "passwd"), encoding="utf-8"):
        f = line.rstrip("\n").split(":")
        if f[0] == "fedgw":
            uid, gid = int(f[2]), int(f[3])
            if f[5] != "/var/lib/fedgw" or f[6] != "/usr/sbin/nologin":
                fail(f"fedgw user has home {f[5]} and shell {f[6]}")
    if uid is None or uid == 0 or uid >= 1000:
        fail(f"systemd-sysusers made no fedgw system user (uid {uid})")
        return
    ok(f"systemd-sysusers created the system user fedgw (uid {uid}, gid {gid})")
    r = run(["systemd-tmpfiles", f"--root={dest}", "--create", "fedgw.conf"])
    if r.returncode != 0:
        fail(f"systemd-tmpfiles --root --create: {r.stderr.strip()}")
        return
    for path, mode, owner, group in (("/etc/fedgw", 0o755, 0, 0),
                                     ("/etc/fedgw/tls", 0o750, 0, gid),
                                     ("/var/lib/fedgw", 0o700, uid, gid),
                                     ("/run/fedgw", 0o750, uid, gid)):
        try:
            st = os.stat(dest + path)
        except OSError as e:
            fail(f"systemd-tmpfiles did not create {path}: {e}")
            continue
        got = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        if got != (mode, owner, group):
            fail(f"{path} is {got[0]:o} {got[1]}:{got[2]}, expected {mode:o} {owner}:{group}")
    ok("systemd-tmpfiles made /etc/fedgw/tls 0750 root:fedgw, /var/lib/fedgw 0700 fedgw and "
       "/run/fedgw 0750 fedgw")


def check_with_systemd_analyze(dest, a, units, work):
    if not shutil.which("systemd-analyze"):
        fail("systemd-analyze not found (install the Debian package systemd)")
        return
    # verify insists that ExecStart exists on this machine: check a copy whose ExecStart points
    # into the destdir (the real path was checked above). The file name must stay the same.
    vdir = os.path.join(work, "verify")
    os.makedirs(vdir)
    for service, path in units.items():
        text = open(path, encoding="utf-8").read()
        real = f"ExecStart={a.sbindir}/{service} "
        copy = os.path.join(vdir, f"{service}.service")
        with open(copy, "w", encoding="utf-8") as fh:
            fh.write(text.replace(real, f"ExecStart={dest}{a.sbindir}/{service} "))
        r = run(["systemd-analyze", "verify", "--man=no", copy])
        # Unknown keys and bad values are warnings with exit status 0: any output fails.
        if r.returncode != 0 or r.stderr.strip() or r.stdout.strip():
            fail(f"systemd-analyze verify {service}.service (exit {r.returncode}):\n"
                 f"{r.stdout}{r.stderr}")
        else:
            ok(f"systemd-analyze verify {service}.service: clean")
        r = run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", copy])
        last = [line for line in r.stdout.splitlines() if "Overall exposure" in line]
        if r.returncode != 0:
            fail(f"systemd-analyze security {service}.service above 2.0: {last or r.stderr}")
        else:
            ok(f"systemd-analyze security: {' '.join(last).replace(copy, service)}")


def main():
    p = argparse.ArgumentParser()
    for opt in ("meson", "build-root", "prefix", "bindir", "sbindir", "unitdir", "sysusersdir",
                "tmpfilesdir", "confdir", "datadir", "services"):
        p.add_argument("--" + opt, required=True)
    a = p.parse_args()
    services = [s for s in a.services.split(",") if s]
    work = tempfile.mkdtemp(prefix="fedgw-packaging-")
    dest = os.path.join(work, "root")
    try:
        r = run([a.meson, "install", "-C", a.build_root, "--no-rebuild", "--quiet",
                 "--destdir", dest])
        if r.returncode != 0:
            fail(f"meson install --destdir failed:\n{r.stdout}{r.stderr}")
            return 1
        ok(f"meson install --destdir {dest}")
        for s in services:
            check_file(dest + a.sbindir + "/" + s, f"binary {s}", executable=True)
        check_file(dest + a.bindir + "/fedgwctl", "binary fedgwctl", executable=True)
        check_file(dest + a.confdir + "/fedgw.toml.example", "example configuration")
        check_file(dest + a.datadir + "/kamailio-routing.cfg", "Kamailio routing fragment")
        schema = dest + a.datadir + "/schema"
        if not (os.path.isdir(schema) and any(f.endswith(".sql") for f in os.listdir(schema))):
            fail(f"no schema migrations in {schema}")
        if not a.unitdir:
            fail("the build was configured with -Dsystemdunitdir=no: nothing to check")
            return 1
        units = {}
        for s in services:
            path = dest + a.unitdir + f"/{s}.service"
            if check_file(path, f"unit {s}.service", mode=0o644):
                check_unit(dest, a, s, path)
                units[s] = path
        check_file(dest + a.sysusersdir + "/fedgw.conf", "sysusers.d entry", mode=0o644)
        check_file(dest + a.tmpfilesdir + "/fedgw.conf", "tmpfiles.d entry", mode=0o644)
        check_config_paths(dest, a)
        check_users_and_dirs(dest, a)
        check_with_systemd_analyze(dest, a, units, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} packaging check(s) failed")
        return 1
    print("all packaging checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
