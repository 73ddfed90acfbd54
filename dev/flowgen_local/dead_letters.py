"""Dead-letter queues that outlive a restart of the local stack.

moto's SQS keeps nothing when its server stops, so the local stack keeps the DLQs itself: on a
clean stop every message in them is written to `<data dir>/dead-letters.jsonl` (body, message
group, the time it was first sent) and on the next start sent back to the same DLQ. A run that
did not stop cleanly (kill -9, a crash, a power cut) could not write them; `<data dir>/
running.json` is there while a stack runs, so the next start knows, and the stack says so in
its description, which `flowgen status` prints. Records whose job was dead-lettered are FAILED
or still PENDING in MongoDB: `flowgen reconcile` re-sends the PENDING ones and `flowgen
retry-failed` the FAILED ones, so what such a restart loses is the DLQ's copy, not the work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAVED = "dead-letters.jsonl"
RUNNING = "running.json"


@dataclass(frozen=True)
class Restored:
    messages: int
    notice: str | None  # for people: set when the previous run could not save its DLQs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def restore(data_dir: Path, sqs: Any, dlq_urls: dict[str, str]) -> Restored:
    """Sends the saved messages back to their DLQs and marks this run as running."""
    notice = None
    marker = data_dir / RUNNING
    if marker.exists():
        previous = json.loads(marker.read_text() or "{}")
        if not _alive(int(previous.get("pid", 0))):
            notice = (
                f"The local stack started at {previous.get('startedAt', '?')} stopped without saving its dead-letter "
                "queues (kill -9 or a crash): what they held then is gone. The records are kept: `flowgen reconcile` "
                "re-sends what is PENDING, `flowgen retry-failed` retries what FAILED."
            )
    saved = data_dir / SAVED
    restored = 0
    if saved.exists():
        for line in saved.read_text().splitlines():
            if not line.strip():
                continue
            message = json.loads(line)
            url = dlq_urls.get(message["queue"])
            if url is None:  # a DLQ the template no longer has
                continue
            extra = {"MessageGroupId": message["group"]} if message.get("group") else {}
            sqs.send_message(QueueUrl=url, MessageBody=message["body"], **extra)
            restored += 1
        saved.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"pid": os.getpid(), "startedAt": datetime.now(UTC).isoformat(timespec="seconds")}))
    return Restored(restored, notice)


def save(data_dir: Path, sqs: Any, dlq_urls: dict[str, str]) -> int:
    """Writes every message of the DLQs to the data directory, then clears the running mark."""
    lines = []
    for name, url in dlq_urls.items():
        seen: set[str] = set()
        while True:
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,  # each message is read once; the queue is about to go
                MessageSystemAttributeNames=["SentTimestamp", "MessageGroupId"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            for m in fresh:
                seen.add(m["MessageId"])
                attributes = m.get("Attributes", {})
                lines.append(
                    json.dumps(
                        {
                            "queue": name,
                            "body": m["Body"],
                            "group": attributes.get("MessageGroupId"),
                            "sent": attributes.get("SentTimestamp"),
                        }
                    )
                )
    staged = data_dir / f"{SAVED}.tmp"
    staged.write_text("".join(f"{line}\n" for line in lines))
    staged.replace(data_dir / SAVED)
    (data_dir / RUNNING).unlink(missing_ok=True)
    return len(lines)
