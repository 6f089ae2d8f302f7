"""tools/build_book.py: chapters executed in parallel land in the cache under the key the build looks up."""

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402

TINY = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# {title}

```{{code-cell}} ipython3
{code}
```
"""


def test_each_chapter_is_read_as_the_build_reads_it(tmp_path):
    """The cache key of the builder's reading equals that of myst-nb's reader with the book's settings,
    so the build finds what the builder executed instead of executing it again."""
    from jupyter_cache import get_cache
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    cache = get_cache(str(tmp_path / "cache"))

    def key(nb) -> str:
        return cache.create_hashed_notebook(nb)[1]

    extensions = set(yaml.safe_load((ROOT / "_config.yml").read_text())["parse"]["myst_enable_extensions"])
    chapters = build_book.chapters()
    assert {p.stem for p in chapters} >= {"kinetics", "diffusion", "generic", "gradient_dynamics"}
    for path in chapters:
        text = path.read_text()
        reader = create_nb_reader(str(path), MdParserConfig(enable_extensions=extensions), NbParserConfig(), text)
        assert reader is not None, path
        assert key(build_book.read_chapter(path)) == key(reader.read(text)), path.stem


def test_chapters_run_longest_first_and_only_notebooks():
    seconds = build_book.committed_seconds()
    chapters = [p.stem for p in build_book.chapters()]
    assert "api" not in chapters and "testing" not in chapters  # pages without code
    assert set(chapters) <= set(seconds), "a chapter without a committed runtime runs last"
    assert set(chapters[:3]) == {"kinetics", "diffusion", "structure"}  # the three longest
    assert chapters[-1] == "summary"


@pytest.mark.slow
def test_executed_chapters_are_cached_with_their_threads_and_a_failing_one_is_reported(tmp_path, monkeypatch, capsys):
    from jupyter_cache import get_cache

    book = tmp_path / "book"
    book.mkdir()
    (book / "good.md").write_text(
        TINY.format(title="Good", code="import os\nprint('threads', os.environ['OMP_NUM_THREADS'])")
    )
    (book / "bad.md").write_text(TINY.format(title="Bad", code="raise ValueError('a broken chapter')"))
    monkeypatch.setattr(build_book, "BOOK", book)
    monkeypatch.setattr(build_book, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("OMP_NUM_THREADS", "8")  # the builder's own choice wins
    monkeypatch.setattr(build_book, "cores", lambda: 6)  # 6 cores, 2 jobs: 3 threads per kernel

    assert build_book.execute_missing(2) is False  # one chapter failed
    out = capsys.readouterr()
    assert "FAILED bad" in out.err and "a broken chapter" in out.err
    cache = get_cache(str(tmp_path / "cache"))
    with pytest.raises(KeyError):
        cache.match_cache_notebook(build_book.read_chapter(book / "bad.md"))
    _, executed = cache.merge_match_into_notebook(build_book.read_chapter(book / "good.md"))
    streams = [o["text"] for c in executed.cells if c.cell_type == "code" for o in c.outputs if "text" in o]
    assert streams == ["threads 3\n"]

    (book / "bad.md").unlink()
    assert build_book.execute_missing(2) is True  # nothing left to execute: the good one is cached
    assert "every chapter is in the execution cache" in capsys.readouterr().out


def test_the_script_fails_when_the_build_executed_a_chapter_itself(tmp_path, monkeypatch, capsys):
    """A chapter whose key the build did not find runs again one at a time: that is an error."""
    import types

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    monkeypatch.setattr(build_book, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(build_book, "execute_missing", lambda jobs: True)
    chapter = ROOT / "book" / "icnn.md"

    def build_that_executes(command, cwd):
        bundle = CacheBundleIn(build_book.read_chapter(chapter), str(chapter), data={})
        get_cache(str(tmp_path / "cache")).cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
        return types.SimpleNamespace(returncode=0)

    monkeypatch.setattr(build_book.subprocess, "run", lambda command, cwd: types.SimpleNamespace(returncode=0))
    assert build_book.main(["--jobs", "2"]) == 0  # the build found everything
    monkeypatch.setattr(build_book.subprocess, "run", build_that_executes)
    assert build_book.main(["--jobs", "2"]) == 1
    assert "the build executed ['icnn#" in capsys.readouterr().err


def test_jobs_must_be_positive():
    with pytest.raises(SystemExit):
        build_book.main(["--jobs", "0"])


@pytest.mark.skipif(
    __import__("torch").backends.cpu.get_cpu_capability() != "AVX512",
    reason="MKL's AVX2 path is a second rounding path only on a CPU with AVX-512",
)
def test_mkl_avx2_path_rounds_differently_from_the_native_one():
    """The premise of CI's second floating-point path: MKL_CBWR=AVX2 changes the rounding of products."""
    import os
    import subprocess

    code = (
        "import torch; g = torch.Generator().manual_seed(0); "
        "a = torch.randn(200, 300, dtype=torch.float64, generator=g); "
        "print((a @ a.T).flatten().tolist())"
    )

    def products(**env):
        base = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
        out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert products(MKL_CBWR="AVX2") != products()
    assert products(MKL_CBWR="AVX2") == products(MKL_CBWR="AVX2")  # deterministic on each path
