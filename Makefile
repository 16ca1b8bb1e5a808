# deJPEG: `make run` starts the product on $PORT (default 5000); `make test` runs every test.
# Set-up steps are skipped when up to date (stamp files), so both are quick the second time.

SHELL := /bin/bash
.DEFAULT_GOAL := run

PORT ?= 5000
WORKERS ?= 2
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.dejpeg-installed
HAVE_CLIENT := $(wildcard client/package.json)
NPM_STAMP := node_modules/.dejpeg-installed
CLIENT_BUILD := client/dist/index.html
CLIENT_SOURCES := $(shell find client/src client/public client/index.html client/package.json \
                    client/vite.config.ts client/tsconfig.json -type f 2>/dev/null)

.PHONY: run test serve setup python client chromium research-deps loadtest train-detector train-restorer train-restorer-general \
        train-restorer-small eval-detector eval-detector-unseen eval-real-jpegs eval-quality staircase-check turned-thresholds eval-restorer light-first-thresholds other-grid-thresholds lattice-thresholds corpus-check calibrate-detector calibrate-strength bench corpus clean-stamps

## set-up --------------------------------------------------------------------------------------

$(PY):
	$(PYTHON_BIN) -m venv $(VENV)

$(PY_STAMP): requirements.txt server/pyproject.toml | $(PY)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-build-isolation --no-deps -e server
	touch $@

python: $(PY_STAMP)

$(NPM_STAMP): package.json $(wildcard package-lock.json) client/package.json
	if [ -f package-lock.json ]; then npm ci; else npm install; fi
	touch $@

$(CLIENT_BUILD): $(NPM_STAMP) $(CLIENT_SOURCES)
	npm run build
	touch $@

ifneq ($(HAVE_CLIENT),)
client: $(CLIENT_BUILD)
else
client:
	@echo "no client/package.json: serving the API only"
endif

setup: python client

chromium:
	@if [ ! -x /usr/bin/chromium ]; then apt-get update && apt-get install -y chromium; fi

# ffmpeg (the spp baseline) and the wallpaper packages the corpus is built from
WALLPAPERS := plasma-workspace-wallpapers gnome-backgrounds ukui-wallpapers mate-backgrounds \
	lomiri-wallpapers
research-deps:
	@if [ ! -x /usr/bin/ffmpeg ]; then apt-get update && apt-get install -y ffmpeg; fi
	@if ! dpkg -s $(WALLPAPERS) >/dev/null 2>&1; then \
	    apt-get update && apt-get install -y $(WALLPAPERS); fi

## the two commands ----------------------------------------------------------------------------

run: setup
	$(PY) -m dejpeg serve --host 0.0.0.0 --port $${PORT:-5000}

test: setup chromium
	cd server && ../$(PY) -m pytest
ifneq ($(HAVE_CLIENT),)
	npm run test:client
	npm run test:e2e
endif

## production, measurements, research ----------------------------------------------------------

serve: setup
	$(PY) -m dejpeg serve --host 0.0.0.0 --port $${PORT:-5000} --workers $(WORKERS)

# Bounded loopback load test: starts the production server, sends a fixed number of requests.
loadtest: python
	$(PY) -m dejpeg.loadtest --start-server --workers $(WORKERS) \
	    --detect 200 --restore 50 --concurrency 8 --out server/loadtest-results.json

CORPUS := ai-research/data/corpus/manifest.json
# rebuilt when the script changes (a corpus built before its grid check is rebuilt with it)
$(CORPUS): ai-research/build_corpus.py | python research-deps
	$(PY) ai-research/build_corpus.py

eval-detector: python $(CORPUS)
	$(PY) ai-research/eval_detector.py

# the same on the training split's photographs that the shipped detector never saw
eval-detector-unseen: python $(CORPUS)
	$(PY) ai-research/eval_detector.py --unseen

# the detector on real JPEG files (the validation split's, as shipped) and their resaves
eval-real-jpegs: python $(CORPUS)
	$(PY) ai-research/eval_real_jpegs.py

# the last quality read from pixels on random crops of 128-1024 px (validation split)
eval-quality: python $(CORPUS)
	$(PY) ai-research/eval_quality.py

# what the quality read's staircase check changes: reads and automatic-strength restoration (training crops)
staircase-check: python $(CORPUS)
	$(PY) ai-research/staircase_check.py

# where the quarter-turn test (quality.transposed) tells a turned picture (training crops)
turned-thresholds: python $(CORPUS)
	$(PY) ai-research/turned_thresholds.py

# where the same-grid test for a lighter first compression is decisive (training crops)
light-first-thresholds: python $(CORPUS)
	$(PY) ai-research/light_first_thresholds.py

# where the block means of another grid tell a JPEG cropped and resaved (training crops)
other-grid-thresholds: python $(CORPUS)
	$(PY) ai-research/other_grid_thresholds.py

# where the decoder's whole-number lattice tells a JPEG (QF 98-100 too) from a never-compressed picture
lattice-thresholds: python $(CORPUS)
	$(PY) ai-research/lattice_thresholds.py

# corpus pictures whose source's JPEG grid still shows through the downscale
corpus-check: python $(CORPUS)
	$(PY) ai-research/corpus_grid_check.py

# image-level calibration of the shipped detector (CNN + grid evidence + table fit), fitted on
# training pictures -> catalog.json
calibrate-detector: python $(CORPUS)
	$(PY) ai-research/calibrate_detector.py

eval-restorer: python research-deps $(CORPUS)
	$(PY) ai-research/eval_restorer.py

# strength per JPEG quality of each shipped restorer, on training pictures -> catalog.json
calibrate-strength: python $(CORPUS)
	$(PY) ai-research/calibrate_strength.py

bench: python research-deps $(CORPUS)
	$(PY) ai-research/bench.py

corpus: python research-deps
	$(PY) ai-research/build_corpus.py

# The recipes of the shipped models (see their cards); every phase resumes when rerun.
train-detector: python $(CORPUS)
	$(PY) ai-research/train_detector.py --width 16 --epochs 6 --variants 5000 --val-variants 700

# the first recipe (g-small.md, g-zhao.md); RESTORER_ARGS=--resize trains Small-Resize
RESTORER_ARGS ?=
# G_small fine-tuned on qualities 10-90 from the first recipe's small-pregan (make train-restorer)
# -> data/restorer/small-general/pregan.keras
# (the shipped small-general: 218 s on an H100 with KERAS_BACKEND=jax WORKERS=14; many hours on 2 CPU cores)
WORKERS ?= 2
train-restorer-general: python $(CORPUS)
	$(PY) ai-research/train_restorer.py --phase pretrain --arch small \
	    --init ai-research/data/restorer/small/pregan.keras --qualities 10,20,30,40,50,60,70,80,90 \
	    --steps 10000 --lr 2e-4 --crop 128 --batch 32 --max-pixels 1800000 --eval-every 1000 \
	    --workers $(WORKERS) --work ai-research/data/restorer/small-general

# the shipped small-pregan / small-postgan: small-general fine-tuned at QF 10 (content loss,
# a penalty on 2/4-pixel patterns: --lattice-weight, losses.lattice), then NoGAN's critic and
# joint phases, all on 2 CPU cores in minutes (g-small.md).  small-pregan =
# $(SMALL_WORK)/pregan_last.keras (the last pre-training step), which the critic and joint
# phases start from; small-postgan = gan_00300.keras.  The critic sees the candidate's fine
# detail (--critic-highpass); the generator gets a noise input (--noise) and the texture term
# from half size on (--texture-weight, --texture-first-scale), with a stronger penalty.
SMALL_WORK = ai-research/data/restorer/small-lattice
train-restorer-small: python $(CORPUS)
	$(PY) ai-research/train_restorer.py --phase pretrain --init server/dejpeg/models/small-general.keras \
	    --steps 800 --lr 1e-4 --crop 64 --eval-every 200 --lattice-weight 1000 --work $(SMALL_WORK)
	cp $(SMALL_WORK)/pregan_last.keras $(SMALL_WORK)/pregan.keras
	$(PY) ai-research/train_restorer.py --phase critic --steps 150 --lr 4e-4 --crop 64 --critic-scale 20 \
	    --critic-highpass --work $(SMALL_WORK)
	$(PY) ai-research/train_restorer.py --phase gan --steps 400 --lr 1e-4 --crop 64 --eval-every 100 \
	    --adv-weight 5e-2 --lattice-weight 10000 --texture-weight 0.5 --texture-first-scale 1 \
	    --noise 0.05 --work $(SMALL_WORK)

train-restorer: python $(CORPUS)
	$(PY) ai-research/train_restorer.py --phase pretrain --steps 6000 --lr 4e-4 --eval-every 200 --crop 64 $(RESTORER_ARGS)
	$(PY) ai-research/train_restorer.py --phase critic --steps 150 --lr 4e-4 --crop 64 --critic-scale 0 $(RESTORER_ARGS)
	$(PY) ai-research/train_restorer.py --phase gan --steps 600 --lr 4e-4 --crop 64 --eval-every 100 --adv-weight 5e-3 $(RESTORER_ARGS)

clean-stamps:
	rm -f $(PY_STAMP) $(NPM_STAMP)
