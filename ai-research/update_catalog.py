"""Copy the evaluation results into models/catalog.json, so GET /models serves measured numbers.

    python ai-research/update_catalog.py     # after eval_detector.py and eval_restorer.py
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

HERE = Path(__file__).parent
CATALOG = HERE.parent / "server/dejpeg/models/catalog.json"


def updated(catalog: dict, results: Path = HERE / "results") -> dict:
    """`catalog` with the metrics of every model taken from the evaluation files in `results`."""
    catalog = copy.deepcopy(catalog)
    det = json.loads((results / "detector_eval.json").read_text())
    # restorer_eval.json (every shipped restorer), then any file of a restorer evaluated on
    # its own (eval_restorer.py --only NAME --out results/restorer_eval_NAME)
    evals = {p.stem: json.loads(p.read_text()) for p in sorted(results.glob("restorer_eval*.json"))}
    for entry in catalog["models"]:
        if entry["kind"] == "detector":
            s = det["summary"]
            rows = {r["case"]: r for r in det["rows"]}
            entry["metrics"] = {
                "compressed_vs_not_image_accuracy_pct": round(s["binary_image_acc_balanced"], 1),
                "three_class_image_accuracy_pct": round(s["three_class_image_acc"], 1),
                "three_class_block_accuracy_pct": round(s["three_class_block_acc"], 1),
                "block_accuracy_pct_seed_cases": {k: round(rows[k]["block_acc"], 1)
                                                  for k in rows if rows[k]["seed_block_acc"] is not None},
                "quality_estimate_from_pixels_mae": round(s["qf_mae_pixels"], 1),
                "evaluated_on": f"{s['views']} views of {s['pictures']} validation pictures "
                                "(ai-research/results/detector_eval.md)",
            }
        elif any(entry["name"] in next(iter(r.values()), {}) for r in evals.values()):
            stem, res = next((k, r) for k, r in evals.items() if entry["name"] in next(iter(r.values()), {}))
            entry["metrics"] = {}
            for label, row in res.items():
                key = f"psnr_gain_db_{label.replace(' ', '_').replace('->', 'to')}"
                entry["metrics"][key] = round(row[entry["name"]][0] - row["JPEG"][0], 2)
                auto = row.get(f"{entry['name']} (auto strength)")
                if auto:
                    entry["metrics"][key + "_auto_strength"] = round(auto[0] - row["JPEG"][0], 2)
            entry["metrics"]["evaluated_on"] = f"validation pictures (ai-research/results/{stem}.md)"
    return catalog


def main():
    catalog = updated(json.loads(CATALOG.read_text()))
    CATALOG.write_text(json.dumps(catalog, indent=1) + "\n")
    print(json.dumps(catalog, indent=1))


if __name__ == "__main__":
    main()
