"""Item 7: after os.fork() (and under multiprocessing's 'fork' start method) the child can call
every function, the large/threaded paths included, even when the parent was inside rawcapi on
another thread at the moment of the fork; the module survives Py_FinalizeEx and re-import
(embedded interpreter, three cycles) and import into fresh subinterpreters, without leaking
threads or Rust heap.
"""
import multiprocessing
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time

import pytest

import interpreters_compat
import rawcapi
from callables import SPECS, SPEC, good_and_expected

LARGE = 8 << 20  # above every GIL-release and multi-threading threshold


def _threads_in_process() -> int:
    return len(os.listdir("/proc/self/task"))


def _threads_settle_to(expected: int, timeout: float = 3.0) -> int:
    """The task count once it is back to `expected`, or whatever it is after `timeout`: a worker
    whose work is done may take a moment to exit (scoped threads are waited for, not joined;
    helpers are detached), which is not a leak; one still there after seconds is."""
    deadline = time.monotonic() + timeout
    while _threads_in_process() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return _threads_in_process()


def _every_good_case():
    """Run every good case against its oracle, plus the large inputs; return failures."""
    failures = []
    for spec in SPECS:
        if not spec.oracle:
            continue
        for case in spec.good:
            result, expected = good_and_expected(spec, case)
            if result != expected:
                failures.append(f"{spec.name} [{case.label}]")
    big = b"\x01" * LARGE
    if rawcapi.fast_sum(big) != LARGE:
        failures.append("fast_sum large")
    if rawcapi.count_lines(big.replace(b"\x01", b"\n")) != LARGE:
        failures.append("count_lines large bytes")
    if rawcapi.count_lines("\n" * LARGE) != LARGE:
        failures.append("count_lines large str")
    return failures


def _wait(pid, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail(f"forked child {pid} did not finish in {timeout} s (deadlock after fork?)")


@pytest.mark.parametrize("busy_parent", [False, True], ids=["idle-parent", "parent-thread-inside-rawcapi"])
def test_fork_child_calls_every_function(busy_parent):
    assert not _every_good_case()  # the parent has used every path (and any lazily made state)
    stop = threading.Event()
    busy = None
    if busy_parent:
        data = b"\x01" * LARGE

        def spin():
            while not stop.is_set():
                rawcapi.fast_sum(data)

        busy = threading.Thread(target=spin, daemon=True)
        busy.start()
        time.sleep(0.05)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:  # the child: report and leave without running the parent's cleanup
            code = 1
            try:
                failures = _every_good_case()
                os.write(write_end, repr(failures).encode())
                code = 0 if not failures else 1
            finally:
                os._exit(code)
        os.close(write_end)
        code = _wait(pid)
        report = os.read(read_end, 1 << 16).decode()
    finally:
        stop.set()
        if busy:
            busy.join(timeout=30)
        os.close(read_end)
    assert code == 0, f"child failed: {report}"


def _case_in_child(name_and_index):
    name, index = name_and_index
    spec = SPEC[name]
    result, expected = good_and_expected(spec, spec.good[index])
    return result == expected


def _large_in_child(_):
    return rawcapi.fast_sum(b"\x02" * LARGE) == 2 * LARGE


def test_multiprocessing_fork_pool():
    jobs = [(spec.name, i) for spec in SPECS if spec.oracle for i in range(len(spec.good))]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        assert all(pool.map_async(_case_in_child, jobs).get(timeout=120))
        assert all(pool.map_async(_large_in_child, range(4)).get(timeout=120))


SUBINTERPRETER_CODE = f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(rawcapi.__file__))!r})\n"
SUBINTERPRETER_CODE += textwrap.dedent(
    """
    import rawcapi
    assert rawcapi.fast_sum(b"\\x01" * (8 << 20)) == 8 << 20
    assert rawcapi.count_lines("a\\nb\\n" * 1000) == 2000
    try:
        rawcapi.fast_sum(None)
    except TypeError:
        pass
    """
)


def test_subinterpreters_import_and_are_destroyed_without_leaks():
    if not interpreters_compat.AVAILABLE:
        pytest.skip(interpreters_compat.REASON)
    for _ in range(2):  # warm-up: first-import work done once per process
        with interpreters_compat.Interpreter() as interp:
            interp.run(SUBINTERPRETER_CODE)
    threads, tasks, heap = threading.active_count(), _threads_in_process(), rawcapi._rust_heap()
    for _ in range(20):
        with interpreters_compat.Interpreter() as interp:
            interp.run(SUBINTERPRETER_CODE)
    assert threading.active_count() == threads
    assert _threads_settle_to(tasks) == tasks
    assert rawcapi._rust_heap() == heap


EMBED_C = r"""
#include <Python.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int tasks(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while ((e = readdir(d)) != NULL) if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* The task count once only the main thread is left, or after 3 s: a finished worker's OS thread
   may take a moment to exit (not a leak); one still there after seconds is. */
static int tasks_settled(void) {
    for (int i = 0; i < 300 && tasks() != 1; i++) usleep(10000);
    return tasks();
}

int main(void) {
    const char *code = getenv("RAWCAPI_EMBED_CODE");
    for (int cycle = 0; cycle < 3; cycle++) {
        Py_Initialize();
        int rc = PyRun_SimpleString(code);
        if (rc != 0 || Py_FinalizeEx() != 0) return 10 + cycle;
        printf("cycle %d tasks %d\n", cycle, tasks_settled());
    }
    return 0;
}
"""

# Run in each embedded interpreter: every call of the table (good and bad), then the large,
# multi-threaded paths of whatever the module has. No NumPy or pytest there (the embedded
# interpreter is the base one), so results are not compared here: the point is the shutdown.
EMBED_PY = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import rawcapi, callables
    for spec, case in callables.all_calls():
        try:
            callables.call(spec, case)
        except Exception:
            pass
    assert rawcapi.fast_sum(b"\\x01" * (8 << 20)) == 8 << 20
    assert rawcapi.count_lines("\\n" * (8 << 20)) == 8 << 20
    if hasattr(rawcapi, "add"):
        assert rawcapi.add(rawcapi.zeros(1 << 22), 1.0).sum() == 1 << 22
    if hasattr(rawcapi, "matmul"):
        rawcapi.matmul(rawcapi.zeros((512, 512)), rawcapi.zeros((512, 512)))
    if hasattr(rawcapi, "fft"):
        rawcapi.fft(rawcapi.zeros(1 << 20))
    """
)


def elf_interpreter(path):
    """The program interpreter (PT_INTERP: the dynamic loader) an ELF executable names, or None.
    Read from the 64-bit little-endian file header and program header table."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return None
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack("<IIQQQQ", f.read(40))
            if p_type == 3:  # PT_INTERP
                f.seek(p_offset)
                return f.read(p_filesz).rstrip(b"\0").decode()
    return None


def embedding_flags(config):
    """The compiler and linker flags that embed the running interpreter: its -config script's,
    plus what an interpreter that brings its own C library needs. Such an interpreter (a newer
    distribution's build, unpacked beside the system and pointed at its own loader) names a
    different program interpreter than the system's compiler does. A program linked against its
    libpython must then load that same loader; take libc, libm and the rest from the
    interpreter's folder, for libpython's needs too (DT_RPATH, which unlike DT_RUNPATH also
    serves the libraries the program loads); and be linked without checking libpython's newer
    glibc symbol versions against the system's libc, which the linker would otherwise refuse."""
    flags = subprocess.run([config, "--cflags", "--ldflags", "--embed"], capture_output=True, text=True, check=True).stdout.split()
    ours = elf_interpreter(os.path.realpath(sys.executable))
    system = elf_interpreter(os.path.realpath(shutil.which("cc") or shutil.which("gcc")))
    if ours and system and os.path.realpath(ours) != os.path.realpath(system):
        libc_dir = os.path.dirname(ours)
        flags += [f"-Wl,--dynamic-linker={ours}", "-Wl,--disable-new-dtags", f"-Wl,-rpath,{libc_dir}",
                  "-Wl,--allow-shlib-undefined"]
    # Find libpython at run time where the -config script found it at link time.
    flags += [f"-Wl,-rpath,{f[2:]}" for f in flags if f.startswith("-L")]
    return flags


def test_finalize_and_reinitialize_embedded_interpreter(tmp_path):
    """Py_Initialize -> import rawcapi, every call of the table and the large multi-threaded
    paths -> Py_FinalizeEx, three times in one process: every cycle works and no thread outlives
    its interpreter."""
    cc = shutil.which("cc") or shutil.which("gcc")
    config = shutil.which(f"python{sysconfig.get_python_version()}-config", path=os.path.dirname(os.path.realpath(sys.executable)))
    if not cc or not config or not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        pytest.skip("needs a C compiler and a shared libpython with its -config script")
    flags = embedding_flags(config)
    src, exe = tmp_path / "embed.c", tmp_path / "embed"
    src.write_text(EMBED_C)
    subprocess.run([cc, str(src), "-o", str(exe), *flags], check=True, capture_output=True)
    root = os.path.dirname(os.path.abspath(rawcapi.__file__))
    tests = os.path.dirname(os.path.abspath(__file__))
    # OPENBLAS_NUM_THREADS / OMP_NUM_THREADS: the table imports NumPy when it can (it can when
    # PYTHONPATH is a site-packages, as after `pip install`), and OpenBLAS's worker pool lives
    # until the process exits, Py_FinalizeEx or not; the count here is about rawcapi's threads.
    # PYTHONHOME: the embedded interpreter finds its standard library where the running one does,
    # which is not its configured prefix when it was unpacked somewhere else.
    env = dict(os.environ, PYTHONPATH=root, PYTHONHOME=sys.base_prefix, RUST_BACKTRACE="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               RAWCAPI_EMBED_CODE=EMBED_PY.format(tests=tests))
    out = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"cycle {i} tasks 1" for i in range(3)], out.stdout
