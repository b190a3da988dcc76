"""Seeds for the simulation tests: SIM_SEED=<n> replays one seed, else a fixed list.

Every test taking a `seed` argument runs once per seed (ids `seed=<n>`); when one fails,
its report gets a section with the command that replays exactly that run.
"""
from __future__ import annotations

import os

import pytest

DEFAULT_SEEDS = (11, 22, 33)


def sim_seeds() -> list[int]:
    env = os.environ.get("SIM_SEED", "").strip()
    if env:
        return [int(part) for part in env.replace(",", " ").split()]
    return list(DEFAULT_SEEDS)


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", sim_seeds(), ids=lambda s: f"seed={s}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seed = getattr(item, "callspec", None) and item.callspec.params.get("seed")
    if report.failed and seed is not None:
        test = item.nodeid.split("[")[0]
        report.sections.append(
            ("simulation seed", f"failing seed: {seed}\nreplay: "
             f"SIM_SEED={seed} .venv/bin/python -m pytest -q '{test}'"))
