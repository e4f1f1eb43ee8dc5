"""The health check reads the heartbeat a running bot keeps: fresh and "ready" is healthy;
anything else is one line saying why."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot import health


def test_a_fresh_ready_heartbeat_is_healthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    health.write(path, "ready")
    assert health.check(path) is None
    assert json.loads(path.read_text())["state"] == "ready"


def test_what_is_not_healthy_says_why(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    assert "histbot is not running" in str(health.check(path))
    health.write(path, "connecting")
    assert health.check(path) == "histbot is connecting"
    health.write(path, "ready")
    later = time.time() + health.STALE_AFTER + 1
    assert "is stuck or gone" in str(health.check(path, now=later))
    path.write_text("{not json")
    assert str(health.check(path)).startswith(f"cannot read the heartbeat {path}")
    health.stopped(path)
    assert not path.exists()
