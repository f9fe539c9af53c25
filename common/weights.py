"""Fetch and verify pretrained weights: download with resume/retry, package copy, given path, md5 checks.

``ensure(spec, weights_dir)`` (``spec`` is a manifest's ``WeightsSpec``) returns the path of a verified
weights file or raises ``WeightsError`` whose text is meant to be shown to the user as is.

Files kept in the weights folder, per weights file ``F``:
``F`` (only ever complete: written as ``F.part`` then renamed), ``F.part.json`` (the ETag / Last-Modified of
the response ``F.part`` came from: a resume sends it as ``If-Range``), ``F.md5ok`` (size, mtime, ctime, inode
and md5 of ``F``, so pipeline steps skip re-hashing; ``make verify`` never reads it), ``F.lock`` (serialises
concurrent runs), ``F.bad`` (a download whose md5 did not match, kept for inspection).

``checksums.md5`` is ``md5sum -c`` compatible (GNU md5sum skips its ``#`` comment lines)::

    cd "$WEIGHTS_DIR" && md5sum -c --ignore-missing /path/to/checksums.md5
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import requests
from filelock import FileLock, Timeout
from tqdm import tqdm

from . import atomic, records
from .errors import BundleError, is_number
from .manifest import WeightsSpec

_MD5_RE = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1 << 16


class WeightsError(BundleError):
    """A user-facing failure to obtain or verify weights; ``str()`` is the message to print."""


def _warn(msg: str) -> None:
    print(f"weights: {msg}", file=sys.stderr, flush=True)


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    """Hex md5 of a file, read in chunks."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def weights_dir(setting: str = "") -> Path:
    """The weights cache: the WEIGHTS_DIR setting, else ``$XDG_CACHE_HOME/modelzoo-bundle/weights``
    (``~/.cache`` by default)."""
    if setting:
        return Path(setting).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "modelzoo-bundle" / "weights"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".md5ok")


def _stamp(path: Path) -> dict:
    st = path.stat()
    # ctime too: an in-place edit that sets size and mtime back (os.utime) cannot set the ctime back
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}


def cached_md5(path: Path) -> str:
    """md5 of ``path``, reusing ``<path>.md5ok`` while size, mtime, ctime and inode are unchanged (a speed-up
    for pipeline steps only: ``verify_dir`` always hashes)."""
    side = _sidecar(path)
    stamp = _stamp(path)
    try:
        data = json.loads(side.read_text())
        if {k: data.get(k) for k in stamp} == stamp and _MD5_RE.match(str(data.get("md5", ""))):
            return data["md5"]
    except (OSError, ValueError):
        pass
    digest = md5sum(path)
    try:
        atomic.write_text(side, json.dumps({**stamp, "md5": digest}) + "\n")  # never through a link
    except (OSError, BundleError):  # atomic names the folder in a BundleError
        pass  # a read-only folder only costs a re-hash next time
    return digest


def _no_verify_warning(path: Path) -> None:
    _warn(f"WARNING: VERIFY=0: md5 NOT checked for {path}")


def _pin_hint(path: Path, digest: str) -> None:
    _warn(
        f'{path}: md5 {digest} (none published; pin it: md5 = "{digest}" in the manifest\'s [weights] '
        f'and "{digest}  {path.name}" in checksums.md5)'
    )


def _use_given(spec: WeightsSpec, given: Path, verify: bool) -> Path:
    given = Path(given).expanduser()
    if not given.exists():
        raise WeightsError(f"WEIGHTS={given}: no such file (expected {spec.file})")
    if not given.is_file():
        raise WeightsError(f"WEIGHTS={given}: not a regular file (expected {spec.file})")
    if not verify:
        _no_verify_warning(given)
        return given
    digest = cached_md5(given)  # each make step is a new process: do not re-hash 200 MB every time
    if not spec.md5:
        _pin_hint(given, digest)
    elif digest != spec.md5:
        raise WeightsError(
            f"WEIGHTS={given}: md5 mismatch for {spec.file}: expected {spec.md5}, got {digest} "
            "(wrong or corrupt file; VERIFY=0 skips this check)"
        )
    return given


def _check_present(spec: WeightsSpec, target: Path, verify: bool) -> bool:
    """True when ``target`` is acceptable; False (after moving it to .bad) when it must be fetched again."""
    if not verify:
        _no_verify_warning(target)
        return True
    digest = cached_md5(target)
    if not spec.md5:
        _pin_hint(target, digest)
        return True
    if digest == spec.md5:
        return True
    if not (spec.urls or spec.package):
        raise WeightsError(
            f"{target}: md5 mismatch: expected {spec.md5}, got {digest} (wrong or corrupt file; "
            f"replace it{', see ' + spec.where if spec.where else ''})"
        )
    bad = target.with_name(target.name + ".bad")
    os.replace(target, bad)
    _sidecar(target).unlink(missing_ok=True)
    _warn(f"{target}: md5 {digest}, expected {spec.md5}; moved to {bad.name}, fetching it again")
    return False


def _finish(spec: WeightsSpec, part: Path, target: Path, source: str, verify: bool) -> Path:
    """Check size and md5 of a complete ``.part`` and move it under the final name (or to ``.bad``)."""
    bad = target.with_name(target.name + ".bad")
    size = part.stat().st_size
    problem = ""
    if spec.size is not None and size != spec.size:
        problem = f"size mismatch for {spec.file} from {source}: expected {spec.size} bytes, got {size}"
    digest = md5sum(part) if (verify or not spec.md5) else ""
    if not problem and verify and spec.md5 and digest != spec.md5:
        problem = f"md5 mismatch for {spec.file} from {source}: expected {spec.md5}, got {digest}"
    if problem:
        os.replace(part, bad)
        _origin(part).unlink(missing_ok=True)
        raise WeightsError(f"{problem} (the bytes are kept in {bad}; delete it and re-run, or try another mirror)")
    os.replace(part, target)
    _origin(part).unlink(missing_ok=True)
    if digest:
        atomic.write_text(_sidecar(target), json.dumps({**_stamp(target), "md5": digest}) + "\n")
    if not verify:
        _no_verify_warning(target)
    elif not spec.md5:
        _pin_hint(target, digest)
    return target


def _copy_from_package(spec: WeightsSpec, part: Path, target: Path, verify: bool) -> Path:
    try:
        found = importlib.util.find_spec(spec.package)
    except (ImportError, ValueError):
        found = None
    if found is None:
        hint = f" (it is {spec.where})" if spec.where else ""
        raise WeightsError(f"{spec.file}: Python package {spec.package} is not installed{hint}")
    for loc in found.submodule_search_locations or []:
        src = Path(loc) / "models" / spec.file
        if src.is_file():
            shutil.copyfile(src, part)
            return _finish(spec, part, target, f"package {spec.package} ({src})", verify)
    raise WeightsError(f"{spec.file}: not found under models/ of the installed package {spec.package}")


# --------------------------------------------------------------------------------------------- download


_TRANSIENT = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


class _Retry(Exception):
    """A transient failure: try the same URL again after a backoff."""


class _NextMirror(Exception):
    """A permanent failure for this URL: go to the next mirror."""


def _short(exc: BaseException) -> str:
    """A one-line reason from a requests/urllib3 exception chain."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = str(exc)
    m = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if m:
        return m.group(1).strip()
    for key in ("IncompleteRead", "Connection reset", "Connection aborted", "RemoteDisconnected"):
        if key in text:
            return "connection dropped mid-download" if key == "IncompleteRead" else key.lower()
    return f"{type(exc).__name__}: {text[:120]}"


def _content_range_start(value: str) -> int | None:
    m = re.match(r"bytes\s+(\d+)-\d+/(\d+|\*)", value or "")
    return int(m.group(1)) if m else None


def _origin(part: Path) -> Path:
    """``F.part.json``: the validators of the response ``F.part`` holds the start of."""
    return part.with_name(part.name + ".json")


def _validators(headers) -> dict:
    """What names one version of the file on the server: a strong ETag and/or Last-Modified (a weak ETag
    cannot be sent as ``If-Range``)."""
    etag = headers.get("ETag") or ""
    out = {"etag": etag} if etag and not etag.startswith("W/") else {}
    if headers.get("Last-Modified"):
        out["last_modified"] = headers["Last-Modified"]
    return out


def _drop_part(part: Path) -> None:
    part.unlink(missing_ok=True)
    _origin(part).unlink(missing_ok=True)


def _resume_point(spec: WeightsSpec, part: Path) -> tuple[int, dict]:
    """The bytes of ``part`` to resume from and the record of the response it began with; a ``.part``
    longer than the file, or without that record, is dropped (resume from 0)."""
    have = part.stat().st_size if part.exists() else 0
    origin = records.read(_origin(part)) or {}
    if (spec.size is not None and have > spec.size) or (have and not origin):
        _drop_part(part)
        have = 0
    return have, origin


def _request_headers(have: int, origin: dict) -> dict:
    """No compression; from byte ``have`` on, a ``Range`` guarded by ``If-Range`` (ETag, else Last-Modified)."""
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        headers["If-Range"] = str(origin.get("etag") or origin.get("last_modified"))
    return headers


def _already_complete(r: requests.Response, spec: WeightsSpec, part: Path, have: int) -> bool:
    """True when the server's 416 says the ``.part`` is complete; an error status raises _Retry (worth
    another try) or _NextMirror."""
    if r.status_code == 416 and have:
        total = r.headers.get("Content-Range", "").rpartition("/")[2]
        if total == str(have) or spec.size == have:
            return True
        _drop_part(part)
        raise _Retry("server refused to resume (HTTP 416); restarting from byte 0")
    if r.status_code in (408, 425, 429) or r.status_code >= 500:
        raise _Retry(f"HTTP {r.status_code} {r.reason}")
    if r.status_code >= 400:
        raise _NextMirror(f"HTTP {r.status_code} {r.reason}")
    return False


def _check_resumed(r: requests.Response, part: Path, have: int, origin: dict) -> None:
    """A 206 must resume at byte ``have`` of the same version of the file; else the ``.part`` goes (_Retry)."""
    start = _content_range_start(r.headers.get("Content-Range", ""))
    if start != have:
        _drop_part(part)
        raise _Retry(f"server resumed at byte {start}, not {have}; restarting from byte 0")
    now = _validators(r.headers)
    if any(now.get(k) not in (None, v) for k, v in origin.items()):
        _drop_part(part)
        raise _Retry("the file changed on the server since the download began; restarting from byte 0")


def _start_over(r: requests.Response, part: Path) -> None:
    """A 200: the ``.part`` goes and the record names the version this response is (if anything does)."""
    now = _validators(r.headers)
    part.unlink(missing_ok=True)
    if now:
        records.write(_origin(part), now)
    else:
        _origin(part).unlink(missing_ok=True)  # nothing names this version: a drop restarts from 0


def _write_mode(r: requests.Response, part: Path, have: int, origin: dict) -> tuple[str, int]:
    """How the body goes into ``part``: appended at ``have`` (206) or written from 0 (200); else _NextMirror."""
    if r.status_code == 206:
        _check_resumed(r, part, have, origin)
        return "ab", have
    if r.status_code == 200:
        _start_over(r, part)  # no (or ignored) Range, or the file changed (If-Range): start over, never append
        return "wb", 0
    raise _NextMirror(f"unexpected HTTP {r.status_code} {r.reason}")


def _write_body(r: requests.Response, spec: WeightsSpec, part: Path, mode: str, have: int, progress: bool) -> None:
    """The response's body into ``part`` (``mode``) with a progress bar; a short body raises _Retry."""
    length = r.headers.get("Content-Length")
    length = int(length) if is_number(length or "") else None
    total = have + length if length is not None else spec.size
    got = 0
    with (
        open(part, mode) as f,
        tqdm(
            total=total,
            initial=have,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=spec.file,
            disable=not progress,
            file=sys.stderr,
        ) as bar,
    ):
        for chunk in r.iter_content(_CHUNK):
            f.write(chunk)
            got += len(chunk)
            bar.update(len(chunk))
    if length is not None and got < length:
        raise _Retry(f"connection dropped mid-download ({have + got} of {have + length} bytes)")


def _fetch_once(session: requests.Session, spec: WeightsSpec, url: str, part: Path, timeout: float, progress: bool):
    """One GET into ``part`` (resuming it). Returns when the body is complete; raises _Retry/_NextMirror.

    A resume sends ``If-Range`` with the ETag (else Last-Modified) of the response the ``.part`` began
    with, so a file changed on the server comes back whole (200) instead of being spliced onto the old
    bytes; a ``.part`` without that record (or with one that does not parse) starts over."""
    have, origin = _resume_point(spec, part)
    with session.get(url, headers=_request_headers(have, origin), stream=True, timeout=timeout) as r:
        if _already_complete(r, spec, part, have):
            return  # the .part is already complete
        mode, have = _write_mode(r, part, have, origin)
        _write_body(r, spec, part, mode, have, progress)


def _download(spec: WeightsSpec, url: str, part: Path, timeout: float, retries: int, backoff: float, progress: bool):
    """Fetch ``url`` into ``part`` with bounded retries; raises _NextMirror with the last reason."""
    with requests.Session() as session:
        for attempt in range(retries + 1):
            try:
                _fetch_once(session, spec, url, part, timeout, progress)
                return
            except _Retry as e:
                reason = str(e)
            except _TRANSIENT as e:
                reason = _short(e)
            except requests.RequestException as e:  # invalid URL, too many redirects, ...
                raise _NextMirror(_short(e)) from None
            if attempt == retries:
                raise _NextMirror(f"{reason} (gave up after {retries + 1} attempts)")
            delay = backoff * 2**attempt
            have = part.stat().st_size if part.exists() else 0
            resume = f", resuming at byte {have}" if have else ""
            _warn(f"{url}: {reason}; retry {attempt + 1}/{retries} in {delay:g}s{resume}")
            time.sleep(delay)


def _missing_message(spec: WeightsSpec, target: Path) -> str:
    md5 = f"md5 {spec.md5}" if spec.md5 else "no md5 is published (the first run prints it, to pin)"
    return f"put it at {target} (or pass WEIGHTS=<path>); {md5}"


def ensure(
    spec: WeightsSpec,
    weights_dir: Path,
    *,
    given: Path | None = None,
    verify: bool = True,
    progress: bool = True,
    timeout: float = 30,
    retries: int = 4,
    backoff: float = 1.0,
) -> Path:
    """Return the path of the verified weights file, fetching it into ``weights_dir`` when needed."""
    if given is not None:
        return _use_given(spec, given, verify)
    weights_dir = Path(weights_dir).expanduser()
    try:
        weights_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the weights folder {weights_dir}: {e.strerror}") from None
    target = weights_dir / spec.file
    part = weights_dir / (spec.file + ".part")
    lock = FileLock(str(weights_dir / (spec.file + ".lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _warn(f"waiting for another run fetching {spec.file} (lock {lock.lock_file})")
        lock.acquire()
    try:
        if target.is_file() and _check_present(spec, target, verify):
            return target
        if spec.package:
            return _copy_from_package(spec, part, target, verify)
        if not spec.urls:
            where = f"get it from {spec.where}, then " if spec.where else ""
            raise WeightsError(f"{spec.file} has no download URL: {where}{_missing_message(spec, target)}")
        failures = []
        for url in spec.urls:
            try:
                _download(spec, url, part, timeout, retries, backoff, progress)
            except _NextMirror as e:
                failures.append(f"  {url}: {e}")
                continue
            return _finish(spec, part, target, url, verify)
        tried = "\n".join(failures)
        where = f" (e.g. from {spec.where})" if spec.where else ""
        raise WeightsError(
            f"could not download {spec.file} from any mirror (offline?):\n{tried}\n"
            f"Get it another way{where} and {_missing_message(spec, target)}"
        )
    finally:
        lock.release()


# ----------------------------------------------------------------------------------------------- verify


def read_checksums(checksums_file: Path) -> list[tuple[str, str]]:
    """``(md5, file)`` pairs of an ``md5sum -c`` file; ``#`` comments and blank lines are skipped."""
    pairs = []
    for n, line in enumerate(Path(checksums_file).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^([0-9a-fA-F]{32}) [ *](\S.*)$", line.rstrip())
        if not m:
            raise WeightsError(f"{checksums_file}:{n}: malformed line (want '<md5>  <file>'): {line.strip()!r}")
        pairs.append((m.group(1).lower(), m.group(2)))
    return pairs


def verify_dir(weights_dir: Path, checksums_file: Path) -> list[tuple[str, str]]:
    """Check every file named in ``checksums_file`` under ``weights_dir``: status OK, FAILED or missing.
    Every file is hashed: a check the user asks for never trusts the ``.md5ok`` cache."""
    out = []
    for md5, name in read_checksums(checksums_file):
        path = Path(weights_dir) / name
        if not path.is_file():
            out.append((name, "missing"))
            continue
        digest = md5sum(path)
        out.append((name, "OK" if digest == md5 else "FAILED"))
    return out
