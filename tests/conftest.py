"""Test-wide settings: CI runs hypothesis with a fixed seed, so a run on a clean
checkout is reproducible; local runs keep exploring new random examples."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
