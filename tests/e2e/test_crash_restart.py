"""`kill -9` of `flowgen local` mid-generation, then a restart on the same data directory:
nothing it started outlives it, and after the restart the courses, a token minted before the
crash and every requested lesson are there (design invariant 5: MongoDB holds every intent)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowgen_local.services import free_port
from tests.conftest import short_timeouts_template

pytestmark = [pytest.mark.e2e, pytest.mark.system]


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found |= {int(child)} | _descendants(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


class LocalProcess:
    """`flowgen local` as a newcomer runs it, on a fixed port and a state directory of its own."""

    def __init__(self, state_dir: Path, port: int) -> None:
        env = {**os.environ, "FLOWGEN_STATE_DIR": str(state_dir)}
        for key in ("MONGO_URI", "REDIS_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.pop(key, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowgen_ops.cli", "local", "--port", str(port), "--fake-model", "--quiet",
             "--template", str(short_timeouts_template()),
             "--fake-latency", "1.5", "--schedule-every", "2", "--parameter-overrides", "WorkerTimeoutSeconds=8",
             "LessonLowMaxConcurrency=2", "UserRequestsPerMinute=0", "--visibility-timeout", "12"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        deadline = time.monotonic() + 90
        for line in self.process.stdout:
            if "Ctrl-C stops everything" in line:
                return
            assert time.monotonic() < deadline, "flowgen local did not come up"
        raise AssertionError(f"flowgen local exited with {self.process.wait()}")

    def kill(self) -> set[int]:
        children = _descendants(self.process.pid)
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        return children

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)


def _lessons(api: httpx.Client, course_id: str) -> list[dict[str, Any]]:
    course = api.get(f"/courses/{course_id}").json()
    return [lesson for module in course["modules"] for lesson in module["lessons"]]


def test_kill_9_mid_generation_then_restart_finishes_every_requested_lesson(tmp_path: Path) -> None:
    state_dir = tmp_path
    port = free_port()
    temporary = set(Path(tempfile.gettempdir()).glob("flowgen-*"))
    base = f"http://127.0.0.1:{port}"
    first = LocalProcess(state_dir, port)
    try:
        token = httpx.post(f"{base}/_local/token", json={"sub": "alice"}).json()["token"]
        api = httpx.Client(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=10)
        ids = [
            api.post("/courses", json={"prompt": f"Crash topic {i}", "size": "short"}).json()["id"] for i in range(3)
        ]
        deadline = time.monotonic() + 60
        while any(api.get(f"/courses/{i}").json()["status"] != "READY" for i in ids):
            assert time.monotonic() < deadline, "outlines not ready"
            time.sleep(0.3)
        opened = [(ids[0], _lessons(api, ids[0])[-1]["id"]), (ids[1], _lessons(api, ids[1])[-2]["id"])]
        for course_id, lesson_id in opened:
            assert api.get(f"/courses/{course_id}/lessons/{lesson_id}").status_code == 202
        time.sleep(0.8)  # workers are mid-call (1.5 s model) when the stack dies
    finally:
        children = first.kill()
    assert children, "the stack had started no child process"
    time.sleep(1.0)
    survivors = {pid for pid in children if _alive(pid)}
    assert not survivors, f"processes outlived the stack: {survivors}"
    assert set(Path(tempfile.gettempdir()).glob("flowgen-*")) <= temporary  # nothing left behind

    requested = {(c, lesson["id"]) for c in ids for lesson in _lessons_offline(state_dir, c)} | set(opened)
    assert len(requested) >= 2 * len(ids)  # each outline queued its first lessons, plus the opened ones
    second = LocalProcess(state_dir, port)
    try:
        api = httpx.Client(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=10)
        listed = {c["id"] for c in api.get("/courses").json()["items"]}
        assert set(ids) <= listed  # the token minted before the crash still works; the courses survived
        notices = json.loads((state_dir / "stack.json").read_text())["notices"]
        assert any("without saving its dead-letter queues" in n for n in notices)  # `flowgen status` says it
        deadline = time.monotonic() + 120
        while True:
            states = {(c, lesson["id"]): lesson["status"] for c in ids for lesson in _lessons(api, c)}
            waiting = {key for key in requested if states.get(key) != "GENERATED"}
            if not waiting:
                break
            assert time.monotonic() < deadline, f"still not generated after the restart: {sorted(waiting)}"
            time.sleep(0.5)
    finally:
        second.stop()


def _lessons_offline(state_dir: Path, course_id: str) -> list[dict[str, Any]]:
    """The lessons that had been requested (queued at either priority) before the crash, read
    from the stand-in's data directory by a stand-in of our own."""
    import pymongo

    from flowgen_stand_in.launcher import MongoStandIn

    server = MongoStandIn(data_dir=state_dir / "data" / "mongo").start()
    try:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(server.uri)
        lessons = client["flowgen"]["lessons"]
        return [{"id": doc["id"]} for doc in lessons.find({"courseId": course_id, "priority": {"$exists": True}})]
    finally:
        server.stop()
