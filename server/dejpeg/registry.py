"""The shipped models: `models/catalog.json` names each file and says what it is.

Only what the catalog lists is loaded, and every file it lists must be there: a missing file
stops the server with a message naming it (random weights are never served).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MissingModel

DEFAULT_DIR = Path(__file__).parent / "models"


@dataclass
class Models:
    detector: "Detector"
    restorers: dict[str, "Restorer"]
    default_restorer: str
    catalog: list[dict] = field(default_factory=list)


def read_catalog(models_dir: str | Path = DEFAULT_DIR) -> list[dict]:
    path = Path(models_dir) / "catalog.json"
    if not path.is_file():
        raise MissingModel(f"model catalog not found: {path}")
    entries = json.loads(path.read_text())["models"]
    for e in entries:
        if not (Path(models_dir) / e["file"]).is_file():
            raise MissingModel(f"model file for '{e['name']}' not found: {Path(models_dir) / e['file']}"
                               " (train it with ai-research/, see the README)")
    return entries


def load_detector(models_dir: str | Path, entry: dict, calibrated: bool = True) -> "Detector":
    """The detector of a catalog entry, with its image-level calibration unless told not."""
    from .detector import Detector
    weights = (entry.get("verdict_calibration") or {}).get("weights") if calibrated else None
    return Detector.load(Path(models_dir) / entry["file"], entry["name"], calibration=weights)


def load_restorers(models_dir: str | Path, entries: list[dict], **kw) -> dict[str, "Restorer"]:
    """Every restorer of `entries`, converted for LiteRT together (see `dejpeg.lite`)."""
    from .restorer import Restorer
    return Restorer.load_all({e["name"]: Path(models_dir) / e["file"] for e in entries},
                             options={e["name"]: {"strength": e.get("strength_by_quality")}
                                      for e in entries}, **kw)


def load_models(models_dir: str | Path = DEFAULT_DIR) -> Models:
    """Load every model of the catalog (imports Keras; `read_catalog` alone does not)."""
    models_dir = Path(models_dir)
    catalog = read_catalog(models_dir)
    detectors = [e for e in catalog if e["kind"] == "detector"]
    restorers = [e for e in catalog if e["kind"] == "restorer"]
    if not detectors or not restorers:
        raise MissingModel(f"{models_dir / 'catalog.json'} must list a detector and a restorer")
    default = next((e["name"] for e in restorers if e.get("default")), restorers[0]["name"])
    return Models(
        detector=load_detector(models_dir, detectors[0]),
        restorers=load_restorers(models_dir, restorers),
        default_restorer=default,
        catalog=catalog,
    )
