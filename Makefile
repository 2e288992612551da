# dunebench - top-level entry points.  `make help` lists them.
#
# Build products go under build/ (git-ignored).  Sub-directories have their
# own Makefiles; this one only sequences them.

SHELL      := /bin/bash
TOP        := $(CURDIR)
BUILD      := $(TOP)/build
TAPDIR     := $(BUILD)/tap
export TOP BUILD TAPDIR

# Directories with native code: each Makefile has `all` and `test`
# (`test` writes TAP files into $(TAPDIR)).
SUBDIRS    := tests harness ref-lib conformance harness/bench
# Testing another implementation (see README "Validate your implementation"):
# LIBDUNE=, DUNE_INCLUDE=, MODULE= pass through to the sub-makes and the lab.
ifneq ($(strip $(LIBDUNE)),)
export LIBDUNE
endif
ifneq ($(strip $(DUNE_INCLUDE)),)
export DUNE_INCLUDE
endif
ifneq ($(strip $(MODULE)),)
export MODULE
endif
DEPS_BUILD := build
DEPS_CHECK := build lab bench
DEPS_BENCH := build bench lab
# wall-clock limit of make check's Intel lab boot (it runs the most tests)
CHECK_LAB_TIMEOUT ?= 1800
# make bench BENCH_LAB=0: skip the VMX-lab tick run of the Dune modes
BENCH_LAB  ?= 1

.PHONY: conformance-selftest module-install install all help deps deps-bench deps-check check unit bench conformance lab \
	lab-shell module plots clean distclean

all: ## build the libraries, tools and tests for this host
	@for d in $(SUBDIRS); do $(MAKE) --no-print-directory -C $$d all || exit 1; done

help: ## list the targets
	@echo "dunebench targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 24
	@echo
	@echo "Knobs: BENCH_ARGS='--full --only syscall,trap' LAB_TESTS=<glob> LAB_TIMEOUT=<s>"
	@echo "       LAB_INJECT_FAIL=1 LAB_CPU=<bochs model> KABI=<abi> KDIR=<headers>"
	@echo "       LIBDUNE=<libdune.a> DUNE_INCLUDE=<dir> MODULE=<dune.ko> (test another implementation)"
	@echo "See README.md for what each host type can run."

deps: ## install every Debian package any target needs (root)
	@harness/deps.sh $(sort $(DEPS_BUILD) $(DEPS_CHECK) $(DEPS_BENCH))

deps-check:
	@harness/deps.sh $(DEPS_CHECK)

deps-bench:
	@harness/deps.sh $(DEPS_BENCH)

unit: all ## run the native unit tests (TAP into build/tap/)
	@mkdir -p $(TAPDIR)
	@rc=0; for d in $(SUBDIRS); do $(MAKE) --no-print-directory -C $$d test || rc=1; done; exit $$rc

lab: deps-check ## boot the VMX lab (Bochs) and run the lab tests inside it (LAB_CPU=trinity_apu: AMD)
	@mkdir -p $(TAPDIR)
	@harness/lab/lab.sh --tap $(TAPDIR)/lab-$(or $(LAB_CPU),intel).tap

lab-shell: deps-check ## build the lab images and print how to boot them by hand
	@harness/lab/lab.sh --build-only

# Random fuzz seeds are drawn here only (make check takes them from
# conformance/fuzz-seeds.list): lab boots for SOAK_MINUTES, a new seed each,
# at SOAK_SCALE times the fuzz iterations (README, "Soak").
SOAK_MINUTES ?= 60
SOAK_SCALE   ?= 1
.PHONY: soak
soak: deps-check ## fuzz with random seeds in the VMX lab for SOAK_MINUTES (60), vmx and kvm; prints every seed
	@LAB_TAG=soak LAB_WORKDIR=$(BUILD)/lab-soak LAB_SOAK_SCALE=$(SOAK_SCALE) \
		harness/lab/lab.sh --soak $(SOAK_MINUTES) --tap $(BUILD)/soak.tap

module: ## build build/module/dune.ko (KDIR=<headers>; default: running kernel's, else the lab kernel's)
	@harness/build-module.sh $(if $(KDIR),--kdir $(KDIR))

check: deps-check ## all tests: unit tests and the VMX lab; ends with "N passed, N failed"
	@rm -rf $(TAPDIR) && mkdir -p $(TAPDIR)
	@echo "== build"
	@$(MAKE) --no-print-directory all
	@echo "== unit tests"
	@-$(MAKE) --no-print-directory unit
	@echo "== module packaging: dkms add/build against the VMX lab kernel's headers"
	@harness/module-install.sh --test $(BUILD)/dkms-test --lab-kernel > $(TAPDIR)/module-dkms.tap 2>&1; \
		cat $(TAPDIR)/module-dkms.tap; true
	@echo "== VMX lab (Intel, corei7_skylake_x) and, alongside, an AMD lab (trinity_apu)"
	@LAB_TAG=amd LAB_WORKDIR=$(BUILD)/lab-amd harness/lab/lab.sh --cpu trinity_apu \
		--tap $(TAPDIR)/lab-amd.tap > $(BUILD)/lab-amd.log 2>&1 & amd=$$!; \
	LAB_TAG=intel harness/lab/lab.sh --timeout $(CHECK_LAB_TIMEOUT) --tap $(TAPDIR)/lab-intel.tap; \
	wait $$amd; echo "-- AMD lab:"; tail -n 30 $(BUILD)/lab-amd.log; true
	@echo "== summary"
	@# the lab files are named: a lab that never ran (build error) is a failure
	@harness/tap-summary $$(printf '%s\n' $(TAPDIR)/*.tap $(TAPDIR)/lab-intel.tap \
		$(TAPDIR)/lab-amd.tap | sort -u)

conformance: all ## the conformance suite natively (LIBDUNE=, DUNE_INCLUDE= to test another library)
	@build/bin/dunebench conform

conformance-selftest: deps-check ## the whole mutation self-test in the VMX lab: every deliberate defect must be caught
	@mkdir -p $(TAPDIR)
	@LAB_LISTS=$(TOP)/conformance/selftest/lab-mutants-full.list LAB_WORKDIR=$(BUILD)/lab-mutants \
		harness/lab/lab.sh --timeout 3600 --tap $(TAPDIR)/conformance-selftest.tap

lab-conformance: deps-check ## the conformance suite in the VMX lab (LIBDUNE=, MODULE=/path/other.ko)
	@mkdir -p $(TAPDIR)
	@build/bin/dunebench conform --lab

bench: deps-bench all ## run the benchmarks (--quick) on this host's best backend, write results/ and plots
	@build/bin/dunebench bench --quick $(BENCH_ARGS)
	@if [ "$(BENCH_LAB)" != 0 ]; then build/bin/dunebench bench --lab; fi
	@$(MAKE) --no-print-directory plots

plots: deps-bench ## render tables and figures from results/ into build/report/
	@/usr/bin/python3 plots/report.py
	@echo "plots: open build/report/index.html"

module-install: ## install dune.ko with DKMS for the running kernel, plus a udev rule for group "dune" (root; --no-dkms: MODULE_INSTALL_ARGS)
	@harness/module-install.sh $(MODULE_INSTALL_ARGS)

install: all ## install libdune (headers, libdune.a/.so, libdune.pc) into PREFIX (/usr/local), DESTDIR
	@$(MAKE) --no-print-directory -C ref-lib install

clean: ## remove build products (keeps downloaded lab packages)
	@for d in $(SUBDIRS); do $(MAKE) --no-print-directory -C $$d clean || true; done
	@find $(BUILD) -mindepth 1 -maxdepth 1 ! -name lab-cache -exec rm -rf {} + 2>/dev/null || true

distclean: ## remove build/ entirely, downloads included
	rm -rf $(BUILD)
