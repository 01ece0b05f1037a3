"""Run one untrusted program in a bubblewrap sandbox, with limits (or, for comparison, without).

Every student submission is executed by :func:`run` through Debian's ``bubblewrap`` (``bwrap``):

* its own mount namespace that shows only the read-only Python environment, the course package
  (a copy prepared by the grader), the runner and the one task bundle; a private ``/tmp`` (a
  size-limited tmpfs); a fresh ``/proc`` and minimal ``/dev``. Nothing of ``source/``, the
  gradebook, the submissions or the home directory exists inside;
* its own network namespace (no interfaces but a down loopback: no network), pid namespace
  (everything the program starts is killed when it ends), IPC and UTS namespaces;
* an unprivileged uid: when the grader runs as root (CI, a JupyterHub grading service) bwrap sets
  the namespaces up and ``setpriv`` then drops to uid/gid ``61000 + slot`` with no capabilities
  and ``no_new_privs``; when the grader is an ordinary user (a laptop), bwrap uses an
  unprivileged user namespace and the program runs as uid 65534 inside it;
* resource limits (``setrlimit`` by util-linux ``prlimit``, inherited through bwrap): CPU seconds, address space, size of
  any file written, number of processes; plus a wall-clock limit enforced from outside (the
  whole sandbox is killed) and caps on the bytes read back (printed output and answers).

:func:`run` with ``sandbox=False`` runs the same command without bwrap (same limits, same
environment, but the real file system and network): only for measuring the sandbox's overhead.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the namespaces it needs on this machine."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (one submission, one task)."""

    wall: float = 60.0          #: seconds of wall-clock time for the whole run (then everything is killed)
    call: float = 20.0          #: seconds for one cell or one call of a student function (an alarm)
    cpu: int = 60               #: seconds of CPU time (RLIMIT_CPU)
    memory: int = 3 << 30       #: bytes of address space (RLIMIT_AS)
    file_size: int = 64 << 20   #: bytes per file written (RLIMIT_FSIZE)
    tmp_size: int = 128 << 20   #: bytes of the private /tmp (tmpfs)
    processes: int = 16         #: processes and threads of the sandbox uid (RLIMIT_NPROC)
    output: int = 64 << 10      #: bytes of printed output kept (the rest is counted and dropped)
    answers: int = 64 << 20     #: bytes of answers read back (more: the run fails)


@dataclass
class Result:
    """What came back from one run."""

    returncode: int | None
    answers: bytes
    output: bytes               #: the first ``Limits.output`` bytes of stdout + stderr
    output_bytes: int           #: how many bytes were printed in total
    seconds: float
    timed_out: bool = False
    answers_too_large: bool = False
    notes: list[str] = field(default_factory=list)


RUNNER_DIR = "/opt/grader"
PACKAGE_DIR = "/opt/course"
BUNDLE_DIR = "/task"


def mode() -> str:
    """``"root"`` (bwrap as root, then setpriv to an unprivileged uid) or ``"user"`` (user namespace)."""
    return "root" if os.geteuid() == 0 else "user"


def _python_roots() -> list[str]:
    """Folders the sandboxed Python needs: the interpreter's prefix(es), read-only."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    # the venv's own folder if sys.executable is a symlink out of it
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(sys.executable))))
    keep = sorted(r for r in roots if r not in ("/", "/usr") and not r.startswith("/usr/"))
    # drop folders inside another kept folder
    return [r for r in keep if not any(r != o and r.startswith(o + "/") for o in keep)]


#: Where an installed package can live under an environment's prefix (pip, Debian, pyenv, conda).
_SITE_PATTERNS = ("lib*/python3*/site-packages", "lib*/python3*/dist-packages", "local/lib*/python3*/*-packages",
                  "lib/site-packages")


def installed_copies(package: str, roots: tuple[str, ...] | None = None) -> list[str]:
    """Every folder ``<site-packages>/<package>`` under the mounted Python roots (see :func:`_python_roots`).

    After a non-editable install (``pip install .``, what ``binder/postBuild`` does) the course
    package is in the environment's site-packages, which the sandbox mounts: the grader binds its
    poisoned copy over each folder found here, so that no import path reaches an unpoisoned one.
    """
    roots = tuple(_python_roots()) if roots is None else roots
    return _installed_copies(package, roots)


@functools.lru_cache(maxsize=16)
def _installed_copies(package: str, roots: tuple[str, ...]) -> list[str]:
    found = set()
    for root in roots:
        for pattern in _SITE_PATTERNS:
            for site in Path(root).glob(pattern):
                candidate = site / package
                if candidate.is_dir() and not candidate.is_symlink():
                    found.add(str(candidate))
    for entry in sys.path:  # a site folder elsewhere under a root (a .pth line, PYTHONPATH)
        candidate = Path(entry) / package
        if entry and any(entry == r or entry.startswith(r + "/") for r in roots) and candidate.is_dir():
            found.add(str(candidate))
    return sorted(found)


def seccomp_filter() -> bytes | None:
    """A classic-BPF seccomp program (for ``bwrap --seccomp``) refusing the kernel keyring calls.

    ``add_key``, ``request_key`` and ``keyctl`` fail with EPERM: the kernel keeps a keyring per
    uid outside every namespace bwrap creates, so without this a key stored by one sandbox
    (root mode: uid 61000 + slot) could be read by a later sandbox of the same uid. Calls of
    another ABI (32-bit, x32) are refused altogether. None on architectures not listed here.
    """
    table = {"x86_64": (0xC000003E, (248, 249, 250), True), "aarch64": (0xC00000B7, (217, 218, 219), False)}
    if platform.machine() not in table:
        return None
    audit_arch, numbers, x32 = table[platform.machine()]
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, errno = 0x7FFF0000, 0x00050000
    eperm, enosys = 1, 38

    def op(code, jt, jf, k):
        return struct.pack("=HBBI", code, jt, jf, k)

    program = [op(ld_abs, 0, 0, 4), op(jeq, 1, 0, audit_arch), op(ret, 0, 0, errno | enosys), op(ld_abs, 0, 0, 0)]
    if x32:
        program += [op(jge, 0, 1, 0x40000000), op(ret, 0, 0, errno | enosys)]
    for number in numbers:
        program += [op(jeq, 0, 1, number), op(ret, 0, 0, errno | eperm)]
    return b"".join([*program, op(ret, 0, 0, allow)])


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def environment(limits: Limits) -> dict[str, str]:
    """The whole environment of the sandboxed program (nothing of the grader's is passed on)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/mpl",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


def bwrap_command(command: list[str], binds: dict[str, str], *, limits: Limits, slot: int = 0,
                  writable: dict[str, str] | None = None, covers: list[tuple[str, str]] = ()) -> list[str]:
    """The ``bwrap`` command line running ``command`` with ``binds`` ({host path: sandbox path}) read-only.

    ``covers``: (host path, sandbox path) pairs bound read-only last, over folders that exist
    in the mounted environment (the poisoned package over each installed copy).
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed: `apt-get install bubblewrap` (Debian/Ubuntu)")
    args = [bwrap, "--die-with-parent", "--new-session", "--seccomp", "{seccomp_fd}",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if mode() == "user":
        args += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    args += _system_binds()
    mounts = [(root, root) for root in _python_roots()] + list(binds.items())
    parents = sorted({str(p) for _, inside in mounts + list((writable or {}).items())
                      for p in Path(inside).parents if str(p) not in ("/", "/tmp")})
    # The private /tmp first: everything bound below lands on top of it, so a Python
    # environment that lives under /tmp (a checkout in /tmp) stays visible.
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
             "--perms", "1777", "--dir", "/tmp/mpl"]
    for parent in parents:  # bwrap would create them 0700, unreadable for the sandbox's uid
        args += ["--perms", "0755", "--dir", parent]
    for root, _ in mounts[:len(_python_roots())]:
        args += ["--ro-bind", root, root]
    for host, inside in binds.items():
        args += ["--ro-bind", host, inside]
    for host, inside in (writable or {}).items():
        args += ["--bind", host, inside]
    for host, inside in covers:
        args += ["--ro-bind", host, inside]
    args += ["--clearenv"]
    for key, value in environment(limits).items():
        args += ["--setenv", key, value]
    args += ["--chdir", "/tmp", "--"]
    if mode() == "root":
        uid = str(61000 + slot)
        args += [shutil.which("setpriv") or "/usr/bin/setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return args + command


def _prlimit(limits: Limits, nproc: int) -> list[str]:
    """util-linux ``prlimit`` in front of the command: the limits, inherited by everything it starts.

    (A ``preexec_fn`` would do the same, but is unsafe in the grader's worker threads.)
    """
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    return [prlimit, f"--cpu={limits.cpu}:{limits.cpu + 1}", f"--as={limits.memory}", f"--fsize={limits.file_size}",
            f"--nproc={nproc}", "--core=0", "--"]


def _user_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return count


def _reader(stream, keep: int, sink: list, counter: list, stop_at: int | None = None, on_overflow=None):
    def read():
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            counter[0] += len(chunk)
            room = keep - sum(len(c) for c in sink)
            if room > 0:
                sink.append(chunk[:room])
            if stop_at is not None and counter[0] > stop_at and on_overflow is not None:
                on_overflow()
                break
        stream.close()
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def run(command: list[str], binds: dict[str, str], *, limits: Limits = Limits(), slot: int = 0,
        sandbox: bool = True, writable: dict[str, str] | None = None, covers: list[tuple[str, str]] = ()) -> Result:
    """Run ``command`` (its argument ``{answers_fd}`` is replaced by the answers pipe's fd number).

    ``binds`` maps host paths to the paths the command sees; without the sandbox the command must
    use host paths (the caller passes them). The answers pipe is read into memory up to
    ``limits.answers`` bytes; printed output up to ``limits.output`` bytes.
    """
    read_fd, write_fd = os.pipe()
    command = [part.replace("{answers_fd}", str(write_fd)) for part in command]
    fds = [write_fd]
    if sandbox:
        argv = bwrap_command(command, binds, limits=limits, slot=slot, writable=writable, covers=covers)
        program = seccomp_filter()
        if program is None:
            index = argv.index("--seccomp")
            del argv[index:index + 2]
        else:
            filter_read, filter_write = os.pipe()
            os.write(filter_write, program)  # a few hundred bytes: fits the pipe's buffer
            os.close(filter_write)
            argv = [part.replace("{seccomp_fd}", str(filter_read)) for part in argv]
            fds.append(filter_read)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        nproc = limits.processes + (_user_process_count() if mode() == "user" else 0)
    else:
        argv, env = command, environment(limits)
        env["HOME"] = env["TMPDIR"] = env["MPLCONFIGDIR"] = str(binds.get("__tmp__", "/tmp"))
        nproc = limits.processes + _user_process_count()
    start = time.monotonic()
    proc = subprocess.Popen(_prlimit(limits, nproc) + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, pass_fds=tuple(fds), env=env, start_new_session=True,
                            close_fds=True)
    for fd in fds:
        os.close(fd)
    state = {"killed": False, "too_large": False}

    def kill():
        if not state["killed"]:
            state["killed"] = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def overflow():
        state["too_large"] = True
        kill()

    out_chunks, out_count, ans_chunks, ans_count = [], [0], [], [0]
    readers = [_reader(proc.stdout, limits.output, out_chunks, out_count),
               _reader(os.fdopen(read_fd, "rb"), limits.answers + 1, ans_chunks, ans_count,
                       stop_at=limits.answers, on_overflow=overflow)]
    timed_out = False
    try:
        proc.wait(timeout=limits.wall)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill()
        proc.wait()
    if not sandbox:  # without a pid namespace, leftovers of the process group go now
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for thread in readers:
        thread.join(timeout=5)
    return Result(returncode=proc.returncode, answers=b"".join(ans_chunks), output=b"".join(out_chunks),
                  output_bytes=out_count[0], seconds=time.monotonic() - start, timed_out=timed_out,
                  answers_too_large=state["too_large"])


def check(limits: Limits = Limits()) -> str:
    """Run a trivial program in the sandbox; return a description of what works, or raise."""
    probe = ("import os, socket; "
             "s = socket.socket(); s.settimeout(1)\n"
             "try:\n    s.connect(('1.1.1.1', 80)); net = 'network REACHABLE'\n"
             "except OSError:\n    net = 'no network'\n"
             "print(os.getuid(), os.getpid(), net, os.path.exists('/root/.ssh') or os.path.exists('/home'))")
    result = run([sys.executable, "-I", "-c", probe], {}, limits=limits)
    text = result.output.decode(errors="replace").strip()
    if result.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap could not start a sandbox here (exit {result.returncode}): {text}")
    uid, pid, *rest = text.split()
    if uid == "0" or "REACHABLE" in text or rest[-1] == "True":
        raise SandboxUnavailable(f"the sandbox is not isolated enough here: {text}")
    return (f"bubblewrap {mode()} mode: uid {uid} inside, pid {pid} in a private pid namespace, "
            f"{' '.join(rest[:-1])}, private file system")
