"""Child processes the harness owns: start, wait until ready, stop, show their logs.

Every server a scenario starts (dnsmasq, Prosody, later fedgw and Kamailio) is a
ManagedProcess. It is started from the main thread with its stdout and stderr in a log file,
under `setpriv --pdeathsig KILL` so that it dies with the harness even if the harness itself is
SIGKILLed, and in the harness's own process group so that meson's timeout kill reaches it too.
stop() sends SIGTERM, waits, then SIGKILLs and reaps it: nothing outlives a scenario.

A server that forks workers which do not die with it (Kamailio) is started with
`own_group=True`: it leads a process group of its own, and stop() ends with SIGKILL to that
whole group, so no worker survives its main process. Such workers carry the work dir on their
command line, which is how sweep_stale_workdirs() finds them after a harness was SIGKILLed.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from .errors import HarnessError


def is_root() -> bool:
    return os.geteuid() == 0


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a text file, or a note saying why there are none."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return f"({path} does not exist)"
    except OSError as e:
        return f"({path}: {e})"
    text = data.decode("utf-8", errors="replace").splitlines()
    if not text:
        return f"({path} is empty)"
    return "\n".join(text[-lines:])


def describe_listener(host: str, port: int) -> str:
    """Who holds host:port, from `ss`, for error messages (best effort)."""
    ss = shutil.which("ss")
    if ss is None:
        return "(ss not installed)"
    out = subprocess.run([ss, "-Hlntup", f"( sport = :{port} )"], capture_output=True, text=True,
                         check=False).stdout.strip()
    return out or "(ss shows no listener)"


def port_is_free(host: str, port: int, *, udp: bool = False) -> bool:
    """Whether host:port can be bound now (TCP with SO_REUSEADDR, like the servers do)."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        if not udp:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def require_free(host: str, port: int, what: str, *, udp: bool = False, tcp: bool = True) -> None:
    """Fail clearly when a port a server needs is taken (often a leftover from a killed run)."""
    busy = ((tcp and not port_is_free(host, port))
            or (udp and not port_is_free(host, port, udp=True)))
    if busy:
        raise HarnessError(f"{what}: {host}:{port} is already in use; a leftover from an earlier "
                           f"run or a system service? {describe_listener(host, port)}")


def free_port(host: str, *, udp_too: bool = False) -> int:
    """An ephemeral port that is free on host for TCP (and UDP when asked)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if not udp_too or port_is_free(host, port, udp=True):
            return port
    raise HarnessError(f"no free port found on {host}")


def tcp_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class ManagedProcess:
    """One child process with a console log file.

    `extra_logs` names further log files (a server's own log) shown on failure.
    """

    def __init__(self, name: str, argv: list[str], *, log_path: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None, extra_logs: list[Path] | None = None,
                 own_group: bool = False, stdin_pipe: bool = False):
        self.name = name
        self.own_group = own_group
        self.stdin_pipe = stdin_pipe  # write_stdin() feeds it; otherwise stdin is /dev/null
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.env = env
        self.extra_logs = list(extra_logs or [])
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.proc is not None:
            raise HarnessError(f"{self.name}: already started")
        argv = self.argv
        setpriv = shutil.which("setpriv")
        if setpriv:
            # The child dies with us even if we are SIGKILLed; setpriv execs, so the PID stays
            # the program's own.
            argv = [setpriv, "--pdeathsig", "KILL", "--"] + argv
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            stdin = subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL
            self.proc = subprocess.Popen(argv, stdin=stdin, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.cwd, env=self.env,
                                         close_fds=True,
                                         process_group=0 if self.own_group else None)
        except OSError as e:
            raise HarnessError(f"{self.name}: cannot run {argv[0]}: {e}") from e
        finally:
            log.close()
        self.started_at = time.monotonic()

    def write_stdin(self, text: str) -> None:
        """Write to the process's stdin (started with stdin_pipe=True) and flush."""
        if self.proc is None or self.proc.stdin is None:
            raise HarnessError(f"{self.name}: not started with a stdin pipe")
        self._check_alive("its stdin to be written")
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except BrokenPipeError as e:
            raise HarnessError(f"{self.name}: stdin closed: {e}\n{self.logs_text()}") from e

    def check_alive(self, waiting_for: str) -> None:
        """HarnessError with the logs if the process has exited while we wait for something."""
        self._check_alive(waiting_for)

    def _check_alive(self, waiting_for: str) -> None:
        if self.proc is None:
            raise HarnessError(f"{self.name}: not started")
        rc = self.proc.poll()
        if rc is not None:
            raise HarnessError(f"{self.name} exited with status {rc} while waiting for "
                               f"{waiting_for}\n{self.logs_text()}")

    def wait_tcp(self, host: str, port: int, timeout: float = 10.0) -> None:
        """Poll until host:port accepts a TCP connection; fail if the process dies first."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive(f"{host}:{port} to listen")
            if tcp_accepts(host, port):
                return
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.name}: {host}:{port} not listening after {timeout:.0f} s"
                                   f"\n{self.logs_text()}")
            time.sleep(0.05)

    def wait_log(self, pattern: str, timeout: float = 10.0, path: Path | None = None) -> str:
        """Poll until a line matching the regex appears in the log (the console log unless
        `path` names another); return the line."""
        rx = re.compile(pattern)
        path = Path(path or self.log_path)
        deadline = time.monotonic() + timeout
        while True:
            try:
                for line in path.read_text(errors="replace").splitlines():
                    if rx.search(line):
                        return line
            except FileNotFoundError:
                pass
            self._check_alive(f"/{pattern}/ in {path.name}")
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.name}: no line matching /{pattern}/ in {path} after "
                                   f"{timeout:.0f} s\n{self.logs_text()}")
            time.sleep(0.05)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL; always reaps the child. With
        own_group, whatever is left of its process group is SIGKILLed too."""
        if self.proc is None:
            return
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc.returncode is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            except ProcessLookupError:
                self.proc.wait()
        if self.own_group:
            self._kill_group(grace)

    def group_members(self) -> list[int]:
        """Live (not zombie) processes of this process's group, when it leads its own."""
        if self.proc is None or not self.own_group:
            return []
        return group_members(self.proc.pid)

    def _kill_group(self, grace: float) -> None:
        assert self.proc is not None
        pgid = self.proc.pid
        if not group_members(pgid):
            return
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while group_members(pgid):
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.name}: processes of group {pgid} survive SIGKILL: "
                                   f"{group_members(pgid)}")
            time.sleep(0.05)

    def logs_text(self, lines: int = 40) -> str:
        """The tails of every log of this process, labelled, for failure messages."""
        parts = []
        for path in [self.log_path] + self.extra_logs:
            parts.append(f"----- {self.name}: last {lines} lines of {path} -----\n"
                         f"{tail(path, lines)}")
        return "\n".join(parts)


def group_members(pgid: int) -> list[int]:
    """PIDs of the live (not zombie) processes whose process group is `pgid`."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(proc.name))
    return out


def _alive(pid: int) -> bool:
    """Whether pid is a live process; a zombie (dead, not reaped: its parent is gone and an
    init that does not reap, as in some containers, inherited it) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2:][:1] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


def sweep_stale_workdirs(pattern: str, log: Callable[[str], None] = print) -> None:
    """Kill what earlier, killed runs left behind and remove their temp dirs.

    meson's timeout kills the whole process group, and children die with the harness through
    PR_SET_PDEATHSIG, but a `kill -9` of the harness alone leaves a dnsmasq running (dropping
    to `nobody` clears its death signal) and the temp dir in place. Each work dir names its
    owner in `owner`; under the machine lock, a dir whose owner is dead is stale: every process
    with a pid file in it or naming it on its command line is killed, and the dir is removed
    unless it holds a `kept` marker (--keep).
    """
    for d in sorted(Path(tempfile.gettempdir()).glob(pattern)):
        if not d.is_dir():
            continue
        try:
            owner = int((d / "owner").read_text().strip())
        except (OSError, ValueError):
            owner = 0
        if owner and _alive(owner):
            continue
        victims = set()
        for pid_file in d.rglob("*.pid"):
            try:
                victims.add(int(pid_file.read_text().split()[0]))
            except (OSError, ValueError, IndexError):
                pass
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and str(d) in _cmdline(int(proc.name)):
                victims.add(int(proc.name))
        killed = []
        for pid in sorted(victims):
            if pid != os.getpid() and _alive(pid) and str(d) in _cmdline(pid):
                log(f"killing leftover process {pid} of {d}: {_cmdline(pid)[:120]}")
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
        deadline = time.monotonic() + 3
        while any(_alive(p) and str(d) in _cmdline(p) for p in killed):
            if time.monotonic() > deadline:
                raise HarnessError(f"leftover processes of {d} survive SIGKILL: {killed}")
            time.sleep(0.05)
        if not (d / "kept").exists():
            log(f"removing leftover work dir {d}")
            shutil.rmtree(d, ignore_errors=True)
