"""A minimal ``pkg_resources`` for the ais_bench CLI, used only where the tool's interpreter has none.

Both ais_bench front-ends check the installed ``aclruntime``/``ais_bench`` versions with
``pkg_resources.get_distribution(name).version``. setuptools >= 81 no longer ships
``pkg_resources``: the 2023 (Ascend/tools) CLI then warns and falls back to ``--run_mode tensor``,
and the 2024 (Ascend/msit) CLI dies with ``UnboundLocalError``. The bundle puts this folder first on
the CLI's PYTHONPATH only when ``import pkg_resources`` fails there (common/backends/ais_bench.py);
it answers from the installed distributions' metadata, as pkg_resources does.

Only what the front-ends use: ``get_distribution(name).version``/``.project_name``/``.key``,
``working_set``, ``DistributionNotFound``. Python 3.7+ (the CANN hosts' interpreters), stdlib only.
"""

import os
import re
import sys

try:
    from importlib import metadata as _metadata
except ImportError:  # Python 3.7
    _metadata = None


class DistributionNotFound(Exception):  # noqa: N818 - the real name
    pass


class Distribution:
    def __init__(self, name, version):
        self.project_name, self.version, self.key = name, version, name.lower()

    def __repr__(self):
        return f"{self.project_name} {self.version}"


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _scan():
    """(name, version) of every ``*.dist-info``/``*.egg-info`` on sys.path (Python 3.7 has no importlib.metadata)."""
    found = []
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            m = re.match(r"^(.+?)-([^-]+?)\.(dist-info|egg-info)$", entry)
            if m:
                found.append((m.group(1), m.group(2)))
    return found


def _all():
    if _metadata is not None:
        return [(d.metadata["Name"], d.version) for d in _metadata.distributions() if d.metadata["Name"]]
    return _scan()


def get_distribution(name):
    if _metadata is not None:
        try:
            return Distribution(name, _metadata.version(name))
        except _metadata.PackageNotFoundError:
            pass
    else:
        for found, version in _scan():
            if _norm(found) == _norm(name):
                return Distribution(found, version)
    raise DistributionNotFound(f"The '{name}' distribution was not found and is required by the application")


working_set = [Distribution(n, v) for n, v in _all()]
