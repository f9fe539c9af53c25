"""A minimal ``pkg_resources`` (what setuptools < 81 ships), for tests that need an environment in
which the msit CLI's version check works: put this folder on PYTHONPATH.

Only what the ais_bench front-ends use: ``get_distribution(name).version`` and ``working_set``
(``pkg.key``), answered from ``importlib.metadata``.
"""

from __future__ import annotations

from importlib import metadata


class DistributionNotFound(Exception):  # noqa: N818 - the real name
    pass


class Distribution:
    def __init__(self, name: str, version: str):
        self.project_name, self.version, self.key = name, version, name.lower()

    def __repr__(self) -> str:
        return f"{self.project_name} {self.version}"


def get_distribution(name: str) -> Distribution:
    try:
        return Distribution(name, metadata.version(name))
    except metadata.PackageNotFoundError:
        raise DistributionNotFound(
            f"The '{name}' distribution was not found and is required by the application"
        ) from None


working_set = [Distribution(d.metadata["Name"], d.version) for d in metadata.distributions() if d.metadata["Name"]]
