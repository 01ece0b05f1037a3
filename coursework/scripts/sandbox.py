"""Run one untrusted program in a bubblewrap sandbox, with limits (or, for comparison, without).

Every student submission is executed by :func:`run` through Debian's ``bubblewrap`` (``bwrap``):

* its own mount namespace that shows only, read-only, the interpreter, its standard library and
  the allowed numerical distributions (:func:`python_view`), the course package (a copy prepared
  by the grader), the runner and the one task bundle; a private ``/tmp`` (a size-limited tmpfs);
  a fresh ``/proc`` and minimal ``/dev``. Nothing of ``source/``, the gradebook, the submissions
  or the home directory exists inside;
* its own network namespace (no interfaces but a down loopback: no network), pid namespace
  (everything the program starts is killed when it ends), IPC and UTS namespaces;
* an unprivileged uid: when the grader runs as root (CI, a JupyterHub grading service) bwrap sets
  the namespaces up and ``setpriv`` then drops to uid/gid :func:`sandbox_uid` with no capabilities
  and ``no_new_privs``; when the grader is an ordinary user (a laptop), bwrap uses an
  unprivileged user namespace and the program runs as uid 65534 inside it;
* resource limits (``setrlimit`` by util-linux ``prlimit``, inherited through bwrap): CPU seconds, address space, size of
  any file written, number of processes; plus, enforced from outside (the whole sandbox is
  killed), a wall-clock limit and a watchdog on the resident memory and CPU time of all its
  processes together (:func:`tree_usage`), and caps on the bytes read back (output, answers).

:func:`run` with ``sandbox=False`` runs the same command without bwrap (same limits, same
environment, but the real file system and network): only for measuring the sandbox's overhead.
"""

from __future__ import annotations

import functools
import os
import platform
import re
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
    #: bytes of resident memory of all the sandbox's processes together (the watchdog stops it)
    total_memory: int = 3 << 30
    #: seconds of CPU time of all the sandbox's processes together (None: ``cpu``; the watchdog)
    total_cpu: float | None = None


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
    stopped: str = ""           #: "memory" or "cpu": the watchdog stopped the sandbox at a total cap


RUNNER_DIR = "/opt/grader"
PACKAGE_DIR = "/opt/course"
BUNDLE_DIR = "/task"


def mode() -> str:
    """``"root"`` (bwrap as root, then setpriv to an unprivileged uid) or ``"user"`` (user namespace)."""
    return "root" if os.geteuid() == 0 else "user"


def _python_roots() -> list[str]:
    """Folders of the whole Python environment (prefixes): what the Otter route mounts read-only.

    Otter's kernel needs Jupyter and everything else installed; the nbgrader route's runner gets
    only :func:`python_view`.
    """
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    # the venv's own folder if sys.executable is a symlink out of it
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(sys.executable))))
    keep = sorted(r for r in roots if r not in ("/", "/usr") and not r.startswith("/usr/"))
    # drop folders inside another kept folder
    return [r for r in keep if not any(r != o and r.startswith(o + "/") for o in keep)]


#: The distributions a student's code may import when graded (with everything they require): the
#: numerical libraries the problem sets and the course package use. Nothing else installed in the
#: environment is visible in the sandbox (not Jupyter, not the course package's installed copy).
SANDBOX_DISTRIBUTIONS = ("numpy", "scipy", "matplotlib", "sympy", "autograd")

#: Where an installed package can live (pip, Debian, pyenv, conda): every such folder under the
#: environment's prefixes and under ``/usr`` (mounted whole) is replaced by an empty one in the
#: sandbox, except the allowed distributions' own entries.
_SITE_PATTERNS = ("lib*/python3*/site-packages", "lib*/python3*/dist-packages", "lib*/python3/dist-packages",
                  "local/lib*/python3*/*-packages", "lib/site-packages")


@dataclass(frozen=True)
class PythonView:
    """What the runner's sandbox mounts of the Python environment (see :func:`python_view`)."""

    symlinks: tuple[tuple[str, str], ...]   #: (target, path): the interpreter's chain of symlinks
    files: tuple[str, ...]                  #: read-only binds at the same path (interpreter, stdlib, ...)
    empty: tuple[str, ...]                  #: site folders shown empty (a tmpfs)
    allowed: tuple[str, ...]                #: entries of allowed distributions, bound into those folders


def _distribution_closure(names) -> list:
    """The installed distributions ``names`` and everything they require (extras ignored)."""
    import importlib.metadata as md

    found, todo = {}, list(names)
    while todo:
        name = re.split(r"[ ;<>=!~\[(]", todo.pop(), maxsplit=1)[0].strip().lower().replace("_", "-")
        if not name or name in found:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional dependency not installed here
        found[name] = dist
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return list(found.values())


def _site_folders() -> set[str]:
    """Every site folder (site-packages, dist-packages) under the prefixes, ``/usr`` and ``sys.path``."""
    bases = {*_python_roots(), "/usr", "/usr/local", sys.base_prefix, sys.prefix}
    found = set()
    for base in bases:
        for pattern in _SITE_PATTERNS:
            found.update(os.path.realpath(p) for p in Path(base).glob(pattern) if p.is_dir())
    for entry in sys.path:
        if entry and re.search(r"[-_]packages(/|$)", entry) and os.path.isdir(entry):
            found.add(os.path.realpath(entry))
    return found


@functools.lru_cache(maxsize=1)
def python_view() -> PythonView:
    """The parts of this Python environment the runner needs, and nothing else.

    The interpreter (its symlinks, the ``pyvenv.cfg`` of a venv, ``libpython``), the standard
    library, and the entries of the allowed distributions (:data:`SANDBOX_DISTRIBUTIONS` and what
    they require) in their site folders; every site folder is otherwise empty. So no copy of the
    course package is reachable under any name (an installed copy after ``pip install .``, a
    renamed folder, a wheel or zip inside the environment): the only one is the poisoned copy the
    grader binds at ``PACKAGE_DIR``.
    """
    symlinks, files = [], set()
    path = os.path.abspath(sys.executable)
    for _ in range(40):  # the venv's python -> python3 -> /prefix/bin/python3.11
        if not os.path.islink(path):
            break
        target = os.readlink(path)
        symlinks.append((target, path))
        path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    files.add(path)
    for cfg in (Path(sys.executable).parent / "pyvenv.cfg", Path(sys.executable).parent.parent / "pyvenv.cfg"):
        if cfg.is_file():
            files.add(str(cfg))
    import sysconfig

    libdir = sysconfig.get_config_var("LIBDIR") or ""
    for name in (sysconfig.get_config_var("LDLIBRARY") or "", sysconfig.get_config_var("INSTSONAME") or ""):
        if name and libdir and os.path.isfile(os.path.join(libdir, name)) and not libdir.startswith("/usr/"):
            files.add(os.path.join(libdir, name))
    for prefix in {sys.prefix, sys.base_prefix}:  # shared libraries a conda numpy links (BLAS, ...): files only
        if not prefix.startswith("/usr"):
            files.update(str(p) for p in Path(prefix, "lib").glob("lib*.so*") if p.is_file())
    # the base interpreter's standard library (with lib-dynload); in a venv, sysconfig's
    # "platstdlib" is the venv's own lib folder, which holds its site-packages
    files.add(os.path.realpath(os.path.dirname(os.__file__)))
    for entry in sys.path:  # python311.zip, when there is one
        if entry.endswith(".zip") and os.path.isfile(entry) and not re.search(r"[-_]packages/", entry):
            files.add(os.path.realpath(entry))
    empty = _site_folders()
    allowed = set()
    for dist in _distribution_closure(SANDBOX_DISTRIBUTIONS):
        site = os.path.realpath(str(dist.locate_file("")))
        empty.add(site)
        for file in dist.files or []:
            parts = Path(file).parts
            if parts and parts[0] != ".." and not os.path.isabs(str(file)):
                allowed.add(os.path.join(site, parts[0]))
    allowed = {a for a in allowed if os.path.lexists(a) and not a.endswith((".pth", "/__pycache__"))}
    # a site folder inside the standard library (pyenv's base site-packages) is emptied after it
    return PythonView(tuple(symlinks), tuple(sorted(files)), tuple(sorted(empty)), tuple(sorted(allowed)))


def _view_args(view: PythonView) -> list[str]:
    """bwrap arguments mounting ``view`` (after the private /tmp, before the task's own binds)."""
    args = []
    for path in sorted({str(p) for mount in (*view.files, *view.empty, *view.allowed, *(s for _, s in view.symlinks))
                        for p in Path(mount).parents if str(p) not in ("/", "/tmp", "/usr") and not
                        str(p).startswith("/usr/")}):
        args += ["--perms", "0755", "--dir", path]
    for path in view.files:
        args += ["--ro-bind", path, path]
    for target, path in view.symlinks:
        args += ["--symlink", target, path]
    for path in view.empty:
        args += ["--perms", "0755", "--tmpfs", path]
    for path in view.allowed:
        args += ["--ro-bind", path, path]
    # an emptied site folder is read-only like the rest of the environment
    for path in view.empty:
        args += ["--remount-ro", path]
    return args


def seccomp_filter() -> bytes | None:
    """A classic-BPF seccomp program (for ``bwrap --seccomp``) refusing the kernel keyring calls and
    the memory no process's resident size shows.

    ``add_key``, ``request_key`` and ``keyctl`` fail with EPERM: the kernel keeps a keyring per
    uid outside every namespace bwrap creates, so without this a key stored by one sandbox
    (root mode: :func:`sandbox_uid`) could be read by a later sandbox of the same uid.
    ``memfd_create`` and System V shared memory (``shmget``, ``shmat``, ``shmctl``) fail with
    EPERM too: pages of a memfd or a detached segment belong to no process's resident memory
    nor address space, so the watchdog (:func:`tree_usage`) could not see gigabytes held that
    way (neither is needed by the numerical libraries). Calls of another ABI (32-bit, x32) are
    refused altogether. None on architectures not listed here.
    """
    table = {"x86_64": (0xC000003E, (248, 249, 250, 319, 29, 30, 31), True),
             "aarch64": (0xC00000B7, (217, 218, 219, 279, 194, 196, 195), False)}
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
                  writable: dict[str, str] | None = None, whole_environment: bool = False,
                  scratch: dict[str, int] | None = None, hidden: tuple[str, ...] = ()) -> list[str]:
    """The ``bwrap`` command line running ``command`` with ``binds`` ({host path: sandbox path}) read-only.

    The Python environment is mounted as :func:`python_view` (the interpreter, the standard
    library and the allowed numerical distributions), or whole with ``whole_environment`` (the
    Otter route, whose kernel needs Jupyter). ``scratch`` ({sandbox path: bytes}): writable
    folders of their own, size-capped tmpfs that vanish with the sandbox (nothing is written on
    the grader's disk; a result comes back through the answers pipe). ``hidden``: folders that
    the sandbox sees empty and read-only.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed: `apt-get install bubblewrap` (Debian/Ubuntu)")
    args = [bwrap, "--die-with-parent", "--new-session", "--seccomp", "{seccomp_fd}",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if mode() == "user":
        args += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    args += _system_binds()
    roots = _python_roots() if whole_environment else []
    mounts = [(root, root) for root in roots] + list(binds.items())
    parents = sorted({str(p) for _, inside in mounts + list((writable or {}).items())
                      for p in Path(inside).parents if str(p) not in ("/", "/tmp")})
    # The private /tmp first: everything bound below lands on top of it, so a Python
    # environment that lives under /tmp (a checkout in /tmp) stays visible.
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
             "--perms", "1777", "--dir", "/tmp/mpl"]
    for parent in parents:  # bwrap would create them 0700, unreadable for the sandbox's uid
        args += ["--perms", "0755", "--dir", parent]
    if whole_environment:
        for root in roots:
            args += ["--ro-bind", root, root]
    else:
        args += _view_args(python_view())
    for host, inside in binds.items():
        args += ["--ro-bind", host, inside]
    for host, inside in (writable or {}).items():
        args += ["--bind", host, inside]
    for inside, size in (scratch or {}).items():
        args += ["--perms", "1777", "--size", str(size), "--tmpfs", inside]
    for inside in hidden:
        args += ["--perms", "0755", "--tmpfs", inside, "--remount-ro", inside]
    args += ["--clearenv"]
    for key, value in environment(limits).items():
        args += ["--setenv", key, value]
    args += ["--chdir", "/tmp", "--"]
    if mode() == "root":
        uid = str(sandbox_uid(slot))
        args += [shutil.which("setpriv") or "/usr/bin/setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return args + command


def sandbox_uid(slot: int) -> int:
    """The unprivileged uid of a sandbox in root mode: one per worker slot and grading process.

    RLIMIT_NPROC counts all processes of a uid on the machine: with one uid per slot only
    (61000 + slot), a second grader running at the same time (the Otter route beside the nbgrader
    route, another course) used up the process limit of the first one's sandboxes, whose programs
    then failed to start. The grader's pid picks one of 1,024 blocks of 256 uids.
    """
    return 61000 + 256 * (os.getpid() % 1024) + slot % 256


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


#: Seconds between two looks of the watchdog at a sandbox's processes.
WATCH_INTERVAL = 0.2


def _tree_pids(root: int) -> list[int]:
    """``root`` and its descendants by the kernel's ``children`` lists (a few files, however busy the
    machine), else every process of ``/proc`` (kernels built without ``CONFIG_PROC_CHILDREN``)."""
    found, todo = [], [root]
    try:
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except FileNotFoundError:
                continue  # ended meanwhile
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                        todo += [int(child) for child in fh.read().split()]
                except FileNotFoundError:
                    if not os.path.exists(f"/proc/{pid}/task/{tid}/stat"):
                        continue  # the thread ended meanwhile
                    raise
        return found
    except FileNotFoundError:
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def tree_usage(root: int, seen: dict | None = None) -> tuple[int, float, int]:
    """(resident bytes, CPU seconds, processes) of ``root`` and all its descendants, from ``/proc``.

    Every process of a sandbox descends from its bwrap process, also after ``setsid`` or a double
    fork: an orphan is adopted by the pid namespace's init, bwrap's child. CPU time is the larger
    of two lower bounds, so nothing is counted twice: (a) each live process's own time and that
    of the children it has reaped (``cutime``, ``cstime``), and (b) with ``seen`` (kept between
    calls: (pid, start time) -> own CPU seconds), the own time of every process ever seen, also
    after it ended: children reaped automatically (``SIGCHLD`` ignored) reach no ``cutime``.
    Resident memory is summed (pages shared after a fork count for each process: a stricter
    measure, never a looser one).
    """
    kids: dict[int, list[int]] = {}
    usage: dict[int, tuple[int, float, float, int]] = {}
    ticks, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    for pid in _tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue  # ended meanwhile
        fields = data[data.rindex(b")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(pid)
        own = (int(fields[11]) + int(fields[12])) / ticks
        usage[pid] = (int(fields[21]) * page, own + (int(fields[13]) + int(fields[14])) / ticks, own, int(fields[19]))
    memory, cpu, count, todo = 0, 0.0, 0, [root]
    while todo:
        pid = todo.pop()
        if pid in usage:
            rss, total, own, start = usage[pid]
            memory, cpu, count = memory + rss, cpu + total, count + 1
            if seen is not None:
                seen[(pid, start)] = max(own, seen.get((pid, start), 0.0))
        todo += kids.get(pid, [])
    return memory, max(cpu, sum(seen.values())) if seen else cpu, count


def _watchdog(proc, limits: Limits, state: dict, kill) -> threading.Thread:
    """Stop the sandbox when its processes together pass ``limits.total_memory`` or ``total_cpu``.

    RLIMIT_AS and RLIMIT_CPU count per process; without a cgroup the grader can delegate (a
    container with cgroup v1, say), this trusted thread enforces the caps per sandbox.
    """
    cpu_cap = limits.total_cpu if limits.total_cpu is not None else limits.cpu

    def watch():
        seen: dict = {}
        while proc.poll() is None and not state["killed"]:
            memory, cpu, _ = tree_usage(proc.pid, seen)
            if memory > limits.total_memory or cpu > cpu_cap:
                state["stopped"] = "memory" if memory > limits.total_memory else "cpu"
                kill()
                return
            if state["ended"].wait(WATCH_INTERVAL):  # woken when the run ends: no last interval to sleep out
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


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
        sandbox: bool = True, writable: dict[str, str] | None = None, whole_environment: bool = False,
        scratch: dict[str, int] | None = None, hidden: tuple[str, ...] = ()) -> Result:
    """Run ``command`` (its argument ``{answers_fd}`` is replaced by the answers pipe's fd number).

    ``binds`` maps host paths to the paths the command sees; without the sandbox the command must
    use host paths (the caller passes them). The answers pipe is read into memory up to
    ``limits.answers`` bytes; printed output up to ``limits.output`` bytes.
    """
    read_fd, write_fd = os.pipe()
    command = [part.replace("{answers_fd}", str(write_fd)) for part in command]
    fds = [write_fd]
    if sandbox:
        argv = bwrap_command(command, binds, limits=limits, slot=slot, writable=writable,
                             whole_environment=whole_environment, scratch=scratch, hidden=hidden)
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
    state = {"killed": False, "too_large": False, "stopped": "", "ended": threading.Event()}

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
    watchdog = _watchdog(proc, limits, state, kill)
    timed_out = False
    try:
        proc.wait(timeout=limits.wall)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill()
        proc.wait()
    state["ended"].set()
    if not sandbox:  # without a pid namespace, leftovers of the process group go now
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for thread in [*readers, watchdog]:
        thread.join(timeout=5)
    return Result(returncode=proc.returncode, answers=b"".join(ans_chunks), output=b"".join(out_chunks),
                  output_bytes=out_count[0], seconds=time.monotonic() - start, timed_out=timed_out,
                  answers_too_large=state["too_large"], stopped=state["stopped"])


def check(limits: Limits = Limits()) -> str:
    """Run a trivial program in the sandbox; return a description of what works, or raise."""
    probe = ("import os, socket, numpy, scipy.sparse; "  # the numerical libraries, in the sandbox's view
             "s = socket.socket(); s.settimeout(1)\n"
             "try:\n    s.connect(('1.1.1.1', 80)); net = 'network REACHABLE'\n"
             "except OSError:\n    net = 'no network'\n"
             "print(os.getuid(), os.getpid(), net, os.path.exists('/root/.ssh') or os.path.exists('/home'))")
    result = run([sys.executable, "-I", "-c", probe], {}, limits=limits)
    text = (result.output.decode(errors="replace").strip().splitlines() or [""])[-1]
    if result.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap could not start a sandbox here, or the sandbox's Python cannot "
                                 f"import numpy and scipy (exit {result.returncode}): {text}")
    uid, pid, *rest = text.split()
    if uid == "0" or "REACHABLE" in text or rest[-1] == "True":
        raise SandboxUnavailable(f"the sandbox is not isolated enough here: {text}")
    return (f"bubblewrap {mode()} mode: uid {uid} inside, pid {pid} in a private pid namespace, "
            f"{' '.join(rest[:-1])}, private file system")
