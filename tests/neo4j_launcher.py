"""Builds and starts the real Neo4j Community server the Neo4j tests run against (tests/neo4j_server/).

`make test` builds the launcher first (Maven resolves Neo4j from Maven Central once, then works from its local
cache); when pytest is run directly, `Neo4jServer.start` builds it if the build is missing or stale. Java 17+
and Maven are required: without them the Neo4j tests fail, saying what to install.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import threading
from pathlib import Path

SERVER_DIR = Path(__file__).parent / "neo4j_server"
CLASSPATH_FILE = SERVER_DIR / "target" / "classpath.txt"
READY_PREFIX = "KGBOT_NEO4J_READY "
HEAP = "768m"  # with the 256 MiB page cache set in Main.java, about 1 GiB beside the test suite
BUILD_TIMEOUT_S = 900.0
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
INSTALL_HINT = "install a JDK 17+ and Maven: apt-get install openjdk-17-jdk-headless maven"


class Neo4jUnavailable(RuntimeError):
    """The server could not be built or started; the message says why and what to do."""


def _sources() -> list[Path]:
    return [SERVER_DIR / "pom.xml", *sorted((SERVER_DIR / "src").rglob("*.java"))]


def build_is_current() -> bool:
    if not CLASSPATH_FILE.exists():
        return False
    built = CLASSPATH_FILE.stat().st_mtime
    classes = SERVER_DIR / "target" / "classes" / "kgbot" / "testing" / "Main.class"
    return classes.exists() and all(path.stat().st_mtime <= built for path in _sources())


def build() -> None:
    mvn = shutil.which("mvn")
    if mvn is None or shutil.which("java") is None:
        raise Neo4jUnavailable(f"the Neo4j tests need Java and Maven to start a real Neo4j; {INSTALL_HINT}")
    try:
        result = subprocess.run(
            [mvn, "-q", "-B", "compile"],
            cwd=SERVER_DIR,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise Neo4jUnavailable(
            f"building tests/neo4j_server with Maven took over {BUILD_TIMEOUT_S:.0f} s"
        ) from exc
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise Neo4jUnavailable(f"building tests/neo4j_server with Maven failed:\n{tail}")
    CLASSPATH_FILE.touch()


class Neo4jServer:
    """One Neo4j process on a loopback port the OS picked. Authentication is off: any credentials work."""

    def __init__(self, heap: str = HEAP, gc: str = "-XX:+UseSerialGC", page_cache_mib: int = 256) -> None:
        """The defaults suit a test run (small, one collector thread); a benchmark runs Neo4j as a server runs it
        (its default collector, G1, and a page cache holding the store)."""
        self.heap = heap
        self.gc = gc
        self.page_cache_mib = page_cache_mib
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        if not build_is_current():
            build()
        java = shutil.which("java")
        if java is None:
            raise Neo4jUnavailable(f"the Neo4j tests need Java to start a real Neo4j; {INSTALL_HINT}")
        classpath = os.pathsep.join(
            [str(SERVER_DIR / "target" / "classes"), CLASSPATH_FILE.read_text().strip()]
        )
        self.process = subprocess.Popen(
            [
                java,
                f"-Xmx{self.heap}",
                self.gc,
                f"-Dkgbot.pagecache.mib={self.page_cache_mib}",
                "-cp",
                classpath,
                "kgbot.testing.Main",
            ],
            stdin=subprocess.PIPE,  # the server exits when this pipe closes, so it never outlives the tests
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        seen: list[str] = []
        while True:
            try:
                line = lines.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                self.stop()
                raise Neo4jUnavailable(f"Neo4j did not report ready within {START_TIMEOUT_S:.0f} s") from None
            if line is None:
                self.stop()
                output = "\n".join(seen[-20:])
                raise Neo4jUnavailable(f"Neo4j exited before it was ready:\n{output}")
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                return self.url
            seen.append(line.rstrip())

    def _pump(self, lines: queue.Queue[str | None]) -> None:
        """Reads the server's output for its whole life (a full pipe would block it), passing lines on."""
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
