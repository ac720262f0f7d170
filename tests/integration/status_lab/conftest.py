"""The lab fixtures (see tests/lab_fixture.py)."""

from tests.lab_fixture import lab, lab_process  # noqa: F401
