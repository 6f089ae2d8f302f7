"""The publishing workflow cannot run here; check it against GitHub's workflow schema and
against what the README promises (its two steps, strict build, Pages deployment)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "book.yml"


def test_workflow_matches_the_github_schema():
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_builds_strictly_tests_and_deploys_on_push():
    flow = yaml.safe_load(WORKFLOW.read_text())
    on = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads the key `on` as True
    assert "main" in on["push"]["branches"]
    runs = "\n".join(s.get("run", "") for s in flow["jobs"]["build"]["steps"])
    uses = [s.get("uses", "") for job in flow["jobs"].values() for s in job["steps"]]
    assert 'pip install -e ".[book,test]"' in runs
    assert "python tools/build_book.py" in runs  # jupyter-book build . -W -n --keep-going, chapters in parallel
    assert "OMP_NUM_THREADS=1 MKL_CBWR=AVX2 python -m pytest -n 2 --dist loadfile" in runs  # as .ci/run
    assert any(u.startswith("actions/cache@") for u in uses), "no execution cache"
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert flow["permissions"]["pages"] == "write" and flow["permissions"]["id-token"] == "write"
