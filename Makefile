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
# The host and the default board run each example's whole eval set, the rotating board a subset
# (tests/hil/hil_examples.py); `make test-all` runs the whole set everywhere.
ROTATING_BOARDS := mps2-an385 mps2-an500 mps2-an505 mps3-an547 riscv32-virt mps2-an386-npu
ROTATING_BOARD := $(word $(shell echo $$(( $$(date +%j | sed 's/^0*//') % 6 + 1 ))),$(ROTATING_BOARDS))
TEST_BOARDS ?= host,$(BOARD),$(ROTATING_BOARD)

.PHONY: setup lint test test-all test-faults farm bench deploy check-c sanitize fuzz docs examples zoo zoo-data zoo-check clean

setup: $(VENV)/.fixpoint-installed

$(VENV)/.fixpoint-installed: pyproject.toml setup.py tools/setup.sh
	tools/setup.sh $(VENV)

# Python lint and format check (rules and line length in pyproject.toml [tool.ruff]); part of `make test`.
lint: setup
	$(VENV)/bin/ruff check sdk tests bench examples tools
	$(VENV)/bin/ruff format --check sdk tests bench examples tools

test: setup lint zoo-data
	.ci/check_c.sh
	.ci/sanitize.sh
	FIXPOINT_TEST_BOARDS=$(TEST_BOARDS) FIXPOINT_WHOLE_EVAL_BOARDS=host,$(BOARD) $(PY) -m pytest -q -n $(JOBS) --durations=30 tests

test-all: setup zoo-data
	FIXPOINT_TEST_BOARDS=all FIXPOINT_FAULT_SAMPLES=$(FAULT_SAMPLES) FIXPOINT_ZOO_SAMPLES=all FIXPOINT_KERNEL_CASES=all $(PY) -m pytest -q -n $(JOBS) --durations=30 tests

# Link fault injection (tests/faults): FAULT_SAMPLES mlp samples over the host board and a QEMU
# board through a proxy that corrupts, drops, duplicates, stalls and resets; every sample must end
# bit-exact or as a reported error. Prints a summary per board. `make test-all` runs it too.
FAULT_SAMPLES ?= 10000
test-faults: setup
	FIXPOINT_FAULT_SAMPLES=$(FAULT_SAMPLES) $(PY) -m pytest -q -rP -n $(JOBS) tests/faults

# The nightly regression farm (docs/farm.md): the host board and two QEMU boards, two models,
# three configurations (the default calibration, l2, max); results, history (out/farm/history.sqlite)
# and report.html in out/farm/.
FARM ?= examples/farm/nightly.toml
farm: setup
	$(FIXPOINT) farm run $(FARM); status=$$?; \
	$(FIXPOINT) farm history -n 5 && \
	$(PY) tools/check_html.py $$(ls -td out/farm/2*/ | head -1)report.html && exit $$status

bench: setup
	$(PY) bench/run_all.py

deploy: setup
	$(FIXPOINT) deploy --board $(BOARD) --model $(MODEL) --out $(OUT)/$(MODEL)/$(BOARD)

check-c: setup
	.ci/check_c.sh

sanitize: setup
	.ci/sanitize.sh

# libFuzzer on the firmware's frame parser + command dispatcher (tests/sanitize/fw_fuzz.sh):
# FUZZ_RUNS executions with max_payload 256, a tenth of them with the boards' 1024; or
# FUZZ_SECONDS (same split) instead. Corpus, log and crash artifacts go to build/fuzz/.
FUZZ_RUNS ?= 10000000
FUZZ_SECONDS ?=
fuzz_budget = $(if $(FUZZ_SECONDS),--seconds $(shell echo $$(( ($(FUZZ_SECONDS) + $(1) - 1) / $(1) ))),--runs $(shell echo $$(( $(FUZZ_RUNS) / $(1) ))))
fuzz: setup
	tests/sanitize/fw_fuzz.sh --payload 256 $(call fuzz_budget,1)
	tests/sanitize/fw_fuzz.sh --payload 1024 $(call fuzz_budget,10)

docs: setup
	$(PY) -m fixpoint.ops.docs

examples: setup
	$(VENV)/bin/pip install -q torch==2.13.0
	$(PY) examples/train_examples.py

# Model zoo (examples/zoo): `zoo-data` writes the calibration/eval files that are not committed
# (numpy only, only missing or stale ones, seconds); `zoo-check` calibrates, evaluates and runs every
# zoo model on ZOO_BOARDS and writes docs/zoo.md; `zoo` retrains and re-exports the models (torch).
ZOO_BOARDS ?= host,$(BOARD),riscv32-virt
ZOO_HIL_SAMPLES ?= 4
zoo-data: setup
	$(PY) examples/zoo/zoo_data.py

zoo-check: setup zoo-data
	$(PY) examples/zoo/check_zoo.py --boards $(ZOO_BOARDS) --hil-samples $(ZOO_HIL_SAMPLES)

zoo: setup
	$(VENV)/bin/pip install -q torch==2.13.0
	$(PY) examples/zoo/train_zoo.py

clean:
	rm -rf build $(OUT) sdk/fixpoint/sim/_fp_runtime*
