"""The Chrysalis design's training-job example signs and verifies through the real CLI (10.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures import generate
from git_elite.core import documents, schema
from tests.conftest import SEEDS, run_cli

VECTOR = Path(generate.__file__).resolve().parent / "vectors" / "chrysalis-training-job.json"


def design_example() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(VECTOR.read_text())["document"]
    return body


def sign_via_cli(tmp_path: Path, body: dict[str, Any]) -> tuple[Path, Any]:
    run_cli("id", "init", env={"AGENTD_KEYGEN_SEED": SEEDS["alice"]})
    src = tmp_path / "job.json"
    src.write_text(json.dumps(body, indent=2))
    out = tmp_path / "job.signed.json"
    proc = run_cli("sign", str(src), "--type", "training-job", "-o", str(out), check=None)
    return out, proc


def test_vector_keeps_its_source() -> None:
    assert "shared/vectors/chrysalis-training-job.json" in json.loads(VECTOR.read_text())["source"]


def test_design_example_signs_and_verifies(tmp_path: Path) -> None:
    out, proc = sign_via_cli(tmp_path, design_example())
    assert proc.returncode == 0, proc.stderr
    signed = json.loads(out.read_text())
    assert signed["owner_did"] == generate.key("alice").did
    assert signed["base_model"] == {"name": "llama3-8b-instruct", "source": "huggingface",
                                    "revision": "main"}
    checked = json.loads(run_cli("verify-file", "--json", str(out)).stdout)
    assert checked == {"ok": True, "problems": []}
    # the shape alone (no --type, no `type` field) is recognised as a training job too
    assert run_cli("verify-file", str(out)).returncode == 0


def test_design_example_tampered_is_a_signature_problem(tmp_path: Path) -> None:
    out, _ = sign_via_cli(tmp_path, design_example())
    signed = json.loads(out.read_text())
    signed["base_model"]["revision"] = "evil"
    out.write_text(json.dumps(signed))
    proc = run_cli("verify-file", "--json", str(out), check=1)
    assert [p["rule"] for p in json.loads(proc.stdout)["problems"]] == ["signature"]


def setter(path: str, value: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        node[last] = value
    return change


BAD_SHAPES = {
    "base-model-no-name": setter("base_model", {"source": "huggingface", "revision": "main"}),
    "base-model-number": setter("base_model", 8),
    "base-model-name-empty": setter("base_model.name", ""),
    "objective-max-steps-zero": setter("objective.max_steps", 0),
    "objective-task-types-string": setter("objective.task_types", "file-edit"),
    "data-validation-split-over-one": setter("data.validation_split", 1.5),
    "hyper-batch-size-float": setter("hyperparameters.batch_size", 4.5),
    "resources-gpus-negative": setter("resources.gpus", -1),
    "backend-cost-string": setter("backend.max_cost_usd", "50"),
    "artifacts-checkpoints-string": setter("artifacts.save_checkpoints", "yes"),
    "notifications-number": setter("notifications", 3),
    "job-type-unknown": setter("job_type", "train"),
}


@pytest.mark.parametrize("change", BAD_SHAPES.values(), ids=BAD_SHAPES.keys())
def test_bad_shapes_refused_by_sign(tmp_path: Path, change: Any) -> None:
    body = design_example()
    change(body)
    out, proc = sign_via_cli(tmp_path, body)
    assert proc.returncode == 1, proc.stderr
    assert "[schema]" in proc.stderr
    assert not out.exists()


GOOD_SHAPES = {
    "base-model-string": setter("base_model", "gpt-4.1-mini"),
    "base-model-name-only": setter("base_model", {"name": "llama3-8b-instruct"}),
    "objective-string": setter("objective", "improve file-edit success"),
    "backend-string": setter("backend", "local"),
    "artifacts-array": setter("artifacts", []),
    "notifications-array": setter("notifications", []),
    "extra-nested-field": setter("resources.tpu", 2),
}


@pytest.mark.parametrize("change", GOOD_SHAPES.values(), ids=GOOD_SHAPES.keys())
def test_older_and_extended_shapes_still_valid(change: Any) -> None:
    body = design_example()
    change(body)
    signed = documents.sign(body, generate.key("alice"), documents.TRAINING_JOB)
    assert schema.validate(documents.TRAINING_JOB, signed, "job.json") == []
