"""tradebook's settings with the calibration paths mounted beside the API (bench/calibration.py)."""

from tradebook.settings import *  # noqa: F403

ROOT_URLCONF = "bench.calibration"
