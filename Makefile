# Fixpoint developer and CI entry points. Every target sets itself up first.
# Defaults: an emulated board and the CNN example, so `make deploy` works on a fresh machine.
BOARD ?= mps2-an386
MODEL ?= cnn_bn_res
VENV  ?= .venv
PY    := $(VENV)/bin/python
FIXPOINT := $(VENV)/bin/fixpoint
OUT   ?= out
JOBS  ?= 2
# Boards whose HIL tests run in `make test`: the host, the default board and one more emulated
# board that rotates daily, so every board is covered over a week; `make test-all` runs them all.
ROTATING_BOARDS := mps2-an385 mps2-an500 mps2-an505 mps3-an547 riscv32-virt
ROTATING_BOARD := $(word $(shell echo $$(( $$(date +%j | sed 's/^0*//') % 5 + 1 ))),$(ROTATING_BOARDS))
TEST_BOARDS ?= host,$(BOARD),$(ROTATING_BOARD)

.PHONY: setup test test-all bench deploy check-c sanitize docs examples clean

setup: $(VENV)/.fixpoint-installed

$(VENV)/.fixpoint-installed: pyproject.toml setup.py tools/setup.sh
	tools/setup.sh $(VENV)

test: setup
	.ci/check_c.sh
	.ci/sanitize.sh
	FIXPOINT_TEST_BOARDS=$(TEST_BOARDS) $(PY) -m pytest -q -n $(JOBS) tests

test-all: setup
	FIXPOINT_TEST_BOARDS=all $(PY) -m pytest -q -n $(JOBS) tests

bench: setup
	$(PY) bench/run_all.py

deploy: setup
	$(FIXPOINT) deploy --board $(BOARD) --model $(MODEL) --out $(OUT)/$(MODEL)/$(BOARD)

check-c: setup
	.ci/check_c.sh

sanitize: setup
	.ci/sanitize.sh

docs: setup
	$(PY) -m fixpoint.ops.docs

examples: setup
	$(VENV)/bin/pip install -q torch==2.13.0
	$(PY) examples/train_examples.py

clean:
	rm -rf build $(OUT) sdk/fixpoint/sim/_fp_runtime*
