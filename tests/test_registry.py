"""The experiment records: one per experiment, typed and frozen, the only source of the levels,
a digest stable across processes, and one function per asserted number (the chapter's path and
the robustness study's path give identical values)."""

import dataclasses
import subprocess
import sys

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial.book import experiments as ex
from ggd_tutorial.book import levels as lv
from ggd_tutorial.book import registry


def test_every_level_is_carried_by_a_measure_of_a_record_or_a_study():
    measured = {m.key: m.level for e in registry.EXPERIMENTS.values() for m in e.measures}
    for key, level in lv.LEVELS.items():
        studies = {**registry.STUDY_LEVELS, **registry.BRIDGE_LEVELS}
        assert measured.get(key) is level or studies.get(key) is level, key
    for e in registry.EXPERIMENTS.values():
        assert all(m.key.startswith(f"{e.name}.") for m in e.measures), e.name
        assert len({m.key for m in e.measures}) == len(e.measures), f"{e.name}: a key measured twice"


def test_records_are_frozen_and_typed():
    record = registry.EXPERIMENTS["kinetics-free"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.fit.lbfgs_steps = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.thesis = 1.0
    assert isinstance(record.fit, registry.FitConfig) and isinstance(record.model, registry.ModelSpec)
    with pytest.raises(TypeError):
        ex.SETTINGS["kinetics-free"].fit["lbfgs_steps"] = 1  # the former view is read-only too


def test_the_views_under_the_former_names_follow_the_records():
    assert ex.THESIS_MSE == {e.name: e.thesis for e in registry.EXPERIMENTS.values() if e.thesis is not None}
    assert set(ex.SETTINGS) == set(registry.EXPERIMENTS)
    assert dict(ex.SETTINGS["diffusion"].fit) == registry.EXPERIMENTS["diffusion"].fit.kwargs()
    assert ex.FIELD_EXPERIMENTS == ("diffusion-local", "porous-local")


def test_the_digest_is_stable_across_processes_and_changes_with_the_record():
    code = "from ggd_tutorial.book import registry; print(registry.digest('thesis', 'kinetics-free'), registry.digest('structure', 'all'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert other == [registry.digest("thesis", "kinetics-free"), registry.digest("structure", "all")]
    record = registry.EXPERIMENTS["kinetics-free"]
    changed = dataclasses.replace(record, fit=dataclasses.replace(record.fit, adam_lr=2e-2))
    assert changed.digest() != record.digest()
    assert dataclasses.replace(record).digest() == record.digest()


def test_build_model_is_the_record_s_model_spec():
    system, _, _ = registry.EXPERIMENTS["kinetics-prescribed-S"].data()
    a = ex.build_model("kinetics-prescribed-S", system)
    b = registry.EXPERIMENTS["kinetics-prescribed-S"].model.build(system, 0)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_the_chapter_and_the_study_compute_each_asserted_number_with_one_function():
    """overdamped-2d at a tiny budget: the study's ``levels.measure(result)`` and the chapter's
    ``lv.value`` / ``lv.check_measure`` on a separately trained result (same seed), key by key
    in another order, are identical; the chapter's displayed test MSE is the measure's."""
    name, budget = "overdamped-2d", dict(adam_steps=5, lbfgs_steps=5)
    study = lv.measure(ex.run(name, progress=False, **budget))
    chapter_result = ex.run(name, progress=False, **budget)
    chapter = {key: lv.value(chapter_result, key) for key in reversed(list(study))}
    assert chapter == study
    assert set(study) >= {k for k in lv.LEVELS if k.startswith(f"{name}.")}
    assert chapter["overdamped-2d.test_mse"] == float(g.velocity_mse(chapter_result.model, chapter_result.data))
    with pytest.raises(AssertionError, match="overdamped-2d.test_mse"):  # a tiny budget misses the level
        lv.check_measure(chapter_result, "overdamped-2d.test_mse")
