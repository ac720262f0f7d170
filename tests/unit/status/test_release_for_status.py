"""Status judges against a release without the JSON Schema check: same model, no jsonschema import."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance_cli.errors import ReleaseError
from appliance_cli.paths import releases_dir
from appliance_cli.releases import load_release


def test_the_model_alone_reads_the_same_release() -> None:
    assert load_release("1.0-rc5", schema=False) == load_release("1.0-rc5")


def test_without_the_schema_check_jsonschema_is_not_imported() -> None:
    code = (
        "import sys; from appliance_cli.releases import load_release; "
        "load_release('1.0-rc5', schema=False); print('jsonschema' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("schema", [True, False])
def test_a_malformed_manifest_is_a_release_error_either_way(tmp_path: Path, schema: bool) -> None:
    shutil.copy(releases_dir() / "release.schema.json", tmp_path / "release.schema.json")
    (tmp_path / "9.9").mkdir()
    data = json.loads((releases_dir() / "1.0-rc5" / "release.json").read_text())
    data["version"] = "9.9"
    data["images"] = "not a mapping"
    (tmp_path / "9.9" / "release.json").write_text(json.dumps(data))
    with pytest.raises(ReleaseError, match="images"):
        load_release("9.9", tmp_path, schema=schema)
