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


def detector_entry(models_dir: str | Path = DEFAULT_DIR) -> dict:
    """The catalog's detector entry (the evaluation scripts report its file)."""
    return next(e for e in read_catalog(models_dir) if e["kind"] == "detector")


def load_detector(models_dir: str | Path, entry: dict, calibrated: bool = True) -> "Detector":
    """The detector of a catalog entry, with its image-level calibration unless told not."""
    from .detector import Detector
    weights = (entry.get("verdict_calibration") or {}).get("weights") if calibrated else None
    return Detector.load(Path(models_dir) / entry["file"], entry["name"], calibration=weights,
                         pooled=bool(entry.get("pooled", False)))


def load_restorers(models_dir: str | Path, entries: list[dict]) -> dict[str, "Restorer"]:
    """Every restorer of `entries`, converted for LiteRT together (see `dejpeg.lite`)."""
    from .restorer import Restorer
    return Restorer.load_all({e["name"]: Path(models_dir) / e["file"] for e in entries},
                             strengths={e["name"]: e.get("strength_by_quality") for e in entries})


def load_models(models_dir: str | Path = DEFAULT_DIR, restorers=None) -> Models:
    """Load the models of the catalog (imports Keras; `read_catalog` alone does not):
    the detector and every restorer, or only the restorers named in `restorers` (the CLI
    loads what a command uses: restorers start in seconds each)."""
    models_dir = Path(models_dir)
    catalog = read_catalog(models_dir)
    detectors = [e for e in catalog if e["kind"] == "detector"]
    entries = [e for e in catalog if e["kind"] == "restorer"]
    if not detectors or not entries:
        raise MissingModel(f"{models_dir / 'catalog.json'} must list a detector and a restorer")
    if restorers is not None:
        wanted = set(restorers)
        entries = [e for e in entries if e["name"] in wanted]
    return Models(
        detector=load_detector(models_dir, detectors[0]),
        restorers=load_restorers(models_dir, entries),
        default_restorer=default_restorer(catalog),
        catalog=catalog,
    )


def default_restorer(catalog: list[dict]) -> str:
    """The restorer marked default in the catalog, else the first one."""
    entries = [e for e in catalog if e["kind"] == "restorer"]
    if not entries:
        raise MissingModel("the model catalog lists no restorer")
    return next((e["name"] for e in entries if e.get("default")), entries[0]["name"])
