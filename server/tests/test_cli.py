"""python -m dejpeg detect / restore / serve (in process, on tiny untrained models)."""
import json

import numpy as np
from PIL import Image

import images
from dejpeg.cli import UNDECIDED_NOTE, main

A = images.pattern(120, 168)


def write_inputs(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(images.jpeg(A, 20))
    (tmp_path / "photo.png").write_bytes(images.png(np.dstack([A, np.full(A.shape[:2], 9, np.uint8)])))
    (tmp_path / "notes.txt").write_text("not an image")
    return [tmp_path / "photo.jpg", tmp_path / "photo.png", tmp_path / "notes.txt"]


def test_detect_table_and_json(tiny_models_dir, tmp_path, capsys):
    files = [str(f) for f in write_inputs(tmp_path)]
    assert main(["detect", "--models-dir", str(tiny_models_dir), *files]) == 1   # one bad file
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["file", "verdict"]
    assert "20 (table)" in table[1]
    assert "error:" in table[3] and "notes.txt" in table[3]

    assert main(["detect", "--models-dir", str(tiny_models_dir), "--json", *files[:2]]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["quality"] for r in rows][0] == {"estimate": 20, "source": "quantization-table"}
    assert all(r["verdict"] in ("uncompressed", "single", "double") for r in rows)
    marked = []
    for r, line in zip(rows, table[1:]):      # the table marks a coin flip between single and double
        undecided = r["single_vs_double"] is not None and not r["single_vs_double"]["decided"]
        assert line.split()[1] == r["verdict"] + ("?" if undecided else "")
        marked.append(undecided)
    assert (table[-1] == UNDECIDED_NOTE) == any(marked)   # and says what "?" means when it shows


def test_detect_table_explains_an_undecided_verdict(tiny_models_dir, tmp_path, capsys, monkeypatch):
    """Whatever the tiny model says, a result whose single vs double is undecided is marked
    "?" and the table ends with what that means; a decided one gets neither."""
    from dejpeg import detector
    path = str(write_inputs(tmp_path)[0])
    for decided in (False, True):
        real = detector.Detector.detect
        def detect(self, *a, **k):
            r = real(self, *a, **k)
            return {**r, "verdict": "double", "single_vs_double": {"confidence": 0.55, "decided": decided}}
        monkeypatch.setattr(detector.Detector, "detect", detect)
        assert main(["detect", "--models-dir", str(tiny_models_dir), path]) == 0
        table = capsys.readouterr().out.splitlines()
        assert table[1].split()[1] == ("double" if decided else "double?")
        assert (table[-1] == UNDECIDED_NOTE) != decided
        monkeypatch.setattr(detector.Detector, "detect", real)


def test_restore_writes_pngs_of_the_same_size(tiny_models_dir, tmp_path, capsys):
    files = [str(f) for f in write_inputs(tmp_path)[:2]]
    out = tmp_path / "out"
    code = main(["restore", "--models-dir", str(tiny_models_dir), *files, "-o", str(out),
                 "--force", "--model", "small-pregan"])
    assert code == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["photo-2.png", "photo.png"]          # same stem twice: no overwrite
    assert Image.open(out / "photo.png").size == (168, 120)
    rgba = Image.open(out / "photo-2.png")
    assert rgba.mode == "RGBA" and (np.asarray(rgba)[:, :, 3] == 9).all()
    assert "restored with small-pregan" in capsys.readouterr().out


def test_restore_unknown_model(tiny_models_dir, tmp_path, capsys):
    files = [str(f) for f in write_inputs(tmp_path)[:1]]
    assert main(["restore", "--models-dir", str(tiny_models_dir), *files, "-o", str(tmp_path),
                 "--model", "nope"]) == 2
    assert "small-postgan" in capsys.readouterr().err


def test_commands_load_only_the_restorers_they_use(tiny_models_dir, tmp_path, monkeypatch, capsys):
    """Each restorer takes seconds to start (LiteRT conversion): detect loads none, restore
    the one it uses (the default when no --model is given)."""
    from dejpeg import registry
    loaded = []
    real = registry.load_restorers

    def spy(models_dir, entries, **kw):
        loaded.append(sorted(e["name"] for e in entries))
        return real(models_dir, entries, **kw)
    monkeypatch.setattr(registry, "load_restorers", spy)
    files = [str(f) for f in write_inputs(tmp_path)[:1]]
    assert main(["detect", "--models-dir", str(tiny_models_dir), *files]) == 0
    assert main(["restore", "--models-dir", str(tiny_models_dir), *files, "-o", str(tmp_path / "o"),
                 "--force"]) == 0
    assert main(["restore", "--models-dir", str(tiny_models_dir), *files, "-o", str(tmp_path / "p"),
                 "--force", "--model", "small-pregan"]) == 0
    assert loaded == [[], ["small-postgan"], ["small-pregan"]]
    assert "restored with small-postgan" in capsys.readouterr().out


def test_serve_refuses_to_start_without_models(tmp_path, capsys):
    for workers in ("0", "2"):
        assert main(["serve", "--models-dir", str(tmp_path), "--workers", workers]) == 1
        err = capsys.readouterr().err
        assert "catalog.json" in err and "untrained" in err
    (tmp_path / "catalog.json").write_text(json.dumps({"models": [
        {"name": "c-tiny", "kind": "detector", "file": "c-tiny.keras"},
        {"name": "small-postgan", "kind": "restorer", "file": "small-postgan.keras"}]}))
    assert main(["serve", "--models-dir", str(tmp_path)]) == 1
    assert "c-tiny.keras" in capsys.readouterr().err


def test_restore_strength(tiny_models_dir, tmp_path, capsys):
    import pytest
    files = [str(f) for f in write_inputs(tmp_path)[:1]]
    base = ["restore", "--models-dir", str(tiny_models_dir), *files, "-o", str(tmp_path / "o"), "--force"]
    assert main(base) == 0
    assert "at strength 1.00" in capsys.readouterr().out      # no calibration table: full
    assert main(base + ["--strength", "0.3"]) == 0
    assert "at strength 0.30" in capsys.readouterr().out
    for bad in ("7", "-1", "half"):
        with pytest.raises(SystemExit) as exit_:
            main(base + ["--strength", bad])
        assert exit_.value.code == 2 and "strength" in capsys.readouterr().err


def test_detect_table_names_a_first_compression(tiny_models_dir, tmp_path, capsys):
    """A JPEG file saved at QF 70 from a QF 30 one: the histograms show the first pass, and
    the table's "first" column gives its quality (the untrained CNN's verdict aside)."""
    from skimage.data import astronaut
    from dejpeg.jpeg import compress
    (tmp_path / "twice.jpg").write_bytes(images.jpeg(compress(astronaut(), 30), 70))
    (tmp_path / "once.jpg").write_bytes(images.jpeg(astronaut(), 70))
    assert main(["detect", "--models-dir", str(tiny_models_dir),
                 str(tmp_path / "twice.jpg"), str(tmp_path / "once.jpg")]) == 0
    header, twice, once = capsys.readouterr().out.splitlines()[:3]     # then "?"'s note, if any
    column = header.split().index("first")
    assert twice.split()[column + 1] == "30"       # "70 (table)" takes two words
    assert once.split()[column + 1] == "-"


def test_detect_table_names_a_lighter_first_compressions_quality(tiny_models_dir, tmp_path, capsys):
    """A camera's kind of JPEG (IJG's table at 92, every step one coarser) resaved at QF 75:
    the lighter first pass shows in the histograms, and the "first" column gives the IJG
    quality its steps fit ("finer" is left for a decisive test that names none)."""
    camera_jpeg = images.camera_jpeg(images.camera_picture(), images.camera_table())[0]
    (tmp_path / "resaved.jpg").write_bytes(images.jpeg(camera_jpeg, 75))
    assert main(["detect", "--models-dir", str(tiny_models_dir), str(tmp_path / "resaved.jpg")]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    assert 80 <= int(row.split()[header.split().index("first") + 1]) <= 92
