"""The lab fixtures (see lab/appliance_lab/testing.py)."""

from appliance_lab.testing import lab, lab_process  # noqa: F401
